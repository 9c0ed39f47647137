// gtest main for multi-rank tests: MPI is initialised once for all tests of the binary.
// Run under `mpirun -n N`; each rank runs every test, and a failure on any rank fails the job.
#include <gtest/gtest.h>

#include "launcher/logging.h"
#include "tests/mpi/mpi_test_world.h"

namespace dunet::testing {
namespace {
launcher::MpiWorld* g_world = nullptr;
}
launcher::MpiWorld& world() { return *g_world; }
}  // namespace dunet::testing

int main(int argc, char** argv) {
  dunet::launcher::MpiWorld world(&argc, &argv);
  dunet::testing::g_world = &world;
  dunet::launcher::setup_logging(world.rank(), world.size());
  ::testing::InitGoogleTest(&argc, argv);
  const int failed = RUN_ALL_TESTS();
  // Every rank reports; the job fails if any rank failed.
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any_failed;
}
