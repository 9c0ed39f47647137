// FNV-1a 64: the one hash dunet uses for config fingerprints, weight digests and checkpoint
// checksums. Stable across runs, platforms and releases (it is written into .sum files).
#pragma once

#include <cstddef>
#include <cstdint>

namespace dunet {

inline constexpr uint64_t kFnv1aOffset = 1469598103934665603ULL;

// Continues `state` (kFnv1aOffset to start) over `num_bytes` bytes: hashing a sequence in
// pieces equals hashing it at once.
inline uint64_t fnv1a64(const void* data, size_t num_bytes, uint64_t state = kFnv1aOffset) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < num_bytes; ++i) state = (state ^ bytes[i]) * 1099511628211ULL;
  return state;
}

}  // namespace dunet
