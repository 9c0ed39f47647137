#include "trainer/checkpoint_report.h"

#include <sstream>

#include "trainer/checkpoint.h"
#include "core/error.h"
#include "trainer/durable_file.h"

namespace dunet::trainer {

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
      << " norm=" << m.model.norm << "\n"
      << "last_loss        " << m.last_loss << "\n"
      << "last_val_iou     " << m.last_iou << "\n"
      << "last_val_dice    " << m.last_dice << "\n"
      << "best_val_iou     " << m.best_iou << "\n"
      << "\n# config it was trained with\n"
      << m.config_toml;
  return out.str();
}

}  // namespace dunet::trainer
