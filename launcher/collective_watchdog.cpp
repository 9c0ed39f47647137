#include "launcher/collective_watchdog.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "launcher/mpi_world.h"

namespace dunet::launcher {
namespace {

constexpr int kQueryTag = 1;
constexpr int kReplyTag = 2;

// The fixed-size record a watchdog sends back when asked (MPI_BYTE; all ranks run the same
// binary, so the layout is the same everywhere).
struct Report {
  uint64_t started;
  uint64_t in_flight;
  double waited_s;
  char operation[32];
};

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i == 0 ? "" : "; ") + parts[i];
  return out;
}

std::string where(const CollectiveStatus& status) {
  if (status.in_flight == 0) return "in no collective";
  return fmt::format("in {} #{} for {:.1f} s", status.operation, status.in_flight, status.waited_s);
}

}  // namespace

std::string describe_stall(int my_rank, uint64_t stuck_id, const std::string& operation,
                           const std::vector<CollectiveStatus>& others,
                           const std::vector<std::string>& host_of_rank) {
  if (others.empty()) return "the other ranks could not be asked";
  const auto host = [&](int rank) {
    return rank < static_cast<int>(host_of_rank.size()) ? host_of_rank[static_cast<size_t>(rank)]
                                                        : std::string();
  };
  // Silent ranks by host: where every rank of another host is silent, the host is the cause.
  std::map<std::string, std::vector<int>> silent_on, ranks_on;
  for (const CollectiveStatus& other : others) {
    ranks_on[host(other.rank)].push_back(other.rank);
    if (other.rank != my_rank && !other.answered) silent_on[host(other.rank)].push_back(other.rank);
  }
  std::vector<std::string> holding, waiting;
  for (const auto& [name, silent] : silent_on) {
    if (name.empty() || name == host(my_rank) || silent.size() != ranks_on[name].size()) continue;
    std::string ranks;
    for (int rank : silent) ranks += (ranks.empty() ? "" : ", ") + std::to_string(rank);
    holding.push_back(fmt::format(
        "no rank on {} answered (rank(s) {}): that node is down, cannot be reached from {}, or "
        "its processes were killed",
        name, ranks, host(my_rank)));
  }
  for (const CollectiveStatus& other : others) {
    if (other.rank == my_rank) continue;
    if (!other.answered) {
      const std::string& name = host(other.rank);
      if (!name.empty() && name != host(my_rank) &&
          silent_on[name].size() == ranks_on[name].size()) {
        continue;  // named with its node above
      }
      holding.push_back(fmt::format(
          "rank {} did not answer (killed, or its process is hung as a whole)", other.rank));
    } else if (other.started < stuck_id) {
      holding.push_back(fmt::format("rank {} never reached it (entered {} collectives, now {})",
                                    other.rank, other.started, where(other)));
    } else if (other.in_flight != 0 && other.operation == operation) {
      waiting.push_back(std::to_string(other.rank));
    } else {
      holding.push_back(fmt::format("rank {} is elsewhere (entered {} collectives, now {})",
                                    other.rank, other.started, where(other)));
    }
  }
  std::string text = holding.empty()
                         ? "every other rank answered and is in the same operation (a stuck "
                           "network or MPI library?)"
                         : "missing: " + join(holding);
  if (!waiting.empty()) {
    std::string ranks;
    for (const std::string& rank : waiting) ranks += (ranks.empty() ? "" : ", ") + rank;
    text += fmt::format("; also waiting in {}: rank(s) {}", operation, ranks);
  }
  return text;
}

CollectiveWatchdog::CollectiveWatchdog(const MpiWorld& world, double timeout_s)
    : rank_(world.rank()),
      size_(world.size()),
      timeout_s_(timeout_s),
      host_of_rank_(world.host_of_rank()) {
  DUNET_MPI_CHECK(MPI_Comm_dup(world.comm(), &roll_call_comm_));  // MPI_THREAD_MULTIPLE: always
  thread_ = std::thread([this] { watch(); });
}

CollectiveWatchdog::~CollectiveWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  thread_.join();
  if (roll_call_comm_ != MPI_COMM_NULL) MPI_Comm_free(&roll_call_comm_);
}

CollectiveWatchdog::Scope::Scope(CollectiveWatchdog* watchdog, const char* operation,
                                 double timeout_s)
    : watchdog_(watchdog) {
  if (watchdog_ == nullptr) return;
  std::lock_guard<std::mutex> lock(watchdog_->mutex_);
  id_ = watchdog_->next_id_++;
  watchdog_->in_flight_[id_] = {operation, Clock::now(),
                                timeout_s > 0 ? timeout_s : watchdog_->timeout_s_,
                                timeout_s > 0 ? "dist.root_work_timeout_s" : "dist.timeout_s"};
}

CollectiveWatchdog::Scope::~Scope() {
  if (watchdog_ == nullptr) return;
  std::lock_guard<std::mutex> lock(watchdog_->mutex_);
  watchdog_->in_flight_.erase(id_);
  ++watchdog_->completed_;
}

void CollectiveWatchdog::answer_roll_calls() {
  if (roll_call_comm_ == MPI_COMM_NULL) return;
  for (;;) {
    int pending = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, kQueryTag, roll_call_comm_, &pending, &status);
    if (!pending) return;
    char query = 0;
    MPI_Recv(&query, 1, MPI_CHAR, status.MPI_SOURCE, kQueryTag, roll_call_comm_, MPI_STATUS_IGNORE);
    Report report{};
    report.started = next_id_ - 1;
    if (!in_flight_.empty()) {
      const auto& [id, oldest] = *in_flight_.begin();
      report.in_flight = id;
      report.waited_s = std::chrono::duration<double>(Clock::now() - oldest.start).count();
      std::strncpy(report.operation, oldest.operation.c_str(), sizeof(report.operation) - 1);
    }
    // Small enough to go eagerly: returns at once even if the asking rank is aborting.
    MPI_Send(&report, sizeof(report), MPI_BYTE, status.MPI_SOURCE, kReplyTag, roll_call_comm_);
  }
}

std::vector<CollectiveStatus> CollectiveWatchdog::take_roll_call() {
  if (roll_call_comm_ == MPI_COMM_NULL) return {};
  std::vector<CollectiveStatus> statuses(static_cast<size_t>(size_));
  for (int r = 0; r < size_; ++r) statuses[static_cast<size_t>(r)].rank = r;
  static const char query = 'q';
  std::vector<Report> reports(static_cast<size_t>(size_));
  std::vector<MPI_Request> replies(static_cast<size_t>(size_), MPI_REQUEST_NULL);
  std::vector<MPI_Request> queries(static_cast<size_t>(size_), MPI_REQUEST_NULL);
  for (int r = 0; r < size_; ++r) {
    if (r == rank_) continue;
    const auto i = static_cast<size_t>(r);
    MPI_Irecv(&reports[i], sizeof(Report), MPI_BYTE, r, kReplyTag, roll_call_comm_, &replies[i]);
    MPI_Isend(&query, 1, MPI_CHAR, r, kQueryTag, roll_call_comm_, &queries[i]);
  }
  // Live watchdogs answer within their 200 ms polling period; give slow ones a few seconds.
  const auto deadline =
      Clock::now() + std::chrono::duration<double>(std::clamp(timeout_s_ / 2, 1.0, 5.0));
  int outstanding = size_ - 1;
  while (outstanding > 0 && Clock::now() < deadline) {
    answer_roll_calls();  // a rank that timed out at the same moment asks us too
    for (int r = 0; r < size_; ++r) {
      const auto i = static_cast<size_t>(r);
      if (replies[i] == MPI_REQUEST_NULL) continue;
      int done = 0;
      MPI_Test(&replies[i], &done, MPI_STATUS_IGNORE);
      if (!done) continue;
      --outstanding;
      CollectiveStatus& status = statuses[i];
      status.answered = true;
      status.started = reports[i].started;
      status.in_flight = reports[i].in_flight;
      status.waited_s = reports[i].waited_s;
      reports[i].operation[sizeof(reports[i].operation) - 1] = '\0';
      status.operation = reports[i].operation;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Unanswered requests stay posted: the job is aborted right after this.
  return statuses;
}

void CollectiveWatchdog::watch() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_; })) {
    answer_roll_calls();
    if (in_flight_.empty()) continue;
    const auto& [id, oldest] = *in_flight_.begin();
    const double waited = std::chrono::duration<double>(Clock::now() - oldest.start).count();
    if (waited < oldest.timeout_s) continue;
    const std::string operation = oldest.operation;
    const char* limit = oldest.limit;
    const uint64_t stuck_id = id;
    const std::string cause = describe_stall(rank_, stuck_id, operation, take_roll_call(), host_of_rank_);
    spdlog::error(
        "rank {}: {} (collective #{}, after {} completed) has not completed after {:.0f} s "
        "({}); {}; ending the job so that no process waits forever",
        rank_, operation, stuck_id, completed_, waited, limit, cause);
    spdlog::default_logger()->flush();
    MpiWorld::abort(kExitCollectiveTimedOut);
  }
}

}  // namespace dunet::launcher
