package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/store/sqlite"
)

// baselineInserts measures single-row insert transactions per second on
// a fresh store: the cost floor of one durable transition.
func baselineInserts(ctx context.Context, path string, full bool) (float64, error) {
	st, err := sqlite.Open(ctx, path, sqlite.Options{FullSync: full})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	return timeInserts(ctx, st)
}

// timeInserts creates jobs one after another, each its own transaction,
// and returns how many it created per second.
func timeInserts(ctx context.Context, st store.JobStore) (float64, error) {
	const n = 2000
	start := time.Now()
	for range n {
		if _, err := st.CreateJob(ctx, &store.CreateJobParams{Owner: "b", Service: "sleep", Now: time.Now()}); err != nil {
			return 0, err
		}
	}
	return n / time.Since(start).Seconds(), nil
}

// baselineFiles measures how many directories-with-one-file this file
// system creates per second: every job makes its directory, output/, a
// log and its result files, so this bounds the job rate.
func baselineFiles(dir string) (float64, error) {
	const n = 1000
	start := time.Now()
	for i := range n {
		d := filepath.Join(dir, fmt.Sprint(i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(d, "f"), []byte("x"), 0o644); err != nil {
			return 0, err
		}
	}
	return n / time.Since(start).Seconds(), nil
}

// hammer sends requests made by newReq from conc clients for one second
// and returns how many were answered per second.
func hammer(hc *http.Client, conc int, newReq func() (*http.Request, error)) (float64, error) {
	var n atomic.Int64
	deadline := time.Now().Add(time.Second)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				req, err := newReq()
				if err == nil {
					var resp *http.Response
					if resp, err = hc.Do(req); err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}
				if err != nil {
					firstErr.Store(err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, err
	}
	return float64(n.Load()), nil
}

// baselineHealthz measures GET /healthz round trips per second (a
// liveness probe: no store, no authentication).
func baselineHealthz(hc *http.Client, base string, conc int) (float64, error) {
	return hammer(hc, conc, func() (*http.Request, error) { return http.NewRequest("GET", base+"/healthz", nil) })
}

// baselinePost measures a bare net/http handler that decodes a small JSON
// body and answers 201 with a small JSON document, served on loopback
// and called by the same client: the floor of one submission request.
func baselinePost(ctx context.Context, hc *http.Client, conc int) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var doc struct {
			Service string          `json:"service"`
			Spec    json.RawMessage `json:"spec"`
		}
		if err := json.NewDecoder(r.Body).Decode(&doc); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"id": 1, "service": doc.Service, "state": "PENDING"})
	})}
	go srv.Serve(ln)
	defer srv.Shutdown(ctx)
	url := "http://" + ln.Addr().String() + "/api/v1/jobs"
	body := []byte(sleepSubmission(0))
	return hammer(hc, conc, func() (*http.Request, error) {
		req, err := http.NewRequest("POST", url, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	})
}

// sleepSubmission is the job document the bench submits.
func sleepSubmission(files int) string {
	if files == 0 {
		return `{"service":"sleep","spec":{"seconds":0}}`
	}
	return fmt.Sprintf(`{"service":"sleep","spec":{"seconds":0,"files":%d}}`, files)
}
