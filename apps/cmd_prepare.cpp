// `dunet prepare`: image folders (DSB2018 layout, or paired images/masks folders) to shards.
#include <spdlog/spdlog.h>

#include "apps/commands.h"
#include "apps/prepare_run.h"
#include "core/error.h"

namespace dunet::apps {

void add_prepare_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "prepare",
      "Convert a folder of images and masks (PNG, TIFF, JPEG) into train/val HDF5 shards");
  auto input = std::make_shared<std::filesystem::path>();
  auto images = std::make_shared<std::filesystem::path>();
  auto masks = std::make_shared<std::filesystem::path>();
  auto options = std::make_shared<data::PrepareOptions>();
  auto* input_opt =
      cmd->add_option("--input", *input, "DSB2018 layout: <id>/images/<id>.png, <id>/masks/*.png");
  auto* images_opt = cmd->add_option("--images", *images, "Generic layout: folder of images");
  auto* masks_opt =
      cmd->add_option("--masks", *masks, "Generic layout: folder of masks with the same names");
  images_opt->needs(masks_opt)->excludes(input_opt);
  masks_opt->needs(images_opt);
  cmd->add_option("--out", options->out_dir, "Folder for the shards")->required();
  cmd->add_option("--shards", options->num_shards, "Number of training shards")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--val-fraction", options->val_fraction, "Share of samples for validation")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--seed", options->seed, "Seed of the train/val split")->capture_default_str();
  cmd->add_option("--channels", options->channels, "3 = RGB, 1 = grey")
      ->capture_default_str()
      ->check(CLI::IsMember(std::vector<int64_t>{1, 3}));
  cmd->add_option("--threads", options->threads, "Image decoding threads")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{256}));
  cmd->add_flag("--overwrite", options->overwrite, "Replace shards already in --out");
  cmd->callback([=] {
    DUNET_CHECK(!input->empty() || !images->empty(), Error,
                "prepare: give --input DIR (DSB2018 layout) or --images DIR --masks DIR");
    const auto samples =
        input->empty() ? data::scan_paired_layout(*images, *masks) : data::scan_dsb_layout(*input);
    options->source = input->empty() ? images->string() + " + " + masks->string() : input->string();
    run_prepare(samples, *options);
  });
}

}  // namespace dunet::apps
