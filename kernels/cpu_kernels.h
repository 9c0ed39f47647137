// The one switch for dunet's hand-written CPU kernels (Winograd convolutions, fused
// BatchNorm+ReLU, max-pool, pixel shuffle, the caching allocator, fused Adam): the CMake
// option DUNET_CPU_KERNELS. Built without them, every fast path reports itself unusable and
// LibTorch's own operators compute everything, with the same results to float rounding.
#pragma once

#ifndef DUNET_CPU_KERNELS
#define DUNET_CPU_KERNELS 1
#endif

namespace dunet::kernels {

inline constexpr bool kCpuKernelsBuilt = DUNET_CPU_KERNELS != 0;

// Note [CPU kernel dispatch]
// Each kernel's body is compiled twice, for AVX2 and for any x86-64 (DUNET_CPU_KERNEL below),
// and every call picks one at run time: AVX2 where the CPU has it, the portable code
// otherwise or when tests ask for it. Both compile the same C++ with the same operation order
// and without FMA contraction, so they give the same bits; the tests check that on every
// machine with AVX2.

// Whether kernels run their AVX2 code now.
bool cpu_kernels_use_avx2();
// Tests: run the portable code even where the CPU has AVX2 (false: back to the CPU's best).
void set_portable_cpu_kernels(bool portable);
// "avx2" or "default (portable)": what cpu_kernels_use_avx2() picks, for the numerics report.
const char* cpu_kernel_isa();

}  // namespace dunet::kernels

// Defines `ret name params` to run `name##_body` (an always_inline function of the same
// parameters, defined just before) compiled for AVX2 or for any x86-64, per Note [CPU kernel
// dispatch]. `args` names the parameters in order.
#define DUNET_CPU_KERNEL(ret, name, params, args)                                              \
  __attribute__((target("avx2"))) static ret name##_avx2 params { return name##_body args; }   \
  static ret name##_portable params { return name##_body args; }                               \
  ret name params {                                                                            \
    return ::dunet::kernels::cpu_kernels_use_avx2() ? name##_avx2 args : name##_portable args; \
  }

namespace dunet::kernels {}  // namespace dunet::kernels
