package job

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/bumpserve/bumpserve/internal/strictjson"
)

// Limits bound what one job may consume. Zero means "the server's cap".
type Limits struct {
	WallSeconds float64 `json:"wall_seconds,omitempty"`
	CPUSeconds  float64 `json:"cpu_seconds,omitempty"`
	MemoryMB    int64   `json:"memory_mb,omitempty"`
	Processes   int64   `json:"processes,omitempty"`
	DiskMB      int64   `json:"disk_mb,omitempty"`
}

// DefaultCaps are the server's limits when none are configured: the design's
// 24 h wall, CPU = wall × cpus, 4 GiB memory, 256 processes, 10 GiB output.
var DefaultCaps = Limits{
	WallSeconds: 24 * 3600,
	MemoryMB:    4096,
	Processes:   256,
	DiskMB:      10 * 1024,
}

// Wall is the wall-clock limit as a duration.
func (l Limits) Wall() time.Duration { return time.Duration(l.WallSeconds * float64(time.Second)) }

// Resources is what a job occupies on its executor: Tasks processes
// (MPI ranks of a bumps job; 1 for every other job) of CPUs each, on
// Nodes nodes. The job occupies Tasks × CPUs of its executor's CPUs.
type Resources struct {
	CPUs  int `json:"cpus,omitempty"`
	Tasks int `json:"tasks,omitempty"`
	Nodes int `json:"nodes,omitempty"`
}

// MaxNodes is the most nodes a job may ask for. Every job runs on one:
// its MPI ranks talk through shared memory inside the job's sandbox,
// and ranks on several nodes would need the network, which jobs are
// denied (docs/mpi.md says why, and what it would take).
const MaxNodes = 1

// Envelope holds the keys every spec may carry, whatever its service.
type Envelope struct {
	Limits    *Limits    `json:"limits,omitempty"`
	Resources *Resources `json:"resources,omitempty"`
}

// ReadEnvelope extracts limits and resources from a spec, checks them
// against the server's caps, and returns the effective limits (each the
// spec's value where given, else the cap) and the CPU count: all the
// CPUs the job occupies, its tasks' included (maxCPUs bounds that).
// A spec may lower a cap but never raise it.
func ReadEnvelope(spec json.RawMessage, caps Limits, maxCPUs int) (Limits, int, error) {
	env, err := readEnvelope(spec)
	if err != nil {
		return Limits{}, 0, err
	}
	cpus, err := env.Resources.occupied(maxCPUs)
	if err != nil {
		return Limits{}, 0, err
	}
	eff := caps
	if eff.CPUSeconds == 0 {
		eff.CPUSeconds = eff.WallSeconds * float64(cpus)
	}
	if env.Limits == nil {
		return eff, cpus, nil
	}
	l := *env.Limits
	checks := []struct {
		field    string
		val, cap float64
		dst      func(float64)
	}{
		{"wall_seconds", l.WallSeconds, eff.WallSeconds, func(v float64) { eff.WallSeconds = v }},
		{"cpu_seconds", l.CPUSeconds, eff.CPUSeconds, func(v float64) { eff.CPUSeconds = v }},
		{"memory_mb", float64(l.MemoryMB), float64(eff.MemoryMB), func(v float64) { eff.MemoryMB = int64(v) }},
		{"processes", float64(l.Processes), float64(eff.Processes), func(v float64) { eff.Processes = int64(v) }},
		{"disk_mb", float64(l.DiskMB), float64(eff.DiskMB), func(v float64) { eff.DiskMB = int64(v) }},
	}
	for _, c := range checks {
		switch {
		case c.val == 0:
		case c.val < 0:
			return Limits{}, 0, fmt.Errorf("spec.limits.%s: %g is negative (accepted: a positive number up to %g)", c.field, c.val, c.cap)
		case c.val > c.cap:
			return Limits{}, 0, fmt.Errorf("spec.limits.%s: %g exceeds the server's cap %g (a spec may only lower it)", c.field, c.val, c.cap)
		default:
			c.dst(c.val)
		}
	}
	return eff, cpus, nil
}

// readEnvelope decodes the envelope keys of a spec strictly: the service
// decodes the rest, but a typo inside limits or resources would otherwise
// be ignored by every service alike.
func readEnvelope(spec json.RawMessage) (Envelope, error) {
	var env Envelope
	if len(spec) == 0 {
		return env, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(spec, &top); err != nil {
		return env, fmt.Errorf("spec: must be a JSON object: %v", err)
	}
	if raw, ok := top["limits"]; ok && string(raw) != "null" {
		env.Limits = new(Limits)
		if err := strictjson.Decode(raw, "spec.limits", env.Limits); err != nil {
			return env, err
		}
	}
	if raw, ok := top["resources"]; ok && string(raw) != "null" {
		env.Resources = new(Resources)
		if err := strictjson.Decode(raw, "spec.resources", env.Resources); err != nil {
			return env, err
		}
	}
	return env, nil
}

// occupied checks r and returns the CPUs a job of r occupies (r may be
// nil: one CPU); maxCPUs > 0 bounds it.
func (r *Resources) occupied(maxCPUs int) (int, error) {
	if r == nil {
		return 1, nil
	}
	most := "any number"
	if maxCPUs > 0 {
		most = strconv.Itoa(maxCPUs)
	}
	cpus, tasks := max(r.CPUs, 1), max(r.Tasks, 1)
	switch {
	case r.CPUs < 0 || (maxCPUs > 0 && r.CPUs > maxCPUs):
		return 0, fmt.Errorf("spec.resources.cpus: %d is not between 1 and %s", r.CPUs, most)
	case r.Tasks < 0 || (maxCPUs > 0 && r.Tasks > maxCPUs):
		return 0, fmt.Errorf("spec.resources.tasks: %d is not between 1 and %s (MPI ranks of a bumps job)", r.Tasks, most)
	case maxCPUs > 0 && cpus*tasks > maxCPUs:
		return 0, fmt.Errorf("spec.resources.tasks: %d tasks of %d CPUs each are %d CPUs, more than the %d a job may occupy on this server",
			tasks, cpus, cpus*tasks, maxCPUs)
	case r.Nodes < 0 || r.Nodes > MaxNodes:
		return 0, fmt.Errorf("spec.resources.nodes: %d is not accepted (accepted: %d; a job's MPI ranks share one node, "+
			"since ranks on several nodes would need the network, which jobs are denied: see docs/mpi.md)", r.Nodes, MaxNodes)
	}
	return cpus * tasks, nil
}

// Tasks is the number of tasks (MPI ranks) a spec asks for, 1 when it
// asks for none. The spec was checked when the job was submitted.
func Tasks(spec json.RawMessage) int {
	env, err := readEnvelope(spec)
	if err != nil || env.Resources == nil {
		return 1
	}
	return max(env.Resources.Tasks, 1)
}
