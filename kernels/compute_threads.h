// One place that sets how many threads the math libraries use. LibTorch defaults to one here,
// and OpenBLAS (which Debian's LibTorch calls through libblas.so.3) starts one thread per core
// in every process unless told otherwise, which oversubscribes the cores when several ranks
// share a node.
#pragma once

#include <string>

namespace dunet::kernels {

// blas_is_openblas() is in fast_paths.h.

// Which BLAS computes sgemm_, for the numerics report: OpenBLAS's own configuration string
// (version, kernel set) and the library file, or the file of another BLAS.
std::string blas_description();

// Sets LibTorch's intra-op threads and, when the loaded BLAS is OpenBLAS, its threads too.
void set_compute_threads(int threads);

// While alive, OpenBLAS runs every call on the calling thread; for code that already splits
// its matrix products over LibTorch's threads. Restores the previous count. No effect with
// another BLAS.
class BlasOnCallingThread {
 public:
  BlasOnCallingThread();
  ~BlasOnCallingThread();
  BlasOnCallingThread(const BlasOnCallingThread&) = delete;
  BlasOnCallingThread& operator=(const BlasOnCallingThread&) = delete;

 private:
  int previous_threads_ = 0;  // 0: not OpenBLAS
};

}  // namespace dunet::kernels
