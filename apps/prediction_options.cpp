#include "apps/prediction_options.h"

#include "config/loader.h"
#include "core/error.h"

namespace dunet::apps {

void add_prediction_options(CLI::App& cmd, infer::PredictOptions& options) {
  cmd.add_option("--threshold", options.threshold, "Foreground probability threshold")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd.add_option("--tile-size", options.tile_size,
                 "Larger images are predicted in windows of this size, half a window apart, "
                 "blended with Gaussian weights (default: the patch size the model was trained "
                 "on, 512 for a checkpoint that does not record it)")
      ->check(CLI::Range(int64_t{64}, int64_t{16384}));
  cmd.add_option("--min-nucleus-area", options.min_nucleus_area,
                 "Predicted nuclei smaller than this (pixels) merge into the nucleus they touch "
                 "most, or are removed where they touch none; 0 keeps every one")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
  cmd.add_flag("--tta", options.tta,
               "Test-time augmentation: average the predictions of the 8 flips and rotations "
               "(8x the time)");
}

void default_window_from_saved_config(infer::PredictOptions& options,
                                      const infer::Predictor& predictor) {
  if (options.tile_size > 0 || predictor.trained_patch_size() > 0) return;
  try {
    options.tile_size =
        config::load_config_text(predictor.trained_config_toml(), "the checkpoint's config")
            .data.patch_size;
  } catch (const ConfigError&) {
    // Imported weights, or a config this dunet no longer reads: the fallback window.
  }
}

}  // namespace dunet::apps
