// Checkpoints (round trip, mismatches, bad files), resume that ends with the same weights as
// an uninterrupted run, the LR schedule, and inference on images of any size.
#include <gtest/gtest.h>

#include <torch/torch.h>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

#include "checkpoint/durable_file.h"
#include "checkpoint/format.h"
#include "checkpoint/inspect.h"
#include "config/run_config.h"
#include "core/error.h"
#include "data/prepare.h"
#include "data/synth.h"
#include "infer/predictor.h"
#include "kernels/cpu_kernels.h"
#include "kernels/fused_adam.h"
#include "kernels/numerics.h"
#include "launcher/local_communicator.h"
#include "launcher/logging.h"
#include "tests/fixtures/fixtures.h"
#include "trainer/gradient_check.h"
#include "trainer/loss_scaler.h"
#include "trainer/lr_schedule.h"
#include "trainer/trainer.h"

namespace dunet::trainer {
namespace {

namespace fs = std::filesystem;
using namespace dunet::checkpoint;  // the weights file, as the trainer writes it
using namespace dunet::kernels;     // FusedAdam and the CPU kernel switch

model::ModelConfig small_model(int64_t base = 4) {
  model::ModelConfig c;
  c.base_channels = base;
  c.depth = 2;
  return c;
}

void expect_same_state(torch::nn::Module& a, torch::nn::Module& b) {
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) {
    EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key() << " differs";
  }
  const auto ba = a.named_buffers(), bb = b.named_buffers();
  for (const auto& item : ba) {
    EXPECT_TRUE(torch::equal(item.value(), bb[item.key()])) << item.key() << " differs";
  }
}

std::string checkpoint_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const CheckpointError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Checkpoint, RoundTripRestoresWeightsOptimizerAndMeta) {
  testing::TempDir tmp;
  torch::manual_seed(0);
  model::UNet a(small_model());
  torch::optim::Adam opt_a(a->parameters(), torch::optim::AdamOptions(1e-2));
  const auto x = torch::randn({2, 3, 16, 16});
  for (int i = 0; i < 2; ++i) {
    opt_a.zero_grad();
    a->forward(x).mean().backward();
    opt_a.step();
  }
  CheckpointMeta meta;
  meta.epoch = 3;
  meta.global_step = 17;
  meta.samples_in_epoch = 8;
  meta.best_iou = 0.25;
  meta.model = small_model();
  meta.mean = {0.1, 0.2, 0.3};
  meta.std = {0.4, 0.5, 0.6};
  meta.config_toml = "[run]\nname = 'x'\n";
  meta.numerics = "torch=1.13.1 blas=\"OpenBLAS 0.3.21\" conv_path=winograd";
  meta.patch_size = 192;
  save_checkpoint(tmp / "c.pt", a, &opt_a, meta);

  torch::manual_seed(99);
  model::UNet b(small_model());
  torch::optim::Adam opt_b(b->parameters(), torch::optim::AdamOptions(1e-2));
  const CheckpointMeta back = load_checkpoint(tmp / "c.pt", b, &opt_b);
  expect_same_state(*a, *b);
  EXPECT_EQ(back.epoch, 3);
  EXPECT_EQ(back.global_step, 17);
  EXPECT_EQ(back.samples_in_epoch, 8);
  EXPECT_DOUBLE_EQ(back.best_iou, 0.25);
  EXPECT_EQ(back.mean, meta.mean);
  EXPECT_EQ(back.config_toml, meta.config_toml);
  EXPECT_EQ(back.numerics, meta.numerics);
  EXPECT_EQ(back.patch_size, 192);
  EXPECT_NE(describe_checkpoint(tmp / "c.pt").find("numerics         " + meta.numerics + "\n"),
            std::string::npos);
  // Same optimizer state: one more identical step keeps both models identical.
  opt_a.zero_grad();
  a->forward(x).mean().backward();
  opt_a.step();
  opt_b.zero_grad();
  b->forward(x).mean().backward();
  opt_b.step();
  expect_same_state(*a, *b);
}

TEST(Checkpoint, AnotherArchitectureIsRefusedByName) {
  testing::TempDir tmp;
  model::UNet small(small_model(4));
  CheckpointMeta meta;
  meta.model = small_model(4);
  save_checkpoint(tmp / "c.pt", small, nullptr, meta);
  model::UNet wide(small_model(8));
  const std::string e = checkpoint_error([&] { load_checkpoint(tmp / "c.pt", wide, nullptr); });
  EXPECT_NE(e.find("was trained with model.base_channels = 4 but this model has "
                   "model.base_channels = 8"),
            std::string::npos)
      << e;
}

// Weights that do not say what patches they were trained on (imported, or written before the
// patch size was recorded) are predicted in the windows dunet always used.
TEST(Checkpoint, WithoutAPatchSizeInferenceTakesTheFallbackWindow) {
  testing::TempDir tmp;
  model::UNet net(small_model());
  CheckpointMeta meta;
  meta.model = small_model();
  meta.mean = {0.5, 0.5, 0.5};
  meta.std = {0.25, 0.25, 0.25};
  save_checkpoint(tmp / "c.pt", net, nullptr, meta);
  const infer::Predictor predictor(tmp / "c.pt", 1);
  EXPECT_EQ(predictor.trained_patch_size(), 0);
  EXPECT_EQ(predictor.window_size({}), infer::Predictor::kFallbackWindow);
  EXPECT_EQ(predictor.window_size({0.5, 128}), 128);
}

TEST(Checkpoint, FilesThatAreNotCheckpoints) {
  testing::TempDir tmp;
  testing::write_bytes(tmp / "junk.pt", "definitely not a zip archive");
  EXPECT_NE(checkpoint_error([&] {
              read_checkpoint_meta(tmp / "junk.pt");
            }).find("is not a dunet checkpoint"),
            std::string::npos);
  EXPECT_NE(
      checkpoint_error([&] { read_checkpoint_meta(tmp / "missing.pt"); }).find("does not exist"),
      std::string::npos);
  model::UNet net(small_model());
  torch::save(net, (tmp / "plain.pt").string());  // a LibTorch archive, but not ours
  EXPECT_NE(checkpoint_error([&] {
              read_checkpoint_meta(tmp / "plain.pt");
            }).find("not a dunet checkpoint"),
            std::string::npos);
}

TEST(Checkpoint, StoreKeepsTheLastKAndBest) {
  testing::TempDir tmp;
  model::UNet net(small_model());
  torch::optim::SGD opt(net->parameters(), 0.1);
  CheckpointStore store(tmp / "ckpt", 2);
  EXPECT_TRUE(store.empty());
  EXPECT_FALSE(store.latest().has_value());
  CheckpointMeta meta;
  meta.model = small_model();
  for (int64_t step = 1; step <= 4; ++step) {
    meta.global_step = step;
    store.save(net, opt, meta, /*is_best=*/step == 2);
  }
  EXPECT_EQ(store.latest(), store.path_for_step(4));
  EXPECT_FALSE(fs::exists(store.path_for_step(1)));
  EXPECT_FALSE(fs::exists(store.path_for_step(2)));
  EXPECT_TRUE(fs::exists(store.path_for_step(3)));
  EXPECT_EQ(read_checkpoint_meta(store.best_path()).global_step, 2);
}

// A small model's checkpoint store, saving any step.
struct SmallRun {
  explicit SmallRun(const fs::path& dir) : store(dir, 5) { meta.model = small_model(); }
  void save(int64_t global_step) {
    meta.global_step = global_step;
    store.save(net, opt, meta, false);
  }
  model::UNet net{small_model()};
  torch::optim::SGD opt{net->parameters(), 0.1};
  CheckpointStore store;
  CheckpointMeta meta;
};

TEST(Checkpoint, DamagedLatestFallsBackToTheNewestIntactOne) {
  testing::TempDir tmp;
  SmallRun run(tmp / "ckpt");
  for (int64_t step = 1; step <= 3; ++step) run.save(step);
  const CheckpointStore& store = run.store;
  EXPECT_TRUE(verify_checksum(store.path_for_step(3)).ok);
  EXPECT_EQ(store.latest_valid(), store.path_for_step(3));

  // Truncate the newest: the one before is used.
  const auto bytes = fs::file_size(store.path_for_step(3));
  fs::resize_file(store.path_for_step(3), bytes / 2);
  EXPECT_NE(verify_checksum(store.path_for_step(3)).problem.find("truncated"), std::string::npos);
  EXPECT_EQ(store.latest_valid(), store.path_for_step(2));

  // Flip a byte in the middle of that one: same size, wrong checksum.
  {
    std::fstream f(store.path_for_step(2), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(store.path_for_step(2)) / 2));
    f.put('\x5a');
  }
  EXPECT_NE(verify_checksum(store.path_for_step(2)).problem.find("checksum mismatch"),
            std::string::npos);
  EXPECT_EQ(store.latest_valid(), store.path_for_step(1));
}

// Sidecars written before the hash was xxHash name FNV-1a 64; runs started then must resume.
TEST(Checkpoint, SidecarsOfTheEarlierFnvFormatStillVerify) {
  testing::TempDir tmp;
  const fs::path file = tmp / "step-1.pt";
  std::string bytes;
  for (int i = 0; i < 3000; ++i) bytes += static_cast<char>(i * 31 % 251);
  std::ofstream(file, std::ios::binary) << bytes;
  uint64_t fnv = 1469598103934665603ULL;  // FNV-1a 64, written out here as the oracle
  for (const char c : bytes) fnv = (fnv ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  std::ostringstream sum;
  sum << "bytes=" << bytes.size() << "\nfnv1a64=" << std::hex << fnv << "\n";
  std::ofstream(file.string() + ".sum") << sum.str();
  EXPECT_TRUE(verify_checksum(file).ok) << verify_checksum(file).problem;
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put(static_cast<char>(bytes[100] ^ 1));
  }
  EXPECT_NE(verify_checksum(file).problem.find("checksum mismatch"), std::string::npos);
  // New sidecars carry XXH3-64 and verify the same way.
  write_checksum(file);
  EXPECT_TRUE(verify_checksum(file).ok);
  std::ifstream written(file.string() + ".sum");
  const std::string text((std::istreambuf_iterator<char>(written)), {});
  EXPECT_NE(text.find("xxh3_64="), std::string::npos) << text;
  EXPECT_EQ(text.find("fnv1a64="), std::string::npos) << text;
}

// Every reader of weights applies one rule (require_intact); a malformed sidecar is a failed
// verification that names the sidecar, never a crash, so --resume auto falls back past it.
TEST(Checkpoint, MalformedOrMissingSidecarsAreNamed) {
  testing::TempDir tmp;
  SmallRun run(tmp / "ckpt");
  for (int64_t step = 1; step <= 2; ++step) run.save(step);
  const CheckpointStore& store = run.store;
  const fs::path newest = store.path_for_step(2);
  const std::string sum = newest.string() + ".sum";
  EXPECT_NO_THROW(require_intact(newest));
  std::ofstream(sum) << "bytes=12abc\nxxh3_64=0\n";
  const Verification bad = verify_checksum(newest);
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.problem.find("checksum file '" + sum + "' is malformed (line 1: 'bytes=12abc')"),
            std::string::npos)
      << bad.problem;
  EXPECT_EQ(store.latest_valid(), store.path_for_step(1));
  try {
    require_intact(newest);
    FAIL() << "a malformed sidecar was accepted";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("checkpoint '" + newest.string() + "' is damaged"),
              std::string::npos);
  }
  std::ofstream(sum) << "bytes=5\n";
  EXPECT_NE(verify_checksum(newest).problem.find("no xxh3_64= line"), std::string::npos);
  // No sidecar at all (an exported file): loads, with a warning.
  fs::remove(sum);
  EXPECT_NO_THROW(require_intact(newest));
  EXPECT_THROW(require_intact(tmp / "absent.pt"), CheckpointError);
}

// A checkpoint write killed half-way leaves "<file>.tmp": the next save removes it.
TEST(Checkpoint, LeftoverTempFilesAreRemovedByTheNextSave) {
  testing::TempDir tmp;
  SmallRun run(tmp / "ckpt");
  const CheckpointStore& store = run.store;
  fs::create_directories(store.dir());
  const fs::path leftover = store.path_for_step(7).string() + ".tmp";
  std::ofstream(leftover) << std::string(1000, 'x');
  run.save(8);
  EXPECT_FALSE(fs::exists(leftover));
  EXPECT_TRUE(verify_checksum(store.path_for_step(8)).ok);
}

TEST(Checkpoint, FailedWriteFailsClearlyAndKeepsEarlierOnes) {
  testing::TempDir tmp;
  model::UNet net(small_model());
  torch::optim::SGD opt(net->parameters(), 0.1);
  CheckpointStore store(tmp / "ckpt", 5);
  CheckpointMeta meta;
  meta.model = small_model();
  meta.global_step = 1;
  store.save(net, opt, meta, false);
  // The write of step 2 fails half-way (its temp path is taken by a folder, as a full disk or a
  // read-only folder would make it fail): a clear error, and step 1 stays the latest.
  fs::create_directories(store.path_for_step(2).string() + ".tmp/blocker");
  meta.global_step = 2;
  try {
    store.save(net, opt, meta, false);
    FAIL() << "the save should have failed";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write '" + store.path_for_step(2).string()),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("earlier checkpoints are untouched"), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(store.path_for_step(2)));
  EXPECT_EQ(store.latest(), store.path_for_step(1));
  EXPECT_EQ(store.latest_valid(), store.path_for_step(1));
}

TEST(GradientCheck, NaNAndInfinityAnywhereButNotLargeFiniteSums) {
  const float max = std::numeric_limits<float>::max();
  const auto fine = torch::randn({3, 4});
  EXPECT_TRUE(all_finite({fine, torch::Tensor(), torch::zeros({0})}));
  EXPECT_TRUE(all_finite({}));
  for (const float bad :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
        -std::numeric_limits<float>::infinity()}) {
    auto g = torch::randn({5, 7});
    g[4][6] = bad;
    EXPECT_FALSE(all_finite({fine, g})) << bad;
  }
  // Finite values whose float sum overflows, and infinities of both signs whose sum is NaN.
  EXPECT_TRUE(all_finite({torch::full({4}, max)}));
  EXPECT_FALSE(all_finite({torch::tensor(
      {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()})}));
}

// Several steps with and without weight decay (a parameter without gradient is left alone),
// then the state saved by FusedAdam continues in LibTorch's Adam and the other way round.
// The fused Adam loop's portable code and its AVX2 code give the same bits (Note [CPU kernel
// dispatch] in kernels/cpu_kernels.h).
TEST(FusedAdam, PortableCodeGivesTheSameBitsAsAvx2) {
  if (!kernels::kCpuKernelsBuilt) GTEST_SKIP() << "dunet was built with DUNET_CPU_KERNELS=OFF";
  kernels::set_portable_cpu_kernels(false);
  if (!kernels::cpu_kernels_use_avx2()) GTEST_SKIP() << "this CPU has no AVX2";
  auto run = [] {
    torch::manual_seed(13);
    std::vector<torch::Tensor> params{torch::randn({1000}).requires_grad_(),
                                      torch::randn({7, 3, 3}).requires_grad_()};
    FusedAdam adam(params, torch::optim::AdamOptions(1e-2).weight_decay(0.01));
    for (int step = 0; step < 3; ++step) {
      adam.zero_grad();
      (params[0].sin().sum() + params[1].pow(2).sum()).backward();
      adam.step();
    }
    return params;
  };
  const auto avx2 = run();
  kernels::set_portable_cpu_kernels(true);
  const auto portable = run();
  kernels::set_portable_cpu_kernels(false);
  for (size_t i = 0; i < avx2.size(); ++i) EXPECT_TRUE(torch::equal(avx2[i], portable[i])) << i;
}

TEST(FusedAdam, SameUpdatesAndStateAsAdam) {
  if (!kernels::kCpuKernelsBuilt) GTEST_SKIP() << "dunet was built with DUNET_CPU_KERNELS=OFF";
  for (const double decay : {0.0, 0.01}) {
    torch::manual_seed(11);
    auto make = [] {
      std::vector<torch::Tensor> params{torch::randn({37}), torch::randn({4, 3, 3, 3}),
                                        torch::randn({5})};
      for (auto& p : params) p.requires_grad_();
      return params;
    };
    auto fused_params = make();
    std::vector<torch::Tensor> plain_params;
    for (const auto& p : fused_params) plain_params.push_back(p.detach().clone().requires_grad_());
    const auto options = torch::optim::AdamOptions(1e-2).weight_decay(decay);
    FusedAdam fused(fused_params, options);
    torch::optim::Adam plain(plain_params, options);
    ASSERT_TRUE(fused.fusable());
    auto step_both = [&](torch::optim::Optimizer& a, torch::optim::Optimizer& b) {
      for (size_t i = 0; i + 1 < fused_params.size(); ++i) {  // the last has no gradient
        const auto g = torch::randn(fused_params[i].sizes());
        fused_params[i].mutable_grad() = g.clone();
        plain_params[i].mutable_grad() = g.clone();
      }
      a.step();
      b.step();
    };
    auto expect_same = [&](const char* when) {
      for (size_t i = 0; i < fused_params.size(); ++i) {
        EXPECT_LT((fused_params[i] - plain_params[i]).abs().max().item<double>(), 1e-6)
            << when << ", parameter " << i << ", decay " << decay;
      }
    };
    const int64_t version = fused_params[0]._version();
    for (int step = 0; step < 5; ++step) step_both(fused, plain);
    expect_same("after 5 steps");
    // Updates through raw pointers still move the version counters, which the UNet's folded
    // inference weights are keyed on.
    EXPECT_GT(fused_params[0]._version(), version);
    EXPECT_TRUE(torch::equal(fused_params[2], plain_params[2]));
    // Swap the states: each optimizer continues from the other's saved state.
    std::stringstream fused_state, plain_state;
    torch::serialize::OutputArchive fused_out, plain_out;
    fused.save(fused_out);
    plain.save(plain_out);
    fused_out.save_to(fused_state);
    plain_out.save_to(plain_state);
    FusedAdam fused_resumed(fused_params, options);
    torch::optim::Adam plain_resumed(plain_params, options);
    torch::serialize::InputArchive fused_in, plain_in;
    plain_in.load_from(fused_state);
    fused_in.load_from(plain_state);
    plain_resumed.load(plain_in);
    fused_resumed.load(fused_in);
    for (int step = 0; step < 3; ++step) step_both(fused_resumed, plain_resumed);
    expect_same("after swapping states");
  }
  // Double parameters go to Adam::step.
  FusedAdam doubles({torch::randn({3}, torch::kDouble).requires_grad_()});
  EXPECT_FALSE(doubles.fusable());
}

TEST(LrSchedule, ValuesByHand) {
  TrainConfig c;
  c.learning_rate = 0.1;
  c.epochs = 10;
  c.lr_schedule = "cosine";
  EXPECT_DOUBLE_EQ(learning_rate_at(c, 0), 0.1);
  EXPECT_NEAR(learning_rate_at(c, 5), 0.05, 1e-12);
  EXPECT_NEAR(learning_rate_at(c, 10), 0.0, 1e-12);
  c.lr_schedule = "step";
  c.step_epochs = 3;
  c.step_gamma = 0.5;
  EXPECT_DOUBLE_EQ(learning_rate_at(c, 2.9), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate_at(c, 6.0), 0.025);
  c.lr_schedule = "constant";
  c.warmup_epochs = 2;
  EXPECT_LT(learning_rate_at(c, 0), 0.001);
  EXPECT_NEAR(learning_rate_at(c, 1), 0.05, 1e-4);
  EXPECT_DOUBLE_EQ(learning_rate_at(c, 2), 0.1);
}

// GradScaler's rule by hand: x0.5 at an overflow (and the count restarts), x2 after
// kGrowthInterval good steps in a row; gradients are divided by exactly the scale.
TEST(LossScaler, BacksOffOnOverflowGrowsAfterTheIntervalAndUnscalesExactly) {
  LossScaler off("auto", "bf16", 1024.0);
  EXPECT_FALSE(off.enabled());
  EXPECT_EQ(off.loss_factor(), 1.0);
  EXPECT_TRUE(LossScaler("auto", "fp16", 1024.0).enabled());
  LossScaler scaler("dynamic", "fp32", 1024.0);
  ASSERT_TRUE(scaler.enabled());
  EXPECT_EQ(scaler.loss_factor(), 1024.0);
  scaler.update(false);
  EXPECT_EQ(scaler.state().scale, 512.0);
  for (int64_t i = 0; i + 1 < LossScaler::kGrowthInterval; ++i) scaler.update(true);
  EXPECT_EQ(scaler.state().scale, 512.0);
  EXPECT_EQ(scaler.state().good_steps, LossScaler::kGrowthInterval - 1);
  scaler.update(false);  // an overflow restarts the count
  EXPECT_EQ(scaler.state().scale, 256.0);
  EXPECT_EQ(scaler.state().good_steps, 0);
  for (int64_t i = 0; i < LossScaler::kGrowthInterval; ++i) scaler.update(true);
  EXPECT_EQ(scaler.state().scale, 512.0);
  EXPECT_EQ(scaler.state().good_steps, 0);

  torch::Tensor p = torch::zeros({3}, torch::requires_grad());
  p.mutable_grad() = torch::tensor({512.0f, -1024.0f, 3.0f});
  scaler.unscale({p});
  EXPECT_TRUE(torch::equal(p.grad(), torch::tensor({1.0f, -2.0f, 3.0f / 512.0f})));
  scaler.restore({8.0, 7});
  EXPECT_EQ(scaler.loss_factor(), 8.0);
  EXPECT_EQ(scaler.state().good_steps, 7);

  EXPECT_THROW(LossScaler("off", "fp16", 1024.0), ConfigError);  // fp16 must scale
  EXPECT_THROW(LossScaler("sometimes", "fp32", 1024.0), ConfigError);
  EXPECT_THROW(LossScaler("dynamic", "fp32", 0.5), ConfigError);
}

// A tiny but real training set and run config.
class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    launcher::setup_logging(0, 1);
    data::SynthOptions synth;
    synth.out_dir = tmp_ / "png";
    synth.count = 10;
    synth.width = synth.height = 40;
    data::write_synthetic_dataset(synth);
    data::PrepareOptions prep;
    prep.out_dir = tmp_ / "shards";
    prep.num_shards = 2;
    prep.val_fraction = 0.2;
    data::prepare_shards(data::scan_dsb_layout(tmp_ / "png"), prep);
    config_.data.train = {(tmp_ / "shards" / "train-*.h5").string()};
    config_.data.val = {(tmp_ / "shards" / "val-*.h5").string()};
    config_.data.patch_size = 32;
    config_.model = small_model();
    config_.train.epochs = 4;
    config_.train.batch_size = 2;
    config_.train.threads = 1;  // bitwise reproducible
    config_.train.lr_schedule = "cosine";
    config_.checkpoint.keep_last = 10;
  }

  config::RunConfig run_config(const std::string& name) {
    config::RunConfig c = config_;
    c.run.output_dir = (tmp_ / name).string();
    return c;
  }

  model::UNet final_model(const std::string& name) {
    model::UNet net(small_model());
    const auto latest = CheckpointStore(tmp_ / name / "checkpoints", 10).latest();
    EXPECT_TRUE(latest.has_value());
    load_checkpoint(*latest, net, nullptr);
    return net;
  }

  testing::TempDir tmp_;
  config::RunConfig config_;
  launcher::LocalCommunicator comm_;
};

TEST_F(TrainerTest, ResumeEndsWithTheSameWeightsAsAnUninterruptedRun) {
  const FitResult full =
      Trainer(config::trainer_settings(run_config("full")), comm_).fit({"never"});
  EXPECT_EQ(full.epochs_completed, 4);
  EXPECT_EQ(full.global_step, 16);  // 8 training samples / batch 2 = 4 steps per epoch

  // Interrupted at the end of epoch 2, and mid-way through epoch 3.
  for (const int64_t stop : {8, 10}) {
    const std::string name = "stop" + std::to_string(stop);
    const FitResult first =
        Trainer(config::trainer_settings(run_config(name)), comm_).fit({"never", stop});
    EXPECT_EQ(first.global_step, stop);
    const FitResult rest = Trainer(config::trainer_settings(run_config(name)), comm_).fit({"auto"});
    EXPECT_EQ(rest.global_step, 16);
    EXPECT_EQ(rest.epochs_completed, 4);
    SCOPED_TRACE(name);
    model::UNet a = final_model("full"), b = final_model(name);
    expect_same_state(*a, *b);
    EXPECT_DOUBLE_EQ(rest.last_iou, full.last_iou);
  }
}

// Every checkpoint records what computed it: the process's numerics report and communicator.
// A run with model.conv_path = "direct" says so, and trains to the same verdicts.
TEST_F(TrainerTest, CheckpointsRecordTheNumericsTheyWereTrainedWith) {
  auto c = run_config("numerics");
  c.train.epochs = 1;
  c.model.conv_path = "direct";
  c.train.cpu_allocator = "system";
  Trainer(config::trainer_settings(c), comm_).fit({"never"});
  const auto latest = CheckpointStore(tmp_ / "numerics" / "checkpoints", 10).latest();
  ASSERT_TRUE(latest.has_value());
  const std::string recorded = read_checkpoint_meta(*latest).numerics;
  EXPECT_EQ(recorded, kernels::current_numerics().line() + " comm=local") << recorded;
  const kernels::NumericsReport now = kernels::current_numerics();
  EXPECT_EQ(now.get("conv_path").rfind("direct", 0), 0u) << recorded;
  EXPECT_EQ(now.get("cpu_allocator").rfind("system", 0), 0u) << recorded;
  kernels::apply_numerics({});
}

// Same seed, same world size, CPU: bitwise identical losses and weights.
TEST_F(TrainerTest, TwoRunsWithTheSameSeedAreBitwiseIdentical) {
  auto a = run_config("a"), b = run_config("b");
  a.train.epochs = b.train.epochs = 2;
  const FitResult first = Trainer(config::trainer_settings(a), comm_).fit({"never"});
  const FitResult second = Trainer(config::trainer_settings(b), comm_).fit({"never"});
  EXPECT_EQ(first.state_digest, second.state_digest);
  EXPECT_EQ(first.last_loss, second.last_loss);
  EXPECT_EQ(first.last_iou, second.last_iou);
  auto c = run_config("c");
  c.train.epochs = 2;
  c.run.seed = 43;
  EXPECT_NE(Trainer(config::trainer_settings(c), comm_).fit({"never"}).state_digest,
            first.state_digest);
}

// train.precision = "bf16": the forward pass runs under autocast, the run learns, its
// checkpoints say so and carry the loss scale, and a resume ends bitwise where an
// uninterrupted run ends (with dynamic loss scaling on, so the scaler's state must travel).
TEST_F(TrainerTest, Bf16TrainingLearnsRecordsItsPrecisionAndResumesExactly) {
  auto mixed = [&](const std::string& name) {
    auto c = run_config(name);
    c.train.precision = "bf16";
    c.train.loss_scaling = "dynamic";
    c.train.initial_loss_scale = 1024.0;
    return c;
  };
  auto one_epoch = mixed("bf16-1");
  one_epoch.train.epochs = 1;
  const FitResult first_epoch = Trainer(config::trainer_settings(one_epoch), comm_).fit({"never"});
  const FitResult full = Trainer(config::trainer_settings(mixed("bf16")), comm_).fit({"never"});
  EXPECT_EQ(full.global_step, 16);
  EXPECT_LT(full.last_loss, first_epoch.last_loss);  // it learns
  const auto latest = CheckpointStore(tmp_ / "bf16" / "checkpoints", 10).latest();
  ASSERT_TRUE(latest.has_value());
  const CheckpointMeta meta = read_checkpoint_meta(*latest);
  EXPECT_NE(meta.numerics.find("precision=bf16"), std::string::npos) << meta.numerics;
  EXPECT_EQ(meta.loss_scale, 1024.0);  // 16 finite steps: no overflow, no growth yet
  EXPECT_EQ(meta.loss_scale_good_steps, 16);
  EXPECT_NE(describe_checkpoint(*latest).find("loss_scale       1024"), std::string::npos);

  const FitResult stopped =
      Trainer(config::trainer_settings(mixed("bf16-stop")), comm_).fit({"never", 10});
  EXPECT_EQ(stopped.global_step, 10);
  const FitResult rest = Trainer(config::trainer_settings(mixed("bf16-stop")), comm_).fit({"auto"});
  EXPECT_EQ(rest.global_step, 16);
  EXPECT_EQ(rest.state_digest, full.state_digest);
  EXPECT_DOUBLE_EQ(rest.last_iou, full.last_iou);
  const auto resumed = CheckpointStore(tmp_ / "bf16-stop" / "checkpoints", 10).latest();
  ASSERT_TRUE(resumed.has_value());
  EXPECT_EQ(read_checkpoint_meta(*resumed).loss_scale_good_steps, 16);
  kernels::apply_numerics({});
}

// train.precision = "auto" is resolved when training starts: the run computes in, and its
// checkpoint records, the precision auto_precision gives this machine, never "auto".
TEST_F(TrainerTest, AutoPrecisionIsResolvedAndRecordedInTheCheckpoint) {
  auto c = run_config("auto-precision");
  c.train.epochs = 1;
  c.train.precision = "auto";
  const FitResult result = Trainer(config::trainer_settings(c), comm_).fit({"never"});
  EXPECT_EQ(result.global_step, 4);  // one epoch
  const std::string expected =
      kernels::precision_name(kernels::auto_precision(c10::DeviceType::CPU));
  const auto latest = CheckpointStore(tmp_ / "auto-precision" / "checkpoints", 10).latest();
  ASSERT_TRUE(latest.has_value());
  const std::string numerics = read_checkpoint_meta(*latest).numerics;
  EXPECT_NE(numerics.find("precision=" + expected + " "), std::string::npos) << numerics;
  EXPECT_EQ(numerics.find("precision=auto"), std::string::npos) << numerics;
  kernels::apply_numerics({});
}

// Gradients of global steps [first, first + count) become NaN while the loss stays finite (the
// gradient of sqrt at 0 times 0), as when float16 gradients overflow.
Trainer::LossHookForTesting nan_gradients_for_steps(int64_t first, int64_t count) {
  return [first, count](int64_t step, torch::Tensor loss) {
    if (step < first || step >= first + count) return loss;
    return loss + torch::sqrt(loss - loss);
  };
}

// With loss scaling, steps whose gradients overflow are skipped and halve the scale without
// counting as bad steps (max_bad_steps = 1 would stop the run at the first); without it, the
// same steps are bad steps. Closed form: 3 overflows from 1024 leave 128, and the 3 steps
// after the last overflow are the good steps since.
TEST_F(TrainerTest, OverflowingGradientsHalveTheLossScaleWithoutStoppingTheRun) {
  auto c = run_config("overflow");
  c.train.epochs = 2;
  c.train.precision = "bf16";
  c.train.loss_scaling = "dynamic";
  c.train.initial_loss_scale = 1024.0;
  c.train.max_bad_steps = 1;
  Trainer scaled(config::trainer_settings(c), comm_);
  scaled.set_loss_hook_for_testing(nan_gradients_for_steps(3, 3));
  const FitResult result = scaled.fit({"never"});
  EXPECT_EQ(result.global_step, 8);
  const auto latest = CheckpointStore(tmp_ / "overflow" / "checkpoints", 10).latest();
  ASSERT_TRUE(latest.has_value());
  const CheckpointMeta meta = read_checkpoint_meta(*latest);
  EXPECT_EQ(meta.loss_scale, 128.0);
  EXPECT_EQ(meta.loss_scale_good_steps, 3);
  model::UNet net = final_model("overflow");
  for (const auto& p : net->parameters()) ASSERT_TRUE(torch::isfinite(p).all().item<bool>());

  auto unscaled = run_config("unscaled");
  unscaled.train.epochs = 2;
  unscaled.train.max_bad_steps = 1;
  Trainer plain(config::trainer_settings(unscaled), comm_);
  plain.set_loss_hook_for_testing(nan_gradients_for_steps(3, 3));
  EXPECT_THROW(plain.fit({"never"}), dunet::Error);
  kernels::apply_numerics({});
}

// float16 needs CUDA; the refusal names the key and what to use instead.
TEST_F(TrainerTest, Fp16OnTheCpuIsRefusedByName) {
  auto c = run_config("fp16");
  c.train.precision = "fp16";
  c.dist.device = "cpu";
  try {
    Trainer(config::trainer_settings(c), comm_);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("train.precision = \"fp16\" needs a CUDA device"), std::string::npos)
        << message;
  }
  EXPECT_FALSE(fs::exists(tmp_ / "fp16" / "config.toml"));
  kernels::apply_numerics({});
}

// The loss of global steps [first, first + count) becomes NaN, through the trainer's test seam.
Trainer::LossHookForTesting nan_loss_for_steps(int64_t first, int64_t count) {
  return [first, count](int64_t step, torch::Tensor loss) {
    if (step < first || step >= first + count) return loss;
    return loss * std::numeric_limits<double>::quiet_NaN();
  };
}

TEST_F(TrainerTest, NonFiniteStepsAreSkippedAndTooManyStopTheRun) {
  auto c = run_config("nan");
  c.train.epochs = 2;
  c.train.max_bad_steps = 3;
  Trainer survivor(config::trainer_settings(c), comm_);
  survivor.set_loss_hook_for_testing(nan_loss_for_steps(3, 2));  // skipped, training goes on
  const FitResult survived = survivor.fit({"never"});
  EXPECT_EQ(survived.global_step, 8);
  EXPECT_TRUE(std::isfinite(survived.last_loss));
  model::UNet net = final_model("nan");
  for (const auto& p : net->parameters()) ASSERT_TRUE(torch::isfinite(p).all().item<bool>());

  auto d = run_config("diverged");
  d.train.epochs = 2;
  d.train.max_bad_steps = 3;
  try {
    Trainer diverging(config::trainer_settings(d), comm_);
    diverging.set_loss_hook_for_testing(nan_loss_for_steps(6, 100));  // after the step-4 checkpoint
    diverging.fit({"never"});
    FAIL() << "a diverged run must stop";
  } catch (const dunet::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("training diverged: 3 steps in a row"), std::string::npos) << message;
    EXPECT_NE(message.find("step-000000004.pt"), std::string::npos) << message;
  }
  // metrics.jsonl stays valid JSON lines: the NaN loss of epoch 1 is written as null.
  std::ifstream metrics(tmp_ / "nan" / "metrics.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(metrics, line)) {
    ++lines;
    EXPECT_EQ(line.find("nan"), std::string::npos) << line;
    EXPECT_EQ(line.rfind("{\"epoch\":", 0), 0u) << line;
  }
  EXPECT_EQ(lines, 2);
  const auto latest = CheckpointStore(tmp_ / "diverged" / "checkpoints", 10).latest_valid();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(read_checkpoint_meta(*latest).global_step, 4);  // the last good one, intact
}

TEST_F(TrainerTest, NeverResumeRefusesAFolderWithCheckpoints) {
  auto c = run_config("again");
  c.train.epochs = 1;
  Trainer(config::trainer_settings(c), comm_).fit({"never"});
  try {
    Trainer(config::trainer_settings(c), comm_).fit({"never"});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("already holds checkpoints"), std::string::npos);
  }
}

TEST_F(TrainerTest, WrongChannelsAndMissingShardsAreNamed) {
  auto c = run_config("bad");
  c.model.in_channels = 1;
  EXPECT_THROW(Trainer(config::trainer_settings(c), comm_), ConfigError);
  c = run_config("bad");
  c.data.train = {(tmp_ / "nowhere" / "*.h5").string()};
  EXPECT_THROW(Trainer(config::trainer_settings(c), comm_), DataError);
}

// validation.tile_size 0 (the default) validates in windows of data.patch_size: the 40x40
// validation images are larger than the 32-pixel patches, so the windows tile them, and with
// InstanceNorm each window's statistics depend on its size (16- and 64-pixel windows gave
// other validation IoUs here than 32-pixel ones, so the equality below says something).
TEST_F(TrainerTest, ValidationWindowsDefaultToThePatchSize) {
  auto by_default = run_config("default"), explicit_patch = run_config("explicit");
  for (auto* c : {&by_default, &explicit_patch}) {
    c->train.epochs = 1;
    c->model.norm = "instance";
  }
  ASSERT_EQ(by_default.validation.tile_size, 0);
  explicit_patch.validation.tile_size = explicit_patch.data.patch_size;
  const FitResult a = Trainer(config::trainer_settings(by_default), comm_).fit({"never"});
  const FitResult b = Trainer(config::trainer_settings(explicit_patch), comm_).fit({"never"});
  EXPECT_EQ(a.state_digest, b.state_digest);
  EXPECT_EQ(a.last_iou, b.last_iou);
}

TEST_F(TrainerTest, PredictorGivesAMaskOfTheInputSize) {
  auto c = run_config("infer");
  c.train.epochs = 1;
  const FitResult r = Trainer(config::trainer_settings(c), comm_).fit({"never"});
  const infer::Predictor predictor(r.last_checkpoint, 1);
  EXPECT_EQ(predictor.in_channels(), 3);
  EXPECT_EQ(predictor.summary().epoch, 1);
  // Windows default to the training patches' size (what GroupNorm normalised over); an
  // explicit size wins.
  EXPECT_EQ(predictor.trained_patch_size(), c.data.patch_size);
  EXPECT_EQ(predictor.window_size({}), c.data.patch_size);
  EXPECT_EQ(predictor.window_size({0.5, 96}), 96);
  for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{{45, 61}, {300, 20}}) {
    data::Image image{h, w, 3, std::vector<uint8_t>(static_cast<size_t>(h * w * 3), 80)};
    const data::Image mask = predictor.predict_mask(image, {0.5, 64, h > 100});
    EXPECT_EQ(mask.height, h);
    EXPECT_EQ(mask.width, w);
    EXPECT_EQ(mask.channels, 1);
    for (const auto v : mask.pixels) ASSERT_LE(v, 1);
  }
}

}  // namespace
}  // namespace dunet::trainer
