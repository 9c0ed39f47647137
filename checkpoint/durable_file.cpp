#include "checkpoint/durable_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

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
    for (size_t i = 0; i < n; ++i)
      state = (state ^ static_cast<unsigned char>(data[i])) * 1099511628211ULL;
  });
  return state;
}

void sync_path(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) throw std::runtime_error("open for fsync: " + std::string(std::strerror(errno)));
  const int rc = ::fsync(fd);
  const int saved_errno = errno;
  ::close(fd);
  if (rc != 0) throw std::runtime_error("fsync: " + std::string(std::strerror(saved_errno)));
}

fs::path sum_path(const fs::path& file) { return file.string() + ".sum"; }

}  // namespace

void write_durably(const fs::path& target, const std::function<void(const fs::path&)>& write) {
  const fs::path temp = target.string() + ".tmp";
  try {
    fs::create_directories(target.parent_path());
    write(temp);
    sync_path(temp, false);
    fs::rename(temp, target);
    sync_path(target.parent_path(), true);
  } catch (const std::exception& e) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw CheckpointError("cannot write '" + target.string() + "': " + e.what() +
                          " (is the disk full or the folder read-only?); earlier checkpoints "
                          "are untouched");
  }
}

uint64_t file_checksum(const fs::path& path) {
  Hash64 hash;
  read_in_chunks(path, [&hash](const char* data, size_t n) { hash.update(data, n); });
  return hash.digest();
}

void write_checksum(const fs::path& file, const std::string& extra_lines) {
  std::ostringstream text;
  text << "bytes=" << fs::file_size(file) << "\n"
       << kChecksumKey << std::hex << file_checksum(file) << std::dec << "\n"
       << extra_lines;
  write_durably(sum_path(file), [&text](const fs::path& temp) {
    std::ofstream out(temp);
    out << text.str();
    out.close();
    if (!out) throw std::runtime_error("write failed");
  });
}

Verification verify_checksum(const fs::path& file) {
  std::ifstream in(sum_path(file));
  if (!in) return {false, "no checksum file '" + sum_path(file).string() + "'"};
  uintmax_t bytes = 0;
  std::string checksum, legacy_checksum, line;
  while (std::getline(in, line)) {
    if (line.rfind("bytes=", 0) == 0) bytes = std::stoull(line.substr(6));
    if (line.rfind(kChecksumKey, 0) == 0) checksum = line.substr(kChecksumKey.size());
    if (line.rfind(kLegacyChecksumKey, 0) == 0) {
      legacy_checksum = line.substr(kLegacyChecksumKey.size());
    }
  }
  std::error_code ec;
  const uintmax_t actual = fs::file_size(file, ec);
  if (ec) return {false, "missing"};
  if (actual != bytes) {
    return {false, "truncated or changed: " + std::to_string(actual) + " bytes, expected " +
                       std::to_string(bytes)};
  }
  std::ostringstream hex;
  hex << std::hex << (checksum.empty() ? legacy_file_checksum(file) : file_checksum(file));
  if (hex.str() != (checksum.empty() ? legacy_checksum : checksum)) {
    return {false, "checksum mismatch (the file is corrupted)"};
  }
  return {true, ""};
}

}  // namespace dunet::checkpoint
