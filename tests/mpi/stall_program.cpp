// A job in which the last rank stalls (sleeps instead of joining a collective): the watchdog
// of the other ranks must end the whole job within dist.timeout_s, naming the operation and
// the stalled rank. CTest checks the message and that the job ends long before the sleep would.
// With the argument `root_work`, rank 0 instead works alone for longer than dist.timeout_s
// while the others wait in wait_for_root_work: that wait has its own limit, the job succeeds.
#include <spdlog/spdlog.h>

#include <chrono>
#include <string>
#include <thread>

#include <ATen/ATen.h>

#include "launcher/collective_watchdog.h"
#include "launcher/logging.h"
#include "launcher/mpi_communicator.h"
#include "launcher/mpi_world.h"

int main(int argc, char** argv) {
  dunet::launcher::MpiWorld world(&argc, &argv);
  dunet::launcher::setup_logging(world.rank(), world.size());
  dunet::launcher::CollectiveWatchdog watchdog(world, /*timeout_s=*/2.0);
  dunet::launcher::MpiCommunicator comm(world, &watchdog);
  at::Tensor t = at::ones({16});
  comm.all_reduce(t, dunet::launcher::ReduceOp::kSum);  // everyone arrives once
  if (argc > 1 && std::string(argv[1]) == "root_work") {
    if (comm.rank() == 0) std::this_thread::sleep_for(std::chrono::seconds(5));
    comm.wait_for_root_work(/*timeout_s=*/60);
    comm.all_reduce(t, dunet::launcher::ReduceOp::kSum);
    if (comm.rank() == 0) spdlog::info("rank 0 worked alone for 5 s; the job went on");
    return 0;
  }
  if (comm.rank() == comm.size() - 1) std::this_thread::sleep_for(std::chrono::seconds(60));
  comm.all_reduce(t, dunet::launcher::ReduceOp::kSum);
  return 0;
}
