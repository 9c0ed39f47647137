// The manifest of a shard set: manifest.json, written last into the set's folder by
// `dunet prepare`, listing every shard with its size and XXH3-64. A set is used only when its
// manifest is there and agrees with the files, so a half-written, truncated, damaged or
// incomplete set is refused by name before training starts.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace dunet::data {

inline constexpr const char* kManifestName = "manifest.json";

// Writes `dir`/manifest.json for `shards` (files in `dir`), durably.
void write_shard_manifest(const std::filesystem::path& dir,
                          const std::vector<std::filesystem::path>& shards);

// Throws DataError unless each shard's folder has a manifest that lists it with its size and
// checksum, and every file that manifest lists exists. Returns the fingerprint of these
// shards (their names and checksums), equal for equal data: ranks compare it.
std::string verify_shard_manifests(const std::vector<std::filesystem::path>& shards);

}  // namespace dunet::data
