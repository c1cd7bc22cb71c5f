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
//
// Each rank runs bumps' command line after mpiRepair, for the reason it
// gives (and the stop hook, as every bumps process does).
func (r *bumpsRun) mpiCommand(args []string) *exec.Cmd {
	argv := mpi.Args(r.ranks, append(append([]string{DefaultBumpsPython, "-c", bootScript(true)}, args...), "--mpi")...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(bumpsEnv(r.env), mpi.Env(r.env.Temp)...)
	// The ranks reach mpirun's PMIx server over loopback TCP.
	r.env.Loopback = true
	return cmd
}

// mpiRepair is one repair to bumps 0.9's MPI mapper: it scatters the
// points to evaluate by their memory, as rows, but DE and DREAM hand it
// populations in Fortran order (transposed views), so every rank, rank
// 0 included, would evaluate scrambled points and the fit would go
// elsewhere than the serial one. Handing the mapper a C-ordered copy
// makes `bumps --mpi` evaluate exactly the points the serial mapper
// does. One line: it is shown in the job's log.
const mpiRepair = `import numpy, bumps.mapper as m; f = getattr(m, "_MPI_map", None); ` +
	`m._MPI_map = f and (lambda problem, points, comm, root=0: f(problem, points if points is None else numpy.ascontiguousarray(points, "d"), comm, root)); `
