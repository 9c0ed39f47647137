// The seam between training and the processes it runs on: rank, size and collectives.
// Implementations: LocalCommunicator (one process), MpiCommunicator and NcclCommunicator.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dunet::launcher {

enum class ReduceOp { kSum, kAverage };

// Contract (as c10d's ProcessGroup): every collective must be called by all ranks in the same
// order with tensors of the same shape and dtype; a call returns when its result is in the
// tensor (for a device backend: when it is ordered before later work on the current stream).
// Tensors must be contiguous. A failure throws CommError naming the operation and rank.
class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual int local_rank() const = 0;  // rank among the processes on this node
  virtual int local_size() const = 0;
  virtual std::string name() const = 0;
  // The communication library and its version ("Open MPI v4.1.4", "NCCL 2.22.3"), for the
  // numerics report; empty where there is none.
  virtual std::string library_version() const = 0;

  virtual void all_reduce(at::Tensor& tensor, ReduceOp op) = 0;
  virtual void broadcast(at::Tensor& tensor, int root) = 0;
  virtual void barrier() = 0;
  // A barrier that waits for work only rank 0 does (preparing data, writing a checkpoint):
  // timed with its own `timeout_s` rather than dist.timeout_s, as c10d's monitored_barrier,
  // so that a healthy job whose rank 0 is busy is never ended by the watchdog.
  virtual void wait_for_root_work(double timeout_s) {
    (void)timeout_s;
    barrier();
  }
  // One small value from every rank, in rank order.
  virtual std::vector<int64_t> all_gather(int64_t value) = 0;
  // Sum of small CPU values over all ranks (metric counts, flags).
  virtual std::vector<double> all_reduce_sum(const std::vector<double>& values) = 0;
  // A communicator over the same processes whose collectives are ordered independently of
  // this one's (MPI_Comm_dup), e.g. for a communication thread. Collective: all ranks call it.
  virtual std::unique_ptr<Communicator> duplicate() = 0;

  bool is_root() const { return rank() == 0; }
};

}  // namespace dunet::launcher
