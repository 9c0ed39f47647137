#include "launcher/nccl_communicator.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <nccl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "core/error.h"

namespace dunet::launcher {

namespace {

using Clock = std::chrono::steady_clock;

std::string version_text(int normalized) {
  return std::to_string(normalized / 10000) + "." + std::to_string(normalized / 100 % 100) + "." +
         std::to_string(normalized % 100);
}

void cuda_check(cudaError_t code, const char* call, const char* file, int line) {
  if (code == cudaSuccess) return;
  throw CommError(std::string("CUDA error in ") + call + " at " + file + ":" +
                  std::to_string(line) + ": " + cudaGetErrorString(code));
}

void nccl_check(int rank, ncclResult_t code, const char* call, const char* file, int line) {
  if (code == ncclSuccess) return;
  throw CommError("rank " + std::to_string(rank) + ": NCCL error in " + call + " at " + file + ":" +
                  std::to_string(line) + ": " + ncclGetErrorString(code) + " (NCCL " +
                  std::to_string(NCCL_MAJOR) + "." + std::to_string(NCCL_MINOR) + "." +
                  std::to_string(NCCL_PATCH) + " headers)");
}

}  // namespace

#define DUNET_CUDA_CHECK(call) cuda_check((call), #call, __FILE__, __LINE__)
#define DUNET_NCCL_CHECK(rank, call) nccl_check((rank), (call), #call, __FILE__, __LINE__)

namespace {

ncclDataType_t nccl_type(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat:
      return ncclFloat32;
    case at::kDouble:
      return ncclFloat64;
    case at::kHalf:
      return ncclFloat16;
#if defined(__CUDA_BF16_TYPES_EXIST__) && NCCL_VERSION_CODE >= NCCL_VERSION(2, 10, 0)
    case at::kBFloat16:
      return ncclBfloat16;
#endif
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

// One collective from the call that enqueues it until its event says the device finished it.
struct Work {
  uint64_t id;
  std::string operation;
  Clock::time_point start;
  std::optional<at::cuda::CUDAEvent> done;  // recorded once enqueued
};

struct NcclCommunicator::State {
  int rank = 0;
  c10::DeviceIndex device = 0;
  double timeout_s = 300;
  double grace_s = 30;
  std::function<void(const std::string&)> end_job;
  bool use_nccl_avg = false;
  ncclComm_t comm = nullptr;
  std::optional<c10::cuda::CUDAStream> stream;  // from LibTorch's pool, for this device

  std::mutex mutex;
  std::condition_variable changed;
  std::deque<Work> in_flight;
  uint64_t next_id = 1;
  std::string failure;  // non-empty once the communicator was aborted
  Clock::time_point failed_at;
  bool stopping = false;
  std::thread watchdog;

  // Runs `enqueue(comm, stream)` as collective `operation` on the communicator's stream,
  // ordered after the caller's current stream, and orders that stream after it.
  template <typename Enqueue>
  void run(at::Tensor& tensor, const char* operation, Enqueue&& enqueue) {
    const c10::cuda::CUDAGuard guard(device);
    const c10::cuda::CUDAStream caller = c10::cuda::getCurrentCUDAStream(device);
    uint64_t id = 0;
    ncclComm_t handle = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex);
      throw_if_failed();
      id = next_id++;
      in_flight.push_back({id, operation, Clock::now(), std::nullopt});
      handle = comm;
    }
    at::cuda::CUDAEvent inputs_ready(cudaEventDisableTiming);
    inputs_ready.record(caller);
    inputs_ready.block(*stream);
    // The caller may free the tensor before the collective ran: the caching allocator must
    // not hand its memory out again until the communicator's stream is done with it.
    c10::cuda::CUDACachingAllocator::recordStream(tensor.storage().data_ptr(), *stream);
    // Enqueued without the lock, so that the watchdog can abort an enqueue that hangs (an
    // abort racing a healthy enqueue is the price, as in c10d's watchdog).
    const ncclResult_t result = enqueue(handle, stream->stream());
    std::lock_guard<std::mutex> lock(mutex);
    auto work = std::find_if(in_flight.begin(), in_flight.end(),
                             [id](const Work& w) { return w.id == id; });
    if (work == in_flight.end()) throw_if_failed();  // aborted while it was enqueued
    DUNET_ASSERT(work != in_flight.end());
    if (result != ncclSuccess) {
      in_flight.erase(work);
      DUNET_NCCL_CHECK(rank, result);
    }
    work->done.emplace(cudaEventDisableTiming);
    work->done->record(*stream);
    work->done->block(caller);
  }

  void throw_if_failed() const {
    if (!failure.empty()) throw CommError(failure);
  }

  // With `mutex` held: drops completed work, and aborts on an asynchronous error or a timeout.
  void poll() {
    if (!failure.empty()) return;
    try {
      while (!in_flight.empty() && in_flight.front().done && in_flight.front().done->query()) {
        in_flight.pop_front();
      }
    } catch (const std::exception& e) {
      fail("CUDA reported an error while " + in_flight.front().operation + " ran: " + e.what());
      return;
    }
    ncclResult_t async = ncclSuccess;
    if (ncclCommGetAsyncError(comm, &async) == ncclSuccess && async != ncclSuccess) {
      fail(std::string("NCCL reported an asynchronous error (") + ncclGetErrorString(async) + ")" +
           (in_flight.empty() ? "" : " during " + in_flight.front().operation));
      return;
    }
    if (in_flight.empty()) return;
    const Work& oldest = in_flight.front();
    const double waited = std::chrono::duration<double>(Clock::now() - oldest.start).count();
    if (waited > timeout_s) {
      fail("NCCL " + oldest.operation + " (collective " + std::to_string(oldest.id) +
           ") did not complete within dist.timeout_s = " + std::to_string(timeout_s) +
           " s: another rank died, stalled or lost its link");
    }
  }

  // With `mutex` held. ncclCommAbort ends the collectives still running on the device.
  void fail(const std::string& why) {
    failure = "rank " + std::to_string(rank) + ": " + why + "; the NCCL communicator was aborted";
    failed_at = Clock::now();
    spdlog::error("{}", failure);
    ncclCommAbort(comm);
    comm = nullptr;
    in_flight.clear();
    changed.notify_all();
  }

  void watch() {
    const c10::cuda::CUDAGuard guard(device);
    std::unique_lock<std::mutex> lock(mutex);
    bool ended = false;
    while (!stopping) {
      changed.wait_for(lock, std::chrono::milliseconds(20));
      if (stopping) break;
      poll();
      const bool grace_over =
          !failure.empty() &&
          std::chrono::duration<double>(Clock::now() - failed_at).count() > grace_s;
      if (grace_over && end_job && !ended) {
        ended = true;  // the run did not end itself after the abort: end the job
        const std::string reason = failure;
        lock.unlock();
        end_job(reason);
        lock.lock();
      }
    }
  }
};

NcclCommunicator::NcclCommunicator(Communicator& bootstrap, NcclOptions options)
    : bootstrap_(bootstrap), options_(std::move(options)), state_(std::make_unique<State>()) {
  State& s = *state_;
  s.rank = bootstrap.rank();
  int count = 0;
  const cudaError_t probe = cudaGetDeviceCount(&count);
  DUNET_CHECK(probe == cudaSuccess && count > 0, CommError, "rank ", s.rank,
              ": dist.backend = \"nccl\" needs a CUDA device, but none is usable (",
              probe == cudaSuccess ? "0 devices" : cudaGetErrorString(probe),
              "); use dist.backend = \"mpi\" or \"auto\" on CPU machines");
  int code = 0;
  DUNET_NCCL_CHECK(s.rank, ncclGetVersion(&code));
  const int version = normalized_nccl_version(code);
  DUNET_CHECK(version >= kMinimumNcclVersion, CommError, "rank ", s.rank, ": NCCL ",
              version_text(version), " is loaded, but dunet needs NCCL ",
              version_text(kMinimumNcclVersion),
              " or newer (ncclCommGetAsyncError, ncclCommAbort); install a newer libnccl2");
  s.use_nccl_avg = version >= kNcclAvgVersion && NCCL_VERSION_CODE >= NCCL_VERSION(2, 10, 0);
  s.device = static_cast<c10::DeviceIndex>(bootstrap.local_rank() % count);
  s.timeout_s = options_.timeout_s;
  s.grace_s = options_.grace_s;
  s.end_job = options_.end_job;
  const c10::cuda::CUDAGuard guard(s.device);
  s.stream = c10::cuda::getStreamFromPool(/*isHighPriority=*/true, s.device);

  ncclUniqueId id{};
  if (s.rank == 0) DUNET_NCCL_CHECK(s.rank, ncclGetUniqueId(&id));
  at::Tensor id_bytes = at::from_blob(&id, {static_cast<int64_t>(sizeof(id))}, at::kByte);
  bootstrap.broadcast(id_bytes, 0);
  DUNET_NCCL_CHECK(s.rank, ncclCommInitRank(&s.comm, bootstrap.size(), id, s.rank));
  bootstrap.barrier();
  s.watchdog = std::thread([&s] { s.watch(); });
}

NcclCommunicator::~NcclCommunicator() {
  State& s = *state_;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.stopping = true;
  }
  s.changed.notify_all();
  if (s.watchdog.joinable()) s.watchdog.join();
  const c10::cuda::CUDAGuard guard(s.device);
  s.in_flight.clear();
  if (s.comm != nullptr) ncclCommDestroy(s.comm);
}

int NcclCommunicator::device() const { return state_->device; }

namespace {

void check_tensor(const at::Tensor& tensor, c10::DeviceIndex device, int rank, const char* op) {
  DUNET_CHECK(tensor.is_cuda() && tensor.is_contiguous() && tensor.device().index() == device,
              CommError, "rank ", rank, ": NCCL ", op,
              " expects a contiguous tensor on cuda:", static_cast<int>(device), ", got one on ",
              tensor.device().str());
}

}  // namespace

void NcclCommunicator::all_reduce(at::Tensor& tensor, ReduceOp op) {
  State& s = *state_;
  check_tensor(tensor, s.device, s.rank, "all_reduce");
  const bool average = op == ReduceOp::kAverage;
  ncclRedOp_t nccl_op = ncclSum;
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 10, 0)
  if (average && s.use_nccl_avg) nccl_op = ncclAvg;
#endif
  s.run(tensor, "all_reduce", [&](ncclComm_t comm, cudaStream_t stream) {
    return ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), static_cast<size_t>(tensor.numel()),
                         nccl_type(tensor), nccl_op, comm, stream);
  });
  if (average && nccl_op == ncclSum) {
    const c10::cuda::CUDAGuard guard(s.device);
    tensor.div_(size());  // on the caller's stream, after the sum
  }
}

void NcclCommunicator::broadcast(at::Tensor& tensor, int root) {
  State& s = *state_;
  check_tensor(tensor, s.device, s.rank, "broadcast");
  s.run(tensor, "broadcast", [&](ncclComm_t comm, cudaStream_t stream) {
    return ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), static_cast<size_t>(tensor.numel()),
                         nccl_type(tensor), root, comm, stream);
  });
}

void NcclCommunicator::barrier() {
  State& s = *state_;
  const c10::cuda::CUDAGuard guard(s.device);
  while (true) {
    {
      std::lock_guard<std::mutex> lock(s.mutex);
      s.poll();
      s.throw_if_failed();
      if (s.in_flight.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  bootstrap_.barrier();
}

std::vector<int64_t> NcclCommunicator::all_gather(int64_t value) {
  return bootstrap_.all_gather(value);
}

std::unique_ptr<Communicator> NcclCommunicator::duplicate() {
  return std::make_unique<NcclCommunicator>(bootstrap_, options_);
}

std::vector<double> NcclCommunicator::all_reduce_sum(const std::vector<double>& values) {
  return bootstrap_.all_reduce_sum(values);
}

std::string NcclCommunicator::library_version() const {
  int code = 0;
  if (ncclGetVersion(&code) != ncclSuccess) return "NCCL (version unknown)";
  return "NCCL " + version_text(normalized_nccl_version(code));
}

}  // namespace dunet::launcher
