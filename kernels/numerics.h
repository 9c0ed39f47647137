// What computes a process's numbers: the convolution path and CPU allocator chosen by the
// config (each "auto" by default), applied once at start-up, and a report of everything that
// decides the floating-point results (LibTorch, BLAS, CPU, kernels, paths, precision, CUDA).
// The report is logged at start and stored in every checkpoint.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace dunet::kernels {

struct NumericsSettings {
  std::string conv_path = "auto";      // auto | winograd | direct (LibTorch's convolution)
  std::string cpu_allocator = "auto";  // auto | caching | system (c10's default)
  std::string precision = "fp32";      // fp32 | bf16 | fp16 (train.precision, precision.h)
};

struct NumericsReport {
  // (key, value) in a fixed order: torch, blas, cpu, cpu_kernels, conv_path, cpu_allocator,
  // precision, cuda.
  std::vector<std::pair<std::string, std::string>> fields;

  // `key=value ...`, values with spaces in double quotes: one stable, parseable line.
  std::string line() const;
  // The value of `key`, empty when absent.
  std::string get(const std::string& key) const;
};

// Applies `settings` to this process: the UNet's convolution path and LibTorch's CPU
// allocator. "auto" takes Winograd where OpenBLAS is loaded (otherwise it would be slower than
// LibTorch) and the caching allocator unless AddressSanitizer must see every free. Asking
// for "winograd" or "caching" where they cannot run is an Error naming the reason. Returns
// what now runs.
NumericsReport apply_numerics(const NumericsSettings& settings);

// What runs now, without changing anything.
NumericsReport current_numerics();

}  // namespace dunet::kernels
