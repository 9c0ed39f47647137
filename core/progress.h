// A one-line progress bar on an interactive terminal (stderr), with the time left; silent
// otherwise, where the regular log lines already say how far things are.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace dunet {

// "ETA 1:05" (minutes:seconds) or "ETA 2:03:10" after `elapsed_s` for `done` of `total`, at
// the mean rate so far; "" until there is a rate (nothing done, or under a second elapsed).
std::string format_eta(double elapsed_s, int64_t done, int64_t total);

class ProgressBar {
 public:
  // `enabled` = false (e.g. on ranks other than 0) makes every call a no-op.
  ProgressBar(std::string label, int64_t total, bool enabled = true);
  ~ProgressBar();
  void update(int64_t done, const std::string& suffix = "");
  void finish();

  static bool stderr_is_terminal();

 private:
  std::string label_;
  int64_t total_;
  bool active_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace dunet
