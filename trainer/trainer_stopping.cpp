// Trainer::Impl's stopping: agreeing across ranks to stop (a signal, a step limit), and
// skipping updates with non-finite loss or gradients until the run has diverged.
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "launcher/stop_signal.h"
#include "trainer/gradient_check.h"
#include "trainer/trainer_impl.h"

namespace dunet::trainer {

bool Trainer::Impl::gradients_finite() const {
  std::vector<torch::Tensor> gradients;
  for (const auto& p : model->parameters()) gradients.push_back(p.grad());
  return all_finite(gradients);
}

void Trainer::Impl::skip_bad_step(double loss_value) {
  ++bad_steps;
  const auto latest = store.latest();
  spdlog::warn(
      "step {}: non-finite loss ({}) or gradients; the update is skipped ({} of "
      "train.max_bad_steps = {} in a row)",
      state.global_step + 1, loss_value, bad_steps, config.train.max_bad_steps);
  DUNET_CHECK(bad_steps < config.train.max_bad_steps, Error, "training diverged: ", bad_steps,
              " steps in a row with NaN/Inf loss or gradients (up to step ", state.global_step + 1,
              "); the last good checkpoint is ",
              latest ? latest->string() : std::string("(none yet)"),
              ". Lower train.learning_rate, or raise train.max_bad_steps");
}

bool Trainer::Impl::should_stop(int64_t stop_after_global_step) {
  const int signal = launcher::stop_signal();
  const bool local = signal != 0 || state.global_step == stop_after_global_step;
  if (comm.size() == 1) {
    stopped_by_signal = signal;
    return local;
  }
  // [ranks that want to stop, ranks that got a signal, sum of their signal numbers]
  const auto agreed = comm.all_reduce_sum(
      {local ? 1.0 : 0.0, signal != 0 ? 1.0 : 0.0, static_cast<double>(signal)});
  if (agreed[1] > 0) stopped_by_signal = static_cast<int>(agreed[2] / agreed[1]);
  return agreed[0] > 0;
}

}  // namespace dunet::trainer
