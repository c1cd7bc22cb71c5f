package service

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/fit"
	"github.com/bumpserve/bumpserve/internal/jobfs"
)

// On an HTTP worker the store bumps saves its DREAM state in is on that
// machine only, and the next attempt of a job whose worker died runs on
// another. So while bumps runs, the newest whole state in the store is
// packed (the three files in a small tar behind a magic line) and given
// to Env.Checkpointed, which sends it to the controller like a native
// fit's checkpoint; the controller keeps it as BumpsStateFile in the
// job's directory, the next attempt's worker fetches it there, and
// previousState reads it as one more saved state (docs/checkpoint.md).

const (
	// BumpsStateFile is, in a bumps job's directory, the packed DREAM
	// state an HTTP worker last sent.
	BumpsStateFile = "bumps-state.tar"
	// bumpsStateMagic begins a packed state, so a stray body is refused.
	bumpsStateMagic = "bumpserve bumps DREAM state 1\n"
	// stateEvery is how often the store is looked at for a new state.
	stateEvery = time.Second
)

// StateFile is the file in a job's directory where the state an
// executor sends for a job of service svc is kept ("" for a service
// that keeps none).
func StateFile(svc string) string {
	switch svc {
	case "fit":
		return CheckpointFile
	case "bumps":
		return BumpsStateFile
	}
	return ""
}

// StateMagicLen is how many bytes LooksLikeState needs for svc.
func StateMagicLen(svc string) int {
	if svc == "bumps" {
		return len(bumpsStateMagic)
	}
	return fit.CheckpointMagicLen
}

// LooksLikeState says whether head, the first StateMagicLen(svc) bytes
// of a body, begins a state of a svc job.
func LooksLikeState(svc string, head []byte) bool {
	if svc == "bumps" {
		return string(head) == bumpsStateMagic
	}
	return fit.HasCheckpointMagic(head)
}

// packBumpsState packs the three state files (in bumpsStateFiles order).
func packBumpsState(files [][]byte) []byte {
	var b bytes.Buffer
	b.WriteString(bumpsStateMagic)
	tw := tar.NewWriter(&b)
	for i, suffix := range bumpsStateFiles {
		// Writes to a bytes.Buffer do not fail.
		_ = tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(suffix, "-"), Mode: 0o644, Size: int64(len(files[i])), Typeflag: tar.TypeReg})
		_, _ = tw.Write(files[i])
	}
	_ = tw.Close()
	return b.Bytes()
}

// unpackBumpsState undoes packBumpsState; the files' own wholeness is
// checkBumpsState's.
func unpackBumpsState(b []byte) ([][]byte, error) {
	rest, ok := bytes.CutPrefix(b, []byte(bumpsStateMagic))
	if !ok {
		return nil, errors.New("not a packed bumps state")
	}
	tr := tar.NewReader(bytes.NewReader(rest))
	var out [][]byte
	for _, suffix := range bumpsStateFiles {
		h, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("packed state cut short: %v", err)
		}
		if want := strings.TrimPrefix(suffix, "-"); h.Name != want || h.Typeflag != tar.TypeReg || h.Size > maxBumpsState {
			return nil, fmt.Errorf("packed state: entry %q (%d bytes), expected %s", h.Name, h.Size, want)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("packed state: %s: %v", h.Name, err)
		}
		out = append(out, data)
	}
	return out, nil
}

// keepState keeps a packed whole state in the job's directory, where the
// job cannot write (atomically: a kill mid-write leaves the last one),
// and hands it to Env.Checkpointed if set. bumps rewrites its state files
// in place, so a kill while it saves can leave the store's state cut; the
// next attempt then takes this copy (previousState), on this machine, on
// a Slurm node sharing the directory, or, sent, on another worker.
func (r *bumpsRun) keepState(packed []byte) {
	if err := jobfs.ReplaceDurable(r.env.JobDir(), BumpsStateFile, packed, 0o600); err != nil {
		fmt.Fprintf(r.env.Log, "bumps: could not keep the DREAM state: %v\n", err)
	}
	if r.env.Checkpointed != nil {
		r.env.Checkpointed(packed)
	}
}

// watchState sends each new whole DREAM state bumps saves in the store
// to sent until done is closed. bumps rewrites the files in place one
// after the other: a state is taken once its files have stayed as they
// were for one look and read whole (checkBumpsState), and only if it
// holds more generations than the last one sent.
func (r *bumpsRun) watchState(sent func([]byte), done <-chan struct{}) {
	tick := time.NewTicker(stateEvery)
	defer tick.Stop()
	model := modelName(r.model)
	var seen, last string
	lastGen := 0
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		// What the files are now: a change since the last look means
		// bumps may be writing them still.
		var sig strings.Builder
		for _, suffix := range bumpsStateFiles {
			if fi, err := r.out.Lstat(storeDir + "/" + model + suffix); err == nil {
				fmt.Fprintf(&sig, "%d/%d;", fi.Size(), fi.ModTime().UnixNano())
			}
		}
		now := sig.String()
		stable := now == seen
		seen = now
		if !stable || now == last || now == "" {
			continue
		}
		last = now
		files, gen, err := readBumpsState(r.env.Output, storeDir, model)
		if err != nil || gen <= lastGen {
			continue // not whole (bumps writes on) or no further: a later look
		}
		lastGen = gen
		sent(packBumpsState(files))
	}
}
