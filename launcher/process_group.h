// The processes of a run and the Communicator they use, chosen once from [dist] backend:
// started by an MPI launcher -> MPI world with the MPI or NCCL communicator; otherwise a world
// of one process. Owns MPI, so it must outlive everything that communicates.
#pragma once

#include <memory>
#include <string>

#include "launcher/communicator.h"
#include "launcher/dist_config.h"

namespace dunet::launcher {

class MpiWorld;
class MpiCommunicator;
class CollectiveWatchdog;

class ProcessGroup {
 public:
  // Throws CommError when the backend asked for cannot be had (NCCL not built, no GPU, more
  // than one process with backend "local").
  explicit ProcessGroup(const DistConfig& config);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  Communicator& comm() { return *active_; }
  // "2 nodes: node1 ranks 0-1, node2 ranks 2-3"; "1 node: <this host> rank 0" without MPI.
  std::string placement() const;

 private:
  std::unique_ptr<MpiWorld> world_;
  std::unique_ptr<CollectiveWatchdog> watchdog_;
  std::unique_ptr<MpiCommunicator> mpi_;  // the MPI backend, or NCCL's bootstrap
  std::unique_ptr<Communicator> other_;   // NCCL or local
  Communicator* active_ = nullptr;
};

// Whether this dunet was built with the NCCL backend.
bool built_with_nccl();

// MPI_Abort when this process is one of several MPI ranks, so that the others do not wait
// forever for it; returns otherwise. For the top-level error handler.
void abort_other_ranks(int code);

}  // namespace dunet::launcher
