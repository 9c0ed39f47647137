// OpenBLAS picks its kernels by CPU model when it loads. A release older than the CPU does not
// know the model and falls back to its generic SSE3 kernels ("Prescott"): Debian 12's OpenBLAS
// 0.3.21 does so on an Emerald Rapids Xeon, where dunet then trains 1.6x slower
// (docs/numerics.md). The only remedy is OPENBLAS_CORETYPE, read when the library loads, so
// `dunet` restarts itself with it (apps/main.cpp) before doing anything else.
#pragma once

#include <optional>
#include <string>

namespace dunet::kernels {

struct CpuVectorFeatures {
  bool avx2_fma = false;
  bool avx512 = false;  // F, CD, BW, DQ and VL: what OpenBLAS's SkylakeX kernels use
};

// The OPENBLAS_CORETYPE that fits the CPU when OpenBLAS chose a core older than its vector
// units (SkylakeX for AVX-512, Haswell for AVX2 + FMA); nullopt when the choice fits.
std::optional<std::string> fitting_openblas_core(const std::string& chosen_core,
                                                 CpuVectorFeatures cpu);

// For this process: nullopt unless the loaded BLAS is OpenBLAS, OPENBLAS_CORETYPE is unset and
// OpenBLAS chose a core that does not fit this CPU.
std::optional<std::string> openblas_core_to_force();

// Marks the environment of a restarted process, so the numerics report can say who chose the
// core.
inline constexpr const char* kOpenblasCoreChosenByDunet = "DUNET_OPENBLAS_CORETYPE_CHOSEN";

}  // namespace dunet::kernels
