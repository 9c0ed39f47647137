#include "launcher/process_group.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "core/error.h"
#include "launcher/collective_watchdog.h"
#include "launcher/local_communicator.h"
#include "launcher/mpi_communicator.h"
#include "launcher/mpi_world.h"
#include "launcher/placement.h"
#ifdef DUNET_HAVE_NCCL
#include "launcher/nccl_communicator.h"
#endif

namespace dunet::launcher {

bool built_with_nccl() {
#ifdef DUNET_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

namespace {

std::unique_ptr<Communicator> make_nccl(MpiCommunicator& bootstrap, const DistConfig& config) {
#ifdef DUNET_HAVE_NCCL
  NcclOptions options;
  options.timeout_s = static_cast<double>(config.timeout_s);
  // As the MPI watchdog: a rank whose run did not end itself after the abort ends the job.
  options.end_job = [](const std::string& reason) {
    spdlog::error("{}; ending the job", reason);
    MpiWorld::abort(kExitCollectiveTimedOut);
  };
  return std::make_unique<NcclCommunicator>(bootstrap, std::move(options));
#else
  (void)bootstrap;
  (void)config;
  throw CommError(
      "dist.backend = \"nccl\", but this dunet was built without NCCL (CMake did not find the "
      "CUDA toolkit and nccl.h); rebuild with them or use dist.backend = \"mpi\"");
#endif
}

bool gpus_visible() {
#ifdef DUNET_HAVE_NCCL
  return visible_cuda_devices() > 0;
#else
  return false;
#endif
}

}  // namespace

ProcessGroup::ProcessGroup(const DistConfig& config) {
  if (!MpiWorld::launched_by_mpi()) {
    other_ = std::make_unique<LocalCommunicator>();
    active_ = other_.get();
    return;
  }
  world_ = std::make_unique<MpiWorld>(nullptr, nullptr);
  const std::string& backend = config.backend;
  DUNET_CHECK(backend != "local" || world_->size() == 1, CommError,
              "dist.backend = \"local\" runs one process, but this job has ", world_->size(),
              "; use \"auto\" or \"mpi\"");
  if (backend == "local") {
    other_ = std::make_unique<LocalCommunicator>();
    active_ = other_.get();
    return;
  }
  watchdog_ = std::make_unique<CollectiveWatchdog>(*world_, static_cast<double>(config.timeout_s));
  mpi_ = std::make_unique<MpiCommunicator>(*world_, watchdog_.get());
  active_ = mpi_.get();
  if (backend == "nccl" || (backend == "auto" && built_with_nccl() && gpus_visible())) {
    other_ = make_nccl(*mpi_, config);
    active_ = other_.get();
  }
}

std::string ProcessGroup::placement() const {
  if (world_) return describe_placement(world_->host_of_rank());
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return describe_placement({name});
}

ProcessGroup::~ProcessGroup() {
  active_ = nullptr;
  other_.reset();
  mpi_.reset();
  watchdog_.reset();
  world_.reset();
}

void abort_other_ranks(int code) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized) return;
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size > 1) MpiWorld::abort(code);
}

}  // namespace dunet::launcher
