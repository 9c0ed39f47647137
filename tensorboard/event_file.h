// TensorBoard event files, as TensorBoard and torch.utils.tensorboard read and write them: a
// sequence of TFRecords (little-endian uint64 length, its masked CRC32C, the bytes, their
// masked CRC32C), each holding one serialized Event (event.proto). The first event of a file
// names its version; then scalars and PNG images, each at a training step.
//
// A file only grows: each call appends its record whole (a failed write is cut back off), and
// sync() makes what was written durable. A process killed mid-write leaves at most one
// cut-off record at the end, which the length's CRC lets every reader recognise and skip; a
// new writer (a resumed run) always starts a new file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace dunet::tensorboard {

// CRC32C (Castagnoli) of `bytes`, masked as TFRecord masks it:
// ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t masked_crc32c(std::string_view bytes);

// `payload` framed as one TFRecord.
std::string frame_record(std::string_view payload);

struct Scalar {
  std::string tag;  // e.g. "val/iou"; TensorBoard groups charts by the part before '/'
  double value;     // stored as float, as TensorBoard's simple_value is
};

struct PngImage {
  std::string tag;
  int64_t height = 0;
  int64_t width = 0;
  int64_t channels = 3;  // 1 grey, 3 RGB, 4 RGBA
  std::string png;       // the encoded file
};

class EventFileWriter {
 public:
  // Creates <dir>/events.out.tfevents.<unix seconds>.<this host>.<pid> (a new name, never an
  // existing file; `dir` is created) and writes its version event, durably. Throws IoError naming the
  // file and the system's cause.
  explicit EventFileWriter(const std::filesystem::path& dir);
  ~EventFileWriter();
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // The run went back to `step` (it resumed from a checkpoint): TensorBoard drops what
  // earlier files hold at or after `step`, which the resumed run writes again.
  void write_restart(int64_t step);
  void write_scalars(int64_t step, const std::vector<Scalar>& scalars);
  void write_images(int64_t step, const std::vector<PngImage>& images);
  void sync();  // fsync

 private:
  void append(const std::string& serialized_event);

  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace dunet::tensorboard
