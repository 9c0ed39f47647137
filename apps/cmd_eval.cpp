// `dunet eval`: a checkpoint scored on a DSB2018-layout folder (infer/evaluate.h): per-image
// rows, global pixel IoU and Dice, and the mean DSB2018 score.
#include <spdlog/spdlog.h>

#include <filesystem>

#include "apps/commands.h"
#include "apps/prediction_options.h"
#include "data/shard_set.h"
#include "infer/evaluate.h"
#include "infer/predictor.h"

namespace dunet::apps {

namespace fs = std::filesystem;

namespace {

struct EvalArgs {
  fs::path model;
  fs::path held_out;  // a shard set folder: score only its validation samples
  infer::EvalOptions options;
  int64_t threads = 0;
};

void run_eval(EvalArgs& args) {
  if (args.options.out.empty()) args.options.out = "eval-" + args.options.input.filename().string();
  if (!args.held_out.empty()) {
    const data::ShardSet split(data::expand_globs({(args.held_out / "val-*.h5").string()},
                                                  "--held-out"));
    for (int64_t i = 0; i < split.size(); ++i) args.options.only_ids.push_back(split.read(i).id);
  }
  const infer::Predictor predictor(args.model, args.threads);
  default_window_from_saved_config(args.options.predict, predictor);
  spdlog::info("eval: windows of {} px", predictor.window_size(args.options.predict));
  const infer::EvalReport report = infer::evaluate_folder(predictor, args.options);
  spdlog::info(
      "eval: {} images, pixel IoU {:.4f}, Dice {:.4f}, mean DSB2018 score {:.4f}; per image in "
      "{}, predicted nuclei in {}, the worst images in {}",
      report.images.size(), report.pixel_iou, report.dice, report.mean_dsb_score,
      (args.options.out / "images.csv").string(), (args.options.out / "labels").string(),
      (args.options.out / "worst.png").string());
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "eval", "Score a checkpoint on a DSB2018-layout folder: pixel IoU, Dice, DSB2018 score");
  auto args = std::make_shared<EvalArgs>();
  cmd->add_option("--model,-m", args->model, "Checkpoint (.pt) written by `dunet train`")
      ->required();
  cmd->add_option("--input,-i", args->options.input,
                  "Folder of <id>/images/<id>.png with one mask file per nucleus in <id>/masks/")
      ->required();
  cmd->add_option("--out,-o", args->options.out,
                  "Report folder: images.csv, summary.json, labels/<id>.png, worst.png (default "
                  "eval-<input folder name>)");
  cmd->add_option("--held-out", args->held_out,
                  "Score only the validation samples of the shard set `dunet prepare` wrote in "
                  "this folder (its seeded held-out split)");
  add_prediction_options(*cmd, args->options.predict);
  cmd->add_option("--threads", args->threads, "CPU threads (0 = all cores)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{4096}));
  cmd->callback([args] { run_eval(*args); });
}

}  // namespace dunet::apps
