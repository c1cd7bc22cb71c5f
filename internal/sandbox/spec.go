package sandbox

import (
	"encoding/json"
	"fmt"
)

// spec is what the executor tells the helper: everything the helper needs
// to confine itself and then become the job. It travels as the helper's
// one JSON argument, so the helper needs no other state from its parent.
type spec struct {
	Path string   `json:"path"` // the job's program, an absolute path
	Args []string `json:"args"` // the job's argv, argv[0] first
	Env  []string `json:"env"`
	Dir  string   `json:"dir"` // working directory, inside the job's own dirs

	ReadOnly  []string `json:"ro"` // system paths and the job's input
	ReadWrite []string `json:"rw"` // the job's output and temp dirs

	Landlock bool `json:"landlock"`
	Seccomp  bool `json:"seccomp"`
	MountNS  bool `json:"mountns"` // build a private root (the parent cloned a mount ns)
	// Loopback: the parent cloned a network namespace; bring its lo up,
	// and let IP sockets and TCP through seccomp and Landlock.
	Loopback bool `json:"loopback,omitempty"`
	// DropCaps: the helper is root of a user namespace of its own; the
	// job must not inherit that namespace's capabilities.
	DropCaps bool `json:"dropcaps,omitempty"`

	Rlimits []rlimit `json:"rlimits"`
	UID     int      `json:"uid"`     // 0: keep the executor's user
	Cgroups []string `json:"cgroups"` // cgroup.procs files to join before dropping root

	// ParentPID is the executor's pid: after changing user the helper
	// must set its parent-death signal again (a credential change clears
	// it) and then check that the parent did not die in between.
	ParentPID int `json:"ppid"`
	// StatusFD is the helper's end of a pipe on which it reports why it
	// could not confine itself or start the job; exec closes it.
	StatusFD int `json:"status_fd"`

	// Init makes the helper pid 1 of the job's pid namespace (see
	// runInit), reporting the job's wait status on ExitFD.
	Init   bool `json:"init,omitempty"`
	ExitFD int  `json:"exit_fd,omitempty"`
}

// rlimit is one resource limit as the helper sets it.
type rlimit struct {
	Name     string `json:"name"` // for messages: "cpu", "as", ...
	Resource int    `json:"resource"`
	Soft     uint64 `json:"soft"`
	Hard     uint64 `json:"hard"`
}

func (s *spec) encode() string {
	b, _ := json.Marshal(s)
	return string(b)
}

func decodeSpec(arg string) (*spec, error) {
	var s spec
	if err := json.Unmarshal([]byte(arg), &s); err != nil {
		return nil, fmt.Errorf("bad spec argument: %w", err)
	}
	if s.Path == "" || len(s.Args) == 0 {
		return nil, fmt.Errorf("bad spec argument: no program to run")
	}
	return &s, nil
}
