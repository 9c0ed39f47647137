// Runs data::prepare_shards with a progress bar and a summary line; shared by `prepare` and
// `train --train-dir`.
#pragma once

#include "data/prepare.h"

namespace dunet::apps {

data::PrepareResult run_prepare(const std::vector<data::SourceSample>& samples,
                                data::PrepareOptions options);

}  // namespace dunet::apps
