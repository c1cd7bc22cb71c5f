package sandbox

import (
	"errors"
	"os"

	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
)

// landlockABI is the kernel's Landlock ABI version, 0 without Landlock.
func landlockABI() int {
	v, err := llsys.LandlockGetABIVersion()
	if err != nil {
		return 0
	}
	return v
}

// Device files every job may use. Child processes cannot start without
// /dev/null (shells and Python redirect to it).
var (
	devicesRW = []string{"/dev/null", "/dev/full"}
	devicesRO = []string{"/dev/zero", "/dev/random", "/dev/urandom"}
)

// restrictPaths confines the calling process with Landlock to s's paths:
// with no network rules, TCP bind and connect are denied (ABI ≥ 4); with
// scoping, the job can neither signal nor reach an abstract socket of a
// process outside its domain (ABI ≥ 6), such as its executor. Newer
// kernels restrict more (UDP at ABI 10) through the same call.
func restrictPaths(s *spec) error {
	var rules []landlock.Rule
	add := func(ro bool, paths ...string) error {
		for _, p := range paths {
			fi, err := os.Stat(p)
			if errors.Is(err, os.ErrNotExist) {
				continue // optional system paths differ between hosts
			}
			if err != nil {
				return err
			}
			switch {
			case fi.IsDir() && ro:
				rules = append(rules, landlock.RODirs(p))
			case fi.IsDir():
				rules = append(rules, landlock.RWDirs(p))
			case ro:
				rules = append(rules, landlock.ROFiles(p))
			default:
				rules = append(rules, landlock.RWFiles(p))
			}
		}
		return nil
	}
	ro := append([]string{}, s.ReadOnly...)
	rw := append([]string{}, s.ReadWrite...)
	ro = append(ro, devicesRO...)
	rw = append(rw, devicesRW...)
	if s.MountNS {
		// The private root's /proc shows only the job's own processes
		// and its /dev/shm is its own.
		ro = append(ro, "/proc")
		rw = append(rw, "/dev/shm")
	} else {
		// The host's /proc would show every process's command line;
		// the job itself may read its own entries.
		ro = append(ro, "/proc/self")
	}
	if err := add(true, ro...); err != nil {
		return err
	}
	if err := add(false, rw...); err != nil {
		return err
	}
	cfg := landlock.V11
	if s.Loopback {
		// TCP among the job's own processes, in a network namespace
		// where nothing else is reachable (see Job.Loopback).
		cfg.HandledAccessNet = 0
	}
	return cfg.BestEffort().Restrict(rules...)
}
