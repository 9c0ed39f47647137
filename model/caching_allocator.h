// A caching CPU allocator for LibTorch, like PyTorch's CUDA caching allocator: large blocks
// freed by one training step are kept and handed out again to the next, which asks for the
// same sizes. Without it, glibc returns every block above its mmap threshold (at most 32 MiB)
// to the kernel and the next step page-faults all of it back in, zeroed: 10-20 % of a UNet
// training step on this machine.
#pragma once

#include <cstddef>

namespace dunet::model {

struct CachingAllocatorStats {
  size_t live_bytes = 0;    // handed out and not yet freed (large blocks)
  size_t peak_live_bytes = 0;
  size_t cached_bytes = 0;  // freed and kept for reuse
  size_t hits = 0;
  size_t misses = 0;
};

// Makes the caching allocator LibTorch's CPU allocator (idempotent). It is skipped under
// AddressSanitizer, which must see every free, and when DUNET_CACHING_ALLOCATOR=0.
// Returns whether it is in use.
bool use_caching_cpu_allocator();

CachingAllocatorStats caching_allocator_stats();

}  // namespace dunet::model
