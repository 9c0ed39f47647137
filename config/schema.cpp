#include "config/schema.h"

#include <spdlog/fmt/fmt.h>

namespace dunet::config {

namespace {
constexpr double kIntMax = 1e12;
}

void visit_config(RunConfig& c, ConfigVisitor& v) {
  v.section("run", "Identity of the run and where its files go");
  v.field({"run", "name", "name shown in logs and job names", {}, {}, {}, true}, c.run.name);
  v.field({"run",
           "output_dir",
           "checkpoints, logs and the resolved config are written here",
           {},
           {},
           {},
           true},
          c.run.output_dir);
  v.field({"run", "seed", "seed of weights, sampling and augmentation", 0, kIntMax}, c.run.seed);
  v.field({"run", "tensorboard",
           "write TensorBoard event files (scalars, validation pictures) in <output_dir>/tensorboard"},
          c.run.tensorboard);

  v.section("data", "HDF5 shards written by `dunet prepare`, and how they are streamed");
  v.field({"data", "train", "globs of training shards, e.g. [\"prepared/dsb2018/train-*.h5\"]"},
          c.data.train);
  v.field({"data", "val", "globs of validation shards; empty = no validation"}, c.data.val);
  v.field({"data", "patch_size", "square training crop in pixels, a multiple of 2^depth", 16, 8192},
          c.data.patch_size);
  v.field({"data", "workers", "background threads reading and augmenting samples", 1, 64},
          c.data.workers);
  v.field({"data", "prefetch", "batches prepared ahead of the training step", 1, 1024},
          c.data.prefetch);
  v.field({"data", "augment", "random flips and 90-degree rotations of training patches"},
          c.data.augment);
  v.field({"data", "scale_min", "smallest zoom of a training patch (0.5 = nuclei half as large)",
           0.1, 10.0},
          c.data.scale_min);
  v.field({"data", "scale_max", "largest zoom of a training patch, drawn log-uniformly", 0.1, 10.0},
          c.data.scale_max);
  v.field({"data", "rotation_deg", "patches rotated by up to this many degrees either way", 0.0,
           180.0},
          c.data.rotation_deg);
  v.field({"data", "photometric",
           "random brightness, contrast, gamma, colour, grey, inversion, blur and noise"},
          c.data.photometric);
  v.field({"data", "foreground_fraction",
           "share of training patches centred on a random foreground pixel", 0.0, 1.0},
          c.data.foreground_fraction);

  v.section("model", "UNet shape");
  v.field({"model", "in_channels", "image channels the network reads (1 grey, 3 RGB)", 1, 3},
          c.model.in_channels);
  v.field({"model", "out_channels",
           "output maps: 1 = foreground; 2 = foreground and nucleus outlines, which split "
           "touching nuclei (watershed)",
           1, 2},
          c.model.out_channels);
  v.field({"model", "base_channels", "channels of the first level, doubled per down step", 1, 1024},
          c.model.base_channels);
  v.field({"model", "depth", "number of down and up steps", 1, 8}, c.model.depth);
  v.field({"model",
           "norm",
           "normalisation after each 3x3 convolution: sync_batch = statistics over all "
           "processes, group = GroupNorm (8 groups), instance = one group per channel",
           {},
           {},
           {"batch", "sync_batch", "group", "instance", "none"}},
          c.model.norm);
  v.field({"model",
           "conv_path",
           "3x3 convolutions on the CPU: auto = Winograd where OpenBLAS "
           "is loaded and a layer gains, winograd = the same but an error where it cannot run, "
           "direct = LibTorch's convolution",
           {},
           {},
           {"auto", "winograd", "direct"}},
          c.model.conv_path);

  v.section("train", "Optimisation");
  v.field({"train", "epochs", "passes over the training set", 1, kIntMax}, c.train.epochs);
  v.field({"train", "batch_size", "patches per step and per process", 1, 65536},
          c.train.batch_size);
  v.field({"train", "grad_accum", "micro-batches accumulated per optimizer step", 1, 4096},
          c.train.grad_accum);
  v.field({"train", "learning_rate", "peak learning rate", 1e-12, 10.0}, c.train.learning_rate);
  v.field({"train", "optimizer", "optimisation algorithm", {}, {}, {"adam", "sgd"}},
          c.train.optimizer);
  v.field({"train", "momentum", "SGD momentum", 0.0, 0.999999}, c.train.momentum);
  v.field({"train", "weight_decay", "L2 penalty on all weights", 0.0, 1.0}, c.train.weight_decay);
  v.field({"train",
           "lr_schedule",
           "learning-rate schedule over epochs",
           {},
           {},
           {"constant", "cosine", "step"}},
          c.train.lr_schedule);
  v.field({"train", "warmup_epochs", "linear warm-up epochs before the schedule", 0, kIntMax},
          c.train.warmup_epochs);
  v.field({"train", "step_epochs", "step schedule: epochs between decays", 1, kIntMax},
          c.train.step_epochs);
  v.field({"train", "step_gamma", "step schedule: factor applied at each decay", 1e-6, 1.0},
          c.train.step_gamma);
  v.field({"train", "loss", "training loss", {}, {}, {"bce", "dice", "bce_dice"}}, c.train.loss);
  v.field({"train",
           "init_weights",
           "checkpoint whose weights a new run starts from (fine-tuning, `dunet import`); "
           "\"\" = random initial weights"},
          c.train.init_weights);
  v.field(
      {"train", "threads", "CPU threads per process; 0 = cores / processes on the node", 0, 1024},
      c.train.threads);
  v.field({"train",
           "cpu_allocator",
           "LibTorch's CPU allocator: auto = dunet's caching "
           "allocator unless AddressSanitizer runs, caching = the same but an error where it "
           "cannot run, system = c10's default",
           {},
           {},
           {"auto", "caching", "system"}},
          c.train.cpu_allocator);
  v.field({"train",
           "precision",
           "forward pass under autocast: fp32 = none, bf16 = bfloat16 convolutions (CPU or GPU), "
           "fp16 = float16 convolutions with dynamic loss scaling (GPU only), auto = bf16 where "
           "the hardware computes it natively (a GPU of compute capability 8+, a CPU with "
           "avx512_bf16 or AMX under oneDNN) on every rank, else fp32; weights, optimizer and "
           "BatchNorm statistics stay float32",
           {},
           {},
           {"fp32", "bf16", "fp16", "auto"}},
          c.train.precision);
  v.field({"train",
           "loss_scaling",
           "dynamic loss scaling: auto = on with fp16 only, dynamic = on, off = never",
           {},
           {},
           {"auto", "dynamic", "off"}},
          c.train.loss_scaling);
  v.field({"train", "initial_loss_scale",
           "loss scale at the start (halved after a step whose gradients overflow, doubled "
           "after 2000 steps without)",
           1.0, 1e38},
          c.train.initial_loss_scale);
  v.field(
      {"train", "max_bad_steps",
       "steps in a row with NaN/Inf loss or gradients (skipped) before the run stops", 1, 1000000},
      c.train.max_bad_steps);
  v.field({"train", "log_every_steps", "steps between metric lines", 1, kIntMax},
          c.train.log_every_steps);

  v.section("validation", "Validation on whole images");
  v.field({"validation", "every_epochs", "epochs between validations; 0 = never", 0, kIntMax},
          c.validation.every_epochs);
  v.field({"validation", "threshold", "probability above which a pixel is foreground", 0.0, 1.0},
          c.validation.threshold);
  v.field({"validation", "tile_size",
           "larger images are predicted in overlapping windows of this size; 0 = "
           "data.patch_size (GroupNorm and InstanceNorm normalise over the window)",
           0, 16384},
          c.validation.tile_size);
  v.field({"validation", "pictures",
           "validation images drawn each time in <output_dir>/predictions (truth and prediction "
           "outlines); 0 = none",
           0, 64},
          c.validation.pictures);
  v.field({"validation", "min_nucleus_area",
           "predicted nuclei smaller than this (pixels) merge into the nucleus they touch most, "
           "or are removed where they touch none, before the DSB2018 score; 0 keeps every one",
           0, kIntMax},
          c.validation.min_nucleus_area);

  v.section("checkpoint", "Checkpoints in <output_dir>/checkpoints");
  v.field({"checkpoint", "every_epochs", "epochs between checkpoints (the last is always saved)", 1,
           kIntMax},
          c.checkpoint.every_epochs);
  v.field({"checkpoint", "keep_last", "checkpoints kept; `best` is kept besides", 1, 10000},
          c.checkpoint.keep_last);

  v.section("dist", "Communication between training processes");
  v.field({"dist", "backend", "all-reduce backend", {}, {}, {"auto", "mpi", "nccl", "local"}},
          c.dist.backend);
  v.field({"dist",
           "device",
           "where each process computes: auto = cuda:<local rank> if "
           "LibTorch sees GPUs, else cpu",
           {},
           {},
           {"auto", "cpu", "cuda"}},
          c.dist.device);
  v.field({"dist", "bucket_mb", "gradient bucket size in MiB", 1, 4096}, c.dist.bucket_mb);
  v.field({"dist", "timeout_s", "a collective slower than this aborts the run", 1, 86400},
          c.dist.timeout_s);
  v.field({"dist", "root_work_timeout_s",
           "the other ranks' wait for rank 0's own work (preparing data, a checkpoint)", 1, 604800},
          c.dist.root_work_timeout_s);

  v.section("slurm", "SLURM job of `dunet submit` (values are validated and shell-quoted)");
  v.field({"slurm", "nodes", "nodes", 1, 100000}, c.slurm.nodes);
  v.field({"slurm", "restart_nodes",
           "nodes the job restarts on after losing a node (0 = `nodes` again, which waits for "
           "the lost node's replacement)",
           0, 100000},
          c.slurm.restart_nodes);
  v.field({"slurm", "gpus_per_node", "GPUs per node; 0 = CPU job", 0, 64}, c.slurm.gpus_per_node);
  v.field({"slurm", "tasks_per_node", "processes per node; 0 = one per GPU (1 on CPU)", 0, 1024},
          c.slurm.tasks_per_node);
  v.field({"slurm", "cpus_per_task", "CPU cores per process", 1, 1024}, c.slurm.cpus_per_task);
  v.field({"slurm", "time", "time limit: [D-]HH:MM:SS, MM:SS or minutes"}, c.slurm.time);
  v.field({"slurm", "partition", "partition; empty = the cluster's default"}, c.slurm.partition);
  v.field({"slurm", "account", "account to charge; empty = your default"}, c.slurm.account);
  v.field({"slurm", "qos", "quality of service; empty = default"}, c.slurm.qos);
  v.field({"slurm", "extra_sbatch", "more #SBATCH options, e.g. [\"--constraint=a100\"]"},
          c.slurm.extra_sbatch);
  v.field({"slurm", "setup", "shell lines before training, e.g. [\"module load cuda\"]"},
          c.slurm.setup);
  v.field({"slurm", "signal_margin_s", "SIGUSR1 this long before the time limit (checkpoint)", 60,
           86400},
          c.slurm.signal_margin_s);
  v.field({"slurm", "requeue", "requeue the job after a checkpoint-and-stop"}, c.slurm.requeue);
  v.field({"slurm", "lost_node_requeues",
           "requeues after a collective timed out (a rank or node lost), at most", 0, 1000},
          c.slurm.lost_node_requeues);
}

std::vector<std::pair<std::string, std::string>> cross_field_problems(const RunConfig& c) {
  std::vector<std::pair<std::string, std::string>> problems;
  const int64_t factor = int64_t{1} << c.model.depth;
  if (c.data.patch_size % factor != 0) {
    problems.emplace_back("data.patch_size",
                          "must be a multiple of 2^depth = " + std::to_string(factor) +
                              " (model.depth = " + std::to_string(c.model.depth) + "), got " +
                              std::to_string(c.data.patch_size));
  }
  if (c.data.scale_min > c.data.scale_max) {
    problems.emplace_back("data.scale_min", "must not exceed data.scale_max = " +
                                                fmt::format("{}", c.data.scale_max) + ", got " +
                                                fmt::format("{}", c.data.scale_min));
  }
  return problems;
}

}  // namespace dunet::config
