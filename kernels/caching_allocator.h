// A caching CPU allocator for LibTorch, like PyTorch's CUDA caching allocator: large blocks
// freed by one training step are kept and handed out again to the next, which asks for the
// same sizes. Without it, glibc returns every block above its mmap threshold (at most 32 MiB)
// to the kernel and the next step page-faults all of it back in, zeroed: 10-20 % of a UNet
// training step on this machine.
#pragma once

#include <cstddef>
#include <string>

namespace dunet::kernels {

struct CachingAllocatorStats {
  size_t live_bytes = 0;  // handed out and not yet freed (large blocks)
  size_t peak_live_bytes = 0;
  size_t cached_bytes = 0;  // freed and kept for reuse
  size_t hits = 0;
  size_t misses = 0;
};

// Makes the caching allocator LibTorch's CPU allocator, or puts c10's default one back. It
// stays off where it cannot run (caching_allocator_unavailable_reason()). Chosen by the config
// through apply_numerics() (numerics.h).
void set_caching_cpu_allocator(bool enabled);
bool caching_cpu_allocator_in_use();

// Why the caching allocator cannot run in this process (AddressSanitizer must see every free,
// or the CPU kernels were not built), or empty when it can.
std::string caching_allocator_unavailable_reason();

CachingAllocatorStats caching_allocator_stats();

}  // namespace dunet::kernels
