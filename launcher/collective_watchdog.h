// A watchdog on collectives (PyTorch's NCCL watchdog, Horovod's stall inspector): every
// collective is timed, and one that has not completed after `timeout_s` means another rank
// died or stalled. The watchdog then logs which operation on which rank waited, and ends the
// whole job with MPI_Abort, so no process is left waiting forever.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace dunet::launcher {

class CollectiveWatchdog {
 public:
  CollectiveWatchdog(int rank, double timeout_s);
  ~CollectiveWatchdog();
  CollectiveWatchdog(const CollectiveWatchdog&) = delete;
  CollectiveWatchdog& operator=(const CollectiveWatchdog&) = delete;

  // Marks one collective as in flight for its lifetime.
  class Scope {
   public:
    Scope(CollectiveWatchdog* watchdog, const char* operation);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    CollectiveWatchdog* watchdog_;
    uint64_t id_ = 0;
  };

 private:
  using Clock = std::chrono::steady_clock;
  struct InFlight {
    std::string operation;
    Clock::time_point start;
  };
  void watch();

  int rank_;
  double timeout_s_;
  std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  uint64_t next_id_ = 1;
  uint64_t completed_ = 0;
  std::map<uint64_t, InFlight> in_flight_;
  std::thread thread_;
};

}  // namespace dunet::launcher
