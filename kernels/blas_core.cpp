#include "kernels/blas_core.h"

#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string_view>

#include "kernels/fast_paths.h"

namespace dunet::kernels {

namespace {

// OpenBLAS's x86-64 cores without AVX2 kernels, "Prescott" being its fallback for unknown CPUs.
constexpr std::array<std::string_view, 9> kCoresWithoutAvx2 = {
    "Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Sandybridge", "Barcelona",
    "Bobcat"};

bool lacks_avx2(std::string_view core) {
  return std::find(kCoresWithoutAvx2.begin(), kCoresWithoutAvx2.end(), core) !=
         kCoresWithoutAvx2.end();
}

CpuVectorFeatures this_cpu() {
  __builtin_cpu_init();
  CpuVectorFeatures cpu;
  cpu.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  cpu.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl");
  return cpu;
}

}  // namespace

std::optional<std::string> fitting_openblas_core(const std::string& chosen_core,
                                                 CpuVectorFeatures cpu) {
  // Only a core without AVX2 is replaced: OpenBLAS also picks Haswell on an AVX-512 CPU whose
  // operating system does not save the AVX-512 registers, and that choice must stand.
  if (!lacks_avx2(chosen_core)) return std::nullopt;
  if (cpu.avx512) return "SkylakeX";
  if (cpu.avx2_fma) return "Haswell";
  return std::nullopt;
}

std::optional<std::string> openblas_core_to_force() {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr || !blas_is_openblas()) return std::nullopt;
  using GetCore = const char* (*)();
  const auto get_core = reinterpret_cast<GetCore>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (get_core == nullptr || get_core() == nullptr) return std::nullopt;
  return fitting_openblas_core(get_core(), this_cpu());
}

}  // namespace dunet::kernels
