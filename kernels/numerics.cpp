#include "kernels/numerics.h"

#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>

#include <atomic>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "kernels/caching_allocator.h"
#include "kernels/compute_threads.h"
#include "kernels/cpu_kernels.h"
#include "kernels/precision.h"
#include "kernels/torch_compat.h"
#include "kernels/winograd_conv.h"

namespace dunet::kernels {

namespace {

std::string cpu_model_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) break;
    const auto start = line.find_first_not_of(' ', colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "unknown";
}

// The x86-64 features that change which code LibTorch's oneDNN and dunet's kernels run.
std::string cpu_description() {
  std::string features;
  const auto add = [&features](bool present, const char* name) {
    if (present) features += std::string(features.empty() ? "" : " ") + name;
  };
  __builtin_cpu_init();
  add(__builtin_cpu_supports("sse4.2"), "sse4.2");
  add(__builtin_cpu_supports("avx"), "avx");
  add(__builtin_cpu_supports("avx2"), "avx2");
  add(__builtin_cpu_supports("fma"), "fma");
  add(__builtin_cpu_supports("avx512f"), "avx512f");
  add(__builtin_cpu_supports("avx512bw"), "avx512bw");
  add(__builtin_cpu_supports("avx512vl"), "avx512vl");
  add(__builtin_cpu_supports("avx512vnni"), "avx512vnni");
  add(__builtin_cpu_supports("avx512bf16"), "avx512bf16");
  add(__builtin_cpu_supports("amx-bf16"), "amx-bf16");
  return cpu_model_name() + "; " + (features.empty() ? "no SIMD extensions" : features);
}

std::string cuda_description() {
  const auto& hooks = at::detail::getCUDAHooks();
  if (!at::globalContext().hasCUDA()) return "none";
  std::string text = std::to_string(hooks.getNumGPUs()) + " GPU(s)";
  if (hooks.hasCuDNN()) text += ", cuDNN " + std::to_string(hooks.versionCuDNN());
  return text;
}

// Why Winograd cannot run in this process, or empty when it can.
std::string winograd_unavailable_reason() {
  if (!kCpuKernelsBuilt) return "dunet was built with DUNET_CPU_KERNELS=OFF";
  if (!WinogradConv3x3::available()) {
    return "the loaded BLAS is not OpenBLAS (" + blas_description() +
           "); install libopenblas0-pthread";
  }
  return "";
}

std::string quoted(const std::string& value) {
  if (value.find_first_of(" \t\"=") == std::string::npos && !value.empty()) return value;
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string conv_path_now() {
  if (winograd_enabled()) return "winograd";
  const std::string why = winograd_unavailable_reason();
  return why.empty() ? "direct" : "direct (winograd unavailable: " + why + ")";
}

std::string allocator_now() {
  if (caching_cpu_allocator_in_use()) return "caching";
  const std::string why = caching_allocator_unavailable_reason();
  return why.empty() ? "system" : "system (caching unavailable: " + why + ")";
}

std::string onednn_now() {
  if (!at::globalContext().userEnabledMkldnn()) return "off";
  return at::hasMKLDNN() ? "on" : "off (not built)";
}

}  // namespace

std::string NumericsReport::line() const {
  std::string out;
  for (const auto& [key, value] : fields) {
    out += (out.empty() ? "" : " ") + key + "=" + quoted(value);
  }
  return out;
}

std::string NumericsReport::get(const std::string& key) const {
  for (const auto& [k, value] : fields) {
    if (k == key) return value;
  }
  return "";
}

namespace {

// `value` of config key `key` must be "auto", `fast` (possible only where `problem` is empty)
// or `plain`. Returns whether the fast choice is taken.
bool choose(const char* key, const std::string& value, const char* fast, const char* plain,
            const std::string& problem) {
  DUNET_CHECK(value == "auto" || value == fast || value == plain, ConfigError, key, " = '", value,
              "'; expected auto, ", fast, " or ", plain);
  DUNET_CHECK(value != fast || problem.empty(), ConfigError, key, " = '", fast,
              "' but it cannot run here: ", problem, "; use 'auto' or '", plain, "'");
  return value != plain && problem.empty();
}

// The precision of the training forward pass; inference and validation compute in fp32.
std::atomic<Precision>& precision_flag() {
  static std::atomic<Precision> flag{Precision::kFp32};
  return flag;
}

}  // namespace

void apply_onednn_policy() {
  at::globalContext().setUserEnabledMkldnn(TORCH_VERSION_MAJOR < 2);
}

NumericsReport apply_numerics(const NumericsSettings& settings) {
  // Both checked before either is applied, so a refused setting changes nothing.
  const bool winograd = choose("model.conv_path", settings.conv_path, "winograd", "direct",
                               winograd_unavailable_reason());
  const bool caching = choose("train.cpu_allocator", settings.cpu_allocator, "caching", "system",
                              caching_allocator_unavailable_reason());
  // auto_precision reads oneDNN's state, which the policy sets first.
  apply_onednn_policy();
  const Precision precision = resolve_precision(settings.precision, settings.device);
  set_winograd_enabled(winograd);
  set_caching_cpu_allocator(caching);
  precision_flag().store(precision);
  return current_numerics();
}

Precision training_precision() { return precision_flag().load(); }

NumericsReport current_numerics() {
  NumericsReport report;
  report.fields = {
      {"torch", torch_version()},
      {"blas", blas_description()},
      {"cpu", cpu_description()},
      {"cpu_kernels", kCpuKernelsBuilt ? cpu_kernel_isa() : "off (DUNET_CPU_KERNELS=OFF)"},
      {"conv_path", conv_path_now()},
      {"cpu_allocator", allocator_now()},
      {"precision", precision_name(precision_flag().load())},
      {"onednn", onednn_now()},
      {"cuda", cuda_description()},
  };
  return report;
}

}  // namespace dunet::kernels
