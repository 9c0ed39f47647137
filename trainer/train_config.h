// Settings of the training loop, validation and checkpointing.
// Plain structs with defaults; config/loader.cpp fills them from TOML.
#pragma once

#include <cstdint>
#include <string>

namespace dunet::trainer {

// What names a run and where it writes.
struct RunSection {
  std::string name = "dunet";
  std::string output_dir = "runs/dunet";  // checkpoints, logs and the resolved config go here
  int64_t seed = 42;
  bool tensorboard = true;  // event files in <output_dir>/tensorboard
};

struct TrainConfig {
  int64_t epochs = 10;
  int64_t batch_size = 4;  // per process
  int64_t grad_accum = 1;  // micro-batches per optimizer step (gradients sync on the last)
  double learning_rate = 1e-3;
  std::string optimizer = "adam";  // adam | sgd
  double momentum = 0.9;           // sgd only
  double weight_decay = 0.0;
  std::string lr_schedule = "constant";  // constant | cosine | step
  int64_t warmup_epochs = 0;             // linear warm-up before the schedule
  int64_t step_epochs = 30;              // step schedule: multiply by step_gamma every N epochs
  double step_gamma = 0.1;
  std::string loss = "bce";  // bce | dice | bce_dice
  std::string init_weights;  // a checkpoint whose weights a new run starts from ("" = none)
  int64_t threads = 0;       // CPU threads per process; 0 = cores / local processes
  int64_t log_every_steps = 10;
  int64_t max_bad_steps = 5;  // non-finite loss/gradients in a row before the run stops
  // LibTorch's CPU allocator: auto (dunet's caching allocator unless AddressSanitizer runs) |
  // caching (an error where it cannot run) | system (c10's default).
  std::string cpu_allocator = "auto";
  // Mixed precision (kernels/precision.h): fp32 | bf16 | fp16 | auto.
  std::string precision = "fp32";
  // Dynamic loss scaling (loss_scaler.h): auto (with fp16 only) | dynamic | off.
  std::string loss_scaling = "auto";
  double initial_loss_scale = 65536.0;  // 2^16, as torch.amp.GradScaler
};

struct ValidationConfig {
  int64_t every_epochs = 1;  // 0 disables validation
  double threshold = 0.5;    // probability above which a pixel is foreground
  // Images larger than this are predicted in overlapping windows; 0 = data.patch_size, so that
  // GroupNorm and InstanceNorm see windows the size of their training patches.
  int64_t tile_size = 0;
  int64_t pictures = 4;      // validation images drawn in <output_dir>/predictions each time
  int64_t min_nucleus_area = 15;  // smaller predicted nuclei merge into a neighbour or go
};

struct CheckpointConfig {
  int64_t every_epochs = 1;
  int64_t keep_last = 3;  // older checkpoints are deleted; `best` is always kept
};

}  // namespace dunet::trainer
