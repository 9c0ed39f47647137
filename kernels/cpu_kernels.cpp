#include "kernels/cpu_kernels.h"

#include <atomic>

namespace dunet::kernels {

namespace {

bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}

std::atomic<bool>& use_avx2() {
  static std::atomic<bool> flag{cpu_has_avx2()};
  return flag;
}

}  // namespace

bool cpu_kernels_use_avx2() { return use_avx2().load(std::memory_order_relaxed); }

void set_portable_cpu_kernels(bool portable) { use_avx2().store(!portable && cpu_has_avx2()); }

const char* cpu_kernel_isa() { return cpu_kernels_use_avx2() ? "avx2" : "default (portable)"; }

}  // namespace dunet::kernels
