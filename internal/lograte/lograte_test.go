package lograte

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestRepeatsAreHeldBack(t *testing.T) {
	var buf bytes.Buffer
	h := New(slog.NewTextHandler(&buf, nil), time.Minute).(*handler)
	log := slog.New(h)
	for range 1000 {
		log.Error("requeue expired leases", "err", "disk full")
		log.With("job", 7).Warn("deliver result; retrying")
		log.Info("job finished") // below Warn: never held back
	}
	log.With("job", 8).Warn("deliver result; retrying")
	out := buf.String()
	for line, want := range map[string]int{"requeue expired leases": 1, "job=7": 1, "job=8": 1, "job finished": 1000} {
		if got := strings.Count(out, line); got != want {
			t.Errorf("%q logged %d times, want %d", line, got, want)
		}
	}
	// A minute on, the next one is written with the count held back.
	later := slog.NewRecord(time.Now().Add(time.Minute), slog.LevelError, "requeue expired leases", 0)
	h.Handle(context.Background(), later)
	if !strings.Contains(buf.String(), "suppressed=999") {
		t.Errorf("no count of suppressed repeats:\n%s", buf.String()[len(out):])
	}
}
