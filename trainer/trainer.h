// The training loop of one rank: streams its batches, steps the optimiser, keeps replicas in
// sync through the Communicator, validates, checkpoints and resumes.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "launcher/communicator.h"
#include "trainer/trainer_settings.h"

namespace dunet::trainer {

struct FitResult {
  int64_t epochs_completed = 0;
  int64_t global_step = 0;
  double best_iou = -1;
  double last_iou = -1;
  double last_dice = -1;
  double last_loss = 0;
  std::filesystem::path last_checkpoint;
  uint64_t state_digest = 0;  // hash of this rank's parameters and buffers (equal on all ranks)
  int stopped_by_signal = 0;  // a signal (SIGUSR1, SIGTERM, SIGINT) stopped the run early
};

struct FitOptions {
  // "auto" (latest checkpoint of the run, if any), "never" (refuses a run folder that already
  // has checkpoints, so nothing is overwritten), or a checkpoint path.
  std::string resume = "auto";
  // Stop (with a checkpoint, possibly mid-epoch) once this many steps are done; -1 = never.
  int64_t stop_after_global_step = -1;
};

class Trainer {
 public:
  // Opens and validates the shards and builds the model; nothing is written yet.
  Trainer(const TrainerSettings& settings, launcher::Communicator& comm);
  ~Trainer();

  FitResult fit(const FitOptions& options = {});

  // The seam for fault-injection tests: called with each micro-step's 1-based global step and
  // loss, before backward; its result is the loss that is back-propagated.
  using LossHookForTesting = std::function<at::Tensor(int64_t global_step, at::Tensor)>;
  void set_loss_hook_for_testing(LossHookForTesting hook);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dunet::trainer
