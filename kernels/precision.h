// Mixed precision (train.precision): the forward pass under LibTorch's autocast, which runs
// convolutions in bfloat16 or float16 while the weights, their gradients, the optimizer and the
// BatchNorm statistics stay float32 (as torch.autocast in PyTorch, nnU-Net and Lightning).
// float16's narrow range needs dynamic loss scaling (trainer/loss_scaler.h); bfloat16 has
// float32's range and does not.
#pragma once

#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace dunet::kernels {

enum class Precision { kFp32, kBf16, kFp16 };

// "fp32" | "bf16" | "fp16"; anything else is a ConfigError naming train.precision.
Precision parse_precision(const std::string& name);
const char* precision_name(Precision precision);

// What train.precision = "auto" takes on `device`: bf16 where the hardware computes bfloat16
// natively and LibTorch uses it (a GPU whose cuDNN has bfloat16 convolutions, compute
// capability 8 or later; a CPU with avx512_bf16 or AMX while oneDNN is on, see
// apply_onednn_policy), fp32 elsewhere: emulated bfloat16 was never measured to gain anything.
// On the CPU it depends on oneDNN's state, so it is asked after the policy is applied.
Precision auto_precision(c10::DeviceType device);
// parse_precision, with "auto" resolved by auto_precision(device).
Precision resolve_precision(const std::string& name, c10::DeviceType device);

// Throws ConfigError when `precision` cannot run on `device` with this LibTorch: float16 needs
// CUDA (LibTorch's CPU kernels lack float16 convolutions in 1.13), bfloat16 on the CPU needs a
// LibTorch whose CPU convolution accepts it (checked by computing one).
void check_precision_supported(Precision precision, c10::DeviceType device);

// Whether autocast is on for `device` in this thread.
bool autocast_active(c10::DeviceType device);

// Autocast on `device` for this scope and this thread (nothing for kFp32). Its cache of
// weights cast to the lower precision is cleared on exit, so the next step casts the
// updated weights.
class AutocastScope {
 public:
  AutocastScope(c10::DeviceType device, Precision precision);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_;
  bool active_ = false;
  bool was_enabled_ = false;
  c10::ScalarType was_dtype_ = c10::ScalarType::Undefined;
};

}  // namespace dunet::kernels
