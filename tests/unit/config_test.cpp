// The config loader: defaults, overrides, and one clear message per bad key or value.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/loader.h"
#include "config/writer.h"
#include "core/error.h"

namespace dunet::config {
namespace {

std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    load_config_text(text, "c.toml", overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ConfigLoader, EmptyFileGivesDefaults) {
  const RunConfig c = load_config_text("", "c.toml");
  EXPECT_EQ(c.model.base_channels, 64);
  EXPECT_EQ(c.model.depth, 4);
  EXPECT_EQ(c.train.optimizer, "adam");
  EXPECT_EQ(c.dist.bucket_mb, 25);
  EXPECT_TRUE(c.data.train.empty());
}

TEST(ConfigLoader, ReadsEveryKindOfValue) {
  const RunConfig c = load_config_text(R"(
[run]
output_dir = "runs/x"
[data]
train = ["a/*.h5", "b/*.h5"]
val = "v/*.h5"
augment = false
[train]
epochs = 7
learning_rate = 3
optimizer = "sgd"
)",
                                       "c.toml");
  EXPECT_EQ(c.run.output_dir, "runs/x");
  EXPECT_EQ(c.data.train, (std::vector<std::string>{"a/*.h5", "b/*.h5"}));
  EXPECT_EQ(c.data.val, (std::vector<std::string>{"v/*.h5"}));
  EXPECT_FALSE(c.data.augment);
  EXPECT_EQ(c.train.epochs, 7);
  EXPECT_DOUBLE_EQ(c.train.learning_rate, 3.0);  // an integer is accepted for a float key
  EXPECT_EQ(c.train.optimizer, "sgd");
}

TEST(ConfigLoader, UnknownKeyNamesLineAndSuggestion) {
  const std::string e = error_of("[train]\nepochs = 2\nlearning_rat = 0.1\n");
  EXPECT_NE(e.find("c.toml:3:16: train.learning_rat: unknown key (did you mean 'learning_rate'?)"),
            std::string::npos)
      << e;
}

TEST(ConfigLoader, UnknownSectionSuggestsNearest) {
  const std::string e = error_of("[trian]\nepochs = 2\n");
  EXPECT_NE(e.find("trian: unknown section (did you mean 'train'?)"), std::string::npos) << e;
}

TEST(ConfigLoader, WrongTypeNamesKeyLineAndExpectation) {
  const std::string e = error_of("[train]\n\nepochs = \"five\"\n");
  EXPECT_NE(e.find("c.toml:3:10: train.epochs: expected an integer, got a string ('five')"),
            std::string::npos)
      << e;
}

TEST(ConfigLoader, OutOfRangeAndBadChoice) {
  EXPECT_NE(error_of("[train]\nbatch_size = 0\n")
                .find("train.batch_size: expected an integer "
                      "between 1 and 65536, got 0"),
            std::string::npos);
  EXPECT_NE(error_of("[train]\nlearning_rate = -0.1\n").find("train.learning_rate"),
            std::string::npos);
  const std::string e = error_of("[train]\noptimizer = \"adamw\"\n");
  EXPECT_NE(e.find("expected one of adam | sgd, got \"adamw\" (did you mean 'adam'?)"),
            std::string::npos)
      << e;
}

TEST(ConfigLoader, ReportsAllProblemsAtOnce) {
  const std::string e = error_of("[train]\nepochs = 0\nloss = \"l2\"\n[model]\ndepht = 3\n");
  EXPECT_NE(e.find("3 problems"), std::string::npos) << e;
  EXPECT_NE(e.find("train.epochs"), std::string::npos);
  EXPECT_NE(e.find("train.loss"), std::string::npos);
  EXPECT_NE(e.find("model.depht: unknown key (did you mean 'depth'?)"), std::string::npos);
}

TEST(ConfigLoader, PatchSizeMustDivideByTwoToTheDepth) {
  const std::string e = error_of("[data]\npatch_size = 100\n[model]\ndepth = 4\n");
  EXPECT_NE(e.find("c.toml:2:14: data.patch_size: must be a multiple of 2^depth = 16"),
            std::string::npos)
      << e;
}

TEST(ConfigLoader, SyntaxErrorHasLineAndColumn) {
  const std::string e = error_of("[train]\nepochs = = 3\n");
  EXPECT_NE(e.find("c.toml:2:"), std::string::npos) << e;
  EXPECT_NE(e.find("TOML syntax error"), std::string::npos) << e;
}

TEST(ConfigLoader, OverridesTakeTomlOrPlainStrings) {
  const RunConfig c = load_config_text(
      "[train]\nepochs = 3\n", "c.toml",
      {"train.epochs=5", "run.output_dir=\"runs/a\"", "run.name=plain words", "data.val=[]"});
  EXPECT_EQ(c.train.epochs, 5);
  EXPECT_EQ(c.run.output_dir, "runs/a");
  EXPECT_EQ(c.run.name, "plain words");
  EXPECT_TRUE(c.data.val.empty());
}

TEST(ConfigLoader, BadOverrideIsNamedAsSuch) {
  EXPECT_NE(error_of("", {"train.epochs=zero"}).find("--set: train.epochs: expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of("", {"epochs=3"}).find("the key must be section.key"), std::string::npos);
  EXPECT_NE(error_of("", {"train.epochz=3"}).find("did you mean 'epochs'"), std::string::npos);
}

TEST(ConfigLoader, MissingFileIsNamed) {
  try {
    load_config_file("/no/such/dir/c.toml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'/no/such/dir/c.toml': no such file"), std::string::npos);
  }
}

TEST(ConfigWriter, DefaultsRoundTripThroughTheLoader) {
  RunConfig original;
  original.data.train = {"x/train-*.h5"};
  original.train.learning_rate = 3e-4;
  original.run.name = "with \"quotes\"";
  const std::string text = to_toml(original);
  const RunConfig again = load_config_text(text, "written.toml");
  EXPECT_EQ(to_toml(again), text);
  EXPECT_EQ(again.data.train, original.data.train);
  EXPECT_DOUBLE_EQ(again.train.learning_rate, 3e-4);
  EXPECT_EQ(again.run.name, original.run.name);
  EXPECT_NE(text.find("# peak learning rate"), std::string::npos);
}

// Every shipped example config must load; a config that drifts from the code fails here.
TEST(ConfigFiles, EveryFileInConfigsLoads) {
  int loaded = 0;
  for (const auto& entry : std::filesystem::directory_iterator(DUNET_SOURCE_DIR "/configs")) {
    if (entry.path().extension() != ".toml") continue;
    SCOPED_TRACE(entry.path().string());
    const RunConfig c = load_config_file(entry.path());
    EXPECT_FALSE(c.data.train.empty());
    ++loaded;
  }
  EXPECT_GE(loaded, 2);
}

}  // namespace
}  // namespace dunet::config
