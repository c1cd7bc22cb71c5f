package server

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/internal/store"
)

// Per-user and per-group accounting on /metrics. The sums are read from
// the store at scrape time, at most once per usageTTL (a scrape every
// few seconds must not rescan the jobs each time). Labels stay few:
// users beyond the first maxUserSeries (by name) are summed under
// user="(other)", groups beyond the first maxGroupSeries under
// group="(other)".
const (
	usageTTL       = 15 * time.Second
	maxUserSeries  = 500
	maxGroupSeries = 500
	otherSeries    = "(other)"
)

type usageCollector struct {
	store                          store.Store
	cpu, disk, groupCPU, groupDisk *prometheus.Desc
	mu                             sync.Mutex
	at                             time.Time
	rows                           []*store.OwnerUsage // nil: not read yet
	groups                         []api.GroupUsage
}

func newUsageCollector(st store.Store) *usageCollector {
	return &usageCollector{
		store: st,
		cpu: prometheus.NewDesc("bumpserve_user_cpu_seconds_total",
			"CPU-seconds charged to a user's finished runs (CPUs held x wall time); kept when jobs are deleted.", []string{"user"}, nil),
		disk: prometheus.NewDesc("bumpserve_user_disk_bytes",
			"Bytes a user's jobs hold (uploads, and every file once a finished job is measured).", []string{"user"}, nil),
		groupCPU: prometheus.NewDesc("bumpserve_group_cpu_seconds_total",
			"CPU-seconds charged to the finished runs of a group's members as they are now (a member added or taken out moves it by their whole use).", []string{"group"}, nil),
		groupDisk: prometheus.NewDesc("bumpserve_group_disk_bytes",
			"Bytes the jobs of a group's members hold.", []string{"group"}, nil),
	}
}

func (c *usageCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.cpu
	ch <- c.disk
	ch <- c.groupCPU
	ch <- c.groupDisk
}

func (c *usageCollector) Collect(ch chan<- prometheus.Metric) {
	rows, groups, err := c.read()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.cpu, err)
		return
	}
	users := make([]seriesLine, len(rows))
	for i, r := range rows {
		users[i] = seriesLine{r.Owner, r.CPUSeconds, r.DiskBytes}
	}
	emitBounded(ch, c.cpu, c.disk, users, maxUserSeries)
	gs := make([]seriesLine, len(groups))
	for i, g := range groups {
		gs[i] = seriesLine{g.Group, g.CPUSeconds, g.DiskBytes}
	}
	emitBounded(ch, c.groupCPU, c.groupDisk, gs, maxGroupSeries)
}

// seriesLine is one label's CPU-seconds and disk bytes.
type seriesLine struct {
	label string
	cpu   float64
	disk  int64
}

// emitBounded emits the first max lines, and the rest summed under
// otherSeries.
func emitBounded(ch chan<- prometheus.Metric, cpu, disk *prometheus.Desc, lines []seriesLine, max int) {
	other := seriesLine{label: otherSeries}
	for i, l := range lines {
		if i >= max {
			other.cpu += l.cpu
			other.disk += l.disk
			continue
		}
		ch <- prometheus.MustNewConstMetric(cpu, prometheus.CounterValue, l.cpu, l.label)
		ch <- prometheus.MustNewConstMetric(disk, prometheus.GaugeValue, float64(l.disk), l.label)
	}
	if len(lines) > max {
		ch <- prometheus.MustNewConstMetric(cpu, prometheus.CounterValue, other.cpu, other.label)
		ch <- prometheus.MustNewConstMetric(disk, prometheus.GaugeValue, float64(other.disk), other.label)
	}
}

// read is every user's line and every group's sums (groups by name).
func (c *usageCollector) read() ([]*store.OwnerUsage, []api.GroupUsage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rows != nil && time.Since(c.at) < usageTTL {
		return c.rows, c.groups, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := c.store.Usage(ctx, &store.UsageParams{})
	if err != nil {
		return nil, nil, err
	}
	gs, err := c.store.ListGroups(ctx)
	if err != nil {
		return nil, nil, err
	}
	byOwner := make(map[string]*store.OwnerUsage, len(rows))
	for _, r := range rows {
		byOwner[r.Owner] = r
	}
	c.rows, c.groups, c.at = rows, sumGroups(gs, byOwner), time.Now()
	return c.rows, c.groups, nil
}
