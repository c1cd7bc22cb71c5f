package service

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bumpserve/bumpserve/internal/job"
)

// stateFile is a gzipped bumps state file with a comment line and n
// data lines.
func stateFile(t *testing.T, n int) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte("# header\n"))
	for i := range n {
		zw.Write([]byte(strings.Repeat("1.5 ", i+1) + "\n"))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A bumps state sent by an HTTP worker is read back on the next attempt
// when it is further along than the stores of earlier attempts here; a
// damaged one is refused with its reason, and an older whole store used.
func TestSentBumpsState(t *testing.T) {
	jd := t.TempDir()
	if err := os.MkdirAll(filepath.Join(jd, "output"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := &bumpsRun{env: &Env{Job: &job.Job{Attempt: 3}, Output: filepath.Join(jd, "output")}, model: "/in/slow.py"}
	sent := [][]byte{stateFile(t, 7), stateFile(t, 3), stateFile(t, 2)}
	packed := packBumpsState(sent)
	if err := os.WriteFile(filepath.Join(jd, BumpsStateFile), packed, 0o600); err != nil {
		t.Fatal(err)
	}
	// An older local attempt's store, with fewer generations.
	store := filepath.Join(jd, "previous", "attempt-1-5", storeDir)
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, suffix := range bumpsStateFiles {
		if err := os.WriteFile(filepath.Join(store, "slow"+suffix), stateFile(t, 4-i), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	state, from, gen, why := r.previousState()
	if from != BumpsStateFile || gen != 7 || why != "" || len(state) != 3 || !bytes.Equal(state[1], sent[1]) {
		t.Errorf("with a sent state of 7 generations: from %q gen %d why %q", from, gen, why)
	}

	// Cut short: refused with its reason, the local store used.
	if err := os.WriteFile(filepath.Join(jd, BumpsStateFile), packed[:len(bumpsStateMagic)+700], 0o600); err != nil {
		t.Fatal(err)
	}
	_, from, gen, why = r.previousState()
	if from != "previous/attempt-1-5/store" || gen != 4 || !strings.Contains(why, BumpsStateFile) {
		t.Errorf("with a cut sent state: from %q gen %d why %q", from, gen, why)
	}
	// Not a packed state at all.
	if err := os.WriteFile(filepath.Join(jd, BumpsStateFile), []byte("bumpserve-fit-checkpoint\n{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, _, why = r.previousState(); !strings.Contains(why, "not a packed bumps state") {
		t.Errorf("a fit checkpoint as a bumps state: why %q", why)
	}
	// A damaged gzip stream inside a whole tar.
	bad := append([][]byte{}, sent...)
	bad[2] = bad[2][:len(bad[2])-4]
	if err := os.WriteFile(filepath.Join(jd, BumpsStateFile), packBumpsState(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, from, _, why = r.previousState(); from == BumpsStateFile || !strings.Contains(why, "stats.mc.gz") {
		t.Errorf("a damaged stats file: from %q why %q", from, why)
	}
	if !LooksLikeState("bumps", packed[:StateMagicLen("bumps")]) || LooksLikeState("fit", packed[:StateMagicLen("fit")]) {
		t.Error("the packed state's magic is not told from a fit checkpoint's")
	}
}
