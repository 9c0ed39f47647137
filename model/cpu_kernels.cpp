#include "model/cpu_kernels.h"

namespace dunet::model {

const char* cpu_kernel_isa() {
  // The same test GCC's target_clones resolver makes for the "avx2" clone.
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") ? "avx2" : "default (portable)";
}

}  // namespace dunet::model
