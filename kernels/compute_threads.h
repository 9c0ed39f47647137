// One place that sets how many threads the math libraries use. LibTorch defaults to one here,
// and OpenBLAS (which Debian's LibTorch calls through libblas.so.3) starts one thread per core
// in every process unless told otherwise, which oversubscribes the cores when several ranks
// share a node.
//
// Only LibTorch's (OpenMP) threads compute in parallel; OpenBLAS keeps one. LibTorch's and
// dunet's kernels call the BLAS from inside their own parallel regions (a batch, the Winograd
// frequencies), and where OpenBLAS also had a pool, the idle threads of both pools spun
// against each other for the same cores. Measured on 2 cores with 2 threads (docs/numerics.md):
// Debian 13 inference about 4x faster, base-16 training 2.3-2.5x; Debian 12 base-16 training
// 1.1-1.2x, base 64 unchanged within the noise.
#pragma once

#include <string>

namespace dunet::kernels {

// blas_is_openblas() is in fast_paths.h.

// Which BLAS computes sgemm_, for the numerics report: OpenBLAS's own configuration string
// (version, kernel set) and the library file, or the file of another BLAS.
std::string blas_description();

// Sets LibTorch's intra-op threads to `threads` and, when the loaded BLAS is OpenBLAS, its
// threads to one.
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
