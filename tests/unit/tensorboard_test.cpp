// tensorboard/: the record framing and its CRC against the published CRC-32C check values, and
// event files that never overwrite each other. The messages themselves are read back by an
// independent reader in tests/e2e/tfevents_reader.py.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tensorboard/event_file.h"

namespace dunet::tensorboard {
namespace {

namespace fs = std::filesystem;

uint32_t mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

uint64_t read_le(const std::string& bytes, size_t at, int count) {
  uint64_t value = 0;
  for (int i = count - 1; i >= 0; --i) {
    value = (value << 8) | static_cast<uint8_t>(bytes[at + static_cast<size_t>(i)]);
  }
  return value;
}

TEST(TensorBoardRecord, MaskedCrc32cOfThePublishedCheckValues) {
  // The CRC catalogue's check value for CRC-32C ("123456789") and RFC 3720's 32 zero bytes.
  EXPECT_EQ(masked_crc32c("123456789"), mask(0xE3069283u));
  EXPECT_EQ(masked_crc32c(std::string(32, '\0')), mask(0x8A9136AAu));
  EXPECT_EQ(masked_crc32c(std::string(32, '\xff')), mask(0x62A8AB43u));
}

TEST(TensorBoardRecord, IsLengthCrcPayloadCrc) {
  const std::string payload = "an event";
  const std::string record = frame_record(payload);
  ASSERT_EQ(record.size(), 8 + 4 + payload.size() + 4);
  EXPECT_EQ(read_le(record, 0, 8), payload.size());
  EXPECT_EQ(read_le(record, 8, 4), masked_crc32c(record.substr(0, 8)));
  EXPECT_EQ(record.substr(12, payload.size()), payload);
  EXPECT_EQ(read_le(record, 12 + payload.size(), 4), masked_crc32c(payload));
}

TEST(TensorBoardEventFile, EachWriterStartsItsOwnFileWithTheVersionEvent) {
  const fs::path dir = fs::path(::testing::TempDir()) / "dunet_tensorboard_files";
  fs::remove_all(dir);
  fs::path first_path;
  {
    EventFileWriter first(dir / "tb");
    EventFileWriter second(dir / "tb");  // same second, same process: still a new file
    first_path = first.path();
    EXPECT_NE(first.path(), second.path());
    EXPECT_EQ(first.path().filename().string().rfind("events.out.tfevents.", 0), 0u);
    first.write_scalars(3, {{"val/iou", 0.5}});
    first.sync();
  }
  std::ifstream in(first_path, std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  // Two whole records: the version, then the scalars.
  size_t at = 0;
  int records = 0;
  while (at < bytes.size()) {
    ASSERT_LE(at + 12, bytes.size());
    const uint64_t length = read_le(bytes, at, 8);
    ASSERT_EQ(read_le(bytes, at + 8, 4), masked_crc32c(bytes.substr(at, 8)));
    ASSERT_LE(at + 16 + length, bytes.size());
    const std::string payload = bytes.substr(at + 12, length);
    EXPECT_EQ(read_le(bytes, at + 12 + length, 4), masked_crc32c(payload));
    const std::string expected = records == 0 ? "brain.Event:2" : "val/iou";
    EXPECT_NE(payload.find(expected), std::string::npos) << "record " << records;
    at += 16 + length;
    ++records;
  }
  EXPECT_EQ(records, 2);
}

}  // namespace
}  // namespace dunet::tensorboard
