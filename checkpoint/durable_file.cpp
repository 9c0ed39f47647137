#include "checkpoint/durable_file.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

#include "core/durable_write.h"
#include "core/error.h"
#include "core/hash.h"

namespace dunet::checkpoint {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kChecksumKey = "xxh3_64=";
// Sidecars written before dunet hashed with xxHash carry FNV-1a 64 instead. They are still
// verified, so that runs started then resume; nothing new is written with it.
constexpr std::string_view kLegacyChecksumKey = "fnv1a64=";

void read_in_chunks(const fs::path& path, const std::function<void(const char*, size_t)>& take) {
  std::ifstream in(path, std::ios::binary);
  DUNET_CHECK(in.good(), CheckpointError, "cannot read '", path.string(), "'");
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    take(buffer.data(), static_cast<size_t>(in.gcount()));
  }
}

uint64_t legacy_file_checksum(const fs::path& path) {
  uint64_t state = 1469598103934665603ULL;
  read_in_chunks(path, [&state](const char* data, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      state = (state ^ static_cast<unsigned char>(data[i])) * 1099511628211ULL;
    }
  });
  return state;
}

fs::path sum_path(const fs::path& file) { return file.string() + ".sum"; }

std::optional<uintmax_t> parse_size(const std::string& text) {
  uintmax_t value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || stop != end || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

void write_durably(const fs::path& target, const std::function<void(const fs::path&)>& write) {
  try {
    dunet::write_durably(target, write);
  } catch (const IoError& e) {
    throw IoError(std::string(e.what()) + "; earlier checkpoints are untouched");
  }
}

uint64_t file_checksum(const fs::path& path) { return hash_file(path); }

void write_checksum(const fs::path& file, const std::string& extra_lines) {
  std::ostringstream text;
  text << "bytes=" << fs::file_size(file) << "\n"
       << kChecksumKey << std::hex << file_checksum(file) << std::dec << "\n"
       << extra_lines;
  const std::string bytes = text.str();
  write_durably(sum_path(file), [&bytes](const fs::path& temp) { write_bytes(temp, bytes); });
}

Verification verify_checksum(const fs::path& file) {
  std::ifstream in(sum_path(file));
  if (!in) return {false, "no checksum file '" + sum_path(file).string() + "'"};
  std::optional<uintmax_t> bytes;
  std::string checksum, legacy_checksum, line;
  const auto malformed = [&file](const std::string& what) {
    return Verification{false, "checksum file '" + sum_path(file).string() + "' is malformed (" +
                                   what + "); delete it to load the file unverified"};
  };
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.rfind("bytes=", 0) == 0) {
      bytes = parse_size(line.substr(6));
      if (!bytes) return malformed("line " + std::to_string(number) + ": '" + line + "'");
    }
    if (line.rfind(kChecksumKey, 0) == 0) checksum = line.substr(kChecksumKey.size());
    if (line.rfind(kLegacyChecksumKey, 0) == 0) {
      legacy_checksum = line.substr(kLegacyChecksumKey.size());
    }
  }
  if (!bytes) return malformed("no bytes= line");
  if (checksum.empty() && legacy_checksum.empty()) {
    return malformed("no " + std::string(kChecksumKey) + " line");
  }
  std::error_code ec;
  const uintmax_t actual = fs::file_size(file, ec);
  if (ec) return {false, "missing"};
  if (actual != *bytes) {
    return {false, "truncated or changed: " + std::to_string(actual) + " bytes, expected " +
                       std::to_string(*bytes)};
  }
  std::ostringstream hex;
  hex << std::hex << (checksum.empty() ? legacy_file_checksum(file) : file_checksum(file));
  if (hex.str() != (checksum.empty() ? legacy_checksum : checksum)) {
    return {false, "checksum mismatch (the file is corrupted)"};
  }
  return {true, ""};
}

void require_intact(const fs::path& file) {
  if (!fs::exists(sum_path(file))) {
    DUNET_CHECK(fs::is_regular_file(file), CheckpointError, "no checkpoint file '", file.string(),
                "'");
    spdlog::warn("'{}' has no checksum file '{}': loading it unverified", file.string(),
                 sum_path(file).string());
    return;
  }
  const Verification check = verify_checksum(file);
  DUNET_CHECK(check.ok, CheckpointError, "checkpoint '", file.string(),
              "' is damaged: ", check.problem);
}

}  // namespace dunet::checkpoint
