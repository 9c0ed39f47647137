// Checkpoints: model weights, optimizer state and where training stands, in one file written
// atomically (temp file, then rename). A checkpoint does not depend on the number of
// processes: the data position is the count of samples consumed in the epoch.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "model/model_config.h"
#include "model/unet.h"

namespace dunet::checkpoint {

inline constexpr int64_t kCheckpointVersion = 1;

struct CheckpointMeta {
  int64_t version = kCheckpointVersion;
  int64_t epoch = 0;             // epochs completed
  int64_t step_in_epoch = 0;     // steps of `epoch` done (0 at an epoch boundary)
  int64_t samples_in_epoch = 0;  // global samples consumed in `epoch` (world-size independent)
  int64_t global_step = 0;
  int64_t seed = 0;        // sampling and augmentation are keyed by (seed, epoch, position)
  int64_t world_size = 1;  // informational: resuming on another size is allowed
  double best_iou = -1;    // best validation IoU so far (-1 = none yet)
  double last_iou = -1;
  double last_dice = -1;
  double last_loss = 0;
  std::string config_toml;  // the resolved run config
  model::ModelConfig model;
  std::vector<double> mean;  // input normalisation, needed for inference
  std::vector<double> std;
  // data.patch_size of the training run: inference's default window, since GroupNorm and
  // InstanceNorm compute their statistics over what the network sees. 0 where unknown
  // (imported weights, checkpoints written before dunet recorded it).
  int64_t patch_size = 0;
  // What computed the weights (kernels::NumericsReport's line plus the communicator): LibTorch,
  // BLAS, CPU, kernels, convolution path, allocator, precision, CUDA. Empty in checkpoints
  // written before dunet recorded it.
  std::string numerics;
  // Dynamic loss scaling (trainer/loss_scaler.h): the scale and the good steps since it last
  // changed. 0 where the run does not scale (or the checkpoint predates it).
  double loss_scale = 0;
  int64_t loss_scale_good_steps = 0;
};

// Writes `path` atomically. `optimizer` may be null (weights-only export).
void save_checkpoint(const std::filesystem::path& path, model::UNet& model,
                     torch::optim::Optimizer* optimizer, const CheckpointMeta& meta);

// Reads only the metadata; throws CheckpointError for a file that is not a dunet checkpoint.
CheckpointMeta read_checkpoint_meta(const std::filesystem::path& path);

// Loads weights (and optimizer state when given) after checking that the checkpoint's model
// shape equals `model`'s; a mismatch names the field and both values.
CheckpointMeta load_checkpoint(const std::filesystem::path& path, model::UNet& model,
                               torch::optim::Optimizer* optimizer);

// The checkpoints folder of a run: epoch files, a `latest` marker and `best.pt`.
class CheckpointStore {
 public:
  CheckpointStore(std::filesystem::path dir, int64_t keep_last);

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path path_for_step(int64_t global_step) const;
  std::filesystem::path best_path() const { return dir_ / "best.pt"; }

  // Saves step-<global_step>.pt, points `latest` at it, copies it to best.pt when `is_best`,
  // then deletes step checkpoints beyond keep_last (never the latest).
  std::filesystem::path save(model::UNet& model, torch::optim::Optimizer& optimizer,
                             const CheckpointMeta& meta, bool is_best);

  // The checkpoint `latest` names, if any (not verified).
  std::optional<std::filesystem::path> latest() const;
  // The newest checkpoint whose checksum verifies: the one `latest` names, else the newest
  // intact step file; damaged ones are reported and skipped.
  std::optional<std::filesystem::path> latest_valid() const;
  bool empty() const;

 private:
  void rotate(const std::filesystem::path& keep);
  // "*.tmp" of writes that were killed: never finished files, and they may fill the disk.
  void remove_leftover_temp_files() const;

  std::filesystem::path dir_;
  int64_t keep_last_;
};

}  // namespace dunet::checkpoint
