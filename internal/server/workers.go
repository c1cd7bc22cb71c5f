package server

import (
	"context"
	"github.com/bumpserve/bumpserve/api"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/bumpserve/bumpserve/internal/store"
)

// WorkerInfo is what the controller knows of one executor.
type WorkerInfo = api.WorkerInfo

// workers remembers the executors that have called in. It lives in
// memory: after a restart, workers reappear with their next claim.
type workers struct {
	mu    sync.Mutex
	seen  map[string]*WorkerInfo
	local func() *WorkerInfo
}

func (w *workers) touch(name, user string, slots int, services []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen == nil {
		w.seen = map[string]*WorkerInfo{}
	}
	info, ok := w.seen[name]
	if !ok {
		info = &WorkerInfo{Name: name}
		w.seen[name] = info
	}
	info.User, info.LastHeartbeat = user, time.Now().UTC()
	if slots > 0 {
		info.Slots = slots
	}
	if services != nil {
		info.Services = services
	}
}

// SetLocal makes the server list its own local slots among the workers.
func (s *Server) SetLocal(fn func() *WorkerInfo) {
	s.workers.mu.Lock()
	s.workers.local = fn
	s.workers.mu.Unlock()
}

// Workers lists every known executor with the jobs it holds now.
func (s *Server) Workers(ctx context.Context) ([]WorkerInfo, error) {
	s.workers.mu.Lock()
	var out []WorkerInfo
	for _, w := range s.workers.seen {
		out = append(out, *w)
	}
	local := s.workers.local
	s.workers.mu.Unlock()
	if local != nil {
		if l := local(); l != nil {
			out = append(out, *l)
		}
	}
	out, err := s.withDrains(ctx, out)
	if err != nil {
		return nil, err
	}
	for i := range out {
		held, err := s.cfg.Store.HeldBy(ctx, out[i].Name)
		if err != nil {
			return nil, err
		}
		out[i].Running = len(held)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *Server) listWorkers(w http.ResponseWriter, r *http.Request, u *store.User) {
	list, err := s.Workers(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	if list == nil {
		list = []WorkerInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"workers": list})
}
