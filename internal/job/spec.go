package job

import (
	"encoding/json"
	"fmt"
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

// Resources is what a job occupies on its executor.
type Resources struct {
	CPUs int `json:"cpus,omitempty"`
}

// Envelope holds the keys every spec may carry, whatever its service.
type Envelope struct {
	Limits    *Limits    `json:"limits,omitempty"`
	Resources *Resources `json:"resources,omitempty"`
}

// ReadEnvelope extracts limits and resources from a spec, checks them
// against the server's caps, and returns the effective limits (each the
// spec's value where given, else the cap) and the CPU count.
// A spec may lower a cap but never raise it.
func ReadEnvelope(spec json.RawMessage, caps Limits, maxCPUs int) (Limits, int, error) {
	env, err := readEnvelope(spec)
	if err != nil {
		return Limits{}, 0, err
	}
	cpus := 1
	if env.Resources != nil && env.Resources.CPUs != 0 {
		cpus = env.Resources.CPUs
		if cpus < 1 || (maxCPUs > 0 && cpus > maxCPUs) {
			return Limits{}, 0, fmt.Errorf("spec.resources.cpus: %d is not between 1 and %d", cpus, maxCPUs)
		}
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
