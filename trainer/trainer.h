// The training loop of one rank: streams its batches, steps the optimiser, keeps replicas in
// sync through the Communicator, validates, checkpoints and resumes.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "launcher/communicator.h"
#include "launcher/run_config.h"

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
  // Fault injection for tests: the loss of steps [nan_from_step, nan_from_step + nan_steps)
  // (1-based global steps) becomes NaN.
  int64_t nan_from_step = -1;
  int64_t nan_steps = 0;
};

class Trainer {
 public:
  // Opens and validates the shards and builds the model; nothing is written yet.
  Trainer(const launcher::RunConfig& config, launcher::Communicator& comm);
  ~Trainer();

  FitResult fit(const FitOptions& options = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Hash of the resolved config text, used to tell runs apart in checkpoints and across ranks.
uint64_t config_hash(const std::string& resolved_toml);

}  // namespace dunet::trainer
