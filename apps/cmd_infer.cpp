// `dunet infer`: predicts the mask of one image, or of every image (PNG, TIFF, JPEG) in a
// folder, from a checkpoint; optionally writes input | mask | overlay pictures. Outputs are
// never inputs, and a folder run goes on past bad images and names them at the end.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

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

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ec_a, ec_b;
  const fs::path resolved_a = fs::weakly_canonical(a, ec_a);
  const fs::path resolved_b = fs::weakly_canonical(b, ec_b);
  return !ec_a && !ec_b && resolved_a == resolved_b;
}

// Refuses an output that would overwrite an input or another output, before any work.
void check_outputs(const InferArgs& args, bool folder) {
  const char* what = folder ? "folder" : "file";
  DUNET_CHECK(!same_file(args.out, args.image), ConfigError, "--out '", args.out.string(),
              "' is the input ", what, "; choose another --out so that the input is kept");
  DUNET_CHECK(!same_file(args.out, args.model) && !same_file(args.overlay, args.model), ConfigError,
              "--out and --overlay must not be the checkpoint '", args.model.string(), "'");
  if (args.overlay.empty()) return;
  DUNET_CHECK(!same_file(args.overlay, args.image), ConfigError, "--overlay '",
              args.overlay.string(), "' is the input ", what,
              "; choose another --overlay so that the input is kept");
  DUNET_CHECK(!same_file(args.overlay, args.out), ConfigError, "--overlay '", args.overlay.string(),
              "' is --out too; give them different paths");
}

// The folder's images, sorted, each with the PNG name its mask gets; two inputs that would
// write the same mask (a.png and a.tif) are refused by name.
std::vector<fs::path> folder_images(const fs::path& dir) {
  std::vector<fs::path> images;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const bool hidden = entry.path().filename().string().rfind('.', 0) == 0;
    if (entry.is_regular_file() && !hidden && data::has_image_extension(entry.path())) {
      images.push_back(entry.path());
    }
  }
  std::sort(images.begin(), images.end());
  DUNET_CHECK(!images.empty(), DataError, "folder '", dir.string(), "' has no ",
              data::kImageFormats, " files");
  for (size_t i = 1; i < images.size(); ++i) {
    DUNET_CHECK(images[i].stem() != images[i - 1].stem(), DataError, "'", images[i - 1].string(),
                "' and '", images[i].string(), "' would both write the mask ",
                images[i].stem().string(), ".png; keep one of them in the folder");
  }
  return images;
}

void run_infer(const InferArgs& args) {
  const bool folder = fs::is_directory(args.image);
  check_outputs(args, folder);
  const infer::Predictor predictor(args.model, args.threads, args.numerics);
  const auto& s = predictor.summary();
  spdlog::info("model: {} (epoch {}, base_channels {}, depth {}, validation IoU {:.4f})",
               args.model.string(), s.epoch, s.base_channels, s.depth, s.last_iou);
  spdlog::info("numerics {}", predictor.numerics().line());
  if (!predictor.trained_with_numerics().empty()) {
    spdlog::info("trained with numerics {}", predictor.trained_with_numerics());
  }
  if (!folder) {
    infer_one(predictor, args, args.image, args.out, args.overlay);
    return;
  }
  const std::vector<fs::path> images = folder_images(args.image);
  std::vector<std::string> failed;
  for (const auto& image : images) {
    const fs::path name = image.stem().string() + ".png";
    const fs::path overlay = args.overlay.empty() ? fs::path() : args.overlay / name;
    try {
      infer_one(predictor, args, image, args.out / name, overlay);
    } catch (const DataError& e) {  // this image is bad; the others still get their masks
      spdlog::error("{}", e.what());
      failed.push_back(image.string());
    }
  }
  if (failed.empty()) return;
  std::string list;
  for (const auto& name : failed) list += "\n  " + name;
  throw DataError(std::to_string(failed.size()) + " of " + std::to_string(images.size()) +
                  " images could not be read; the other masks are written:" + list);
}

}  // namespace

void add_infer_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("infer", "Predict nucleus masks with a trained checkpoint");
  auto args = std::make_shared<InferArgs>();
  cmd->add_option("--model,-m", args->model, "Checkpoint (.pt) written by `dunet train`")
      ->required();
  cmd->add_option("--image,-i", args->image,
                  "Image (PNG, TIFF or JPEG; 1, 3 or 4 channels), or a folder of them")
      ->required();
  cmd->add_option("--out,-o", args->out,
                  "Mask PNG (0/255) of the image's size, or a folder (masks named <image>.png)")
      ->required();
  cmd->add_option("--overlay", args->overlay,
                  "Also write input | mask | overlay side by side (a folder for folder input)");
  cmd->add_option("--threshold", args->threshold, "Foreground probability threshold")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--tile-size", args->tile_size, "Larger images are predicted in tiles")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{64}, int64_t{16384}));
  cmd->add_option("--threads", args->threads, "CPU threads (0 = all cores)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{4096}));
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
