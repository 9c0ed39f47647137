// Trainer::Impl's checkpoints: where a run resumes from, and saving one.
#include <spdlog/spdlog.h>

#include <optional>

#include "checkpoint/durable_file.h"
#include "core/error.h"
#include "trainer/run_identity.h"
#include "trainer/tensor_sync.h"
#include "trainer/trainer_impl.h"

namespace dunet::trainer {

namespace fs = std::filesystem;
using checkpoint::CheckpointMeta;
using checkpoint::load_checkpoint;

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
    checkpoint::require_intact(*from);
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
    if (scaler.enabled() && saved.loss_scale > 0) {
      scaler.restore({saved.loss_scale, saved.loss_scale_good_steps});
    }
    spdlog::info("resumed from {} at epoch={} global_step={} (saved with {} processes)",
                 from->string(), saved.epoch, saved.global_step, saved.world_size);
  } else if (!config.train.init_weights.empty()) {
    // A new run that starts from other weights (fine-tuning, `dunet import`): only the
    // weights are taken, not the optimizer state or the position.
    const fs::path weights(config.train.init_weights);
    checkpoint::require_intact(weights);
    load_checkpoint(weights, model, nullptr);
    spdlog::info("initial weights from {}", weights.string());
  }
  // Replicas start identical whatever each rank loaded or initialised.
  broadcast_model_state(*model, comm);
}

void Trainer::Impl::save_checkpoint(bool is_best) {
  state.loss_scale = scaler.enabled() ? scaler.state().scale : 0.0;
  state.loss_scale_good_steps = scaler.enabled() ? scaler.state().good_steps : 0;
  if (comm.is_root()) {
    const fs::path path = store.save(model, *optimizer, state, is_best);
    spdlog::info("checkpoint={} epoch={} global_step={} best={}", path.string(), state.epoch,
                 state.global_step, is_best);
  }
  // No rank runs ahead of a checkpoint that may be resumed from.
  comm.wait_for_root_work(static_cast<double>(config.dist.root_work_timeout_s));
}

}  // namespace dunet::trainer
