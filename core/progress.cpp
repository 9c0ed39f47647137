#include "core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace dunet {

std::string format_eta(double elapsed_s, int64_t done, int64_t total) {
  if (done <= 0 || elapsed_s < 1.0) return "";
  const double left_s = elapsed_s * static_cast<double>(std::max<int64_t>(total - done, 0)) /
                        static_cast<double>(done);
  const auto seconds = static_cast<long long>(std::llround(left_s));
  char text[48];
  if (seconds >= 3600) {
    std::snprintf(text, sizeof text, "ETA %lld:%02lld:%02lld", seconds / 3600,
                  seconds / 60 % 60, seconds % 60);
  } else {
    std::snprintf(text, sizeof text, "ETA %lld:%02lld", seconds / 60, seconds % 60);
  }
  return text;
}

bool ProgressBar::stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

ProgressBar::ProgressBar(std::string label, int64_t total, bool enabled)
    : label_(std::move(label)),
      total_(std::max<int64_t>(total, 1)),
      active_(enabled && stderr_is_terminal()) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(int64_t done, const std::string& suffix) {
  if (!active_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * std::min(done, total_) / total_);
  const double elapsed_s = std::chrono::duration<double>(now - start_).count();
  const std::string eta = format_eta(elapsed_s, done, total_);
  std::fprintf(stderr, "\r%s [%s%s] %lld/%lld %s%s%s\033[K", label_.c_str(),
               std::string(static_cast<size_t>(filled), '#').c_str(),
               std::string(static_cast<size_t>(kWidth - filled), ' ').c_str(),
               static_cast<long long>(done), static_cast<long long>(total_), eta.c_str(),
               eta.empty() || suffix.empty() ? "" : " ", suffix.c_str());
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (!active_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  active_ = false;
}

}  // namespace dunet
