// Communicator over MPI for CPU tensors (the backend on CPU machines and for control data).
// Calls are serialised by a mutex, so one communication thread and the training thread may
// share it; the collective order contract of Communicator still applies.
#pragma once

#include <mpi.h>

#include <mutex>

#include "launcher/collective_watchdog.h"
#include "launcher/communicator.h"
#include "launcher/mpi_world.h"

namespace dunet::launcher {

class MpiCommunicator final : public Communicator {
 public:
  // `world` must outlive the communicator. Uses a duplicate of its communicator, so dunet's
  // collectives never mix with other MPI traffic.
  // `watchdog` (optional, must outlive this) times every collective; see
  // collective_watchdog.h.
  explicit MpiCommunicator(const MpiWorld& world, CollectiveWatchdog* watchdog = nullptr);
  // Over a duplicate of `comm`, with the given node-local placement.
  MpiCommunicator(MPI_Comm comm, int local_rank, int local_size,
                  CollectiveWatchdog* watchdog = nullptr);
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::string name() const override { return "mpi"; }
  std::string library_version() const override;

  void all_reduce(at::Tensor& tensor, ReduceOp op) override;
  void broadcast(at::Tensor& tensor, int root) override;
  void barrier() override;
  void wait_for_root_work(double timeout_s) override;
  std::vector<int64_t> all_gather(int64_t value) override;
  std::vector<double> all_reduce_sum(const std::vector<double>& values) override;
  std::unique_ptr<Communicator> duplicate() override;

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_, size_, local_rank_, local_size_;
  CollectiveWatchdog* watchdog_;
  std::mutex mutex_;
};

}  // namespace dunet::launcher
