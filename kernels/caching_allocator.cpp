#include "kernels/caching_allocator.h"

#include <c10/core/CPUAllocator.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "kernels/cpu_kernels.h"
#include "kernels/torch_compat.h"

namespace dunet::kernels {
namespace {

constexpr size_t kAlignment = 64;                // what c10's own CPU allocator guarantees
constexpr size_t kLargeBlock = size_t{1} << 20;  // smaller ones stay with malloc
constexpr size_t kRounding = size_t{1} << 20;    // large sizes round up to whole MiB

class CachingCpuAllocator final : public CompatAllocator {
 public:
  c10::DataPtr allocate_block(size_t bytes) const override {
    void* ptr = const_cast<CachingCpuAllocator*>(this)->acquire(bytes);
    return {ptr, ptr, &release_to_cache, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release_to_cache; }

  CachingAllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  static CachingCpuAllocator& instance() {
    // Never destroyed: tensors may be freed during static destruction.
    static auto* allocator = new CachingCpuAllocator();
    return *allocator;
  }

 private:
  static size_t rounded(size_t bytes) {
    if (bytes < kLargeBlock) return bytes;
    return (bytes + kRounding - 1) / kRounding * kRounding;
  }

  static void* system_allocate(size_t bytes) {
    void* ptr = nullptr;
    if (posix_memalign(&ptr, kAlignment, bytes == 0 ? kAlignment : bytes) != 0) {
      throw std::bad_alloc();
    }
    return ptr;
  }

  void* acquire(size_t bytes) {
    size_t size = rounded(bytes);
    if (size < kLargeBlock) {
      void* ptr = system_allocate(size);
      std::lock_guard<std::mutex> lock(mutex_);
      sizes_[ptr] = size;
      return ptr;
    }
    std::vector<void*> to_free;
    void* ptr = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // The smallest cached block that fits, if it wastes at most a quarter of itself.
      auto found = cache_.lower_bound(size);
      if (found != cache_.end() && found->first <= size + size / 3) {
        size = found->first;
        ptr = found->second.back();
        found->second.pop_back();
        if (found->second.empty()) cache_.erase(found);
        stats_.cached_bytes -= size;
        ++stats_.hits;
      } else {
        ++stats_.misses;
        // The process may hold (in use + cached) at most a little more than the most it has
        // ever had in use, which is what it would hold without the cache; beyond that, the
        // largest idle blocks go back first. Once a step's sizes repeat, nothing is trimmed.
        const size_t live_after = stats_.live_bytes + size;
        stats_.peak_live_bytes = std::max(stats_.peak_live_bytes, live_after);
        const size_t budget = stats_.peak_live_bytes + stats_.peak_live_bytes / 16;
        to_free = take_cached_above(budget > live_after ? budget - live_after : 0);
      }
      stats_.live_bytes += size;
    }
    for (void* idle : to_free) std::free(idle);
    if (ptr == nullptr) ptr = system_allocate(size);
    std::lock_guard<std::mutex> lock(mutex_);
    sizes_[ptr] = size;
    return ptr;
  }

  static void release_to_cache(void* ptr) {
    if (ptr != nullptr) instance().release(ptr);
  }

  void release(void* ptr) {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto found = sizes_.find(ptr);
    if (found == sizes_.end()) {  // not ours: cannot happen, but never leak or double-free
      lock.unlock();
      std::free(ptr);
      return;
    }
    const size_t size = found->second;
    sizes_.erase(found);
    if (size < kLargeBlock) {
      lock.unlock();
      std::free(ptr);
      return;
    }
    stats_.live_bytes -= size;
    stats_.cached_bytes += size;
    cache_[size].push_back(ptr);
  }

  std::vector<void*> take_cached_above(size_t keep_bytes) {
    std::vector<void*> blocks;
    while (stats_.cached_bytes > keep_bytes && !cache_.empty()) {
      auto largest = std::prev(cache_.end());
      blocks.push_back(largest->second.back());
      largest->second.pop_back();
      stats_.cached_bytes -= largest->first;
      if (largest->second.empty()) cache_.erase(largest);
    }
    return blocks;
  }

  std::mutex mutex_;
  std::unordered_map<void*, size_t> sizes_;
  std::map<size_t, std::vector<void*>> cache_;  // by size, for best fit
  CachingAllocatorStats stats_;
};

bool sanitized() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return true;
#endif
#endif
  return false;
}

std::mutex& choice_mutex() {
  static std::mutex mutex;
  return mutex;
}
bool in_use = false;
uint8_t last_priority = 0;  // c10 keeps an allocator set at a lower priority than the last

}  // namespace

std::string caching_allocator_unavailable_reason() {
  if (!kCpuKernelsBuilt) return "dunet was built with DUNET_CPU_KERNELS=OFF";
  if (sanitized()) return "AddressSanitizer must see every free";
  return "";
}

void set_caching_cpu_allocator(bool enabled) {
  std::lock_guard<std::mutex> lock(choice_mutex());
  if (enabled && !caching_allocator_unavailable_reason().empty()) enabled = false;
  if (enabled == in_use) return;
  // Each change outranks the one before, so nothing registered at c10's default priority (0)
  // replaces it. Tensors made under either allocator carry their own deleter, so switching
  // while tensors live is safe.
  ++last_priority;
  c10::SetCPUAllocator(enabled ? &CachingCpuAllocator::instance() : c10::GetDefaultCPUAllocator(),
                       last_priority);
  in_use = enabled;
}

bool caching_cpu_allocator_in_use() {
  std::lock_guard<std::mutex> lock(choice_mutex());
  return in_use;
}

CachingAllocatorStats caching_allocator_stats() { return CachingCpuAllocator::instance().stats(); }

}  // namespace dunet::kernels
