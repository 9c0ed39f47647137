// Communicator over NCCL for CUDA tensors, bootstrapped by MPI (rank 0's ncclUniqueId is
// broadcast over the MPI communicator). Built when CMake finds the CUDA toolkit and NCCL.
//
// Streams: collectives run on the communicator's own CUDA stream. An event recorded on the
// legacy default stream (where LibTorch runs unless told otherwise) makes the NCCL stream
// wait for the gradients, and an event recorded after the collective makes the default
// stream wait for the result; the host never blocks. Small control values (all_gather,
// all_reduce_sum, barrier) go over the MPI bootstrap communicator.
#pragma once

#include <memory>

#include "launcher/communicator.h"
#include "launcher/mpi_communicator.h"

namespace dunet::launcher {

class NcclCommunicator final : public Communicator {
 public:
  // Throws CommError naming the reason when no CUDA device is usable or NCCL fails to
  // initialise. `bootstrap` must outlive this communicator.
  explicit NcclCommunicator(MpiCommunicator& bootstrap);
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
  void barrier() override;
  std::vector<int64_t> all_gather(int64_t value) override;
  std::vector<double> all_reduce_sum(const std::vector<double>& values) override;
  std::unique_ptr<Communicator> duplicate() override;

 private:
  struct State;  // CUDA and NCCL handles, kept out of this header
  MpiCommunicator& bootstrap_;
  std::unique_ptr<State> state_;
};

// The number of CUDA devices this process can use (0 when there is no driver or device).
int visible_cuda_devices();

}  // namespace dunet::launcher
