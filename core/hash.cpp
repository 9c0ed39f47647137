#include "core/hash.h"

#include <xxhash.h>

#include <new>

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

}  // namespace dunet
