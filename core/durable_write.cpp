#include "core/durable_write.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

#include "core/error.h"

namespace dunet {

namespace fs = std::filesystem;

namespace {

std::runtime_error system_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

void sync_path(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) throw system_error("open for fsync");
  const int rc = ::fsync(fd);
  const int saved_errno = errno;
  ::close(fd);
  errno = saved_errno;
  if (rc != 0) throw system_error("fsync");
}

}  // namespace

fs::path temp_path_for(const fs::path& target) { return target.string() + ".tmp"; }

void write_durably(const fs::path& target, const std::function<void(const fs::path&)>& write) {
  const fs::path temp = temp_path_for(target);
  try {
    if (target.has_parent_path()) fs::create_directories(target.parent_path());
    write(temp);
    sync_path(temp, false);
    fs::rename(temp, target);
    sync_path(target.has_parent_path() ? target.parent_path() : fs::path("."), true);
  } catch (const std::exception& e) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw IoError("cannot write '" + target.string() + "': " + e.what());
  }
}

int write_all(int fd, std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    done += static_cast<size_t>(n);
  }
  return 0;
}

void write_bytes(const fs::path& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw system_error("create '" + path.string() + "'");
  if (const int error = write_all(fd, bytes); error != 0) {
    ::close(fd);
    errno = error;
    throw system_error("write");
  }
  if (::close(fd) != 0) throw system_error("close");
}

void write_file_durably(const fs::path& target, std::string_view bytes) {
  write_durably(target, [bytes](const fs::path& temp) { write_bytes(temp, bytes); });
}

}  // namespace dunet
