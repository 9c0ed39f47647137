#include "launcher/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "core/error.h"

namespace dunet::launcher {

void setup_logging(int rank, int size, const LogOptions& options) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!options.file.empty()) {
    try {
      sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file));
    } catch (const spdlog::spdlog_ex& e) {
      throw IoError("cannot open the log file '" + options.file + "': " + e.what());
    }
  }
  auto logger = std::make_shared<spdlog::logger>("dunet", sinks.begin(), sinks.end());
  logger->set_pattern("[%H:%M:%S.%e] [%^%l%$] [rank " + std::to_string(rank) + "/" +
                      std::to_string(size) + "] %v");
  const bool loud = rank == 0 || options.all_ranks;
  logger->set_level(options.debug ? spdlog::level::debug
                    : loud        ? spdlog::level::info
                                  : spdlog::level::warn);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace dunet::launcher
