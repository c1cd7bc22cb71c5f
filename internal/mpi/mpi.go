// Package mpi says how a job's program runs as several MPI ranks on one
// node: under Debian's OpenMPI mpirun, started inside the job's sandbox,
// so that every rank is a child of the one confined process tree. The
// ranks talk through shared memory; mpirun and its PMIx server reach the
// ranks over loopback TCP, which PMIx 4 requires, so such a job runs in
// a network namespace of its own with only lo up (sandbox.Job.Loopback).
package mpi

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// Mpirun is Debian's OpenMPI launcher (package openmpi-bin), called by
// path for the same reason bumps is.
const Mpirun = "/usr/bin/mpirun"

// Installed says why ranks of bumps --mpi cannot be started here, or
// nil: it needs mpirun, and in Debian's Python mpi4py and dill (bumps'
// MPI mapper sends the problem to the ranks with dill).
func Installed() error {
	if _, err := exec.LookPath(Mpirun); err != nil {
		return &NotInstalledError{What: Mpirun}
	}
	for _, m := range pythonModules {
		if _, err := os.Stat(m); err != nil {
			return &NotInstalledError{What: "the Python module " + filepath.Base(m)}
		}
	}
	return nil
}

// pythonModules are what the ranks import, where Debian installs them.
var pythonModules = []string{"/usr/lib/python3/dist-packages/mpi4py", "/usr/lib/python3/dist-packages/dill"}

// NotInstalledError says part of MPI is missing on the executor's host.
type NotInstalledError struct{ What string }

func (e *NotInstalledError) Error() string {
	return e.What + " is not installed on this executor (Debian packages openmpi-bin, python3-mpi4py and python3-dill)"
}

// Args is mpirun's command line for ranks copies of argv on this node.
// --oversubscribe: the ranks are what the job was granted (Slurm's
// allocation, or the executor's slots), whatever number of cores mpirun
// counts on the host; --bind-to none: the executor, not mpirun, decides
// where the job's processes run.
func Args(ranks int, argv ...string) []string {
	args := []string{Mpirun, "-np", strconv.Itoa(ranks), "--oversubscribe", "--bind-to", "none"}
	return append(args, argv...)
}

// Env is what mpirun needs in the job's environment besides the job's
// own variables; tmp is the job's private temp dir.
//   - Shared memory (btl vader, with self for a rank's messages to
//     itself) is the only transport between ranks: no TCP between
//     them, no InfiniBand or UCX probing of the host's devices.
//   - vader's backing files go into the job's temp dir: an unprivileged
//     sandbox does not give the job /dev/shm, which all users share.
//   - PMIx authenticates its clients natively (by uid over its socket),
//     not through the host's munge daemon, which the sandbox hides.
//   - Inside a user namespace of its own the job is root there, which
//     mpirun refuses unless told that is meant; it is root of nothing
//     else (the sandbox drops its capabilities).
func Env(tmp string) []string {
	return []string{
		"OMPI_MCA_btl=self,vader",
		"OMPI_MCA_pml=ob1",
		"OMPI_MCA_btl_vader_backing_directory=" + tmp,
		"OMPI_MCA_orte_tmpdir_base=" + tmp,
		"PMIX_MCA_psec=native",
		"OMPI_ALLOW_RUN_AS_ROOT=1",
		"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
	}
}
