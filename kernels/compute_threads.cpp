#include "kernels/compute_threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <cstdlib>

#include "kernels/blas_core.h"
#include "kernels/fast_paths.h"

namespace dunet::kernels {

namespace {

// Looked up at run time: which libblas.so.3 is loaded is the system's choice, not ours.
using SetThreads = void (*)(int);
using GetThreads = int (*)();

SetThreads openblas_set_threads() {
  static const auto function =
      reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  return function;
}

GetThreads openblas_get_threads() {
  static const auto function =
      reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return function;
}

}  // namespace

bool blas_is_openblas() {
  // OpenBLAS may be in the process for LAPACK alone while libblas.so.3 is the reference BLAS,
  // so ask the library that defines the sgemm_ everyone calls (the first one loaded).
  static const bool result = [] {
    void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
    Dl_info info{};
    if (sgemm == nullptr || dladdr(sgemm, &info) == 0 || info.dli_fname == nullptr) return false;
    void* library = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    if (library == nullptr) return false;
    const bool openblas = dlsym(library, "openblas_get_config") != nullptr;
    dlclose(library);
    return openblas;
  }();
  return result;
}

std::string blas_description() {
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info info{};
  if (sgemm == nullptr || dladdr(sgemm, &info) == 0 || info.dli_fname == nullptr) {
    return "none loaded (no sgemm_ in the process)";
  }
  const std::string file = info.dli_fname;
  if (!blas_is_openblas()) return "not OpenBLAS: " + file;
  std::string config = "OpenBLAS";
  if (void* library = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD)) {
    using GetConfig = const char* (*)();
    using GetCore = const char* (*)();
    const auto get_config = reinterpret_cast<GetConfig>(dlsym(library, "openblas_get_config"));
    const auto get_core = reinterpret_cast<GetCore>(dlsym(library, "openblas_get_corename"));
    if (get_config != nullptr && get_config() != nullptr) config = get_config();
    if (get_core != nullptr && get_core() != nullptr) config += std::string(" core=") + get_core();
    dlclose(library);
  }
  if (std::getenv(kOpenblasCoreChosenByDunet) != nullptr) {
    config += " (core set by dunet: this OpenBLAS does not know the CPU)";
  }
  return config + " " + file;
}

void set_compute_threads(int threads) {
  at::set_num_threads(threads);
  if (const SetThreads set = openblas_set_threads()) set(1);
}

BlasOnCallingThread::BlasOnCallingThread() {
  const SetThreads set = openblas_set_threads();
  const GetThreads get = openblas_get_threads();
  if (set == nullptr || get == nullptr) return;
  previous_threads_ = get();
  if (previous_threads_ != 1) set(1);
}

BlasOnCallingThread::~BlasOnCallingThread() {
  if (previous_threads_ > 1) openblas_set_threads()(previous_threads_);
}

}  // namespace dunet::kernels
