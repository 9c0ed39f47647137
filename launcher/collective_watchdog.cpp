#include "launcher/collective_watchdog.h"

#include <spdlog/spdlog.h>

#include "launcher/mpi_world.h"

namespace dunet::launcher {

CollectiveWatchdog::CollectiveWatchdog(int rank, double timeout_s)
    : rank_(rank), timeout_s_(timeout_s), thread_([this] { watch(); }) {}

CollectiveWatchdog::~CollectiveWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  thread_.join();
}

CollectiveWatchdog::Scope::Scope(CollectiveWatchdog* watchdog, const char* operation)
    : watchdog_(watchdog) {
  if (watchdog_ == nullptr) return;
  std::lock_guard<std::mutex> lock(watchdog_->mutex_);
  id_ = watchdog_->next_id_++;
  watchdog_->in_flight_[id_] = {operation, Clock::now()};
}

CollectiveWatchdog::Scope::~Scope() {
  if (watchdog_ == nullptr) return;
  std::lock_guard<std::mutex> lock(watchdog_->mutex_);
  watchdog_->in_flight_.erase(id_);
  ++watchdog_->completed_;
}

void CollectiveWatchdog::watch() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_; })) {
    if (in_flight_.empty()) continue;
    const auto& [id, oldest] = *in_flight_.begin();
    const double waited = std::chrono::duration<double>(Clock::now() - oldest.start).count();
    if (waited < timeout_s_) continue;
    spdlog::error(
        "rank {}: {} (collective #{}, after {} completed) has not completed after {:.0f} s "
        "(dist.timeout_s): another rank died, stalled or is in a different operation; "
        "ending the job so that no process waits forever",
        rank_, oldest.operation, id, completed_, waited);
    spdlog::default_logger()->flush();
    MpiWorld::abort(4);
  }
}

}  // namespace dunet::launcher
