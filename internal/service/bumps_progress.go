package service

import (
	"io"
	"math"
	"os"
	"time"

	"github.com/bumpserve/bumpserve/internal/bumps"
	"github.com/bumpserve/bumpserve/internal/job"
)

// monEvery is how often the .mon file is read; bumps writes a step line
// about once a second.
const monEvery = 250 * time.Millisecond

// watchMon reports the step and cost of bumps' console monitor (the .mon
// file in batch mode) as the job's progress until done is closed.
func watchMon(path string, report func(job.Progress), done <-chan struct{}) {
	tick := time.NewTicker(monEvery)
	defer tick.Stop()
	var last bumps.Progress
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		p, ok := readMon(path)
		if !ok || p == last {
			continue
		}
		last = p
		prog := job.Progress{Step: p.Step, Message: "bumps: step and normalised chisq"}
		if cost := p.Cost; !math.IsInf(cost, 0) && !math.IsNaN(cost) {
			prog.Cost = &cost // JSON has no inf, which bumps prints past a soft limit
		}
		report(prog)
	}
}

// maxMonRead bounds how much of a long .mon file is read per poll: the
// last step line is near its end.
const maxMonRead = 64 << 10

func readMon(path string) (bumps.Progress, bool) {
	f, err := os.Open(path)
	if err != nil {
		return bumps.Progress{}, false
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > maxMonRead {
		f.Seek(st.Size()-maxMonRead, io.SeekStart)
	}
	b, _ := io.ReadAll(io.LimitReader(f, maxMonRead))
	return bumps.LastProgress(string(b))
}
