#include "trainer/run_identity.h"

#include "core/error.h"
#include "core/hash.h"

namespace dunet::trainer {

uint64_t config_hash(const std::string& resolved_toml) { return hash64(resolved_toml); }

void check_same_config_on_all_ranks(const std::string& resolved_toml,
                                    launcher::Communicator& comm) {
  const auto hashes = comm.all_gather(static_cast<int64_t>(config_hash(resolved_toml)));
  for (size_t r = 1; r < hashes.size(); ++r) {
    DUNET_CHECK(hashes[r] == hashes[0], ConfigError, "rank ", r,
                " runs another config than rank 0 (config hashes differ); start every rank "
                "with the same config file and --set options");
  }
}

}  // namespace dunet::trainer
