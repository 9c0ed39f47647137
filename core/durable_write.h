// Files that appear whole or not at all, and survive crashes: written to "<target>.tmp",
// fsynced, renamed into place, and the folder fsynced (leveldb's SetCurrentFile). Every file
// dunet writes goes through here: checkpoints and their sidecars, config.toml, masks,
// overlays and reports.
#pragma once

#include <filesystem>
#include <functional>
#include <string_view>

namespace dunet {

// Calls write(temp) and makes the result `target` atomically and durably. On any failure the
// temp file is removed, an earlier file at `target` is untouched, and IoError names `target`
// and the cause (the write's own message, or the system's: "No space left on device", ...).
void write_durably(const std::filesystem::path& target,
                   const std::function<void(const std::filesystem::path& temp)>& write);

// write_durably of `bytes`, written by write_bytes.
void write_file_durably(const std::filesystem::path& target, std::string_view bytes);

// Writes `bytes` to `path` (not durably: a step inside write_durably) with POSIX calls, so
// that a failure reports the system's cause (ENOSPC, EROFS, EDQUOT, ...).
void write_bytes(const std::filesystem::path& path, std::string_view bytes);

// Writes all of `bytes` to the open file `fd`, through short writes and EINTR. Returns 0, or
// the errno of the write that failed: the caller decides what a failure leaves behind.
int write_all(int fd, std::string_view bytes);

// The temp file write_durably uses for `target`; a leftover one (the process was killed
// mid-write) is never a finished file.
std::filesystem::path temp_path_for(const std::filesystem::path& target);

}  // namespace dunet
