// `dunet infer`: predicts the mask of one image, or of every image (PNG, TIFF, JPEG) in a
// folder, from a checkpoint; optionally writes the nuclei as a 16-bit label image, a CSV of
// their measurements, and input | mask | outlines pictures. Outputs are never inputs, and a
// folder run goes on past bad images and names them at the end.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "apps/prediction_options.h"
#include "core/error.h"
#include "core/progress.h"
#include "data/image_io.h"
#include "data/labels.h"
#include "data/montage.h"
#include "data/nucleus_table.h"
#include "infer/predictor.h"

namespace dunet::apps {

namespace fs = std::filesystem;

namespace {

// Where one image's outputs go; an empty path is not written.
struct OutputPaths {
  fs::path mask, overlay, labels, objects;
};

struct InferArgs {
  fs::path model, image, out, overlay, labels, objects;
  infer::PredictOptions predict;
  int64_t threads = 0;
  kernels::NumericsSettings numerics;
};

// Writes the mask (0/255) and what else `to` names; returns the foreground fraction.
double write_outputs(const data::Image& input, infer::Prediction prediction,
                     const OutputPaths& to) {
  data::Image& mask = prediction.mask;
  if (!to.labels.empty()) data::write_label_image(to.labels, prediction.nuclei);
  if (!to.objects.empty()) {
    data::write_nucleus_csv(to.objects, data::measure_nuclei(prediction.nuclei, input),
                            input.channels);
  }
  if (!to.overlay.empty()) {
    data::write_png(to.overlay, data::make_nuclei_overlay(input, mask, prediction.nuclei));
  }
  int64_t foreground = 0;
  for (auto& v : mask.pixels) {
    foreground += v;
    v = static_cast<uint8_t>(v * 255);
  }
  data::write_png(to.mask, mask);
  return static_cast<double>(foreground) /
         static_cast<double>(std::max<int64_t>(1, mask.num_pixels()));
}

void log_written(spdlog::level::level_enum level, const fs::path& image, const data::Image& input,
                 const OutputPaths& to, int32_t nuclei, double foreground) {
  std::string extra;
  if (!to.labels.empty() || !to.objects.empty() || !to.overlay.empty()) {
    extra += " nuclei=" + std::to_string(nuclei);
  }
  if (!to.labels.empty()) extra += " labels=" + to.labels.string();
  if (!to.objects.empty()) extra += " objects=" + to.objects.string();
  if (!to.overlay.empty()) extra += " overlay=" + to.overlay.string();
  spdlog::log(level, "infer: {} ({}x{}) -> {} foreground={:.2f}%{}", image.string(), input.width,
              input.height, to.mask.string(), 100.0 * foreground, extra);
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
  const std::vector<std::pair<std::string, fs::path>> outputs{{"--out", args.out},
                                                              {"--overlay", args.overlay},
                                                              {"--labels", args.labels},
                                                              {"--objects", args.objects}};
  for (size_t i = 0; i < outputs.size(); ++i) {
    const auto& [flag, path] = outputs[i];
    if (path.empty()) continue;
    DUNET_CHECK(!same_file(path, args.image), ConfigError, flag, " '", path.string(),
                "' is the input ", what, "; choose another ", flag, " so that the input is kept");
    DUNET_CHECK(!same_file(path, args.model), ConfigError, flag,
                " must not be the checkpoint '", args.model.string(), "'");
    for (size_t j = 0; j < i; ++j) {
      DUNET_CHECK(outputs[j].second.empty() || !same_file(path, outputs[j].second), ConfigError,
                  flag, " '", path.string(), "' is ", outputs[j].first,
                  " too; give them different paths");
    }
  }
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

// Every image of the folder, in a pipeline: the next image is decoded and the previous
// masks are encoded on other threads while LibTorch predicts the current one on all cores.
// A bad image is named and skipped; the others still get their masks.
// The nuclei are found (a watershed or connected components) only where an output needs them.
infer::PredictOptions predict_options(const InferArgs& args) {
  infer::PredictOptions options = args.predict;
  options.nuclei = !args.labels.empty() || !args.objects.empty() || !args.overlay.empty();
  return options;
}

void predict_folder(const infer::Predictor& predictor, const InferArgs& args) {
  const std::vector<fs::path> images = folder_images(args.image);
  const int64_t channels = predictor.in_channels();
  const auto read = [channels](const fs::path& path) { return data::read_image(path, channels); };
  const bool bar_shown = ProgressBar::stderr_is_terminal();
  const auto per_image_level = bar_shown ? spdlog::level::debug : spdlog::level::info;
  ProgressBar bar("infer", static_cast<int64_t>(images.size()));
  std::vector<std::string> failed;
  std::future<data::Image> next = std::async(std::launch::async, read, images[0]);
  std::future<void> writing;
  for (size_t i = 0; i < images.size(); ++i) {
    const fs::path& image = images[i];
    std::optional<data::Image> input;
    try {
      input = next.get();
    } catch (const DataError& e) {
      spdlog::error("{}", e.what());
      failed.push_back(image.string());
    }
    if (i + 1 < images.size()) next = std::async(std::launch::async, read, images[i + 1]);
    if (input) {
      infer::Prediction prediction = predictor.predict(*input, predict_options(args));
      if (writing.valid()) writing.get();  // a write error (IoError) ends the run here
      const std::string stem = image.stem().string();
      const auto in = [&](const fs::path& folder, const char* extension) {
        return folder.empty() ? fs::path() : folder / (stem + extension);
      };
      const OutputPaths to{in(args.out, ".png"), in(args.overlay, ".png"),
                           in(args.labels, ".png"), in(args.objects, ".csv")};
      writing = std::async(std::launch::async, [=, input = std::move(*input),
                                                prediction = std::move(prediction)]() mutable {
        const int32_t nuclei = prediction.nuclei.count;
        const double foreground = write_outputs(input, std::move(prediction), to);
        log_written(per_image_level, image, input, to, nuclei, foreground);
      });
    }
    bar.update(static_cast<int64_t>(i + 1), image.filename().string());
  }
  if (writing.valid()) writing.get();
  bar.finish();
  spdlog::info("infer: {} of {} images of '{}' predicted into '{}'", images.size() - failed.size(),
               images.size(), args.image.string(), args.out.string());
  if (failed.empty()) return;
  std::string list;
  for (const auto& name : failed) list += "\n  " + name;
  throw DataError(std::to_string(failed.size()) + " of " + std::to_string(images.size()) +
                  " images could not be read; the other masks are written:" + list);
}

void run_infer(InferArgs& args) {
  const bool folder = fs::is_directory(args.image);
  check_outputs(args, folder);
  const infer::Predictor predictor(args.model, args.threads, args.numerics);
  default_window_from_saved_config(args.predict, predictor);
  const auto& s = predictor.summary();
  spdlog::info(
      "model: {} (epoch {}, base_channels {}, depth {}, validation IoU {:.4f}); windows of {} px",
      args.model.string(), s.epoch, s.base_channels, s.depth, s.last_iou,
      predictor.window_size(args.predict));
  spdlog::info("numerics {}", predictor.numerics().line());
  if (!predictor.trained_with_numerics().empty()) {
    spdlog::info("trained with numerics {}", predictor.trained_with_numerics());
  }
  if (!folder) {
    const data::Image input = data::read_image(args.image, predictor.in_channels());
    infer::Prediction prediction = predictor.predict(input, predict_options(args));
    const int32_t nuclei = prediction.nuclei.count;
    const OutputPaths to{args.out, args.overlay, args.labels, args.objects};
    const double foreground = write_outputs(input, std::move(prediction), to);
    log_written(spdlog::level::info, args.image, input, to, nuclei, foreground);
    return;
  }
  predict_folder(predictor, args);
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
                  "Also write input | mask | nucleus outlines over the input, side by side (a "
                  "folder for folder input)");
  cmd->add_option("--labels", args->labels,
                  "Also write one label per nucleus as a 16-bit image: PNG, or TIFF for .tif/.tiff "
                  "(a folder of <image>.png for folder input)");
  cmd->add_option("--objects", args->objects,
                  "Also write a CSV with one row per nucleus: label, area, centroid, bounding box, "
                  "mean intensity per channel (a folder of <image>.csv for folder input)");
  add_prediction_options(*cmd, args->predict);
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
