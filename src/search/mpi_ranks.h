// Ranks of a spread-out analysis: which share of the runs this process executes, and a meeting point.
//
// Under `mpirun -np N` (Open MPI sets OMPI_COMM_WORLD_SIZE; SLURM's srun sets PMI_SIZE) and when tte was built
// with MPI (Debian's libopenmpi-dev; CMake finds it), StartRanks initialises MPI and returns this rank and
// the world size; FinishRanks(ok) is a collective: every rank learns whether all succeeded (an allreduce, which
// is also the barrier after which rank 0 gathers the results from the shared cache), then MPI is finalised.
// Without mpirun, or built without MPI, there is one rank and both are no-ops. Manual sharding (--rank R
// --ranks N, e.g. a SLURM job array without MPI) needs neither: any later run gathers what the cache holds.
#pragma once

#include <string>

namespace tte {

struct RankInfo {
  int rank = 0, size = 1;
  bool mpi = false;  // MPI was initialised (FinishRanks must be called)
};

RankInfo StartRanks();
// Returns true when every rank passed ok = true.
bool FinishRanks(const RankInfo& r, bool ok);
// "built with Open MPI 4.1.4" or "built without MPI".
std::string MpiDescription();

}  // namespace tte
