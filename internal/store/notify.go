package store

import (
	"context"
	"time"

	"github.com/bumpserve/bumpserve/api"

	"github.com/bumpserve/bumpserve/internal/job"
)

// NotifyStore holds the outbox of notifications sent when jobs end, the
// log of their delivery attempts and each user's notification settings.
//
// A job's notifications are stored with the job (CreateJobParams.Notify)
// in the same transaction, waiting; one becomes due when its job is in
// a terminal state. So no transition has to remember to enqueue one and
// a restart loses none: whatever is due and not leased gets claimed.
type NotifyStore interface {
	// ClaimNotifications leases up to p.Max due notifications (job ended,
	// waiting, next attempt time reached, no live lease, destination not
	// in p.Busy) under p.Token until p.Now+p.Lease, counting an attempt
	// on each. Concurrent claimers never get the same notification.
	ClaimNotifications(ctx context.Context, p *ClaimNotificationsParams) ([]*Notification, error)
	// RecordDelivery logs one attempt and settles its notification: sent,
	// failed for good, or waiting again until p.NextAt (status retry).
	// ErrLeaseLost if the notification is no longer leased under p.Token.
	RecordDelivery(ctx context.Context, p *DeliveryParams) error
	// JobNotifications returns a job's notifications and their delivery
	// log, oldest first (empty for a job without any).
	JobNotifications(ctx context.Context, jobID int64) (*JobNotifications, error)
	// NotifySettings returns a user's default notification and whether a
	// webhook secret exists (ErrNotFound for no such user).
	NotifySettings(ctx context.Context, user string) (*NotifySettings, error)
	// SetNotifyDefault sets the notification a user's jobs get when their
	// submission names none (the zero Notify clears it).
	SetNotifyDefault(ctx context.Context, user string, n job.Notify) error
	// WebhookSecret returns a user's webhook signing secret, storing
	// p.Fresh first if the user has none or p.Rotate is set.
	WebhookSecret(ctx context.Context, p *WebhookSecretParams) (string, error)
}

// Notification statuses. A waiting notification whose job has not ended
// is simply not due yet.
const (
	NotifyWaiting = "waiting"
	NotifySent    = "sent"
	NotifyFailed  = "failed"
	// NotifyRetry is only a delivery log status: the attempt failed and
	// another is due at NextAt.
	NotifyRetry = "retry"
)

// Notification is one destination to tell that a job ended.
type Notification = api.Notification

// Delivery is one attempt to send a notification.
type Delivery = api.Delivery

// JobNotifications is a job's notifications and their delivery log.
type JobNotifications = api.JobNotifications

// ClaimNotificationsParams asks for due notifications.
type ClaimNotificationsParams struct {
	Token string
	Lease time.Duration
	Max   int
	Now   time.Time
	// Busy are destinations the claimer is already sending to: a slow
	// receiver gets one notification at a time and holds up no other.
	Busy []string
}

// DeliveryParams records an attempt.
type DeliveryParams struct {
	ID      int64
	Token   string
	Attempt int
	Status  string // NotifySent, NotifyFailed or NotifyRetry
	Error   string
	Now     time.Time
	NextAt  time.Time // for NotifyRetry
}

// NotifySettings are a user's notification settings.
type NotifySettings struct {
	Default   job.Notify `json:"default"`
	HasSecret bool       `json:"has_webhook_secret"`
}

// WebhookSecretParams asks for a user's webhook secret.
type WebhookSecretParams struct {
	User   string
	Fresh  string // stored if the user has none, or to rotate
	Rotate bool
}
