#include "trainer/run_identity.h"

#include "core/error.h"
#include "core/hash.h"

namespace dunet::trainer {

uint64_t config_hash(const std::string& resolved_toml) { return hash64(resolved_toml); }

void check_same_run_on_all_ranks(const std::string& resolved_toml,
                                 const std::string& data_fingerprint,
                                 launcher::Communicator& comm) {
  const auto hashes = comm.all_gather(static_cast<int64_t>(config_hash(resolved_toml)));
  for (size_t r = 1; r < hashes.size(); ++r) {
    DUNET_CHECK(hashes[r] == hashes[0], ConfigError, "rank ", r,
                " runs another config than rank 0 (config hashes differ); start every rank "
                "with the same config file and --set options");
  }
  const auto data = comm.all_gather(static_cast<int64_t>(hash64(data_fingerprint)));
  for (size_t r = 1; r < data.size(); ++r) {
    DUNET_CHECK(data[r] == data[0], DataError, "rank ", r,
                " sees other training data than rank 0 with the same config (shard set "
                "fingerprints ", std::hex, static_cast<uint64_t>(data[r]), " and ",
                static_cast<uint64_t>(data[0]), std::dec,
                "): the shard files differ between the nodes; copy one prepared set to all");
  }
}

}  // namespace dunet::trainer
