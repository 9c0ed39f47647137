// Files that survive crashes: written to a temp file, fsynced, renamed into place, and the
// folder fsynced (leveldb's SetCurrentFile). Plus a checksum sidecar ("<file>.sum") so that a
// truncated or corrupted file is recognised before anything is loaded from it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace dunet::checkpoint {

// core/durable_write.h's write_durably for checkpoints: on failure, IoError names the file,
// the cause, and that earlier checkpoints are untouched.
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

// Compares `file` with its "<file>.sum". A sidecar that is missing, unreadable or malformed is
// a failed verification that says so (never an exception).
Verification verify_checksum(const std::filesystem::path& file);

// The rule of every reader of weights (`infer`, `train --resume PATH`): throws CheckpointError
// naming the file and the problem when its sidecar disagrees or is malformed; a file without a
// sidecar (an export, or one written by hand) loads with a warning that it is unverified.
void require_intact(const std::filesystem::path& file);

}  // namespace dunet::checkpoint
