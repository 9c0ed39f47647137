#include "trainer/trainer.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iterator>
#include <optional>
#include <thread>

#include "checkpoint/format.h"
#include "checkpoint/state_digest.h"
#include "core/durable_write.h"
#include "core/error.h"
#include "core/memory_usage.h"
#include "core/progress.h"
#include "data/image_io.h"
#include "data/loader.h"
#include "kernels/compute_threads.h"
#include "kernels/numerics.h"
#include "kernels/precision.h"
#include "model/loss.h"
#include "model/sync_batch_norm.h"
#include "model/unet.h"
#include "trainer/epoch_metrics.h"
#include "trainer/gradient_reducer.h"
#include "trainer/lr_schedule.h"
#include "trainer/optimizer_factory.h"
#include "trainer/precision_agreement.h"
#include "trainer/run_identity.h"
#include "trainer/tensor_sync.h"
#include "trainer/trainer_impl.h"
#include "trainer/validate.h"

namespace dunet::trainer {

namespace fs = std::filesystem;
using checkpoint::CheckpointStore;
using checkpoint::state_digest;

namespace {

// The file's bytes, or nullopt when it cannot be read.
std::optional<std::string> read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Never zero, so that rates computed from it stay finite.
double seconds_since(Clock::time_point start) {
  return std::max(std::chrono::duration<double>(Clock::now() - start).count(), 1e-9);
}

torch::Device select_device(const std::string& wanted, int local_rank) {
  const bool cuda = torch::cuda::is_available();
  DUNET_CHECK(wanted != "cuda" || cuda, ConfigError,
              "dist.device = \"cuda\" but LibTorch sees no GPU (a CPU build of LibTorch, or no "
              "device visible); use \"auto\" or \"cpu\"");
  if (wanted == "cpu" || !cuda) return torch::kCPU;
  return {torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank % torch::cuda::device_count())};
}

// Sync BatchNorm's statistics travel over the trainer's communicator.
class CommunicatorStatsReducer final : public model::StatsAllReducer {
 public:
  explicit CommunicatorStatsReducer(launcher::Communicator& comm) : comm_(comm) {}
  void sum(torch::Tensor& tensor) override { comm_.all_reduce(tensor, launcher::ReduceOp::kSum); }

 private:
  launcher::Communicator& comm_;
};

}  // namespace

Trainer::Trainer(const TrainerSettings& config, launcher::Communicator& comm)
    : impl_(std::make_unique<Impl>(config, comm)) {
  Impl& s = *impl_;
  const int threads =
      config.train.threads > 0
          ? static_cast<int>(config.train.threads)
          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / comm.local_size());
  kernels::set_compute_threads(threads);
  s.device = select_device(config.dist.device, comm.local_rank());
  kernels::NumericsSettings numerics_settings{config.model.conv_path, config.train.cpu_allocator,
                                              config.train.precision, s.device.type()};
  kernels::NumericsReport numerics = kernels::apply_numerics(numerics_settings);
  if (config.train.precision == "auto") {
    const kernels::Precision agreed = agree_on_precision(kernels::training_precision(), comm);
    if (agreed != kernels::training_precision()) {
      numerics_settings.precision = kernels::precision_name(agreed);
      numerics = kernels::apply_numerics(numerics_settings);
    }
  }
  s.precision = kernels::training_precision();
  kernels::check_precision_supported(s.precision, s.device.type());
  const std::string comm_version = comm.library_version();
  s.state.numerics = numerics.line() + " comm=" + comm.name() +
                     (comm_version.empty() ? "" : " comm_library=\"" + comm_version + "\"");
  spdlog::info("numerics {}", s.state.numerics);

  s.train_set =
      std::make_shared<data::ShardSet>(data::expand_globs(config.data.train, "data.train"));
  DUNET_CHECK(s.train_set->channels() == config.model.in_channels, ConfigError,
              "model.in_channels = ", config.model.in_channels, " but the training shards hold ",
              s.train_set->channels(),
              "-channel images; set model.in_channels = ", s.train_set->channels());
  if (!config.data.val.empty()) {
    s.val_set = std::make_unique<data::ShardSet>(data::expand_globs(config.data.val, "data.val"));
    DUNET_CHECK(s.val_set->channels() == s.train_set->channels(), DataError,
                "validation shards hold ", s.val_set->channels(),
                "-channel images, training shards ", s.train_set->channels());
  }
  data::LoaderOptions options;
  options.batch_size = config.train.batch_size;
  options.patch_size = config.data.patch_size;
  options.workers = config.data.workers;
  options.prefetch = config.data.prefetch;
  const data::DataConfig& d = config.data;
  options.augmentation = {d.augment,      d.scale_min,   d.scale_max,
                          d.rotation_deg, d.photometric, d.foreground_fraction};
  options.contour_target = config.model.out_channels == 2;
  options.seed = static_cast<uint64_t>(config.run.seed);
  options.rank = comm.rank();
  options.world_size = comm.size();
  s.loader = std::make_unique<data::TrainLoader>(s.train_set, options);

  torch::manual_seed(static_cast<uint64_t>(config.run.seed));
  s.model = model::UNet(config.model);
  s.model->to(s.device);
  s.optimizer = make_optimizer(config.train, s.model);
  if (comm.size() > 1) {
    check_same_run_on_all_ranks(
        s.resolved_toml,
        s.train_set->fingerprint() + (s.val_set ? "/" + s.val_set->fingerprint() : ""), comm);
    if (config.model.norm == "sync_batch") {
      model::set_stats_reducer(*s.model, std::make_shared<CommunicatorStatsReducer>(comm));
    }
    s.reducer =
        std::make_unique<GradientReducer>(s.model->parameters(), comm, config.dist.bucket_mb << 20);
  }

  s.state.seed = config.run.seed;
  s.state.world_size = comm.size();
  s.state.config_toml = s.resolved_toml;
  s.state.model = config.model;
  s.state.patch_size = config.data.patch_size;
  s.state.mean = s.train_set->mean();
  s.state.std = s.train_set->std();
  spdlog::info(
      "model=unet params={} base_channels={} depth={} device={} threads={} world={} "
      "train_samples={} val_samples={} steps_per_epoch={}",
      model::count_parameters(*s.model), config.model.base_channels, config.model.depth,
      s.device.str(), threads, comm.size(), s.train_set->size(), s.val_set ? s.val_set->size() : 0,
      s.loader->steps_per_epoch());
}

Trainer::~Trainer() = default;

void Trainer::set_loss_hook_for_testing(LossHookForTesting hook) {
  impl_->loss_hook = std::move(hook);
}

FitResult Trainer::fit(const FitOptions& options) {
  Impl& s = *impl_;
  const fs::path out(s.config.run.output_dir);
  s.options = options;
  s.resume(options.resume);
  // Only a run that starts writes its config: a refused one leaves the folder as it was.
  if (s.comm.is_root()) {
    // Unchanged on a plain resume: then nothing is written, even on a full disk.
    if (read_text_file(out / "config.toml") != s.resolved_toml) {
      write_file_durably(out / "config.toml", s.resolved_toml);
    }
  }
  const auto global_batch = s.config.train.batch_size * s.comm.size();
  // A mid-epoch checkpoint records samples consumed; map that to this world's steps.
  int64_t first_step = s.state.samples_in_epoch / global_batch;
  if (s.state.samples_in_epoch > 0) {
    spdlog::info(
        "epoch {} continues at step {} with {} processes x batch {}: {} of the {} samples "
        "consumed before the stop are taken as done, the rest of the epoch follows",
        s.state.epoch + 1, first_step, s.comm.size(), s.config.train.batch_size,
        first_step * global_batch, s.state.samples_in_epoch);
  }
  if (s.comm.is_root() && s.config.run.tensorboard) {
    write_or_warn("TensorBoard event file (the run goes on without one)", [&] {
      s.events = std::make_unique<tensorboard::EventFileWriter>(out / "tensorboard");
      // A resumed run writes its steps again from here: TensorBoard drops the earlier ones.
      if (s.state.global_step > 0) s.events->write_restart(s.state.global_step + 1);
    });
  }
  s.run_start = Clock::now();
  s.steps_to_run = (s.config.train.epochs - s.state.epoch) * s.loader->steps_per_epoch() - first_step;
  bool finished = true;
  for (int64_t epoch = s.state.epoch; finished && epoch < s.config.train.epochs; ++epoch) {
    finished = s.run_epoch(epoch, first_step, options.stop_after_global_step);
    first_step = 0;
  }
  const int64_t peak_mb = peak_resident_bytes() >> 20;
  if (finished) {
    spdlog::info("training complete: epochs={} global_step={} best_iou={:.5f} peak_rss_mb={}",
                 s.state.epoch, s.state.global_step, s.state.best_iou, peak_mb);
  } else {
    std::string comm_stats;
    if (s.reducer) {
      const ReducerStats& r = s.reducer->stats();
      comm_stats = fmt::format(" allreduce_s={:.3f} allreduce_hidden_pct={:.1f}",
                               r.allreduce_seconds, 100.0 * r.hidden_fraction());
    }
    spdlog::info(
        "stopped at global_step={} (epoch {}, {} samples into it) peak_rss_mb={}{}; "
        "continue with --resume auto",
        s.state.global_step, s.state.epoch + 1, s.state.samples_in_epoch, peak_mb, comm_stats);
  }
  FitResult result;
  result.stopped_by_signal = s.stopped_by_signal;
  result.epochs_completed = s.state.epoch;
  result.global_step = s.state.global_step;
  result.best_iou = s.state.best_iou;
  result.last_iou = s.state.last_iou;
  result.last_dice = s.state.last_dice;
  result.last_loss = s.state.last_loss;
  if (auto latest = s.store.latest()) result.last_checkpoint = *latest;
  result.state_digest = state_digest(*s.model);
  return result;
}

bool Trainer::Impl::run_epoch(int64_t epoch, int64_t first_step, int64_t stop_after_global_step) {
  const int64_t steps = loader->steps_per_epoch();
  model->train();
  loader->start_epoch(epoch, first_step);
  ProgressBar bar("epoch " + std::to_string(epoch + 1), steps, comm.is_root());
  const auto epoch_start = Clock::now();
  EpochTally tally;
  StepWindow window{epoch_start, 0};
  int64_t micro = 0;  // micro-batches in the current gradient accumulation
  while (auto batch = loader->next()) {
    const double lr = learning_rate_at(
        config.train, static_cast<double>(epoch) + static_cast<double>(batch->step) / steps);
    set_learning_rate(*optimizer, lr);
    if (micro == 0) zero_gradients();
    const bool last_micro = ++micro == config.train.grad_accum || batch->step + 1 == steps;
    const double loss_value = micro_step(*batch, /*sync=*/last_micro);
    tally.loss_sum += loss_value;
    ++tally.loss_count;
    ++steps_run;
    if (!last_micro) continue;
    micro = 0;
    update_or_skip(loss_value);
    ++state.global_step;
    state.samples_in_epoch = (batch->step + 1) * config.train.batch_size * comm.size();
    const std::string run_eta = format_eta(seconds_since(run_start), steps_run, steps_to_run);
    bar.update(batch->step + 1, fmt::format("loss {:.4f}{}", loss_value,
                                            run_eta.empty() ? "" : ", run " + run_eta));
    ++window.steps;
    if (state.global_step % config.train.log_every_steps == 0 || batch->step + 1 == steps) {
      spdlog::info("epoch={} step={}/{} global_step={} loss={:.5f} lr={:.3e} imgs_per_s={:.2f}{}",
                   epoch + 1, batch->step + 1, steps, state.global_step, loss_value, lr,
                   window.steps * images_per_step() / seconds_since(window.start),
                   scaler.enabled() ? fmt::format(" loss_scale={}", scaler.state().scale) : "");
      window = {Clock::now(), 0};
      if (events) {
        write_or_warn("TensorBoard scalars", [&] {
          events->write_scalars(state.global_step,
                                {{"step/loss", loss_value}, {"step/learning_rate", lr}});
        });
      }
    }
    tally.stop = should_stop(stop_after_global_step);
    if (tally.stop && batch->step + 1 < steps) {
      bar.finish();
      spdlog::info("epoch={} stopped after {} steps: data_wait_pct={:.2f}", epoch + 1,
                   batch->step + 1 - first_step,
                   100.0 * loader->wait_seconds() / seconds_since(epoch_start));
      average_buffers(*model, comm);
      save_checkpoint(/*is_best=*/false);
      return false;
    }
  }
  bar.finish();
  return finish_epoch(epoch, steps - first_step, seconds_since(epoch_start), tally);
}

bool Trainer::Impl::finish_epoch(int64_t epoch, int64_t done_steps, double epoch_seconds,
                                 const EpochTally& tally) {
  state.epoch = epoch + 1;
  state.samples_in_epoch = 0;
  state.last_loss = tally.loss_count > 0 ? tally.loss_sum / tally.loss_count : 0.0;

  average_buffers(*model, comm);  // one set of BatchNorm statistics for validation and saving
  std::optional<model::MetricTotals> val;
  if (validation_due(state.epoch)) {
    ValidationPictures pictures{comm.is_root() ? config.validation.pictures : 0, {}};
    ValidationConfig validation = config.validation;
    if (validation.tile_size == 0) validation.tile_size = config.data.patch_size;
    val = validate(model, *val_set, loader->normalization(), validation, comm, device, &pictures);
    if (!pictures.rows.empty()) save_validation_pictures(pictures);
    state.last_iou = val->iou();
    state.last_dice = val->dice();
  }
  const bool is_best = !val_set || (val && val->iou() > state.best_iou);
  if (val && val->iou() > state.best_iou) state.best_iou = val->iou();
  const int64_t steps = loader->steps_per_epoch();
  const double last_lr = learning_rate_at(
      config.train, static_cast<double>(epoch) + static_cast<double>(steps - 1) / steps);
  report_epoch_metrics(
      {state.epoch, state.global_step, last_lr, state.last_loss,
       done_steps * images_per_step() / epoch_seconds, loader->wait_seconds() / epoch_seconds,
       reducer ? &reducer->stats() : nullptr, val ? &*val : nullptr},
      config.run.output_dir, comm.is_root(), events.get());

  if (reducer) reducer->reset_stats();
  const bool checkpoint_due = state.epoch % config.checkpoint.every_epochs == 0 ||
                              state.epoch == config.train.epochs || tally.stop;
  if (checkpoint_due) save_checkpoint(is_best);
  return !tally.stop;
}

void Trainer::Impl::save_validation_pictures(const ValidationPictures& pictures) {
  const data::Image montage = data::make_montage(pictures.rows, /*panel_height=*/192);
  const std::string png = data::encode_png(montage);
  write_or_warn("validation pictures", [&] {
    write_file_durably(std::filesystem::path(config.run.output_dir) / "predictions" /
                           fmt::format("epoch-{:04d}.png", state.epoch),
                       png);
  });
  if (events) {
    write_or_warn("TensorBoard pictures", [&] {
      events->write_images(state.global_step, {{"val/predictions", montage.height,
                                                montage.width, montage.channels, png}});
    });
  }
}

void Trainer::Impl::zero_gradients() {
  if (reducer) {
    reducer->zero_grad();  // keeps .grad a view into the buckets
  } else {
    optimizer->zero_grad();
  }
}

void Trainer::Impl::update_or_skip(double loss_value) {
  scaler.unscale(model->parameters());
  const bool finite = gradients_finite();
  if (finite) {
    optimizer->step();
    bad_steps = 0;
  } else if (scaler.enabled() && std::isfinite(loss_value)) {
    // float16 gradients beyond its range: expected now and then, the scale adapts.
    spdlog::info(
        "step {}: gradients overflowed at loss scale {}; the update is skipped and the "
        "scale halved",
        state.global_step + 1, scaler.state().scale);
  } else {
    skip_bad_step(loss_value);
  }
  scaler.update(finite);
}

double Trainer::Impl::micro_step(data::Batch& batch, bool sync) {
  const torch::Tensor images =
      torch::from_blob(batch.images.data(), {batch.size, batch.channels, batch.patch, batch.patch})
          .to(device);
  const torch::Tensor masks =
      torch::from_blob(batch.masks.data(), {batch.size, batch.targets, batch.patch, batch.patch})
          .to(device);
  torch::Tensor logits;
  {
    const kernels::AutocastScope autocast(device.type(), precision);
    logits = model->forward(images);
  }
  torch::Tensor loss = model::segmentation_loss(logits, masks, loss_kind);
  if (loss_hook) loss = loss_hook(state.global_step + 1, loss);  // tests inject faults here
  if (reducer) reducer->prepare_for_backward(sync);
  torch::Tensor objective = loss / static_cast<double>(config.train.grad_accum);
  if (scaler.enabled()) objective = objective * scaler.loss_factor();
  objective.backward();
  if (reducer) reducer->finish();
  return loss.item<double>();
}

}  // namespace dunet::trainer
