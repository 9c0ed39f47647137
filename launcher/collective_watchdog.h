// A watchdog on collectives (PyTorch's NCCL watchdog, Horovod's stall inspector): every
// collective is timed, and one that has not completed after `timeout_s` means another rank
// died or stalled. The watchdog then takes a roll call of the other ranks' watchdogs over its
// own communicator (point to point, so a rank stalled outside MPI still answers from this
// thread), logs which ranks never reached the operation or did not answer, and ends the whole
// job with MPI_Abort, so no process is left waiting forever.
#pragma once

#include <mpi.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace dunet::launcher {

// The exit status of a process whose collective outlived dist.timeout_s: a rank or a node was
// lost, or a link cut. The SLURM job script requeues on it (slurm.lost_node_requeues).
inline constexpr int kExitCollectiveTimedOut = 4;

class MpiWorld;

// What one rank's watchdog reports about itself when asked.
struct CollectiveStatus {
  int rank = -1;
  bool answered = false;
  uint64_t started = 0;    // collectives this rank has entered so far
  uint64_t in_flight = 0;  // number of its oldest unfinished collective, 0 when none
  double waited_s = 0;     // how long that one has been waiting
  std::string operation;   // its name, empty when none
};

// The sentence naming the ranks that hold up collective number `stuck_id` on `my_rank`:
// those that never reached it, those in another operation, those that did not answer. With
// the host of every rank, a host whose ranks are all silent is named as the cause.
std::string describe_stall(int my_rank, uint64_t stuck_id, const std::string& operation,
                           const std::vector<CollectiveStatus>& others,
                           const std::vector<std::string>& host_of_rank = {});

class CollectiveWatchdog {
 public:
  // The roll call runs on the watchdog thread, over its own duplicate of the world
  // communicator (MpiWorld guarantees MPI_THREAD_MULTIPLE).
  CollectiveWatchdog(const MpiWorld& world, double timeout_s);
  ~CollectiveWatchdog();
  CollectiveWatchdog(const CollectiveWatchdog&) = delete;
  CollectiveWatchdog& operator=(const CollectiveWatchdog&) = delete;

  // Marks one collective as in flight for its lifetime.
  class Scope {
   public:
    // timeout_s > 0: this collective's own limit instead of the watchdog's.
    Scope(CollectiveWatchdog* watchdog, const char* operation, double timeout_s = 0);
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
    double timeout_s;
    const char* limit;  // the config key it comes from, for the message
  };
  void watch();
  // Both run on the watchdog thread with mutex_ held.
  void answer_roll_calls();
  std::vector<CollectiveStatus> take_roll_call();

  int rank_;
  int size_;
  double timeout_s_;
  std::vector<std::string> host_of_rank_;  // for naming a silent node
  MPI_Comm roll_call_comm_ = MPI_COMM_NULL;
  std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  uint64_t next_id_ = 1;
  uint64_t completed_ = 0;
  std::map<uint64_t, InFlight> in_flight_;
  std::thread thread_;
};

}  // namespace dunet::launcher
