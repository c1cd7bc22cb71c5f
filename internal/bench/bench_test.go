package bench

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store/postgres/pgtest"
	"github.com/bumpserve/bumpserve/internal/store/sqlite"
)

// A small run through every option: prefilled store, output files, a
// batch phase; the report keeps the lines scripts read.
func TestRunReports(t *testing.T) {
	rep, err := Run(context.Background(), Config{Jobs: 20, Workers: 2, Submitters: 2, Dir: t.TempDir(),
		Prefill: 30, FilesPerJob: 2, Batch: 7})
	if err != nil {
		t.Fatal(err)
	}
	if rep.JobsPerSecond <= 0 || rep.BatchPhase == nil || rep.BatchPhase.JobsPerSecond <= 0 ||
		rep.BaselinePostPerSec <= 0 || rep.BaselineHTTPPerSec <= 0 || rep.CPUPerJob <= 0 {
		t.Fatalf("report = %+v", rep)
	}
	var out bytes.Buffer
	rep.Print(&out)
	for _, line := range []string{
		`(?m)^20 zero-second sleep jobs, 2 local slots, 2 HTTP submitters, 2 more output files per job, 30 finished jobs prefilled$`,
		`(?m)^  submit→complete throughput +\d+ jobs/s  \(\d+\.\d\d × HTTP baseline, `,
		`(?m)^  batch submit→complete +\d+ jobs/s  \(7 jobs per request; `,
		`(?m)^  baselines: directory\+file creations \d+/s; SQLite single-row insert \d+ tx/s; GET /healthz \d+ req/s; bare HTTP POST \d+ req/s$`,
	} {
		if !regexp.MustCompile(line).Match(out.Bytes()) {
			t.Errorf("report lacks a line matching %s:\n%s", line, out.String())
		}
	}
}

// Prefilled jobs are all finished, in batches that need not divide
// their number.
func TestPrefillFinishesJobs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	last, err := prefill(ctx, path, 2500, false)
	if err != nil || last != 2500 {
		t.Fatalf("prefill = %d, %v; want last id 2500", last, err)
	}
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	counts, err := st.CountJobs(ctx, "")
	if err != nil || counts[job.Complete] != 2500 || len(counts) != 1 {
		t.Fatalf("jobs by state after prefill = %v, %v", counts, err)
	}
}

// On PostgreSQL the run goes through a scratch database, prefilled
// there, shared by two controllers, and the report adds the PostgreSQL
// insert baseline.
func TestRunOnPostgres(t *testing.T) {
	rep, err := Run(context.Background(), Config{Jobs: 20, Workers: 2, Submitters: 2, Dir: t.TempDir(),
		Prefill: 30, Batch: 7, Store: pgtest.Base(t), Controllers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.JobsPerSecond <= 0 || rep.BaselinePostgresInsertPerSec <= 0 || rep.BaselineInsertPerSec <= 0 {
		t.Fatalf("report = %+v", rep)
	}
	var out bytes.Buffer
	rep.Print(&out)
	for _, line := range []string{
		`(?m)^  submit→complete throughput +\d+ jobs/s  \(.*, \d+\.\d\d × PostgreSQL insert tx/s\)$`,
		`(?m)^  baselines: directory\+file creations \d+/s; SQLite single-row insert \d+ tx/s; `,
		`(?m)^  store: PostgreSQL \(.*\), 2 controller\(s\); PostgreSQL single-row insert \d+ tx/s$`,
	} {
		if !regexp.MustCompile(line).Match(out.Bytes()) {
			t.Errorf("report lacks a line matching %s:\n%s", line, out.String())
		}
	}
}
