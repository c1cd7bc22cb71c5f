package queue

import (
	"testing"

	"github.com/bumpserve/bumpserve/internal/job"
)

// A snapshot older than one already published is dropped: publishers race,
// and a watcher must never see a job go back in time.
func TestBrokerNeverGoesBack(t *testing.T) {
	t.Parallel()
	b := NewBroker()
	all := b.Subscribe(0, "")
	one := b.Subscribe(7, "")
	other := b.Subscribe(0, "bob")
	defer all.Close()
	defer one.Close()
	defer other.Close()

	b.Publish(&job.Job{ID: 7, Owner: "alice", State: job.Complete, Version: 2})
	b.Publish(&job.Job{ID: 7, Owner: "alice", State: job.Pending, Version: 0}) // late
	b.Publish(&job.Job{ID: 8, Owner: "alice", State: job.Pending, Version: 0})
	got := all.Take()
	if len(got) != 2 || got[0].ID != 7 || got[0].State != job.Complete || got[1].ID != 8 {
		t.Fatalf("all = %+v", got)
	}
	if got := one.Take(); len(got) != 1 || got[0].State != job.Complete {
		t.Fatalf("one = %+v", got)
	}
	<-one.Ready() // signalled by the first publish
	if got := other.Take(); len(got) != 0 {
		t.Fatalf("bob's subscription got alice's jobs: %+v", got)
	}
	// Equal versions pass (progress between heartbeats shares a version).
	b.Publish(&job.Job{ID: 8, Owner: "alice", State: job.Pending, Version: 0, Progress: &job.Progress{Step: 1}})
	if got := all.Take(); len(got) != 1 || got[0].Progress == nil {
		t.Fatalf("same-version update = %+v", got)
	}
	select {
	case <-one.Ready():
		t.Fatal("job 7's subscription signalled for job 8")
	default:
	}
}
