#include "tests/mpi/mpi_test_world.h"

#include <ATen/ATen.h>
#include <unistd.h>

namespace dunet::testing {

namespace fs = std::filesystem;

SharedTempDir::SharedTempDir(launcher::Communicator& comm) : comm_(comm) {
  std::string name(256, '\0');
  if (comm.is_root()) {
    std::string pattern = (fs::temp_directory_path() / "dunet-mpi-XXXXXX").string();
    name.replace(0, pattern.size(), ::mkdtemp(pattern.data()));
  }
  at::Tensor bytes = at::from_blob(name.data(), {static_cast<int64_t>(name.size())}, at::kByte);
  comm.broadcast(bytes, 0);
  path_ = name.c_str();
}

SharedTempDir::~SharedTempDir() {
  comm_.barrier();
  if (comm_.is_root()) {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
}

}  // namespace dunet::testing
