package retention

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// Defaults for Config.
const (
	IntervalDefault   = time.Minute
	BatchDefault      = 100
	MaxPerPassDefault = 2000
)

// Config configures a Cleaner.
type Config struct {
	Store  store.RetentionStore
	Policy Policy
	// Delete deletes one job and its files as a user's delete does
	// (the server's DeleteJob: through the queue, so that watchers and
	// counts follow, and the directory through the trash).
	// store.ErrNotFound means someone deleted it first.
	Delete func(ctx context.Context, id int64) error
	// Size measures a job's directory (jobdir.Dir.Size).
	Size func(id int64) (int64, error)
	// Now is the clock ages are measured on (time.Now by default): the
	// controller's, which tests move.
	Now func() time.Time
	// Interval is the time between passes (a minute by default); Batch
	// the jobs read and written per store call (100); MaxPerPass the
	// jobs one pass measures or deletes at most (2000), so that a long
	// backlog is worked off over several passes, never in one burst.
	Interval   time.Duration
	Batch      int
	MaxPerPass int
	Logger     *slog.Logger
}

// Cleaner is the background duty: each pass measures jobs that finished
// since the last, then deletes those past their state's age.
type Cleaner struct {
	cfg      Config
	log      *slog.Logger
	deleted  *prometheus.CounterVec
	measured prometheus.Counter
	failures prometheus.Counter
	passes   prometheus.Counter
}

// New returns a Cleaner over cfg.
func New(cfg Config) *Cleaner {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Interval = cmp.Or(cfg.Interval, IntervalDefault)
	cfg.Batch = cmp.Or(cfg.Batch, BatchDefault)
	cfg.MaxPerPass = cmp.Or(cfg.MaxPerPass, MaxPerPassDefault)
	return &Cleaner{
		cfg: cfg,
		log: cmp.Or(cfg.Logger, slog.Default()).With("component", "retention"),
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bumpserve_retention_deleted_total",
			Help: "Finished jobs the retention cleaner deleted, by state."}, []string{"state"}),
		measured: prometheus.NewCounter(prometheus.CounterOpts{Name: "bumpserve_retention_measured_total",
			Help: "Finished jobs whose directory the cleaner measured for the disk quota."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "bumpserve_retention_failures_total",
			Help: "Jobs the cleaner failed to measure or delete (retried next pass)."}),
		passes: prometheus.NewCounter(prometheus.CounterOpts{Name: "bumpserve_retention_passes_total",
			Help: "Passes of the retention cleaner."}),
	}
}

// Collectors are the cleaner's metrics, for the server's /metrics.
func (c *Cleaner) Collectors() []prometheus.Collector {
	for _, st := range job.States {
		if st.Terminal() {
			c.deleted.WithLabelValues(string(st)) // shown at 0 from the start
		}
	}
	return []prometheus.Collector{c.deleted, c.measured, c.failures, c.passes}
}

// Run makes a pass at once and then every Interval until ctx ends.
func (c *Cleaner) Run(ctx context.Context) {
	c.log.Info("retention cleaner started", "retain", c.cfg.Policy.String(), "interval", c.cfg.Interval)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := c.Pass(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("retention pass", "err", err)
		}
		t.Reset(c.cfg.Interval)
	}
}

// Report is what one pass did.
type Report struct {
	Measured int
	Deleted  map[job.State]int
	Failed   int
}

// Pass measures the jobs finished since the last pass, then deletes the
// unpinned jobs older than their state's age, oldest first, each bounded
// by MaxPerPass.
func (c *Cleaner) Pass(ctx context.Context) (Report, error) {
	c.passes.Inc()
	r := Report{Deleted: map[job.State]int{}}
	if err := c.measure(ctx, &r); err != nil {
		return r, err
	}
	now := c.cfg.Now()
	for _, st := range job.States {
		age, ok := c.cfg.Policy[st]
		if !ok {
			continue
		}
		if err := c.expire(ctx, st, now.Add(-age), &r); err != nil {
			return r, err
		}
		if n := r.Deleted[st]; n > 0 {
			c.log.Info("deleted finished jobs past their age", "state", st, "age", formatAge(age), "count", n)
		}
	}
	return r, nil
}

// measure records the size of finished jobs not yet measured.
func (c *Cleaner) measure(ctx context.Context, r *Report) error {
	for r.Measured+r.Failed < c.cfg.MaxPerPass {
		ids, err := c.cfg.Store.UnmeasuredJobs(ctx, c.cfg.Batch)
		if err != nil || len(ids) == 0 {
			return err
		}
		sizes := make([]store.DiskSize, 0, len(ids))
		for _, id := range ids {
			n, err := c.cfg.Size(id)
			if err != nil {
				c.log.Warn("measure job dir", "job", id, "err", err)
				c.failures.Inc()
				r.Failed++
				continue
			}
			sizes = append(sizes, store.DiskSize{ID: id, Bytes: n})
		}
		if len(sizes) == 0 {
			return nil // every one failed: leave them for the next pass
		}
		if err := c.cfg.Store.RecordDisk(ctx, sizes, c.cfg.Now()); err != nil {
			return err
		}
		r.Measured += len(sizes)
		c.measured.Add(float64(len(sizes)))
		if len(ids) < c.cfg.Batch {
			return nil
		}
	}
	return nil
}

// expire deletes jobs in st finished before cutoff.
func (c *Cleaner) expire(ctx context.Context, st job.State, cutoff time.Time, r *Report) error {
	for r.Deleted[st] < c.cfg.MaxPerPass {
		ids, err := c.cfg.Store.ExpiredJobs(ctx, &store.ExpiredJobsParams{State: st, Before: cutoff,
			Limit: min(c.cfg.Batch, c.cfg.MaxPerPass-r.Deleted[st])})
		if err != nil || len(ids) == 0 {
			return err
		}
		progress := false
		for _, id := range ids {
			err := c.cfg.Delete(ctx, id)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				c.log.Warn("delete expired job", "job", id, "state", st, "err", err)
				c.failures.Inc()
				r.Failed++
				continue
			}
			progress = true
			r.Deleted[st]++
			c.deleted.WithLabelValues(string(st)).Inc()
		}
		if !progress || len(ids) < c.cfg.Batch {
			return nil // what failed is tried again next pass
		}
	}
	return nil
}
