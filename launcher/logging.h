// spdlog set-up for a rank: "[time] [level] [rank r/n] message". Rank 0 logs info and up,
// other ranks warnings and up unless all ranks are asked to log.
#pragma once

#include <string>

namespace dunet::launcher {

struct LogOptions {
  bool all_ranks = false;  // every rank logs at info
  bool debug = false;
  std::string file;  // optional per-run log file (appended); "" = console only
};

void setup_logging(int rank, int size, const LogOptions& options = {});

}  // namespace dunet::launcher
