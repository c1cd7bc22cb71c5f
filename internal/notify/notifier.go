// Package notify tells people that their jobs ended: an email through the
// configured SMTP server, or a signed HTTPS POST of the job to a webhook.
//
// Notifications wait in the store's outbox (store.NotifyStore), written
// with their job, and become due when it ends. The Notifier wakes when a
// job ended (queue.Broker.Ended: here, or in another controller through
// the change feed) and on a slow tick (retries), claims due
// notifications under a lease and
// sends each destination's in turn, every destination on its own: a slow
// or failing receiver holds up only its own notifications, never a job
// or another receiver. A failed attempt is retried with exponential
// back-off up to a cap and a number of attempts; every attempt is logged
// for the job's owner to see.
package notify

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// Defaults for Config.
const (
	RetryBaseDefault   = 30 * time.Second
	RetryCapDefault    = time.Hour
	MaxAttemptsDefault = 8
	PollDefault        = 2 * time.Second
	LeaseDefault       = 10 * time.Minute
	InFlightDefault    = 16
)

// Store is what the Notifier needs of the store.
type Store interface {
	store.NotifyStore
	GetJob(ctx context.Context, id int64) (*job.Job, error)
}

// Config configures a Notifier.
type Config struct {
	Store Store
	// Ended wakes the Notifier when a job ended (queue.Broker.Ended).
	Ended <-chan struct{}
	// Mailer sends email; nil if the server has no SMTP server (then
	// submissions asking for email are refused, see Enabled).
	Mailer   *Mailer
	Webhooks *Webhooks
	Logger   *slog.Logger
	Now      func() time.Time
	// RetryBase is the wait after the first failed attempt; each further
	// failure doubles it, up to RetryCap. After MaxAttempts attempts the
	// notification is given up ("failed").
	RetryBase   time.Duration
	RetryCap    time.Duration
	MaxAttempts int
	// Poll is how often due retries (and anything a missed wake-up left)
	// are looked for.
	Poll time.Duration
	// Lease is how long a claimed notification is this process's; one a
	// crash left is sent again after it (at least once, never lost).
	Lease time.Duration
	// InFlight bounds the notifications held at once.
	InFlight int
}

// Notifier sends the notifications of ended jobs.
type Notifier struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	busy     map[string]bool // destinations being sent to
	inFlight int
	freed    chan struct{} // a send finished: capacity or a destination came free
	wg       sync.WaitGroup
}

// New returns a Notifier; Run starts it.
func New(cfg Config) *Notifier {
	cfg.RetryBase = cmp.Or(cfg.RetryBase, RetryBaseDefault)
	cfg.RetryCap = max(cmp.Or(cfg.RetryCap, RetryCapDefault), cfg.RetryBase)
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, MaxAttemptsDefault)
	cfg.Poll = cmp.Or(cfg.Poll, PollDefault)
	cfg.Lease = cmp.Or(cfg.Lease, LeaseDefault)
	cfg.InFlight = cmp.Or(cfg.InFlight, InFlightDefault)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Notifier{cfg: cfg, log: cmp.Or(cfg.Logger, slog.Default()).With("component", "notify"),
		busy: map[string]bool{}, freed: make(chan struct{}, 1)}
}

// Channels lists the channels this server can send by: webhook always,
// email with an SMTP server.
func (n *Notifier) Channels() []string {
	if n.cfg.Mailer == nil {
		return []string{job.ChannelWebhook}
	}
	return []string{job.ChannelEmail, job.ChannelWebhook}
}

// Run sends notifications until ctx ends, then waits for the sends under
// way (each bounded by its own timeout).
func (n *Notifier) Run(ctx context.Context) {
	tick := time.NewTicker(n.cfg.Poll)
	defer tick.Stop()
	defer n.wg.Wait()
	for {
		n.dispatch(ctx)
		select {
		case <-ctx.Done():
			return
		case <-n.cfg.Ended:
		case <-tick.C:
		case <-n.freed:
		}
	}
}

// dispatch claims what it has room for and starts sending it.
func (n *Notifier) dispatch(ctx context.Context) {
	n.mu.Lock()
	free := n.cfg.InFlight - n.inFlight
	busy := make([]string, 0, len(n.busy))
	for d := range n.busy {
		busy = append(busy, d)
	}
	n.mu.Unlock()
	if free <= 0 || ctx.Err() != nil {
		return
	}
	token := newToken() // every notification of one claim shares it
	claimed, err := n.cfg.Store.ClaimNotifications(ctx, &store.ClaimNotificationsParams{
		Token: token, Lease: n.cfg.Lease, Max: free, Now: n.cfg.Now(), Busy: busy})
	if err != nil {
		if ctx.Err() == nil {
			n.log.Warn("claim notifications", "err", err)
		}
		return
	}
	byDest := map[string][]*store.Notification{}
	var order []string
	for _, c := range claimed {
		if _, ok := byDest[c.Destination]; !ok {
			order = append(order, c.Destination)
		}
		byDest[c.Destination] = append(byDest[c.Destination], c)
	}
	n.mu.Lock()
	n.inFlight += len(claimed)
	for _, d := range order {
		n.busy[d] = true
	}
	n.mu.Unlock()
	for _, d := range order {
		n.wg.Add(1)
		go n.sendAll(ctx, token, d, byDest[d])
	}
}

// sendAll sends one destination's notifications in turn. A stop leaves
// those not yet tried under their lease, to be sent after it.
func (n *Notifier) sendAll(ctx context.Context, token, dest string, ns []*store.Notification) {
	defer n.wg.Done()
	for _, nt := range ns {
		if ctx.Err() != nil {
			break
		}
		// A send under way finishes (its own timeout bounds it) and is
		// recorded even while the server stops.
		n.send(context.WithoutCancel(ctx), token, nt)
	}
	n.mu.Lock()
	n.inFlight -= len(ns)
	delete(n.busy, dest)
	n.mu.Unlock()
	select {
	case n.freed <- struct{}{}:
	default:
	}
}

// send makes one attempt and records it.
func (n *Notifier) send(ctx context.Context, token string, nt *store.Notification) {
	err := n.deliver(ctx, nt)
	now := n.cfg.Now()
	p := &store.DeliveryParams{ID: nt.ID, Token: token, Attempt: nt.Attempts, Status: store.NotifySent, Now: now}
	switch {
	case err == nil:
	case nt.Attempts >= n.cfg.MaxAttempts || errors.As(err, new(*permanentError)):
		p.Status, p.Error = store.NotifyFailed, err.Error()
	default:
		p.Status, p.Error, p.NextAt = store.NotifyRetry, err.Error(), now.Add(n.backoff(nt.Attempts))
	}
	log := n.log.With("job", nt.JobID, "channel", nt.Channel, "destination", nt.Destination, "attempt", nt.Attempts)
	if err != nil {
		log.Info("notification not delivered", "status", p.Status, "err", err)
	}
	if rerr := n.cfg.Store.RecordDelivery(ctx, p); rerr != nil {
		log.Warn("record notification delivery", "err", rerr)
	}
}

// backoff is the wait after the attempt-th failed attempt.
func (n *Notifier) backoff(attempt int) time.Duration {
	d := n.cfg.RetryBase
	for i := 1; i < attempt && d < n.cfg.RetryCap; i++ {
		d *= 2
	}
	return min(d, n.cfg.RetryCap)
}

// deliver sends one notification of its job as it ended.
func (n *Notifier) deliver(ctx context.Context, nt *store.Notification) error {
	j, err := n.cfg.Store.GetJob(ctx, nt.JobID)
	if err != nil {
		return err
	}
	switch nt.Channel {
	case job.ChannelEmail:
		if n.cfg.Mailer == nil {
			return &permanentError{errors.New("this server has no SMTP server (serve --smtp)")}
		}
		return n.cfg.Mailer.Send(ctx, nt.Destination, j)
	case job.ChannelWebhook:
		if n.cfg.Webhooks == nil {
			return &permanentError{errors.New("webhooks are not enabled on this server")}
		}
		body, err := json.Marshal(j)
		if err != nil {
			return err
		}
		secret, err := n.cfg.Store.WebhookSecret(ctx, &store.WebhookSecretParams{User: j.Owner, Fresh: NewSecret()})
		if err != nil {
			return fmt.Errorf("webhook secret of %q: %w", j.Owner, err)
		}
		return n.cfg.Webhooks.Post(ctx, nt.Destination, body, secret, nt.ID)
	}
	return &permanentError{fmt.Errorf("unknown channel %q", nt.Channel)}
}

// permanentError is a failure that another attempt would only repeat
// (the receiver refused the request), so none is made.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// NewSecret returns a fresh webhook signing secret.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + hex.EncodeToString(b)
}
