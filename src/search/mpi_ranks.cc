// MPI ranks for `tte analyze` (mpi_ranks.h). The only file of tte that calls MPI.
#include "search/mpi_ranks.h"

#include <cstdlib>

#ifdef TTE_HAVE_MPI
#define OMPI_SKIP_MPICXX 1  // the C API only (the C++ bindings need libmpi_cxx)
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace tte {

namespace {
bool LaunchedByMpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(v) != nullptr) return true;
  return false;
}
}  // namespace

RankInfo StartRanks() {
  RankInfo r;
#ifdef TTE_HAVE_MPI
  if (!LaunchedByMpi()) return r;
  MPI_Init(nullptr, nullptr);
  MPI_Comm_rank(MPI_COMM_WORLD, &r.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &r.size);
  r.mpi = true;
#endif
  return r;
}

bool FinishRanks(const RankInfo& r, bool ok) {
#ifdef TTE_HAVE_MPI
  if (!r.mpi) return ok;
  int mine = ok ? 0 : 1, any = 0;
  MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return any == 0;
#else
  (void)r;
  return ok;
#endif
}

std::string MpiDescription() {
#ifdef TTE_HAVE_MPI
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(version, &len);
  std::string v(version, static_cast<size_t>(len));
  const size_t cut = v.find_first_of(",\n");
  return "built with " + v.substr(0, cut);
#else
  return "built without MPI";
#endif
}

}  // namespace tte
