// `dunet infer`: predicts the mask of one image, or of every PNG in a folder, from a
// checkpoint; optionally writes input | mask | overlay pictures.
#include <spdlog/spdlog.h>

#include <filesystem>

#include "apps/commands.h"
#include "core/error.h"
#include "data/image_io.h"
#include "infer/predictor.h"

namespace dunet::apps {

namespace fs = std::filesystem;

namespace {

struct InferArgs {
  fs::path model, image, out, overlay;
  double threshold = 0.5;
  int64_t tile_size = 512;
  int64_t threads = 0;
  kernels::NumericsSettings numerics;
};

void infer_one(const infer::Predictor& predictor, const InferArgs& args, const fs::path& image,
               const fs::path& out, const fs::path& overlay) {
  const data::Image input = data::read_image(image, predictor.in_channels());
  data::Image mask = predictor.predict_mask(input, args.threshold, args.tile_size);
  int64_t foreground = 0;
  for (auto& v : mask.pixels) {
    foreground += v;
    v = static_cast<uint8_t>(v * 255);
  }
  data::write_png(out, mask);
  if (!overlay.empty()) {
    for (auto& v : mask.pixels) v = v ? 1 : 0;
    data::write_png(overlay, data::make_overlay(input, mask));
  }
  spdlog::info("infer: {} ({}x{}) -> {} foreground={:.2f}%{}", image.string(), input.width,
               input.height, out.string(),
               100.0 * foreground / std::max<int64_t>(1, mask.num_pixels()),
               overlay.empty() ? "" : " overlay=" + overlay.string());
}

void run_infer(const InferArgs& args) {
  const infer::Predictor predictor(args.model, args.threads, args.numerics);
  const auto& s = predictor.summary();
  spdlog::info("model: {} (epoch {}, base_channels {}, depth {}, validation IoU {:.4f})",
               args.model.string(), s.epoch, s.base_channels, s.depth, s.last_iou);
  spdlog::info("numerics {}", predictor.numerics().line());
  if (!predictor.trained_with_numerics().empty()) {
    spdlog::info("trained with numerics {}", predictor.trained_with_numerics());
  }
  if (!fs::is_directory(args.image)) {
    infer_one(predictor, args, args.image, args.out, args.overlay);
    return;
  }
  std::vector<fs::path> images;
  for (const auto& entry : fs::directory_iterator(args.image)) {
    if (entry.path().extension() == ".png") images.push_back(entry.path());
  }
  std::sort(images.begin(), images.end());
  DUNET_CHECK(!images.empty(), DataError, "folder '", args.image.string(), "' has no PNG files");
  for (const auto& image : images) {
    const fs::path overlay = args.overlay.empty() ? fs::path() : args.overlay / image.filename();
    infer_one(predictor, args, image, args.out / image.filename(), overlay);
  }
}

}  // namespace

void add_infer_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("infer", "Predict nucleus masks with a trained checkpoint");
  auto args = std::make_shared<InferArgs>();
  cmd->add_option("--model,-m", args->model, "Checkpoint (.pt) written by `dunet train`")
      ->required();
  cmd->add_option("--image,-i", args->image, "PNG image (1, 3 or 4 channels), or a folder")
      ->required();
  cmd->add_option("--out,-o", args->out, "Mask PNG (0/255) of the image's size, or a folder")
      ->required();
  cmd->add_option("--overlay", args->overlay,
                  "Also write input | mask | overlay side by side (a folder for folder input)");
  cmd->add_option("--threshold", args->threshold, "Foreground probability threshold")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--tile-size", args->tile_size, "Larger images are predicted in tiles")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{64}, int64_t{16384}));
  cmd->add_option("--threads", args->threads, "CPU threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--conv-path", args->numerics.conv_path,
                  "3x3 convolutions: auto, winograd or direct (as model.conv_path)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "winograd", "direct"}));
  cmd->add_option("--cpu-allocator", args->numerics.cpu_allocator,
                  "CPU allocator: auto, caching or system (as train.cpu_allocator)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "caching", "system"}));
  cmd->callback([args] { run_infer(*args); });
}

}  // namespace dunet::apps
