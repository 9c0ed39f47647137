// Communicator over NCCL for CUDA tensors, bootstrapped by another communicator (rank 0's
// ncclUniqueId is broadcast over MPI, or over a LocalCommunicator in a world of one).
//
// Devices and streams (as c10d's ProcessGroupNCCL): each rank uses cuda:<local rank % devices>;
// every call, from whichever thread (the gradient reducer's communication thread included),
// runs under a device guard for it. Collectives run on a stream from LibTorch's pool; an event
// recorded on the caller's current LibTorch stream makes it wait for the inputs, and one recorded
// after the collective makes the caller's stream wait for the result; the host never blocks.
//
// Failures: a watchdog thread polls every collective's completion and NCCL's asynchronous
// errors. A collective that has not completed within `timeout_s` (dist.timeout_s), or an
// asynchronous error, aborts the NCCL communicator (ncclCommAbort, which ends the hung kernels),
// and every later call raises CommError naming the rank and the operation. If the process has
// not ended its run a grace period later, `end_job` ends it (MPI_Abort in a job), so every rank
// exits within dist.timeout_s plus that grace, as on the MPI path.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "launcher/communicator.h"

namespace dunet::launcher {

struct NcclOptions {
  double timeout_s = 300;                                  // dist.timeout_s
  double grace_s = 30;                                     // after an abort, before end_job
  std::function<void(const std::string& reason)> end_job;  // none: only raise CommError
};

class NcclCommunicator final : public Communicator {
 public:
  // Throws CommError naming the reason when no CUDA device is usable, the NCCL library is
  // older than dunet needs, or NCCL fails to initialise. `bootstrap` must outlive this.
  NcclCommunicator(Communicator& bootstrap, NcclOptions options);
  ~NcclCommunicator() override;

  int rank() const override { return bootstrap_.rank(); }
  int size() const override { return bootstrap_.size(); }
  int local_rank() const override { return bootstrap_.local_rank(); }
  int local_size() const override { return bootstrap_.local_size(); }
  std::string name() const override { return "nccl"; }
  std::string library_version() const override;
  int device() const;

  void all_reduce(at::Tensor& tensor, ReduceOp op) override;
  void broadcast(at::Tensor& tensor, int root) override;
  // Waits (host) for every collective issued so far, then for all ranks.
  void barrier() override;
  std::vector<int64_t> all_gather(int64_t value) override;
  std::vector<double> all_reduce_sum(const std::vector<double>& values) override;
  std::unique_ptr<Communicator> duplicate() override;

 private:
  struct State;  // CUDA and NCCL handles and the watchdog, kept out of this header
  Communicator& bootstrap_;
  NcclOptions options_;
  std::unique_ptr<State> state_;
};

// The number of CUDA devices this process can use (0 when there is no driver or device).
int visible_cuda_devices();

// NCCL's version code (ncclGetVersion) as major * 10000 + minor * 100 + patch, whichever of
// NCCL's two layouts it uses (major*1000 + minor*100 + patch before 2.9).
inline int normalized_nccl_version(int code) {
  if (code >= 10000) return code;
  return code / 1000 * 10000 + code / 100 % 10 * 100 + code % 100;
}

// The oldest NCCL dunet runs with: ncclCommGetAsyncError and ncclCommAbort (2.4).
inline constexpr int kMinimumNcclVersion = 20400;
// From this version on an average is NCCL's ncclAvg; before, a sum divided by the world size.
inline constexpr int kNcclAvgVersion = 21000;

}  // namespace dunet::launcher
