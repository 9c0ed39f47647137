#include "core/hash.h"

#include <xxhash.h>

#include <fstream>
#include <new>
#include <vector>

#include "core/error.h"

namespace dunet {

struct Hash64::State {
  XXH3_state_t* xxh = XXH3_createState();
  ~State() { XXH3_freeState(xxh); }
};

Hash64::Hash64() : state_(std::make_unique<State>()) {
  if (state_->xxh == nullptr) throw std::bad_alloc();
  XXH3_64bits_reset(state_->xxh);
}

Hash64::~Hash64() = default;

Hash64& Hash64::update(const void* data, size_t num_bytes) {
  XXH3_64bits_update(state_->xxh, data, num_bytes);
  return *this;
}

uint64_t Hash64::digest() const { return XXH3_64bits_digest(state_->xxh); }

uint64_t hash64(const void* data, size_t num_bytes) { return XXH3_64bits(data, num_bytes); }

uint64_t hash_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  DUNET_CHECK(in.good(), IoError, "cannot read '", path.string(), "'");
  Hash64 hash;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    hash.update(buffer.data(), static_cast<size_t>(in.gcount()));
  }
  DUNET_CHECK(in.eof(), IoError, "cannot read '", path.string(), "' to its end");
  return hash.digest();
}

}  // namespace dunet
