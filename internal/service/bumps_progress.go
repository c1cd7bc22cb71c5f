package service

import (
	"time"

	"github.com/bumpserve/bumpserve/internal/bumps"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobfs"
)

// monEvery is how often the .mon file is read; bumps writes a step line
// about once a second.
const monEvery = 250 * time.Millisecond

// watchMon reports the step and cost of bumps' console monitor (the .mon
// file in batch mode) as the job's progress until done is closed.
func watchMon(out *jobfs.Dir, rel string, report func(job.Progress), done <-chan struct{}) {
	tick := time.NewTicker(monEvery)
	defer tick.Stop()
	var last bumps.Progress
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		p, ok := readMon(out, rel)
		if !ok || p == last {
			continue
		}
		last = p
		cost := p.Cost
		report(job.Progress{Step: p.Step, Cost: &cost, Message: "bumps: step and normalised chisq"})
	}
}

// maxMonRead bounds how much of a long .mon file is read per poll: the
// last step line is near its end.
const maxMonRead = 64 << 10

func readMon(out *jobfs.Dir, rel string) (bumps.Progress, bool) {
	b, _, err := out.Tail(rel, maxMonRead)
	if err != nil {
		return bumps.Progress{}, false
	}
	return bumps.LastProgress(string(b))
}
