// Collectives with closed-form answers on every rank, and the bucketed gradient reducer.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "launcher/mpi_communicator.h"
#include "launcher/process_group.h"
#include "tests/mpi/mpi_test_world.h"
#include "trainer/gradient_reducer.h"
#ifdef DUNET_HAVE_NCCL
#include "launcher/nccl_communicator.h"
#endif

namespace dunet::launcher {
namespace {

using testing::world;

TEST(MpiCommunicator, RankSizeAndLocalRank) {
  MpiCommunicator comm(world());
  EXPECT_EQ(comm.size(), world().size());
  EXPECT_EQ(comm.rank(), world().rank());
  // One node here: local rank and size equal the global ones.
  EXPECT_EQ(comm.local_rank(), comm.rank());
  EXPECT_EQ(comm.local_size(), comm.size());
}

TEST(MpiCommunicator, AllReduceSumAndAverageOfRankIds) {
  MpiCommunicator comm(world());
  const int n = comm.size(), r = comm.rank();
  for (const auto dtype : {torch::kFloat32, torch::kFloat64, torch::kInt64}) {
    torch::Tensor t = torch::full({1000}, r, torch::TensorOptions().dtype(dtype));
    comm.all_reduce(t, ReduceOp::kSum);
    EXPECT_TRUE(torch::all(t == n * (n - 1) / 2).item<bool>())
        << "rank " << r << " dtype " << dtype << " got " << t[0].item<double>();
  }
  torch::Tensor avg = torch::full({7}, static_cast<double>(r), torch::kFloat64);
  comm.all_reduce(avg, ReduceOp::kAverage);
  EXPECT_DOUBLE_EQ(avg[6].item<double>(), (n - 1) / 2.0) << "rank " << r;
}

TEST(MpiCommunicator, LargeTensorAllReduce) {
  MpiCommunicator comm(world());
  const int n = comm.size();
  torch::Tensor t = torch::full({5'000'000}, comm.rank() + 1.0f);
  comm.all_reduce(t, ReduceOp::kSum);
  EXPECT_EQ(t.min().item<float>(), n * (n + 1) / 2.0f);
  EXPECT_EQ(t.max().item<float>(), n * (n + 1) / 2.0f);
}

TEST(MpiCommunicator, BroadcastAllGatherAndScalarSums) {
  MpiCommunicator comm(world());
  const int n = comm.size(), root = n - 1;
  torch::Tensor t = torch::full({3, 4}, comm.rank() == root ? 42.0f : -1.0f);
  comm.broadcast(t, root);
  EXPECT_TRUE(torch::all(t == 42.0f).item<bool>()) << "rank " << comm.rank();

  const auto gathered = comm.all_gather(10 * comm.rank());
  ASSERT_EQ(gathered.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) EXPECT_EQ(gathered[static_cast<size_t>(i)], 10 * i);

  const auto sums = comm.all_reduce_sum({1.0, static_cast<double>(comm.rank())});
  EXPECT_DOUBLE_EQ(sums[0], n);
  EXPECT_DOUBLE_EQ(sums[1], n * (n - 1) / 2.0);
  comm.barrier();
}

TEST(MpiCommunicator, NonContiguousTensorsAreRefusedClearly) {
  MpiCommunicator comm(world());
  try {
    torch::Tensor strided = torch::ones({4, 4}).t();
    comm.all_reduce(strided, ReduceOp::kSum);
    FAIL() << "non-contiguous tensor accepted";
  } catch (const CommError& e) {
    EXPECT_NE(std::string(e.what()).find("must be contiguous"), std::string::npos);
  }
}

// Gradients of (rank + 1) * sum(p) are rank + 1 everywhere: the reducer must leave
// mean(rank + 1) = (n + 1) / 2 in every element, across many buckets.
TEST(GradientReducer, AveragesEveryElementAcrossBuckets) {
  MpiCommunicator comm(world());
  torch::manual_seed(0);
  torch::nn::Sequential net(torch::nn::Linear(30, 20), torch::nn::Linear(20, 10),
                            torch::nn::Linear(10, 5));
  trainer::GradientReducer reducer(net->parameters(), comm, /*bucket_bytes=*/1024,
                                   /*first_bucket_bytes=*/256);
  // Reverse order: [bias 5, weight 5x10] fill the 256-byte first bucket, [bias 10, weight
  // 10x20, bias 20] the next 1 KiB one, and the 2,400-byte weight 20x30 gets its own.
  EXPECT_EQ(reducer.stats().num_buckets, 3);
  const double n = comm.size();
  for (int round = 0; round < 3; ++round) {
    reducer.zero_grad();
    torch::Tensor loss = torch::zeros({});
    for (const auto& p : net->parameters()) loss = loss + p.sum();
    reducer.prepare_for_backward(true);
    (loss * (comm.rank() + 1.0)).backward();
    reducer.finish();
    for (const auto& p : net->parameters()) {
      ASSERT_TRUE(torch::allclose(p.grad(), torch::full_like(p, (n + 1) / 2)))
          << "rank " << comm.rank() << " round " << round;
    }
  }
  EXPECT_GT(reducer.stats().allreduce_seconds, 0.0);
  // .grad replaced behind the reducer's back (set to None): still averaged correctly.
  for (auto& p : net->parameters()) p.mutable_grad() = torch::Tensor();
  torch::Tensor loss = torch::zeros({});
  for (const auto& p : net->parameters()) loss = loss + p.sum();
  reducer.prepare_for_backward(true);
  (loss * (comm.rank() + 1.0)).backward();
  reducer.finish();
  for (const auto& p : net->parameters()) {
    EXPECT_TRUE(torch::allclose(p.grad(), torch::full_like(p, (n + 1) / 2)));
  }
}

TEST(GradientReducer, AccumulatesMicroBatchesAndSyncsOnTheLast) {
  MpiCommunicator comm(world());
  torch::nn::Linear net(8, 3);
  trainer::GradientReducer reducer(net->parameters(), comm, 64);
  reducer.zero_grad();
  for (int micro = 0; micro < 3; ++micro) {
    reducer.prepare_for_backward(/*sync=*/micro == 2);
    ((net->weight.sum() + net->bias.sum()) * (comm.rank() + 1.0)).backward();
    reducer.finish();
  }
  const double n = comm.size();
  EXPECT_TRUE(torch::allclose(net->weight.grad(), torch::full_like(net->weight, 3 * (n + 1) / 2)));
  EXPECT_TRUE(torch::allclose(net->bias.grad(), torch::full_like(net->bias, 3 * (n + 1) / 2)));
}

TEST(ProcessGroup, NcclWithoutAGpuFailsClearly) {
  DistConfig config;
  config.backend = "nccl";
#ifdef DUNET_HAVE_NCCL
  if (visible_cuda_devices() > 0) GTEST_SKIP() << "a GPU is visible: covered by gpu tests";
  MpiCommunicator bootstrap(world());
  try {
    NcclCommunicator nccl(bootstrap, NcclOptions{});
    FAIL() << "NCCL communicator built without a GPU";
  } catch (const CommError& e) {
    EXPECT_NE(std::string(e.what()).find("needs a CUDA device, but none is usable"),
              std::string::npos)
        << e.what();
  }
#else
  GTEST_SKIP() << "built without NCCL";
#endif
}

}  // namespace
}  // namespace dunet::launcher
