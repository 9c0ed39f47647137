#include "data/shard_manifest.h"

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/durable_write.h"
#include "core/error.h"
#include "core/hash.h"

namespace dunet::data {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace {

constexpr const char* kFormat = "dunet-shard-set";
constexpr int kVersion = 1;

std::string hex(uint64_t value) {
  std::ostringstream out;
  out << std::hex << value;
  return out.str();
}

std::string file_hash(const fs::path& path) { return hex(hash_file(path)); }

struct Manifest {
  std::map<std::string, std::pair<uintmax_t, std::string>> files;  // name -> (bytes, hash)
  std::string text;
};

Manifest read_manifest(const fs::path& dir) {
  const fs::path path = dir / kManifestName;
  const std::string where = "shard set '" + dir.string() + "'";
  DUNET_CHECK(fs::exists(path), DataError, where, " has no ", kManifestName,
              ": it was not finished, or was prepared by an older dunet or copied without it; "
              "re-create it with `dunet prepare`");
  std::ifstream in(path, std::ios::binary);
  Manifest manifest;
  manifest.text.assign(std::istreambuf_iterator<char>(in), {});
  try {
    const ordered_json json = ordered_json::parse(manifest.text);
    DUNET_CHECK(json.at("format") == kFormat && json.at("version") == kVersion, DataError, "'",
                path.string(), "' is not a version ", kVersion, " ", kFormat, " manifest");
    for (const auto& file : json.at("files")) {
      manifest.files[file.at("name").get<std::string>()] = {file.at("bytes").get<uintmax_t>(),
                                                            file.at("xxh3_64").get<std::string>()};
    }
  } catch (const nlohmann::json::exception& e) {
    throw DataError("'" + path.string() + "' is damaged (" + e.what() +
                    "); re-create the set with `dunet prepare`");
  }
  return manifest;
}

}  // namespace

void write_shard_manifest(const fs::path& dir, const std::vector<fs::path>& shards) {
  ordered_json files = ordered_json::array();
  for (const auto& shard : shards) {
    files.push_back({{"name", shard.filename().string()},
                     {"bytes", fs::file_size(shard)},
                     {"xxh3_64", file_hash(shard)}});
  }
  const ordered_json json{{"format", kFormat},
                          {"version", kVersion},
                          {"created_by", "dunet prepare"},
                          {"files", files}};
  write_file_durably(dir / kManifestName, json.dump(2) + "\n");
}

std::string verify_shard_manifests(const std::vector<fs::path>& shards) {
  std::map<fs::path, Manifest> manifests;
  std::string fingerprint;
  for (const auto& shard : shards) {
    const fs::path dir = shard.has_parent_path() ? shard.parent_path() : fs::path(".");
    auto it = manifests.find(dir);
    if (it == manifests.end()) it = manifests.emplace(dir, read_manifest(dir)).first;
    const auto& files = it->second.files;
    const auto entry = files.find(shard.filename().string());
    DUNET_CHECK(entry != files.end(), DataError, "shard '", shard.string(), "' is not in '",
                (dir / kManifestName).string(),
                "': it does not belong to that set; re-create the set with `dunet prepare`");
    const auto [bytes, hash] = entry->second;
    const uintmax_t actual = fs::file_size(shard);
    DUNET_CHECK(actual == bytes, DataError, "shard '", shard.string(), "' has ", actual,
                " bytes but its manifest says ", bytes, ": it is truncated or was replaced");
    DUNET_CHECK(file_hash(shard) == hash, DataError, "shard '", shard.string(),
                "' does not match the checksum in its manifest: the file is damaged");
    fingerprint += shard.filename().string() + "=" + hash + ";";
  }
  for (const auto& [dir, manifest] : manifests) {
    for (const auto& [name, size_and_hash] : manifest.files) {
      DUNET_CHECK(fs::exists(dir / name), DataError, "shard set '", dir.string(),
                  "' is incomplete: '", name, "' of its manifest is missing");
    }
  }
  return hex(hash64(fingerprint));
}

}  // namespace dunet::data
