// Peak resident memory of this process (Linux VmHWM), for logs and benchmarks.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace dunet {

// Bytes, or 0 where /proc/self/status is not available.
inline int64_t peak_resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // in kB
  }
  return 0;
}

}  // namespace dunet
