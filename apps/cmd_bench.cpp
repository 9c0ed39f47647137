// `dunet bench allreduce`: collective bandwidth under mpirun (see bench/allreduce_bench.h);
// `dunet bench upconv`, `conv3x3` and `infer`: layer and inference timings (layer_bench.h);
// `dunet bench loader`: training patches per second from shards (loader_bench.h).
#include "apps/commands.h"
#include "bench/allreduce_bench.h"
#include "bench/layer_bench.h"
#include "bench/loader_bench.h"
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
      if (allreduce->count(name) > 0)
        options->command_line += " " + name + " " + std::to_string(value);
    }
    DUNET_CHECK(bench::run_allreduce_bench(*options) == 0, Error,
                "all-reduce results were wrong (see the #wrong column)");
  });

  auto* upconv = cmd->add_subcommand(
      "upconv", "2x2 transpose convolution: torch::nn::ConvTranspose2d vs dunet's fast path");
  auto up = std::make_shared<bench::UpconvOptions>();
  upconv->add_option("--base", up->base_channels, "UNet base channels")->capture_default_str();
  upconv->add_option("--patch", up->patch, "UNet input patch size")->capture_default_str();
  upconv->add_option("--batch", up->batch, "Batch size")->capture_default_str();
  upconv->add_option("--threads", up->threads, "CPU threads")->capture_default_str();
  upconv->add_option("--repeats", up->repeats, "Timed repetitions")->capture_default_str();
  upconv->callback([up] { bench::run_upconv_bench(*up); });

  auto* conv3x3 = cmd->add_subcommand(
      "conv3x3", "The UNet's 3x3 convolutions: LibTorch vs Winograd, forward and backward");
  auto conv = std::make_shared<bench::Conv3x3Options>();
  conv3x3->add_option("--base", conv->base_channels, "UNet base channels")->capture_default_str();
  conv3x3->add_option("--size", conv->size, "UNet input size")->capture_default_str();
  conv3x3->add_option("--batch", conv->batch, "Batch size")->capture_default_str();
  conv3x3->add_option("--threads", conv->threads, "CPU threads")->capture_default_str();
  conv3x3->add_option("--repeats", conv->repeats, "Timed repetitions")->capture_default_str();
  conv3x3->callback([conv] { bench::run_conv3x3_bench(*conv); });

  auto* infer = cmd->add_subcommand("infer", "Single-image inference latency of a UNet");
  auto in = std::make_shared<bench::InferOptions>();
  infer->add_option("--base", in->base_channels, "UNet base channels")->capture_default_str();
  infer->add_option("--size", in->size, "Image height and width")->capture_default_str();
  infer->add_option("--threads", in->threads, "CPU threads")->capture_default_str();
  infer->add_option("--repeats", in->repeats, "Timed repetitions")->capture_default_str();
  infer->callback([in] { bench::run_infer_bench(*in); });

  auto* loader = cmd->add_subcommand(
      "loader", "Training patches per second the data loader delivers, per worker thread");
  auto load = std::make_shared<bench::LoaderBenchOptions>();
  loader->add_option("--data", load->data, "Shard globs (train-*.h5 of `dunet prepare`)")
      ->required();
  loader->add_option("--workers", load->workers, "Worker counts to measure (data.workers)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  loader->add_option("--patch", load->patch, "Patch size (data.patch_size)")
      ->capture_default_str()
      ->check(CLI::Range(16, 8192));
  loader->add_option("--batch", load->batch, "Patches per batch")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
  loader->add_option("--batches", load->batches, "Timed batches per worker count")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  loader->add_flag("!--no-augment", load->augment, "Without flips and rotations");
  loader->callback([load] { bench::run_loader_bench(*load); });
}

}  // namespace dunet::apps
