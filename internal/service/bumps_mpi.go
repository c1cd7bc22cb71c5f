package service

import (
	"os/exec"

	"github.com/bumpserve/bumpserve/internal/mpi"
)

// mpiCommand runs bumps with args as r.ranks MPI ranks: mpirun starts
// them inside the job's sandbox, each a full `bumps MODEL ... --mpi`.
// Rank 0 runs the fitter and writes the store, its .mon (the progress
// bumpserve reads) and the seed line on stdout; the other ranks load
// the model and only evaluate the points rank 0 scatters to them (bumps'
// MPIMapper), so the fit takes the same path as a serial one with the
// same seed. The ranks' stdout and stderr arrive through mpirun, in the
// job's one bumps-stdout.txt and bumps-stderr.txt.
func (r *bumpsRun) mpiCommand(args []string) *exec.Cmd {
	argv := mpi.Args(r.ranks, append(append([]string{r.b}, args...), "--mpi")...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(bumpsEnv(r.env), mpi.Env(r.env.Temp)...)
	// The ranks reach mpirun's PMIx server over loopback TCP.
	r.env.Loopback = true
	return cmd
}
