#include "checkpoint/inspect.h"

#include <sstream>

#include "checkpoint/durable_file.h"
#include "checkpoint/format.h"
#include "checkpoint/state_digest.h"
#include "core/error.h"

namespace dunet::checkpoint {

namespace {
// Digest of the weights and BatchNorm statistics, to compare checkpoints of different runs.
uint64_t weights_digest(const std::filesystem::path& path, const CheckpointMeta& meta) {
  model::UNet net(meta.model);
  load_checkpoint(path, net, nullptr);
  return state_digest(*net);
}
}  // namespace

std::string describe_checkpoint(const std::filesystem::path& path) {
  const Verification check = verify_checksum(path);
  CheckpointMeta m;
  try {
    m = read_checkpoint_meta(path);
  } catch (const CheckpointError& e) {
    if (check.ok) throw;
    throw CheckpointError("checksum NOT OK: " + check.problem + "; " + e.what());
  }
  std::ostringstream out;
  out << "checkpoint       " << path.string() << "\n"
      << "checksum         " << (check.ok ? "ok" : "NOT OK: " + check.problem) << "\n"
      << "format_version   " << m.version << "\n"
      << "epochs_completed " << m.epoch << "\n"
      << "global_step      " << m.global_step << "\n"
      << "samples_in_epoch " << m.samples_in_epoch << "\n"
      << "world_size       " << m.world_size << "\n"
      << "seed             " << m.seed << "\n"
      << "model            in_channels=" << m.model.in_channels
      << " base_channels=" << m.model.base_channels << " depth=" << m.model.depth
      << " norm=" << m.model.norm << " out_channels=" << m.model.out_channels << "\n"
      << "last_loss        " << m.last_loss << "\n"
      << "last_val_iou     " << m.last_iou << "\n"
      << "last_val_dice    " << m.last_dice << "\n"
      << "best_val_iou     " << m.best_iou << "\n"
      << "loss_scale       "
      << (m.loss_scale > 0
              ? std::to_string(m.loss_scale) + " (" + std::to_string(m.loss_scale_good_steps) +
                    " good steps since it changed)"
              : std::string("none"))
      << "\n"
      << "weights_xxh3_64  " << std::hex << weights_digest(path, m) << std::dec << "\n"
      << "numerics         "
      << (m.numerics.empty() ? "not recorded (written by an older dunet)" : m.numerics) << "\n"
      << "\n# config it was trained with\n"
      << m.config_toml;
  return out.str();
}

}  // namespace dunet::checkpoint
