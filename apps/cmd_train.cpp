// `dunet train`: loads the config (with --set and flag overrides), prepares PNG folders given
// with --train-dir/--val-dir, and runs the Trainer on this process's communicator.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <optional>

#include "apps/commands.h"
#include "apps/exit_code.h"
#include "apps/prepare_run.h"
#include "config/loader.h"
#include "config/run_config.h"
#include "config/writer.h"
#include "core/error.h"
#include "data/prepare.h"
#include "launcher/logging.h"
#include "launcher/process_group.h"
#include "launcher/stop_signal.h"
#include "trainer/trainer.h"

namespace dunet::apps {

namespace fs = std::filesystem;

namespace {

struct TrainArgs {
  fs::path config;
  std::vector<std::string> set;
  std::string resume = "auto";
  std::optional<int64_t> epochs, batch_size;
  std::optional<double> lr;
  fs::path train_dir, val_dir;
  bool log_all_ranks = false;
  int64_t max_steps = -1;
};

std::string shard_glob(const config::RunConfig& config, const std::string& split) {
  return (fs::path(config.run.output_dir) / "data" / split / (split + "-*.h5")).string();
}

// Prepares a PNG folder into <output_dir>/data/<split> once; later runs reuse the shards.
void prepare_once(const fs::path& png_dir, const config::RunConfig& config,
                  const std::string& split) {
  const fs::path out = fs::path(config.run.output_dir) / "data" / split;
  if (data::list_shards(out, split).empty()) {
    data::PrepareOptions options;
    options.out_dir = out;
    options.num_shards = 1;
    options.val_fraction = split == "val" ? 1.0 : 0.0;
    options.seed = config.run.seed;
    options.channels = config.model.in_channels;
    options.source = png_dir.string();
    run_prepare(data::scan_dsb_layout(png_dir), options);
  } else {
    spdlog::info("using shards prepared earlier in {}", out.string());
  }
}

void run_train(const TrainArgs& args) {
  std::vector<std::string> overrides = args.set;
  if (args.epochs) overrides.push_back("train.epochs=" + std::to_string(*args.epochs));
  if (args.batch_size) {
    overrides.push_back("train.batch_size=" + std::to_string(*args.batch_size));
  }
  if (args.lr) overrides.push_back(fmt::format("train.learning_rate={}", *args.lr));
  config::RunConfig config = config::load_config_file(args.config, overrides);

  launcher::ProcessGroup group(config.dist);
  launcher::Communicator& comm = group.comm();
  // Only rank 0 writes the run's log file; every rank logs to its console.
  if (comm.is_root()) fs::create_directories(config.run.output_dir);
  launcher::setup_logging(
      comm.rank(), comm.size(),
      {args.log_all_ranks, false,
       comm.is_root() ? (fs::path(config.run.output_dir) / "train.log").string() : ""});
  // PNG folders are prepared once, by rank 0, while the others wait.
  if (comm.is_root()) {
    if (!args.train_dir.empty()) prepare_once(args.train_dir, config, "train");
    if (!args.val_dir.empty()) prepare_once(args.val_dir, config, "val");
  }
  comm.wait_for_root_work(static_cast<double>(config.dist.root_work_timeout_s));
  if (!args.train_dir.empty()) config.data.train = {shard_glob(config, "train")};
  if (!args.val_dir.empty()) config.data.val = {shard_glob(config, "val")};
  spdlog::info("run={} output_dir={} config={} processes={} backend={}", config.run.name,
               config.run.output_dir, args.config.string(), comm.size(), comm.name());
  spdlog::info("placement: {}", group.placement());
  spdlog::debug("resolved config:\n{}", config::to_toml(config));

  trainer::Trainer trainer(config::trainer_settings(config), comm);
  launcher::install_stop_handlers();
  const trainer::FitResult result = trainer.fit({args.resume, args.max_steps});
  if (result.stopped_by_signal != 0) {
    spdlog::warn(
        "stopped by signal {} after a checkpoint at global_step={}; continue with "
        "--resume auto (exit status {})",
        result.stopped_by_signal, result.global_step, kExitStoppedWithCheckpoint);
    throw ExitCode{kExitStoppedWithCheckpoint};
  }
  spdlog::info("done: epochs={} best_iou={:.5f} last_iou={:.5f} checkpoint={}",
               result.epochs_completed, result.best_iou, result.last_iou,
               result.last_checkpoint.string());
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a UNet from a TOML config");
  auto args = std::make_shared<TrainArgs>();
  cmd->add_option("--config,-c", args->config, "Run config (TOML)")->required();
  cmd->add_option("--set", args->set,
                  "Override a key: --set train.epochs=5 --set run.output_dir=\"runs/a\"");
  cmd->add_option("--resume", args->resume,
                  "auto (latest checkpoint of the run, if any) | never | CHECKPOINT_PATH")
      ->capture_default_str();
  cmd->add_option("--epochs", args->epochs, "Same as --set train.epochs=N");
  cmd->add_option("--batch-size", args->batch_size, "Same as --set train.batch_size=N");
  cmd->add_option("--lr", args->lr, "Same as --set train.learning_rate=X");
  cmd->add_option("--train-dir", args->train_dir,
                  "PNG folder (DSB2018 layout) to train on; prepared into the run folder once");
  cmd->add_option("--val-dir", args->val_dir, "PNG folder (DSB2018 layout) to validate on");
  cmd->add_option("--max-steps", args->max_steps,
                  "Stop with a checkpoint after this many steps in total (benchmarks, smoke "
                  "tests); --resume auto continues later");
  cmd->add_flag("--log-all-ranks", args->log_all_ranks, "Every rank logs at info level");
  cmd->callback([args] { run_train(*args); });
}

}  // namespace dunet::apps
