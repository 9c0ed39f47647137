#include "launcher/nccl_communicator.h"

#include <ATen/ATen.h>
#include <cuda_runtime.h>
#include <nccl.h>

#include "core/error.h"

namespace dunet::launcher {

namespace {

void cuda_check(cudaError_t code, const char* call, const char* file, int line) {
  if (code == cudaSuccess) return;
  throw CommError(std::string("CUDA error in ") + call + " at " + file + ":" +
                  std::to_string(line) + ": " + cudaGetErrorString(code));
}

void nccl_check(ncclResult_t code, const char* call, const char* file, int line) {
  if (code == ncclSuccess) return;
  throw CommError(std::string("NCCL error in ") + call + " at " + file + ":" +
                  std::to_string(line) + ": " + ncclGetErrorString(code) + " (NCCL " +
                  std::to_string(NCCL_MAJOR) + "." + std::to_string(NCCL_MINOR) + "." +
                  std::to_string(NCCL_PATCH) + ")");
}

}  // namespace

#define DUNET_CUDA_CHECK(call) cuda_check((call), #call, __FILE__, __LINE__)
#define DUNET_NCCL_CHECK(call) nccl_check((call), #call, __FILE__, __LINE__)

namespace {

ncclDataType_t nccl_type(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat:
      return ncclFloat32;
    case at::kDouble:
      return ncclFloat64;
    case at::kHalf:
      return ncclFloat16;
    case at::kLong:
      return ncclInt64;
    case at::kInt:
      return ncclInt32;
    case at::kByte:
      return ncclUint8;
    default:
      throw CommError(std::string("NCCL communicator: unsupported tensor type ") +
                      std::string(c10::toString(t.scalar_type())));
  }
}

}  // namespace

int visible_cuda_devices() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess ? count : 0;
}

struct NcclCommunicator::State {
  int device = 0;
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  cudaEvent_t inputs_ready = nullptr;
  cudaEvent_t result_ready = nullptr;
};

NcclCommunicator::NcclCommunicator(MpiCommunicator& bootstrap)
    : bootstrap_(bootstrap), state_(std::make_unique<State>()) {
  int count = 0;
  const cudaError_t probe = cudaGetDeviceCount(&count);
  DUNET_CHECK(probe == cudaSuccess && count > 0, CommError, "rank ", bootstrap.rank(),
              ": dist.backend = \"nccl\" needs a CUDA device, but none is usable (",
              probe == cudaSuccess ? "0 devices" : cudaGetErrorString(probe),
              "); use dist.backend = \"mpi\" or \"auto\" on CPU machines");
  state_->device = bootstrap.local_rank() % count;
  DUNET_CUDA_CHECK(cudaSetDevice(state_->device));
  DUNET_CUDA_CHECK(cudaStreamCreateWithFlags(&state_->stream, cudaStreamNonBlocking));
  DUNET_CUDA_CHECK(cudaEventCreateWithFlags(&state_->inputs_ready, cudaEventDisableTiming));
  DUNET_CUDA_CHECK(cudaEventCreateWithFlags(&state_->result_ready, cudaEventDisableTiming));

  ncclUniqueId id{};
  if (bootstrap.rank() == 0) DUNET_NCCL_CHECK(ncclGetUniqueId(&id));
  at::Tensor id_bytes = at::from_blob(&id, {static_cast<int64_t>(sizeof(id))}, at::kByte);
  bootstrap.broadcast(id_bytes, 0);
  DUNET_NCCL_CHECK(ncclCommInitRank(&state_->comm, bootstrap.size(), id, bootstrap.rank()));
  bootstrap.barrier();
}

NcclCommunicator::~NcclCommunicator() {
  if (state_->comm != nullptr) ncclCommDestroy(state_->comm);
  if (state_->inputs_ready != nullptr) cudaEventDestroy(state_->inputs_ready);
  if (state_->result_ready != nullptr) cudaEventDestroy(state_->result_ready);
  if (state_->stream != nullptr) cudaStreamDestroy(state_->stream);
}

int NcclCommunicator::device() const { return state_->device; }

void NcclCommunicator::all_reduce(at::Tensor& tensor, ReduceOp op) {
  DUNET_CHECK(tensor.is_cuda() && tensor.is_contiguous(), CommError,
              "NCCL all_reduce: expected a contiguous CUDA tensor, got one on ",
              tensor.device().str());
  DUNET_CUDA_CHECK(cudaEventRecord(state_->inputs_ready, cudaStreamLegacy));
  DUNET_CUDA_CHECK(cudaStreamWaitEvent(state_->stream, state_->inputs_ready, 0));
  const ncclRedOp_t nccl_op = op == ReduceOp::kAverage ? ncclAvg : ncclSum;
  DUNET_NCCL_CHECK(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(),
                                 static_cast<size_t>(tensor.numel()), nccl_type(tensor), nccl_op,
                                 state_->comm, state_->stream));
  DUNET_CUDA_CHECK(cudaEventRecord(state_->result_ready, state_->stream));
  DUNET_CUDA_CHECK(cudaStreamWaitEvent(cudaStreamLegacy, state_->result_ready, 0));
}

void NcclCommunicator::broadcast(at::Tensor& tensor, int root) {
  DUNET_CHECK(tensor.is_cuda() && tensor.is_contiguous(), CommError,
              "NCCL broadcast: expected a contiguous CUDA tensor, got one on ",
              tensor.device().str());
  DUNET_CUDA_CHECK(cudaEventRecord(state_->inputs_ready, cudaStreamLegacy));
  DUNET_CUDA_CHECK(cudaStreamWaitEvent(state_->stream, state_->inputs_ready, 0));
  DUNET_NCCL_CHECK(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(),
                                 static_cast<size_t>(tensor.numel()), nccl_type(tensor), root,
                                 state_->comm, state_->stream));
  DUNET_CUDA_CHECK(cudaEventRecord(state_->result_ready, state_->stream));
  DUNET_CUDA_CHECK(cudaStreamWaitEvent(cudaStreamLegacy, state_->result_ready, 0));
}

void NcclCommunicator::barrier() {
  DUNET_CUDA_CHECK(cudaStreamSynchronize(state_->stream));
  bootstrap_.barrier();
}

std::vector<int64_t> NcclCommunicator::all_gather(int64_t value) {
  return bootstrap_.all_gather(value);
}

std::unique_ptr<Communicator> NcclCommunicator::duplicate() {
  return std::make_unique<NcclCommunicator>(bootstrap_);
}

std::vector<double> NcclCommunicator::all_reduce_sum(const std::vector<double>& values) {
  return bootstrap_.all_reduce_sum(values);
}

std::string NcclCommunicator::library_version() const {
  int code = 0;
  if (ncclGetVersion(&code) != ncclSuccess) return "NCCL (version unknown)";
  // NCCL_VERSION_CODE layout: major*10000 + minor*100 + patch from 2.9 on, *1000 + *100 before.
  const int major = code >= 10000 ? code / 10000 : code / 1000;
  const int minor = code >= 10000 ? code / 100 % 100 : code / 100 % 10;
  return "NCCL " + std::to_string(major) + "." + std::to_string(minor) + "." +
         std::to_string(code % 100);
}

}  // namespace dunet::launcher
