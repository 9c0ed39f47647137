#include "trainer/trainer.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <fstream>
#include <iomanip>
#include <limits>
#include <sstream>
#include <thread>

#include "checkpoint/durable_file.h"
#include "checkpoint/format.h"
#include "checkpoint/state_digest.h"
#include "core/error.h"
#include "core/memory_usage.h"
#include "data/loader.h"
#include "launcher/config_writer.h"
#include "launcher/progress.h"
#include "launcher/stop_signal.h"
#include "model/compute_threads.h"
#include "model/loss.h"
#include "model/numerics.h"
#include "model/sync_batch_norm.h"
#include "model/unet.h"
#include "trainer/epoch_metrics.h"
#include "trainer/gradient_check.h"
#include "trainer/gradient_reducer.h"
#include "trainer/lr_schedule.h"
#include "trainer/optimizer_factory.h"
#include "trainer/run_identity.h"
#include "trainer/tensor_sync.h"
#include "trainer/validate.h"

namespace dunet::trainer {

namespace fs = std::filesystem;
using checkpoint::CheckpointMeta;
using checkpoint::CheckpointStore;
using checkpoint::load_checkpoint;
using checkpoint::state_digest;
using checkpoint::Verification;
using checkpoint::verify_checksum;
using Clock = std::chrono::steady_clock;

namespace {

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

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

}  // namespace

struct Trainer::Impl {
  launcher::RunConfig config;
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
  CheckpointStore store;
  CheckpointMeta state;  // where training stands; saved in every checkpoint

  Impl(const launcher::RunConfig& c, launcher::Communicator& comm_)
      : config(c),
        comm(comm_),
        resolved_toml(launcher::to_toml(c)),
        loss_kind(model::parse_loss(c.train.loss)),
        store(fs::path(c.run.output_dir) / "checkpoints", c.checkpoint.keep_last) {}

  void resume(const std::string& mode);
  // Returns false when it stopped early (after a checkpoint): at `stop_after_global_step` or
  // because a rank received a stop signal.
  bool run_epoch(int64_t epoch, int64_t first_step, int64_t stop_after_global_step);
  // All ranks agree (one small all-reduce) whether to stop after this step.
  bool should_stop(int64_t stop_after_global_step);
  // After the gradient all-reduce the gradients are identical on every rank, so every rank
  // reaches the same verdict without another collective.
  bool gradients_finite() const;
  // Skips the update of a step with NaN/Inf; stops the run after max_bad_steps in a row.
  void skip_bad_step(double loss_value);
  int64_t bad_steps = 0;
  FitOptions options;
  LossHookForTesting loss_hook;
  int stopped_by_signal = 0;
  // Forward and backward of one micro-batch; gradients are averaged over ranks when `sync`.
  double micro_step(data::Batch& batch, bool sync);
  void save_checkpoint(bool is_best);
  bool validation_due(int64_t epoch_done) const {
    return val_set && config.validation.every_epochs > 0 &&
           (epoch_done % config.validation.every_epochs == 0 || epoch_done == config.train.epochs);
  }
};

Trainer::Trainer(const launcher::RunConfig& config, launcher::Communicator& comm)
    : impl_(std::make_unique<Impl>(config, comm)) {
  Impl& s = *impl_;
  const int threads =
      config.train.threads > 0
          ? static_cast<int>(config.train.threads)
          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / comm.local_size());
  model::set_compute_threads(threads);
  const model::NumericsReport numerics =
      model::apply_numerics({config.model.conv_path, config.train.cpu_allocator});
  s.device = select_device(config.dist.device, comm.local_rank());
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
  options.augment = config.data.augment;
  options.seed = static_cast<uint64_t>(config.run.seed);
  options.rank = comm.rank();
  options.world_size = comm.size();
  s.loader = std::make_unique<data::TrainLoader>(s.train_set, options);

  torch::manual_seed(static_cast<uint64_t>(config.run.seed));
  s.model = model::UNet(config.model);
  s.model->to(s.device);
  s.optimizer = make_optimizer(config.train, s.model);
  if (comm.size() > 1) {
    check_same_config_on_all_ranks(s.resolved_toml, comm);
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

void Trainer::Impl::resume(const std::string& mode) {
  std::optional<fs::path> from;
  if (mode == "never") {
    DUNET_CHECK(store.empty(), ConfigError, "--resume never, but '", store.dir().string(),
                "' already holds checkpoints; choose another run.output_dir or use "
                "--resume auto to continue that run");
  } else if (mode == "auto") {
    from = store.latest_valid();
    DUNET_CHECK(from || store.empty(), CheckpointError, "no intact checkpoint in '",
                store.dir().string(), "' (all are damaged, see the warnings above)");
  } else {
    from = fs::path(mode);
    const Verification check = verify_checksum(*from);
    DUNET_CHECK(check.ok || !fs::exists(fs::path(mode + ".sum")), CheckpointError, "checkpoint '",
                mode, "' is damaged: ", check.problem);
  }
  if (from) {
    const CheckpointMeta saved = load_checkpoint(*from, model, optimizer.get());
    if (config_hash(saved.config_toml) != config_hash(resolved_toml)) {
      spdlog::warn(
          "resuming from '{}' whose config differs from this run's; the model shape "
          "matches, other settings are taken from this run",
          from->string());
    }
    state.epoch = saved.epoch;
    state.samples_in_epoch = saved.samples_in_epoch;
    state.global_step = saved.global_step;
    state.best_iou = saved.best_iou;
    state.last_iou = saved.last_iou;
    state.last_dice = saved.last_dice;
    state.last_loss = saved.last_loss;
    spdlog::info("resumed from {} at epoch={} global_step={} (saved with {} processes)",
                 from->string(), saved.epoch, saved.global_step, saved.world_size);
  }
  // Replicas start identical whatever each rank loaded or initialised.
  broadcast_model_state(*model, comm);
}

FitResult Trainer::fit(const FitOptions& options) {
  Impl& s = *impl_;
  const fs::path out(s.config.run.output_dir);
  if (s.comm.is_root()) {
    fs::create_directories(out);
    std::ofstream(out / "config.toml") << s.resolved_toml;
  }
  s.options = options;
  s.resume(options.resume);
  const auto global_batch = s.config.train.batch_size * s.comm.size();
  // A mid-epoch checkpoint records samples consumed; map that to this world's steps.
  int64_t first_step = s.state.samples_in_epoch / global_batch;
  bool finished = true;
  for (int64_t epoch = s.state.epoch; finished && epoch < s.config.train.epochs; ++epoch) {
    finished = s.run_epoch(epoch, first_step, options.stop_after_global_step);
    first_step = 0;
  }
  const int64_t peak_mb = peak_resident_bytes() >> 20;
  if (finished) {
    spdlog::info("training complete: epochs={} global_step={} best_iou={} peak_rss_mb={}",
                 s.state.epoch, s.state.global_step, fixed(s.state.best_iou, 5), peak_mb);
  } else {
    std::string comm_stats;
    if (s.reducer) {
      const ReducerStats& r = s.reducer->stats();
      comm_stats = " allreduce_s=" + fixed(r.allreduce_seconds, 3) +
                   " allreduce_hidden_pct=" + fixed(100.0 * r.hidden_fraction(), 1);
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
  const double imgs_per_step =
      static_cast<double>(config.train.batch_size * config.train.grad_accum * comm.size());
  model->train();
  loader->start_epoch(epoch, first_step);
  launcher::ProgressBar bar("epoch " + std::to_string(epoch + 1), steps, comm.is_root());
  double loss_sum = 0;
  int64_t loss_count = 0;
  const auto epoch_start = Clock::now();
  auto window_start = epoch_start;
  int64_t window_steps = 0;
  int64_t micro = 0;  // micro-batches in the current gradient accumulation
  bool stop = false;
  while (auto batch = loader->next()) {
    const double lr = learning_rate_at(
        config.train, static_cast<double>(epoch) + static_cast<double>(batch->step) / steps);
    set_learning_rate(*optimizer, lr);
    if (micro == 0) {
      if (reducer) {
        reducer->zero_grad();  // keeps .grad a view into the buckets
      } else {
        optimizer->zero_grad();
      }
    }
    const bool last_micro = ++micro == config.train.grad_accum || batch->step + 1 == steps;
    const double loss_value = micro_step(*batch, /*sync=*/last_micro);
    loss_sum += loss_value;
    ++loss_count;
    if (!last_micro) continue;
    micro = 0;
    if (gradients_finite()) {
      optimizer->step();
      bad_steps = 0;
    } else {
      skip_bad_step(loss_value);
    }

    ++window_steps;
    ++state.global_step;
    state.samples_in_epoch = (batch->step + 1) * config.train.batch_size * comm.size();
    bar.update(batch->step + 1, "loss " + fixed(loss_value, 4));
    if (state.global_step % config.train.log_every_steps == 0 || batch->step + 1 == steps) {
      const double seconds = std::chrono::duration<double>(Clock::now() - window_start).count();
      spdlog::info("epoch={} step={}/{} global_step={} loss={} lr={:.3e} imgs_per_s={}", epoch + 1,
                   batch->step + 1, steps, state.global_step, fixed(loss_value, 5), lr,
                   fixed(window_steps * imgs_per_step / std::max(seconds, 1e-9), 2));
      window_start = Clock::now();
      window_steps = 0;
    }
    stop = should_stop(stop_after_global_step);
    if (stop && batch->step + 1 < steps) {
      bar.finish();
      const double seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
      spdlog::info("epoch={} stopped after {} steps: data_wait_pct={}", epoch + 1,
                   batch->step + 1 - first_step,
                   fixed(100.0 * loader->wait_seconds() / std::max(seconds, 1e-9), 2));
      average_buffers(*model, comm);
      save_checkpoint(/*is_best=*/false);
      return false;
    }
  }
  bar.finish();
  const double epoch_seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
  const int64_t done_steps = steps - first_step;
  state.epoch = epoch + 1;
  state.samples_in_epoch = 0;
  state.last_loss = loss_count > 0 ? loss_sum / loss_count : 0.0;

  average_buffers(*model, comm);  // one set of BatchNorm statistics for validation and saving
  std::optional<model::MetricTotals> val;
  if (validation_due(state.epoch)) {
    val = validate(model, *val_set, loader->normalization(), config.validation, comm, device);
    state.last_iou = val->iou();
    state.last_dice = val->dice();
  }
  const bool is_best = !val_set || (val && val->iou() > state.best_iou);
  if (val && val->iou() > state.best_iou) state.best_iou = val->iou();
  report_epoch_metrics({state.epoch, state.global_step, state.last_loss,
                        done_steps * imgs_per_step / std::max(epoch_seconds, 1e-9),
                        loader->wait_seconds() / std::max(epoch_seconds, 1e-9),
                        reducer ? &reducer->stats() : nullptr, val ? &*val : nullptr},
                       config.run.output_dir, comm.is_root());

  if (reducer) reducer->reset_stats();
  const bool stop_now = stop;
  const bool checkpoint_due = state.epoch % config.checkpoint.every_epochs == 0 ||
                              state.epoch == config.train.epochs || stop_now;
  if (checkpoint_due) save_checkpoint(is_best);
  return !stop_now;
}

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

double Trainer::Impl::micro_step(data::Batch& batch, bool sync) {
  const torch::Tensor images =
      torch::from_blob(batch.images.data(), {batch.size, batch.channels, batch.patch, batch.patch})
          .to(device);
  const torch::Tensor masks =
      torch::from_blob(batch.masks.data(), {batch.size, 1, batch.patch, batch.patch}).to(device);
  torch::Tensor loss = model::segmentation_loss(model->forward(images), masks, loss_kind);
  if (loss_hook) loss = loss_hook(state.global_step + 1, loss);  // tests inject faults here
  if (reducer) reducer->prepare_for_backward(sync);
  (loss / static_cast<double>(config.train.grad_accum)).backward();
  if (reducer) reducer->finish();
  return loss.item<double>();
}

void Trainer::Impl::save_checkpoint(bool is_best) {
  if (comm.is_root()) {
    const fs::path path = store.save(model, *optimizer, state, is_best);
    spdlog::info("checkpoint={} epoch={} global_step={} best={}", path.string(), state.epoch,
                 state.global_step, is_best);
  }
  comm.barrier();  // no rank runs ahead of a checkpoint that may be resumed from
}

}  // namespace dunet::trainer
