#include "tensorboard/event_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/crc.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/durable_write.h"
#include "core/error.h"
#include "event.pb.h"

namespace dunet::tensorboard {

namespace {

namespace fs = std::filesystem;

// TensorFlow's current event file version; TensorBoard reads files that begin with it.
constexpr char kFileVersion[] = "brain.Event:2";
constexpr int kRgbColourSpace = 3;

void put_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

double wall_time_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Event event_at(int64_t step) {
  Event event;
  event.set_wall_time(wall_time_now());
  event.set_step(step);
  return event;
}

[[noreturn]] void throw_io(const fs::path& path, const std::string& what) {
  throw IoError("cannot " + what + " TensorBoard event file '" + path.string() +
                "': " + std::strerror(errno));
}

}  // namespace

uint32_t masked_crc32c(std::string_view bytes) {
  // CRC-32C: polynomial 0x1EDC6F41, reflected, initial and final XOR all ones.
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
  crc.process_bytes(bytes.data(), bytes.size());
  const uint32_t value = crc.checksum();
  return ((value >> 15) | (value << 17)) + 0xa282ead8u;
}

std::string frame_record(std::string_view payload) {
  std::string record;
  record.reserve(payload.size() + 16);
  put_le(record, payload.size(), 8);
  put_le(record, masked_crc32c(record), 4);
  record.append(payload);
  put_le(record, masked_crc32c(payload), 4);
  return record;
}

EventFileWriter::EventFileWriter(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) {
    throw IoError("cannot create TensorBoard folder '" + dir.string() + "': " + error.message());
  }
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) std::strcpy(host, "localhost");
  const auto seconds = static_cast<long long>(wall_time_now());
  const std::string stem = "events.out.tfevents." + std::to_string(seconds) + "." + std::string(host) + "." +
                           std::to_string(::getpid());
  for (int attempt = 0; fd_ < 0; ++attempt) {
    path_ = dir / (attempt == 0 ? stem : stem + "." + std::to_string(attempt));
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0 && (errno != EEXIST || attempt >= 100)) throw_io(path_, "create");
  }
  Event version = event_at(0);
  version.set_file_version(kFileVersion);
  append(version.SerializeAsString());
  sync();
}

EventFileWriter::~EventFileWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void EventFileWriter::write_restart(int64_t step) {
  Event event = event_at(step);
  event.mutable_session_log()->set_status(SessionLog::START);
  append(event.SerializeAsString());
}

void EventFileWriter::write_scalars(int64_t step, const std::vector<Scalar>& scalars) {
  Event event = event_at(step);
  for (const Scalar& scalar : scalars) {
    Summary::Value* value = event.mutable_summary()->add_value();
    value->set_tag(scalar.tag);
    value->set_simple_value(static_cast<float>(scalar.value));
  }
  append(event.SerializeAsString());
}

void EventFileWriter::write_images(int64_t step, const std::vector<PngImage>& images) {
  Event event = event_at(step);
  for (const PngImage& image : images) {
    Summary::Value* value = event.mutable_summary()->add_value();
    value->set_tag(image.tag);
    Summary::Image* picture = value->mutable_image();
    picture->set_height(static_cast<int32_t>(image.height));
    picture->set_width(static_cast<int32_t>(image.width));
    picture->set_colorspace(image.channels == 3 ? kRgbColourSpace
                                                : static_cast<int32_t>(image.channels));
    picture->set_encoded_image_string(image.png);
  }
  append(event.SerializeAsString());
}

void EventFileWriter::append(const std::string& serialized_event) {
  const std::string record = frame_record(serialized_event);
  const off_t before = ::lseek(fd_, 0, SEEK_END);
  if (before < 0) throw_io(path_, "seek in");
  if (const int error = write_all(fd_, record); error != 0) {
    // No half record stays behind (a full disk): the file ends at its last whole record.
    if (::ftruncate(fd_, before) != 0) {
      // Nothing more to do; the reader skips a cut-off record.
    }
    errno = error;
    throw_io(path_, "append to");
  }
}

void EventFileWriter::sync() {
  if (::fsync(fd_) != 0) throw_io(path_, "fsync");
}

}  // namespace dunet::tensorboard
