#include "bench/allreduce_bench.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "core/error.h"
#include "launcher/mpi_communicator.h"
#include "launcher/mpi_world.h"
#include "trainer/gradient_reducer.h"

namespace dunet::bench {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Median over ranks' medians would hide a slow rank: take the slowest rank's median, as the
// collective is only done when the slowest rank is.
double slowest(double local, MPI_Comm comm) {
  double result = 0;
  MPI_Allreduce(&local, &result, 1, MPI_DOUBLE, MPI_MAX, comm);
  return result;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int64_t count_wrong(const torch::Tensor& t, float expected) {
  return (t != expected).sum().item<int64_t>();
}

struct Timing {
  double seconds = 0;
  int64_t wrong = 0;
};

Timing time_plain_mpi(int64_t count, int iterations, int warmup, int rank, int size) {
  torch::Tensor t = torch::empty({count});
  std::vector<double> times;
  int64_t wrong = 0;
  for (int i = 0; i < warmup + iterations; ++i) {
    t.fill_(static_cast<float>(rank + 1));
    MPI_Barrier(MPI_COMM_WORLD);
    const auto start = Clock::now();
    MPI_Allreduce(MPI_IN_PLACE, t.data_ptr<float>(), static_cast<int>(count), MPI_FLOAT, MPI_SUM,
                  MPI_COMM_WORLD);
    if (i >= warmup) times.push_back(seconds_since(start));
    wrong += count_wrong(t, size * (size + 1) / 2.0f);
  }
  return {median(times), wrong};
}

Timing time_communicator(launcher::Communicator& comm, int64_t count, int iterations, int warmup) {
  torch::Tensor t = torch::empty({count});
  std::vector<double> times;
  int64_t wrong = 0;
  const int n = comm.size();
  for (int i = 0; i < warmup + iterations; ++i) {
    t.fill_(static_cast<float>(comm.rank() + 1));
    comm.barrier();
    const auto start = Clock::now();
    comm.all_reduce(t, launcher::ReduceOp::kSum);
    if (i >= warmup) times.push_back(seconds_since(start));
    wrong += count_wrong(t, n * (n + 1) / 2.0f);
  }
  return {median(times), wrong};
}

// The gradient path of training: `count` floats spread over 1 MiB "parameters", gradients
// produced by a backward pass, bucketed, all-reduced and averaged. Its cost is the time of
// backward + finish() minus the time of the same backward without the reducer.
Timing time_bucketed(launcher::Communicator& comm, int64_t count, int iterations, int warmup,
                     int64_t bucket_bytes) {
  constexpr int64_t kParameterElements = 256 << 10;
  std::vector<torch::Tensor> parameters;
  for (int64_t left = count; left > 0; left -= kParameterElements) {
    parameters.push_back(torch::zeros({std::min(left, kParameterElements)}).requires_grad_(true));
  }
  const int n = comm.size();
  const auto backward = [&] {
    torch::Tensor loss = torch::zeros({});
    for (auto& p : parameters) loss = loss + p.sum();
    (loss * static_cast<double>(comm.rank() + 1)).backward();
  };
  // Both variants accumulate into existing, zeroed gradients, as training does.
  for (auto& p : parameters) p.mutable_grad() = torch::zeros_like(p);
  std::vector<double> plain;
  for (int i = 0; i < warmup + iterations; ++i) {
    for (auto& p : parameters) p.mutable_grad().zero_();
    comm.barrier();
    const auto start = Clock::now();
    backward();
    if (i >= warmup) plain.push_back(seconds_since(start));
  }
  trainer::GradientReducer reducer(parameters, comm, bucket_bytes);
  std::vector<double> with_sync;
  int64_t wrong = 0;
  for (int i = 0; i < warmup + iterations; ++i) {
    reducer.zero_grad();
    comm.barrier();
    const auto start = Clock::now();
    reducer.prepare_for_backward(true);
    backward();
    reducer.finish();
    if (i >= warmup) with_sync.push_back(seconds_since(start));
    for (const auto& p : parameters) wrong += count_wrong(p.grad(), (n + 1) / 2.0f);
  }
  return {std::max(median(with_sync) - median(plain), 1e-9), wrong};
}

}  // namespace

int64_t run_allreduce_bench(const AllreduceOptions& options) {
  DUNET_CHECK(launcher::MpiWorld::launched_by_mpi(), Error,
              "dunet bench allreduce runs under an MPI launcher, e.g. "
              "mpirun -n 2 dunet bench allreduce");
  launcher::MpiWorld world(nullptr, nullptr);
  launcher::MpiCommunicator comm(world);
  at::set_num_threads(1);
  const int n = comm.size();
  const double bus_factor = n > 1 ? 2.0 * (n - 1) / n : 1.0;
  if (comm.is_root()) {
    std::printf("# dunet bench allreduce: %d processes, float32 sum, bucket %lld MiB\n", n,
                static_cast<long long>(options.bucket_mb));
    std::printf("# command: %s\n", options.command_line.c_str());
    std::printf(
        "# time = slowest rank's median; algbw = bytes/time (GB/s); busbw = algbw * "
        "2(n-1)/n\n");
    std::printf("%12s %11s | %10s %7s %7s | %10s %7s %7s | %10s %7s %7s | %7s\n", "bytes",
                "elements", "mpi_us", "algbw", "busbw", "dunet_us", "algbw", "busbw", "bucket_us",
                "algbw", "busbw", "#wrong");
  }
  int64_t total_wrong = 0;
  for (int64_t bytes = options.min_bytes; bytes <= options.max_bytes; bytes *= options.factor) {
    const int64_t count = bytes / 4;
    const int iterations = static_cast<int>(
        bytes >= (64 << 20) ? std::max<int64_t>(3, options.iterations / 3) : options.iterations);
    const int warmup = static_cast<int>(options.warmup);
    const Timing mpi = time_plain_mpi(count, iterations, warmup, comm.rank(), n);
    const Timing dunet = time_communicator(comm, count, iterations, warmup);
    const Timing bucket = time_bucketed(comm, count, iterations, warmup, options.bucket_mb << 20);
    const double t_mpi = slowest(mpi.seconds, world.comm());
    const double t_dunet = slowest(dunet.seconds, world.comm());
    const double t_bucket = slowest(bucket.seconds, world.comm());
    const auto wrong =
        comm.all_reduce_sum({static_cast<double>(mpi.wrong + dunet.wrong + bucket.wrong)})[0];
    total_wrong += static_cast<int64_t>(wrong);
    if (comm.is_root()) {
      const auto bw = [bytes](double t) { return bytes / t / 1e9; };
      std::printf(
          "%12lld %11lld | %10.1f %7.2f %7.2f | %10.1f %7.2f %7.2f | %10.1f %7.2f %7.2f | "
          "%7lld\n",
          static_cast<long long>(bytes), static_cast<long long>(count), t_mpi * 1e6, bw(t_mpi),
          bw(t_mpi) * bus_factor, t_dunet * 1e6, bw(t_dunet), bw(t_dunet) * bus_factor,
          t_bucket * 1e6, bw(t_bucket), bw(t_bucket) * bus_factor, static_cast<long long>(wrong));
      std::fflush(stdout);
    }
  }
  if (comm.is_root()) {
    std::printf("# out of bounds values: %lld %s\n", static_cast<long long>(total_wrong),
                total_wrong == 0 ? "OK" : "FAILED");
  }
  return total_wrong;
}

}  // namespace dunet::bench
