package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// metrics is the server's Prometheus registry: HTTP requests by method and
// code, and jobs by state read from the store at scrape time (so the
// numbers are right however many processes change them).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
}

func newMetrics(st store.Store, more ...prometheus.Collector) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bumpserve_http_requests_total", Help: "HTTP requests by method and status code.",
		}, []string{"method", "code"}),
	}
	m.reg.MustRegister(m.requests, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&jobsCollector{store: st, desc: prometheus.NewDesc("bumpserve_jobs", "Jobs by state.", []string{"state"}, nil)},
		newUsageCollector(st))
	m.reg.MustRegister(more...)
	return m
}

func (m *metrics) request(method string, code int) {
	m.requests.WithLabelValues(method, strconv.Itoa(code)).Inc()
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

type jobsCollector struct {
	store store.JobStore
	desc  *prometheus.Desc
}

func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.store.CountJobs(ctx, "")
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, st := range job.States {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
}
