// The options `dunet infer` and `dunet eval` share: how masks are predicted.
#pragma once

#include <CLI/CLI.hpp>

#include "infer/predictor.h"

namespace dunet::apps {

void add_prediction_options(CLI::App& cmd, infer::PredictOptions& options);

}  // namespace dunet::apps
