// Files that survive crashes: written to a temp file, fsynced, renamed into place, and the
// folder fsynced (leveldb's SetCurrentFile). Plus a checksum sidecar ("<file>.sum") so that a
// truncated or corrupted file is recognised before anything is loaded from it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace dunet::checkpoint {

// Calls write(temp) and makes the result `target` atomically and durably. On any failure the
// temp file is removed, `target` is untouched, and CheckpointError says what failed.
void write_durably(const std::filesystem::path& target,
                   const std::function<void(const std::filesystem::path& temp)>& write);

// XXH3-64 (core/hash.h) of the file's bytes.
uint64_t file_checksum(const std::filesystem::path& path);

// Writes "<file>.sum": size and checksum of `file`, plus caller-provided "key=value" lines.
void write_checksum(const std::filesystem::path& file, const std::string& extra_lines = "");

struct Verification {
  bool ok = false;
  std::string problem;  // empty when ok
};

// Compares `file` with its "<file>.sum".
Verification verify_checksum(const std::filesystem::path& file);

}  // namespace dunet::checkpoint
