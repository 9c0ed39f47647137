// Learning rate as a function of training progress (in epochs, fractional), so that it is
// the same after a resume and for any number of processes.
#pragma once

#include "trainer/train_config.h"

namespace dunet::trainer {

// constant | cosine (to 0 at the last epoch) | step (x step_gamma every step_epochs),
// each after an optional linear warm-up over warmup_epochs.
double learning_rate_at(const TrainConfig& config, double epoch_progress);

}  // namespace dunet::trainer
