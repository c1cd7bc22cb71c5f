package server

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bumpserve/bumpserve/internal/store"
)

// Per-user accounting on /metrics. The sums are read from the store at
// scrape time, at most once per usageTTL (a scrape every few seconds
// must not rescan the jobs each time). Labels stay few: users beyond the
// first maxUserSeries (by name) are summed under user="(other)".
const (
	usageTTL      = 15 * time.Second
	maxUserSeries = 500
	otherUsers    = "(other)"
)

type usageCollector struct {
	store     store.JobStore
	cpu, disk *prometheus.Desc
	mu        sync.Mutex
	at        time.Time
	rows      []*store.OwnerUsage
}

func newUsageCollector(st store.JobStore) *usageCollector {
	return &usageCollector{
		store: st,
		cpu: prometheus.NewDesc("bumpserve_user_cpu_seconds_total",
			"CPU-seconds charged to a user's finished runs (CPUs held x wall time); kept when jobs are deleted.", []string{"user"}, nil),
		disk: prometheus.NewDesc("bumpserve_user_disk_bytes",
			"Bytes a user's jobs hold (uploads, and every file once a finished job is measured).", []string{"user"}, nil),
	}
}

func (c *usageCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.cpu; ch <- c.disk }

func (c *usageCollector) Collect(ch chan<- prometheus.Metric) {
	rows, err := c.read()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.cpu, err)
		return
	}
	other := store.OwnerUsage{Owner: otherUsers}
	for i, r := range rows {
		if i >= maxUserSeries {
			other.CPUSeconds += r.CPUSeconds
			other.DiskBytes += r.DiskBytes
			continue
		}
		c.emit(ch, r)
	}
	if len(rows) > maxUserSeries {
		c.emit(ch, &other)
	}
}

func (c *usageCollector) emit(ch chan<- prometheus.Metric, r *store.OwnerUsage) {
	ch <- prometheus.MustNewConstMetric(c.cpu, prometheus.CounterValue, r.CPUSeconds, r.Owner)
	ch <- prometheus.MustNewConstMetric(c.disk, prometheus.GaugeValue, float64(r.DiskBytes), r.Owner)
}

func (c *usageCollector) read() ([]*store.OwnerUsage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rows != nil && time.Since(c.at) < usageTTL {
		return c.rows, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := c.store.Usage(ctx, &store.UsageParams{})
	if err != nil {
		return nil, err
	}
	c.rows, c.at = rows, time.Now()
	return rows, nil
}
