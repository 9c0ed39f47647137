// The one hash dunet uses for config fingerprints, weight digests and checkpoint checksums:
// XXH3-64 from the xxHash library. Its output is fixed by the algorithm's specification, the
// same on every CPU and release, so values written into .sum files stay comparable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

namespace dunet {

// Hashing a sequence in pieces (update, update, ...) equals hashing it at once.
class Hash64 {
 public:
  Hash64();
  ~Hash64();
  Hash64(const Hash64&) = delete;
  Hash64& operator=(const Hash64&) = delete;

  Hash64& update(const void* data, size_t num_bytes);
  uint64_t digest() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

uint64_t hash64(const void* data, size_t num_bytes);
// Of a whole file, read in 1 MiB pieces; IoError when it cannot be read.
uint64_t hash_file(const std::filesystem::path& path);
inline uint64_t hash64(std::string_view text) { return hash64(text.data(), text.size()); }

}  // namespace dunet
