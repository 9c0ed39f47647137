// The options `dunet infer` and `dunet eval` share: how masks are predicted.
#pragma once

#include <CLI/CLI.hpp>

#include "infer/predictor.h"

namespace dunet::apps {

void add_prediction_options(CLI::App& cmd, infer::PredictOptions& options);

// Where no --tile-size was given and the checkpoint predates the recorded patch size, the
// patch size of the training config saved in it (infer::Predictor::window_size).
void default_window_from_saved_config(infer::PredictOptions& options,
                                      const infer::Predictor& predictor);

}  // namespace dunet::apps
