// The one switch for dunet's hand-written CPU kernels (Winograd convolutions, fused
// BatchNorm+ReLU, max-pool, pixel shuffle, the caching allocator, fused Adam): the CMake
// option DUNET_CPU_KERNELS. Built without them, every fast path reports itself unusable and
// LibTorch's own operators compute everything, with the same results to float rounding.
#pragma once

#ifndef DUNET_CPU_KERNELS
#define DUNET_CPU_KERNELS 1
#endif

namespace dunet::model {

inline constexpr bool kCpuKernelsBuilt = DUNET_CPU_KERNELS != 0;

// Which code the kernels' target_clones resolve to on this CPU: "avx2" or the portable
// "default" clone (plain C++ for any x86-64). Decided at run time by the CPU, like the kernels.
const char* cpu_kernel_isa();

}  // namespace dunet::model
