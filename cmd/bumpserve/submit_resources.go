package main

import (
	"encoding/json"
	"flag"
	"path/filepath"
	"strconv"
	"time"
)

// resourceFlags set what a job occupies and may use from the command
// line, so a user need not edit the spec's "resources" and "limits".
type resourceFlags struct {
	cpus     int
	tasks    int
	wall     string
	memoryMB int64
}

func (r *resourceFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&r.cpus, "cpus", 0, "CPUs the job occupies, of each task (the spec's resources.cpus)")
	fs.IntVar(&r.tasks, "tasks", 0, "tasks: a bumps job runs them as MPI ranks of bumps --mpi, on one node (the spec's resources.tasks)")
	fs.StringVar(&r.wall, "wall", "", "wall-clock limit: a duration such as 90m or 2h, or seconds (the spec's limits.wall_seconds)")
	fs.Int64Var(&r.memoryMB, "memory-mb", 0, "memory limit in MiB (the spec's limits.memory_mb)")
}

// apply merges the flags given into spec's resources and limits, keeping
// the spec's other keys; a flag wins over the same key in the spec.
func (r *resourceFlags) apply(fs *flag.FlagSet, spec json.RawMessage) (json.RawMessage, error) {
	resources, limits := map[string]any{}, map[string]any{}
	var err error
	fs.Visit(func(f *flag.Flag) {
		if err != nil {
			return
		}
		switch f.Name {
		case "cpus":
			if r.cpus < 1 {
				err = usagef("--cpus: %d is not a number of CPUs (accepted: 1 or more)", r.cpus)
			}
			resources["cpus"] = r.cpus
		case "tasks":
			if r.tasks < 1 {
				err = usagef("--tasks: %d is not a number of tasks (accepted: 1 or more)", r.tasks)
			}
			resources["tasks"] = r.tasks
		case "wall":
			var secs float64
			secs, err = parseWall(r.wall)
			limits["wall_seconds"] = secs
		case "memory-mb":
			if r.memoryMB < 1 {
				err = usagef("--memory-mb: %d is not a memory size (accepted: MiB, 1 or more)", r.memoryMB)
			}
			limits["memory_mb"] = r.memoryMB
		}
	})
	if err != nil || (len(resources) == 0 && len(limits) == 0) {
		return spec, err
	}
	doc := map[string]json.RawMessage{}
	if len(spec) > 0 {
		if json.Unmarshal(spec, &doc) != nil || doc == nil {
			return nil, usagef("--cpus, --tasks, --wall, --memory-mb: the spec is not a JSON object, so they cannot be added to it")
		}
	}
	for key, add := range map[string]map[string]any{"resources": resources, "limits": limits} {
		if len(add) == 0 {
			continue
		}
		merged := map[string]any{}
		if old, ok := doc[key]; ok && json.Unmarshal(old, &merged) != nil {
			return nil, usagef("spec.%s: not a JSON object, so --cpus, --tasks, --wall or --memory-mb cannot be added to it", key)
		}
		for k, v := range add {
			merged[k] = v
		}
		doc[key], _ = json.Marshal(merged)
	}
	return json.Marshal(doc)
}

// parseWall reads "2h", "90m", "1h30m" or plain seconds ("3600", "0.5").
func parseWall(s string) (float64, error) {
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil {
		d, derr := time.ParseDuration(s)
		if derr != nil {
			return 0, usagef("--wall: %q is not a duration (accepted: e.g. 90m, 2h, 1h30m, or seconds such as 3600)", s)
		}
		secs = d.Seconds()
	}
	if !(secs > 0) || secs > 1e9 {
		return 0, usagef("--wall: %q is not a positive duration (accepted: e.g. 90m, 2h, or seconds such as 3600)", s)
	}
	return secs, nil
}

// defaultName names a job the user gave no name: after its model script
// (a Bumps job's spec.model), else the spec or job document file it came
// from, so the job list tells jobs apart without --name.
func defaultName(spec json.RawMessage, files ...string) string {
	var s struct {
		Model string `json:"model"`
	}
	if json.Unmarshal(spec, &s) == nil && s.Model != "" {
		return filepath.Base(s.Model)
	}
	for _, f := range files {
		if f != "" {
			return filepath.Base(f)
		}
	}
	return ""
}
