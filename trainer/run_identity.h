// What makes every rank train the same run: the hash of the resolved config, compared across
// ranks at start.
#pragma once

#include <cstdint>
#include <string>

#include "launcher/communicator.h"

namespace dunet::trainer {

// Hash of the resolved config text, used to tell runs apart in checkpoints and across ranks.
uint64_t config_hash(const std::string& resolved_toml);

// Collective: throws ConfigError on every rank when a rank runs another config than rank 0,
// and DataError when it sees other data (`data_fingerprint`: the shard sets' fingerprints,
// data::ShardSet::fingerprint), naming the rank and both fingerprints.
void check_same_run_on_all_ranks(const std::string& resolved_toml,
                                 const std::string& data_fingerprint, launcher::Communicator& comm);

}  // namespace dunet::trainer
