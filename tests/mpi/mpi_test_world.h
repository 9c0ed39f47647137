// Shared helpers of the multi-rank tests: the MPI world and a folder all ranks see.
#pragma once

#include <filesystem>
#include <string>

#include "launcher/communicator.h"
#include "launcher/mpi_world.h"

namespace dunet::testing {

launcher::MpiWorld& world();

// A temporary folder made by rank 0 and known to every rank; removed by rank 0 at the end.
class SharedTempDir {
 public:
  explicit SharedTempDir(launcher::Communicator& comm);
  ~SharedTempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  launcher::Communicator& comm_;
  std::filesystem::path path_;
};

}  // namespace dunet::testing
