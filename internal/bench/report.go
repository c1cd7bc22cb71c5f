package bench

import (
	"fmt"
	"github.com/bumpserve/bumpserve/internal/store/postgres"
	"io"
	"time"
)

// httpBaseline is the HTTP floor of one request: the larger of the
// liveness probe's and the bare POST handler's rates.
func (r *Report) httpBaseline() float64 { return max(r.BaselineHTTPPerSec, r.BaselinePostPerSec) }

// ratios is a rate's ratio to each in-run baseline.
func (r *Report) ratios(rate float64) string {
	s := fmt.Sprintf("%.2f × HTTP baseline, %.2f × dir+file creations/s, %.2f × SQLite insert tx/s",
		rate/r.httpBaseline(), rate/r.BaselineFilesPerSec, rate/r.BaselineInsertPerSec)
	if r.BaselinePostgresInsertPerSec > 0 {
		s += fmt.Sprintf(", %.2f × PostgreSQL insert tx/s", rate/r.BaselinePostgresInsertPerSec)
	}
	return s
}

// Print writes a report as a short table with ratios to the baselines.
// The "submit→complete throughput" and "baselines:" lines keep their
// shape: scripts read them.
func (r *Report) Print(w io.Writer) {
	where := "local slots"
	if r.Remote {
		where = "slots of an HTTP worker"
	}
	extra := ""
	if r.FilesPerJob > 0 {
		extra += fmt.Sprintf(", %d more output files per job", r.FilesPerJob)
	}
	if r.Prefill > 0 {
		extra += fmt.Sprintf(", %d finished jobs prefilled", r.Prefill)
	}
	fmt.Fprintf(w, "%d zero-second sleep jobs, %d %s, %d HTTP submitters%s\n", r.Jobs, r.Workers, where, r.Submitters, extra)
	fmt.Fprintf(w, "  submit→complete throughput  %8.0f jobs/s  (%s)\n", r.JobsPerSecond, r.ratios(r.JobsPerSecond))
	r.Phase.print(w, r, "")
	if b := r.BatchPhase; b != nil {
		fmt.Fprintf(w, "  batch submit→complete       %8.0f jobs/s  (%d jobs per request; %s)\n", b.JobsPerSecond, r.Batch, r.ratios(b.JobsPerSecond))
		b.print(w, r, "batch ")
	}
	fmt.Fprintf(w, "  baselines: directory+file creations %0.f/s; SQLite single-row insert %0.f tx/s; GET /healthz %0.f req/s; bare HTTP POST %0.f req/s\n",
		r.BaselineFilesPerSec, r.BaselineInsertPerSec, r.BaselineHTTPPerSec, r.BaselinePostPerSec)
	if r.BaselinePostgresInsertPerSec > 0 {
		fmt.Fprintf(w, "  store: PostgreSQL (%s), %d controller(s); PostgreSQL single-row insert %0.f tx/s\n",
			postgres.Redact(r.Store), max(r.Controllers, 1), r.BaselinePostgresInsertPerSec)
	}
}

func (p *Phase) print(w io.Writer, r *Report, prefix string) {
	fmt.Fprintf(w, "  %-28s%8.0f jobs/s  (%.2f × HTTP baseline)\n", prefix+"submissions accepted", p.SubmitPerSecond, p.SubmitPerSecond/r.httpBaseline())
	fmt.Fprintf(w, "  %-28sp50 %v  p99 %v\n", prefix+"submit→start latency", p.StartLatencyP50.Round(time.Microsecond), p.StartLatencyP99.Round(time.Microsecond))
	fmt.Fprintf(w, "  %-28sp50 %v  p99 %v\n", prefix+"submit→finish latency", p.EndToEndP50.Round(time.Microsecond), p.EndToEndP99.Round(time.Microsecond))
	fmt.Fprintf(w, "  %-28s%v wall, %v CPU (peak %d queued; %.1f store writes per commit; wall × HTTP baseline = %.1f requests' worth)\n",
		prefix+"cost per job", (time.Second / time.Duration(max(p.JobsPerSecond, 1))).Round(time.Microsecond), p.CPUPerJob.Round(time.Microsecond),
		p.PeakQueued, p.WritesPerCommit, r.httpBaseline()/p.JobsPerSecond)
}
