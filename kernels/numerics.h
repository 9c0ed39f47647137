// What computes a process's numbers: the convolution path and CPU allocator chosen by the
// config (each "auto" by default), applied once at start-up, and a report of everything that
// decides the floating-point results (LibTorch, BLAS, CPU, kernels, paths, precision, CUDA).
// The report is logged at start and stored in every checkpoint.
#pragma once

#include <c10/core/DeviceType.h>

#include <string>
#include <utility>
#include <vector>

#include "kernels/precision.h"

namespace dunet::kernels {

struct NumericsSettings {
  std::string conv_path = "auto";      // auto | winograd | direct (LibTorch's convolution)
  std::string cpu_allocator = "auto";  // auto | caching | system (c10's default)
  std::string precision = "fp32";  // fp32 | bf16 | fp16 | auto (train.precision, precision.h)
  c10::DeviceType device = c10::DeviceType::CPU;  // where training computes: resolves "auto"
};

struct NumericsReport {
  // (key, value) in a fixed order: torch, blas, cpu, cpu_kernels, conv_path, cpu_allocator,
  // precision, onednn, cuda.
  std::vector<std::pair<std::string, std::string>> fields;

  // `key=value ...`, values with spaces in double quotes: one stable, parseable line.
  std::string line() const;
  // The value of `key`, empty when absent.
  std::string get(const std::string& key) const;
};

// Applies `settings` to this process: the UNet's convolution path and LibTorch's CPU
// allocator. "auto" takes Winograd where OpenBLAS is loaded (otherwise it would be slower than
// LibTorch) and the caching allocator unless AddressSanitizer must see every free. Asking
// for "winograd" or "caching" where they cannot run is an Error naming the reason. Precision
// "auto" is resolved for `settings.device` (auto_precision), after the oneDNN policy. Returns
// what now runs; its precision is never "auto".
NumericsReport apply_numerics(const NumericsSettings& settings);

// The training forward pass's precision that apply_numerics set (fp32 until it runs).
Precision training_precision();

// What runs now, without changing anything.
NumericsReport current_numerics();

// LibTorch's oneDNN (mkldnn) CPU convolutions: on with LibTorch 1.x, off with 2.x. Debian 13's
// LibTorch 2.6 (oneDNN 3.7) gives non-finite gradients in about half the runs of a small
// UNet on an AMD EPYC with AVX-512, in plain PyTorch too, and never with oneDNN off
// (docs/numerics.md); ATen's own convolution (im2col + BLAS) computes the same function.
// Called by apply_numerics and by every other entry point that computes (inference).
void apply_onednn_policy();

}  // namespace dunet::kernels
