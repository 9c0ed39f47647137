#include "model/compute_threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

namespace dunet::model {

void set_compute_threads(int threads) {
  at::set_num_threads(threads);
  // Looked up at run time: which libblas.so.3 is loaded is the system's choice, not ours.
  using SetThreads = void (*)(int);
  if (void* symbol = dlsym(RTLD_DEFAULT, "openblas_set_num_threads")) {
    reinterpret_cast<SetThreads>(symbol)(threads);
  }
}

}  // namespace dunet::model
