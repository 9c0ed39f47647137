#include "launcher/mpi_communicator.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <climits>

#include "core/error.h"

namespace dunet::launcher {

namespace {

MPI_Datatype mpi_type(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat:
      return MPI_FLOAT;
    case at::kDouble:
      return MPI_DOUBLE;
    case at::kLong:
      return MPI_INT64_T;
    case at::kInt:
      return MPI_INT32_T;
    case at::kByte:
      return MPI_UINT8_T;
    case at::kChar:
      return MPI_INT8_T;
    default:
      throw CommError(std::string("MPI communicator: unsupported tensor type ") +
                      std::string(c10::toString(t.scalar_type())));
  }
}

void check_tensor(const at::Tensor& t, const char* op) {
  DUNET_CHECK(t.device().is_cpu(), CommError, "MPI ", op, ": tensor is on ", t.device().str(),
              "; the MPI backend moves CPU tensors (use dist.backend = \"nccl\" for GPUs)");
  DUNET_CHECK(t.is_contiguous(), CommError, "MPI ", op, ": tensor must be contiguous");
}

// MPI counts are int: calls `fn(pointer, count)` on chunks of at most 2^30 elements, so that
// 64-bit sizes work.
template <typename Fn>
void for_each_chunk(at::Tensor& tensor, Fn&& fn) {
  constexpr int64_t kMaxChunkElements = int64_t{1} << 30;
  auto* base = static_cast<char*>(tensor.data_ptr());
  const auto element_bytes = static_cast<int64_t>(tensor.element_size());
  for (int64_t offset = 0; offset < tensor.numel(); offset += kMaxChunkElements) {
    fn(base + offset * element_bytes,
       static_cast<int>(std::min(kMaxChunkElements, tensor.numel() - offset)));
  }
}

}  // namespace

MpiCommunicator::MpiCommunicator(const MpiWorld& world, CollectiveWatchdog* watchdog)
    : MpiCommunicator(world.comm(), world.local_rank(), world.local_size(), watchdog) {}

MpiCommunicator::MpiCommunicator(MPI_Comm comm, int local_rank, int local_size,
                                 CollectiveWatchdog* watchdog)
    : local_rank_(local_rank), local_size_(local_size), watchdog_(watchdog) {
  DUNET_MPI_CHECK(MPI_Comm_dup(comm, &comm_));
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  DUNET_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  DUNET_MPI_CHECK(MPI_Comm_size(comm_, &size_));
}

std::unique_ptr<Communicator> MpiCommunicator::duplicate() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::make_unique<MpiCommunicator>(comm_, local_rank_, local_size_, watchdog_);
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void MpiCommunicator::all_reduce(at::Tensor& tensor, ReduceOp op) {
  check_tensor(tensor, "all_reduce");
  const MPI_Datatype type = mpi_type(tensor);
  {
    CollectiveWatchdog::Scope timed(watchdog_, "all_reduce");
    std::lock_guard<std::mutex> lock(mutex_);
    for_each_chunk(tensor, [&](void* data, int count) {
      DUNET_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, data, count, type, MPI_SUM, comm_));
    });
  }
  if (op == ReduceOp::kAverage) tensor.div_(size_);
}

void MpiCommunicator::broadcast(at::Tensor& tensor, int root) {
  check_tensor(tensor, "broadcast");
  const MPI_Datatype type = mpi_type(tensor);
  CollectiveWatchdog::Scope timed(watchdog_, "broadcast");
  std::lock_guard<std::mutex> lock(mutex_);
  for_each_chunk(tensor, [&](void* data, int count) {
    DUNET_MPI_CHECK(MPI_Bcast(data, count, type, root, comm_));
  });
}

void MpiCommunicator::wait_for_root_work(double timeout_s) {
  CollectiveWatchdog::Scope timed(watchdog_, "barrier after rank 0's work", timeout_s);
  DUNET_MPI_CHECK(MPI_Barrier(comm_));
}

void MpiCommunicator::barrier() {
  CollectiveWatchdog::Scope timed(watchdog_, "barrier");
  std::lock_guard<std::mutex> lock(mutex_);
  DUNET_MPI_CHECK(MPI_Barrier(comm_));
}

std::vector<int64_t> MpiCommunicator::all_gather(int64_t value) {
  std::vector<int64_t> values(static_cast<size_t>(size_));
  CollectiveWatchdog::Scope timed(watchdog_, "all_gather");
  std::lock_guard<std::mutex> lock(mutex_);
  DUNET_MPI_CHECK(MPI_Allgather(&value, 1, MPI_INT64_T, values.data(), 1, MPI_INT64_T, comm_));
  return values;
}

std::vector<double> MpiCommunicator::all_reduce_sum(const std::vector<double>& values) {
  std::vector<double> sums(values.size());
  CollectiveWatchdog::Scope timed(watchdog_, "all_reduce_sum");
  std::lock_guard<std::mutex> lock(mutex_);
  DUNET_MPI_CHECK(MPI_Allreduce(values.data(), sums.data(), static_cast<int>(values.size()),
                                MPI_DOUBLE, MPI_SUM, comm_));
  return sums;
}

std::string MpiCommunicator::library_version() const {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  if (MPI_Get_library_version(text, &length) != MPI_SUCCESS) return "MPI (version unknown)";
  std::string version(text, static_cast<size_t>(std::max(0, length)));
  const auto end = version.find_first_of(",\n");  // "Open MPI v4.1.4, package: ..."
  return version.substr(0, end);
}

}  // namespace dunet::launcher
