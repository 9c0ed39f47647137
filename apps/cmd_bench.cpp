// `dunet bench allreduce`: collective bandwidth under mpirun (see bench/allreduce_bench.h).
#include "apps/commands.h"
#include "bench/allreduce_bench.h"
#include "core/error.h"

namespace dunet::apps {

void add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Benchmarks (run under mpirun for collectives)");
  cmd->require_subcommand(1);
  auto* allreduce = cmd->add_subcommand(
      "allreduce", "All-reduce time, algbw and busbw: plain MPI, dunet MPI, dunet buckets");
  auto options = std::make_shared<bench::AllreduceOptions>();
  allreduce->add_option("--min-bytes", options->min_bytes, "Smallest size")->capture_default_str();
  allreduce->add_option("--max-bytes", options->max_bytes, "Largest size")->capture_default_str();
  allreduce->add_option("--iterations", options->iterations, "Timed iterations per size")
      ->capture_default_str();
  allreduce->add_option("--bucket-mb", options->bucket_mb, "Gradient bucket size")
      ->capture_default_str();
  allreduce->callback([options, allreduce] {
    options->command_line = "dunet bench allreduce";
    for (const auto& [name, value] :
         std::vector<std::pair<std::string, int64_t>>{{"--min-bytes", options->min_bytes},
                                                      {"--max-bytes", options->max_bytes},
                                                      {"--iterations", options->iterations},
                                                      {"--bucket-mb", options->bucket_mb}}) {
      if (allreduce->count(name) > 0) options->command_line += " " + name + " " + std::to_string(value);
    }
    DUNET_CHECK(bench::run_allreduce_bench(*options) == 0, Error,
                "all-reduce results were wrong (see the #wrong column)");
  });
}

}  // namespace dunet::apps
