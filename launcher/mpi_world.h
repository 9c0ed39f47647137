// MPI for the process, initialised once (RAII): rank and size in MPI_COMM_WORLD, and the
// local rank and size from a shared-memory split, which is right under mpirun, srun and any
// other launcher (SLURM_LOCALID is 0 in every rank under mpirun).
#pragma once

#include <mpi.h>

#include <string>
#include <utility>
#include <vector>

namespace dunet::launcher {

class MpiWorld {
 public:
  // Initialises MPI with MPI_THREAD_MULTIPLE (the gradient reducer all-reduces from a
  // communication thread while the training thread may, too); throws CommError otherwise.
  MpiWorld(int* argc, char*** argv);
  ~MpiWorld();  // MPI_Finalize
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  MPI_Comm comm() const { return world_; }
  // The host name (MPI_Get_processor_name) of every rank, gathered once at start.
  const std::vector<std::string>& host_of_rank() const { return host_of_rank_; }

  // True when this process was started by an MPI launcher (mpirun, srun with PMIx, ...).
  static bool launched_by_mpi();
  // Rank and size as the launcher announced them (PMIX_RANK is right under mpirun and srun),
  // for log lines written before MPI is initialised; {0, 1} without a launcher.
  static std::pair<int, int> rank_from_launcher();
  // Ends every rank of the job at once; for fatal errors, so that no rank waits forever. This
  // process ends within kAbortGraceSeconds even where MPI_Abort cannot reach the launcher.
  static void abort(int code);
  static constexpr int kAbortGraceSeconds = 3;

 private:
  MPI_Comm world_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  int local_rank_ = 0;
  int local_size_ = 1;
  int thread_level_ = MPI_THREAD_SINGLE;
  std::vector<std::string> host_of_rank_;
};

// Throws CommError with the call, file:line, MPI's error string and the library version.
void mpi_check(int code, const char* call, const char* file, int line);

}  // namespace dunet::launcher

#define DUNET_MPI_CHECK(call) ::dunet::launcher::mpi_check((call), #call, __FILE__, __LINE__)
