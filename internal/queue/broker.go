package queue

import (
	"slices"
	"sync"

	"github.com/bumpserve/bumpserve/internal/job"
)

// Broker fans job changes out to subscribers (the events stream, pages).
// A subscriber holds only the latest snapshot of each job: a slow reader
// skips intermediate progress but never misses the final state, because
// every snapshot is the whole job.
type Broker struct {
	mu    sync.Mutex
	subs  map[*Subscription]struct{}
	ended chan struct{} // see Ended
}

// Subscription receives snapshots of the jobs it watches.
type Subscription struct {
	b      *Broker
	id     int64 // 0 watches every job
	owner  string
	mu     sync.Mutex
	latest map[int64]*job.Job
	order  []int64
	seen   map[int64]int64 // highest version taken or waiting, per job
	ready  chan struct{}
}

// NewBroker returns an empty broker.
func NewBroker() *Broker {
	return &Broker{subs: map[*Subscription]struct{}{}, ended: make(chan struct{}, 1)}
}

// Ended is signalled when a job reached a terminal state, here or (see
// Queue.Follow) through another controller: a wake-up for the one
// listener that sends notifications, which reads what ended from the
// store. Unlike a subscription to every job it costs no read of a job
// another controller changed.
func (b *Broker) Ended() <-chan struct{} { return b.ended }

func (b *Broker) noteEnded() {
	select {
	case b.ended <- struct{}{}:
	default: // a wake-up is already waiting
	}
}

// Subscribe watches one job (id > 0) or every job of owner (id 0; owner ""
// means all owners).
func (b *Broker) Subscribe(id int64, owner string) *Subscription {
	s := &Subscription{b: b, id: id, owner: owner, latest: map[int64]*job.Job{}, seen: map[int64]int64{}, ready: make(chan struct{}, 1)}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// watched returns the ids of the jobs watched one by one.
func (b *Broker) watched() []int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []int64
	for s := range b.subs {
		if s.id != 0 && !slices.Contains(ids, s.id) {
			ids = append(ids, s.id)
		}
	}
	return ids
}

// Publish delivers a snapshot of j to its watchers without blocking.
func (b *Broker) Publish(j *job.Job) {
	if j.State.Terminal() {
		b.noteEnded()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if (s.id != 0 && s.id != j.ID) || (s.id == 0 && s.owner != "" && s.owner != j.Owner) {
			continue
		}
		s.mu.Lock()
		if v, ok := s.seen[j.ID]; ok && j.Version < v {
			// Publishers race: a snapshot taken before a newer one may
			// arrive after it (a submission's PENDING after its job already
			// ran). Never go back in time.
			s.mu.Unlock()
			continue
		}
		s.seen[j.ID] = j.Version
		if _, ok := s.latest[j.ID]; !ok {
			s.order = append(s.order, j.ID)
		}
		s.latest[j.ID] = j
		s.mu.Unlock()
		select {
		case s.ready <- struct{}{}:
		default:
		}
	}
}

// Ready is signalled when snapshots are waiting.
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// Take returns the waiting snapshots, oldest change first.
func (s *Subscription) Take() []*job.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*job.Job, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.latest[id])
	}
	s.order = s.order[:0]
	clear(s.latest)
	return out
}

// Close stops the subscription.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	delete(s.b.subs, s)
	s.b.mu.Unlock()
}
