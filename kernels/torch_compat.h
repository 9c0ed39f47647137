// The few LibTorch interfaces dunet uses that differ between LibTorch 1.13 (Debian 12) and 2.x
// (Debian 13 ships 2.6). Every such difference lives here and nowhere else.
#pragma once

#include <ATen/autocast_mode.h>
#include <c10/core/Allocator.h>
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>
#include <torch/version.h>

#include <cstring>
#include <sstream>
#include <string>
#include <type_traits>

namespace dunet::kernels {

// "1.13.1", "2.6.0": the LibTorch the process was compiled against.
inline std::string torch_version() { return TORCH_VERSION; }

// c10::Allocator::allocate() is const up to LibTorch 2.2 and not const from 2.3, which also
// adds a pure virtual copy_data(). Deriving from this and implementing allocate_block()
// overrides whichever of the two the LibTorch in use declares (the other overload is unused).
class CompatAllocator : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t num_bytes) const { return allocate_block(num_bytes); }
  c10::DataPtr allocate(size_t num_bytes) { return allocate_block(num_bytes); }
  void copy_data(void* dest, const void* src, std::size_t num_bytes) const {
    if (num_bytes != 0) std::memcpy(dest, src, num_bytes);
  }

 protected:
  virtual c10::DataPtr allocate_block(size_t num_bytes) const = 0;
};

// The key under which torch::optim keeps a parameter's state: LibTorch 1.13 keys its state map
// by the TensorImpl address printed as a string, 2.x by the address itself. Taken from the
// map's own key type, so it follows whatever the optimizer in use declares.
template <typename StateMap>
typename StateMap::key_type optimizer_state_key(const StateMap& /*state*/, const void* impl) {
  using Key = typename StateMap::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream text;  // what c10::guts::to_string did in 1.13
    text << impl;
    return text.str();
  } else {
    return const_cast<Key>(impl);
  }
}

// Autocast's switches: one pair of functions per device type up to LibTorch 2.3
// (set_cpu_enabled, set_autocast_cpu_dtype, set_enabled for CUDA, ...), functions taking the
// device type from 2.4, which deprecate the old ones.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
inline bool autocast_enabled(c10::DeviceType device) {
  return at::autocast::is_autocast_enabled(device);
}
inline c10::ScalarType autocast_dtype(c10::DeviceType device) {
  return at::autocast::get_autocast_dtype(device);
}
inline void set_autocast(c10::DeviceType device, bool enabled, c10::ScalarType dtype) {
  at::autocast::set_autocast_dtype(device, dtype);
  at::autocast::set_autocast_enabled(device, enabled);
}
#else
inline bool autocast_enabled(c10::DeviceType device) {
  return device == c10::DeviceType::CUDA ? at::autocast::is_enabled()
                                         : at::autocast::is_cpu_enabled();
}
inline c10::ScalarType autocast_dtype(c10::DeviceType device) {
  return device == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype()
                                         : at::autocast::get_autocast_cpu_dtype();
}
inline void set_autocast(c10::DeviceType device, bool enabled, c10::ScalarType dtype) {
  if (device == c10::DeviceType::CUDA) {
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(enabled);
  }
}
#endif

}  // namespace dunet::kernels
