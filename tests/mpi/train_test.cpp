// Data-parallel training under mpirun: replicas stay bitwise identical, N ranks x batch B
// match one process x batch N*B, distributed validation equals single-process validation,
// and a run saved with 3 processes resumes with 2.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>

#include "checkpoint/format.h"
#include "config/run_config.h"
#include "data/prepare.h"
#include "data/synth.h"
#include "launcher/local_communicator.h"
#include "launcher/mpi_communicator.h"
#include "model/sync_batch_norm.h"
#include "tests/mpi/mpi_test_world.h"
#include "trainer/precision_agreement.h"
#include "trainer/trainer.h"
#include "trainer/validate.h"

namespace dunet::trainer {
namespace {

namespace fs = std::filesystem;
using namespace dunet::checkpoint;  // the weights file, as the trainer writes it
using testing::world;

constexpr int64_t kTrainSamples = 24;  // divisible by the global batch of 1..4 ranks x 2, and 6

// Rank 0 writes a small synthetic set once; every rank reads it.
void make_data(const fs::path& dir, launcher::Communicator& comm) {
  if (comm.is_root() && !fs::exists(dir / "shards")) {
    data::SynthOptions synth;
    synth.out_dir = dir / "png";
    synth.count = kTrainSamples + 6;
    synth.width = synth.height = 40;
    synth.seed = 4;
    data::write_synthetic_dataset(synth);
    data::PrepareOptions prep;
    prep.out_dir = dir / "shards";
    prep.num_shards = 2;
    prep.val_fraction = 0.2;
    data::prepare_shards(data::scan_dsb_layout(dir / "png"), prep);
  }
  comm.barrier();
}

config::RunConfig small_run(const fs::path& dir, const std::string& name, int64_t batch,
                            const std::string& norm) {
  config::RunConfig c;
  c.run.output_dir = (dir / name).string();
  c.data.train = {(dir / "shards" / "train-*.h5").string()};
  c.data.val = {(dir / "shards" / "val-*.h5").string()};
  c.data.patch_size = 32;
  c.data.workers = 1;
  c.model.base_channels = 4;
  c.model.depth = 2;
  c.model.norm = norm;
  c.train.epochs = 3;
  c.train.batch_size = batch;
  c.train.optimizer = "sgd";
  c.train.learning_rate = 0.05;
  c.train.threads = 1;
  c.checkpoint.keep_last = 10;
  c.dist.bucket_mb = 1;
  return c;
}

model::UNet load_final(const fs::path& run_dir, const model::ModelConfig& config) {
  model::UNet net(config);
  const auto latest = CheckpointStore(run_dir / "checkpoints", 10).latest();
  EXPECT_TRUE(latest.has_value()) << run_dir;
  load_checkpoint(*latest, net, nullptr);
  return net;
}

// ||a - b|| / ||b|| over all parameters.
double relative_difference(model::UNet& a, model::UNet& b) {
  double diff = 0, norm = 0;
  const auto pb = b->named_parameters();
  for (const auto& item : a->named_parameters()) {
    diff += (item.value() - pb[item.key()]).pow(2).sum().item<double>();
    norm += pb[item.key()].pow(2).sum().item<double>();
  }
  return std::sqrt(diff / norm);
}

TEST(DataParallel, ReplicasAreBitwiseIdenticalAfterTraining) {
  launcher::MpiCommunicator comm(world());
  testing::SharedTempDir dir(comm);
  make_data(dir.path(), comm);
  auto config = small_run(dir.path(), "bn", 2, "batch");
  config.train.optimizer = "adam";
  config.train.learning_rate = 1e-3;
  const FitResult result = Trainer(config::trainer_settings(config), comm).fit({"never"});
  EXPECT_EQ(result.global_step, 3 * kTrainSamples / (2 * comm.size()));
  const auto digests = comm.all_gather(static_cast<int64_t>(result.state_digest));
  for (size_t r = 1; r < digests.size(); ++r) {
    EXPECT_EQ(digests[r], digests[0]) << "rank " << r << " holds other weights than rank 0";
  }
}

// train.precision = "auto": each rank resolves it from its own hardware, and the ranks take
// bfloat16 only where all of them resolved it; one rank without it makes every rank fp32.
TEST(DataParallel, RanksAgreeOnOnePrecision) {
  launcher::MpiCommunicator comm(world());
  using kernels::Precision;
  EXPECT_EQ(agree_on_precision(Precision::kBf16, comm), Precision::kBf16);
  EXPECT_EQ(agree_on_precision(Precision::kFp32, comm), Precision::kFp32);
  const Precision last_rank_lacks_it =
      comm.rank() == comm.size() - 1 ? Precision::kFp32 : Precision::kBf16;
  EXPECT_EQ(agree_on_precision(last_rank_lacks_it, comm), Precision::kFp32);
  const Precision first_rank_lacks_it = comm.rank() == 0 ? Precision::kFp32 : Precision::kBf16;
  EXPECT_EQ(agree_on_precision(first_rank_lacks_it, comm), Precision::kFp32);
  if (comm.size() > 1) {  // two reduced precisions that differ: float32 is their common ground
    const Precision mixed = comm.rank() == 0 ? Precision::kFp16 : Precision::kBf16;
    EXPECT_EQ(agree_on_precision(mixed, comm), Precision::kFp32);
  }
}

TEST(DataParallel, NRanksTimesBatchEqualsOneProcessWithTheWholeBatch) {
  launcher::MpiCommunicator comm(world());
  testing::SharedTempDir dir(comm);
  make_data(dir.path(), comm);
  const auto distributed = small_run(dir.path(), "ddp", 2, "none");
  Trainer(config::trainer_settings(distributed), comm).fit({"never"});
  if (comm.is_root()) {
    launcher::LocalCommunicator local;
    const auto single = small_run(dir.path(), "single", 2 * comm.size(), "none");
    Trainer(config::trainer_settings(single), local).fit({"never"});
    model::UNet a = load_final(dir / "ddp", distributed.model);
    model::UNet b = load_final(dir / "single", single.model);
    const double rel = relative_difference(a, b);
    EXPECT_LT(rel, 1e-5) << comm.size() << " ranks x batch 2 vs 1 x batch " << 2 * comm.size();
  }
  comm.barrier();
}

TEST(DataParallel, DistributedValidationEqualsSingleProcess) {
  launcher::MpiCommunicator comm(world());
  testing::SharedTempDir dir(comm);
  make_data(dir.path(), comm);
  auto config = small_run(dir.path(), "val", 2, "batch");
  config.train.epochs = 1;
  const FitResult result = Trainer(config::trainer_settings(config), comm).fit({"never"});
  if (comm.is_root()) {
    model::UNet net = load_final(dir / "val", config.model);
    const data::ShardSet val(data::expand_globs(config.data.val, "data.val"));
    const data::ShardSet train(data::expand_globs(config.data.train, "data.train"));
    launcher::LocalCommunicator local;
    const auto totals =
        validate(net, val, {train.mean(), train.std()}, config.validation, local, torch::kCPU);
    EXPECT_EQ(totals.num_images, 6);
    EXPECT_DOUBLE_EQ(result.last_iou, totals.iou());
    EXPECT_DOUBLE_EQ(result.last_dice, totals.dice());
  }
  comm.barrier();
}

class MpiStatsReducer final : public model::StatsAllReducer {
 public:
  explicit MpiStatsReducer(launcher::Communicator& comm) : comm_(comm) {}
  void sum(torch::Tensor& t) override { comm_.all_reduce(t, launcher::ReduceOp::kSum); }

 private:
  launcher::Communicator& comm_;
};

// Each rank holds 2 of the 2N samples: outputs, input gradients, parameter gradients (summed
// over ranks) and running statistics equal single-process BatchNorm on all 2N.
TEST(SyncBatchNorm, EqualsBatchNormOnTheWholeBatch) {
  launcher::MpiCommunicator comm(world());
  const int64_t n = comm.size(), r = comm.rank();
  torch::manual_seed(11);  // the same full batch and upstream gradient on every rank
  const torch::Tensor full = torch::randn({2 * n, 3, 5, 4}) * 2 + 1;
  const torch::Tensor upstream = torch::randn({2 * n, 3, 5, 4});
  const torch::Tensor weight = torch::rand({3}) + 0.5, bias = torch::randn({3});

  torch::nn::BatchNorm2d reference(3);
  reference->weight.data().copy_(weight);
  reference->bias.data().copy_(bias);
  torch::Tensor x_ref = full.clone().requires_grad_(true);
  const torch::Tensor y_ref = reference->forward(x_ref);
  (y_ref * upstream).sum().backward();

  model::SyncBatchNorm sync(3);
  sync->weight.data().copy_(weight);
  sync->bias.data().copy_(bias);
  sync->set_reducer(std::make_shared<MpiStatsReducer>(comm));
  torch::Tensor x = full.narrow(0, 2 * r, 2).clone().requires_grad_(true);
  const torch::Tensor y = sync->forward(x);
  (y * upstream.narrow(0, 2 * r, 2)).sum().backward();

  EXPECT_TRUE(torch::allclose(y, y_ref.narrow(0, 2 * r, 2), 1e-5, 1e-5)) << "rank " << r;
  EXPECT_TRUE(torch::allclose(x.grad(), x_ref.grad().narrow(0, 2 * r, 2), 1e-4, 1e-5))
      << "rank " << r;
  torch::Tensor dw = sync->weight.grad().clone(), db = sync->bias.grad().clone();
  comm.all_reduce(dw, launcher::ReduceOp::kSum);
  comm.all_reduce(db, launcher::ReduceOp::kSum);
  EXPECT_TRUE(torch::allclose(dw, reference->weight.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(db, reference->bias.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(sync->running_mean, reference->running_mean, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(sync->running_var, reference->running_var, 1e-5, 1e-6));
}

TEST(DataParallel, SyncBatchNormTrainingEqualsOneProcessWithTheWholeBatch) {
  launcher::MpiCommunicator comm(world());
  testing::SharedTempDir dir(comm);
  make_data(dir.path(), comm);
  const auto distributed = small_run(dir.path(), "sync", 2, "sync_batch");
  const FitResult result = Trainer(config::trainer_settings(distributed), comm).fit({"never"});
  const auto digests = comm.all_gather(static_cast<int64_t>(result.state_digest));
  for (size_t r = 1; r < digests.size(); ++r) EXPECT_EQ(digests[r], digests[0]) << "rank " << r;
  if (comm.is_root()) {
    launcher::LocalCommunicator local;
    const auto single = small_run(dir.path(), "single", 2 * comm.size(), "sync_batch");
    Trainer(config::trainer_settings(single), local).fit({"never"});
    model::UNet a = load_final(dir / "sync", distributed.model);
    model::UNet b = load_final(dir / "single", single.model);
    EXPECT_LT(relative_difference(a, b), 1e-5);
  }
  comm.barrier();
}

// Two CTest steps share DUNET_MPI_RESUME_DIR: save with 3 ranks x batch 2, then resume with
// 2 ranks x batch 3 (the same global batch of 6, so the same samples per step).
fs::path resume_dir() {
  const char* dir = std::getenv("DUNET_MPI_RESUME_DIR");
  return dir != nullptr ? fs::path(dir) : fs::path();
}

TEST(ResumeAcrossWorldSizes, SaveWithThree) {
  launcher::MpiCommunicator comm(world());
  if (resume_dir().empty() || comm.size() != 3) GTEST_SKIP() << "run by CTest with 3 ranks";
  if (comm.is_root()) {
    fs::remove_all(resume_dir());
    fs::create_directories(resume_dir());
  }
  comm.barrier();
  make_data(resume_dir(), comm);
  const auto config = small_run(resume_dir(), "run", 2, "none");
  // 24 samples / 6 per step = 4 steps per epoch: stop mid-way through epoch 2.
  const FitResult first = Trainer(config::trainer_settings(config), comm).fit({"never", 6});
  EXPECT_EQ(first.global_step, 6);
  EXPECT_EQ(read_checkpoint_meta(first.last_checkpoint).world_size, 3);
}

TEST(ResumeAcrossWorldSizes, ResumeWithTwo) {
  launcher::MpiCommunicator comm(world());
  if (resume_dir().empty() || comm.size() != 2) GTEST_SKIP() << "run by CTest with 2 ranks";
  ASSERT_TRUE(fs::exists(resume_dir() / "run" / "checkpoints" / "latest"))
      << "the SaveWithThree step did not leave a checkpoint";
  const auto config = small_run(resume_dir(), "run", 3, "none");
  const FitResult rest = Trainer(config::trainer_settings(config), comm).fit({"auto"});
  EXPECT_EQ(rest.global_step, 12);
  EXPECT_EQ(rest.epochs_completed, 3);
  if (comm.is_root()) {
    launcher::LocalCommunicator local;
    const auto single = small_run(resume_dir(), "single", 6, "none");
    Trainer(config::trainer_settings(single), local).fit({"never"});
    model::UNet a = load_final(resume_dir() / "run", config.model);
    model::UNet b = load_final(resume_dir() / "single", single.model);
    EXPECT_LT(relative_difference(a, b), 1e-5)
        << "saved with 3 ranks and resumed with 2 should match one uninterrupted process";
  }
  comm.barrier();
}

}  // namespace
}  // namespace dunet::trainer
