// Private to trainer/: the state of one rank's training and the steps that change it. Its
// members are defined by job: trainer.cpp (set-up, the epoch loop), trainer_resume.cpp
// (resume and checkpoints), trainer_stopping.cpp (stop requests and bad steps).
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "checkpoint/format.h"
#include "data/loader.h"
#include "data/shard_set.h"
#include "kernels/precision.h"
#include "launcher/communicator.h"
#include "model/loss.h"
#include "model/unet.h"
#include "tensorboard/event_file.h"
#include "trainer/gradient_reducer.h"
#include "trainer/loss_scaler.h"
#include "trainer/trainer.h"
#include "trainer/validate.h"

namespace dunet::trainer {

using Clock = std::chrono::steady_clock;

struct Trainer::Impl {
  TrainerSettings config;
  launcher::Communicator& comm;
  std::string resolved_toml;
  torch::Device device{torch::kCPU};
  std::shared_ptr<data::ShardSet> train_set;
  std::unique_ptr<data::ShardSet> val_set;
  std::unique_ptr<data::TrainLoader> loader;
  model::UNet model{nullptr};
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::unique_ptr<GradientReducer> reducer;  // only with more than one process
  model::LossKind loss_kind;
  // Of the forward pass: train.precision, with "auto" resolved when training starts.
  kernels::Precision precision = kernels::Precision::kFp32;
  LossScaler scaler;
  checkpoint::CheckpointStore store;
  checkpoint::CheckpointMeta state;  // where training stands; saved in every checkpoint
  FitOptions options;
  LossHookForTesting loss_hook;
  int64_t bad_steps = 0;      // non-finite steps in a row
  int stopped_by_signal = 0;  // the signal that stopped the run, if one did
  // For the whole run's time left on the progress bar: the steps this process has made and
  // will make in all, and when it began.
  Clock::time_point run_start = Clock::now();
  // Rank 0's TensorBoard event file (run.tensorboard), opened when training starts.
  std::unique_ptr<tensorboard::EventFileWriter> events;
  int64_t steps_run = 0;
  int64_t steps_to_run = 0;

  Impl(const TrainerSettings& c, launcher::Communicator& comm_)
      : config(c),
        comm(comm_),
        resolved_toml(c.resolved_config),
        loss_kind(model::parse_loss(c.train.loss)),
        scaler(c.train.loss_scaling, c.train.precision, c.train.initial_loss_scale),
        store(std::filesystem::path(c.run.output_dir) / "checkpoints", c.checkpoint.keep_last) {}

  // ---- The epoch loop (trainer.cpp) ----
  struct EpochTally {
    double loss_sum = 0;
    int64_t loss_count = 0;  // micro-batches
    bool stop = false;       // all ranks agreed to stop after the last step
  };
  struct StepWindow {  // the steps since the last log line
    Clock::time_point start;
    int64_t steps;
  };
  // Returns false when it stopped early (after a checkpoint): at `stop_after_global_step` or
  // because a rank received a stop signal.
  bool run_epoch(int64_t epoch, int64_t first_step, int64_t stop_after_global_step);
  // The end of a whole epoch: its loss, validation, metrics line and checkpoint. Returns
  // false when the run stops here.
  bool finish_epoch(int64_t epoch, int64_t done_steps, double epoch_seconds,
                    const EpochTally& tally);
  // Rank 0: predictions/epoch-NNNN.png and the same picture in TensorBoard.
  void save_validation_pictures(const ValidationPictures& pictures);
  // Forward and backward of one micro-batch; gradients are averaged over ranks when `sync`.
  double micro_step(data::Batch& batch, bool sync);
  void zero_gradients();
  // Unscales the gradients, then steps the optimiser, or skips the update when they are not
  // finite: an overflow of the loss scale when only the gradients are, a bad step otherwise.
  void update_or_skip(double loss_value);
  double images_per_step() const {
    return static_cast<double>(config.train.batch_size * config.train.grad_accum * comm.size());
  }
  bool validation_due(int64_t epoch_done) const {
    return val_set && config.validation.every_epochs > 0 &&
           (epoch_done % config.validation.every_epochs == 0 || epoch_done == config.train.epochs);
  }

  // ---- Resume and checkpoints (trainer_resume.cpp) ----
  // mode: FitOptions::resume. Loads the state and broadcasts rank 0's weights to all ranks.
  void resume(const std::string& mode);
  void save_checkpoint(bool is_best);

  // ---- Stopping (trainer_stopping.cpp) ----
  // All ranks agree (one small all-reduce) whether to stop after this step.
  bool should_stop(int64_t stop_after_global_step);
  // After the gradient all-reduce the gradients are identical on every rank, so every rank
  // reaches the same verdict without another collective.
  bool gradients_finite() const;
  // Skips the update of a step with NaN/Inf; stops the run after max_bad_steps in a row.
  void skip_bad_step(double loss_value);
};

}  // namespace dunet::trainer
