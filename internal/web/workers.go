package web

import (
	"slices"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/server"
)

// protectionScan is how many recent jobs the admin page reads to learn
// which protections each worker gives its jobs.
const protectionScan = 500

// workerRow is a worker with the sandbox protections its jobs ran under,
// shown once per worker rather than on every job's page.
type workerRow struct {
	server.WorkerInfo
	Protections []string // from its latest job that recorded them; nil if none
}

// splitWorkers puts the server's own slots apart from remote workers and
// gives each the protections of its newest job among recent (newest first).
func splitWorkers(ws []server.WorkerInfo, recent []*job.Job) (local, remote []workerRow) {
	latest := map[string][]string{}
	for _, j := range recent {
		if _, seen := latest[j.Worker]; !seen && len(j.Protections) > 0 {
			latest[j.Worker] = slices.Clone(j.Protections)
		}
	}
	for _, w := range ws {
		row := workerRow{WorkerInfo: w, Protections: latest[w.Name]}
		if w.Local {
			local = append(local, row)
		} else {
			remote = append(remote, row)
		}
	}
	return local, remote
}
