#include "kernels/precision.h"

#include <ATen/ATen.h>
#include <ATen/detail/CUDAHooksInterface.h>

#include "core/error.h"
#include "kernels/torch_compat.h"

namespace dunet::kernels {

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  if (name == "fp16") return Precision::kFp16;
  throw ConfigError("train.precision = '" + name + "'; expected fp32, bf16, fp16 or auto");
}

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::kFp32:
      return "fp32";
    case Precision::kBf16:
      return "bf16";
    case Precision::kFp16:
      return "fp16";
  }
  return "?";
}

namespace {

c10::ScalarType compute_type(Precision precision) {
  return precision == Precision::kFp16 ? at::kHalf : at::kBFloat16;
}

}  // namespace

void check_precision_supported(Precision precision, c10::DeviceType device) {
  if (precision == Precision::kFp32 || device != c10::DeviceType::CPU) return;
  DUNET_CHECK(precision != Precision::kFp16, ConfigError,
              "train.precision = \"fp16\" needs a CUDA device: LibTorch's CPU kernels lack "
              "float16 convolutions. Use \"bf16\" (the same speed-up on CPUs that have it, "
              "and no loss scaling) or \"fp32\"");
  try {
    const at::Tensor x = at::ones({1, 1, 4, 4}, at::kBFloat16);
    (void)at::conv2d(x, at::ones({1, 1, 3, 3}, at::kBFloat16));
  } catch (const std::exception& e) {
    throw ConfigError(std::string("train.precision = \"bf16\" but this LibTorch cannot compute "
                                  "bfloat16 convolutions on the CPU (") +
                      e.what() + "); use \"fp32\"");
  }
}

namespace {

// avx512_bf16 (Cooper Lake, Zen 4 and later) or AMX (Sapphire Rapids and later): oneDNN's
// bfloat16 convolutions run on these instructions instead of converting to float32.
bool cpu_has_bfloat16_instructions() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16");
}

bool cpu_computes_bfloat16_natively() {
  if (!cpu_has_bfloat16_instructions()) return false;
  if (!at::hasMKLDNN() || !at::globalContext().userEnabledMkldnn()) return false;
  try {
    check_precision_supported(Precision::kBf16, c10::DeviceType::CPU);
  } catch (const ConfigError&) {
    return false;
  }
  return true;
}

}  // namespace

Precision auto_precision(c10::DeviceType device) {
  if (device == c10::DeviceType::CUDA) {
    return at::detail::getCUDAHooks().supportsBFloat16ConvolutionWithCuDNNv8() ? Precision::kBf16
                                                                                : Precision::kFp32;
  }
  if (device == c10::DeviceType::CPU && cpu_computes_bfloat16_natively()) return Precision::kBf16;
  return Precision::kFp32;
}

Precision resolve_precision(const std::string& name, c10::DeviceType device) {
  return name == "auto" ? auto_precision(device) : parse_precision(name);
}

bool autocast_active(c10::DeviceType device) { return autocast_enabled(device); }

AutocastScope::AutocastScope(c10::DeviceType device, Precision precision) : device_(device) {
  if (precision == Precision::kFp32) return;
  active_ = true;
  was_enabled_ = autocast_enabled(device);
  was_dtype_ = autocast_dtype(device);
  set_autocast(device, true, compute_type(precision));
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  set_autocast(device_, was_enabled_, was_dtype_);
  if (!was_enabled_) at::autocast::clear_cache();
}

}  // namespace dunet::kernels
