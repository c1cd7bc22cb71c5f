package server_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/store/sqlite"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// The recovery rule for a crash between putting a submission's files in
// place and committing its job: the directory names a reserved id no job
// has, and the sweep at start removes it once it is old enough not to be
// another controller's submission in flight. A job's own directory stays.
func TestSweepOrphans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	data := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(data, "test.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	root, err := jobdir.Open(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := st.CreateJob(ctx, &store.CreateJobParams{Owner: "a", Service: "sleep"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := st.ReserveJobIDs(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	crashed, inFlight := first, first+1
	now := time.Now()
	for _, id := range []int64{kept.ID, crashed, inFlight} {
		if err := os.MkdirAll(root.Job(id).Input(), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	old := now.Add(-2 * server.OrphanAge)
	for _, id := range []int64{kept.ID, crashed} {
		if err := os.Chtimes(string(root.Job(id)), old, old); err != nil {
			t.Fatal(err)
		}
	}
	n, err := server.SweepOrphans(ctx, root, st, now)
	if err != nil || n != 1 {
		t.Fatalf("sweep removed %d, %v; want 1", n, err)
	}
	testenv.Eventually(t, 10*time.Second, "the crashed submission's files are gone", func() bool {
		_, err := os.Lstat(string(root.Job(crashed)))
		return os.IsNotExist(err)
	})
	for _, id := range []int64{kept.ID, inFlight} {
		if _, err := os.Lstat(root.Job(id).Input()); err != nil {
			t.Errorf("job dir %d: %v", id, err)
		}
	}
}
