#include "checkpoint/format.h"

#include <cstdio>
#include <fstream>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include "checkpoint/durable_file.h"
#include "core/durable_write.h"
#include "core/error.h"

namespace dunet::checkpoint {

namespace fs = std::filesystem;

namespace {

constexpr char kLatestMarker[] = "latest";
constexpr char kMagicKey[] = "dunet_checkpoint";

void write_meta(torch::serialize::OutputArchive& archive, const CheckpointMeta& m) {
  archive.write(kMagicKey, c10::IValue(m.version));
  archive.write("epoch", c10::IValue(m.epoch));
  archive.write("step_in_epoch", c10::IValue(m.step_in_epoch));
  archive.write("samples_in_epoch", c10::IValue(m.samples_in_epoch));
  archive.write("global_step", c10::IValue(m.global_step));
  archive.write("seed", c10::IValue(m.seed));
  archive.write("world_size", c10::IValue(m.world_size));
  archive.write("best_iou", c10::IValue(m.best_iou));
  archive.write("last_iou", c10::IValue(m.last_iou));
  archive.write("last_dice", c10::IValue(m.last_dice));
  archive.write("last_loss", c10::IValue(m.last_loss));
  archive.write("config_toml", c10::IValue(m.config_toml));
  archive.write("model.in_channels", c10::IValue(m.model.in_channels));
  archive.write("model.out_channels", c10::IValue(m.model.out_channels));
  archive.write("model.base_channels", c10::IValue(m.model.base_channels));
  archive.write("model.depth", c10::IValue(m.model.depth));
  archive.write("model.norm", c10::IValue(m.model.norm));
  archive.write("norm.mean", c10::IValue(m.mean));
  archive.write("norm.std", c10::IValue(m.std));
  archive.write("data.patch_size", c10::IValue(m.patch_size));
  archive.write("numerics", c10::IValue(m.numerics));
  archive.write("loss_scale", c10::IValue(m.loss_scale));
  archive.write("loss_scale_good_steps", c10::IValue(m.loss_scale_good_steps));
}

int64_t read_int(torch::serialize::InputArchive& archive, const char* key) {
  c10::IValue v;
  archive.read(key, v);
  return v.toInt();
}

double read_double(torch::serialize::InputArchive& archive, const char* key) {
  c10::IValue v;
  archive.read(key, v);
  return v.toDouble();
}

std::string read_string(torch::serialize::InputArchive& archive, const char* key) {
  c10::IValue v;
  archive.read(key, v);
  return v.toStringRef();
}

std::vector<double> read_doubles(torch::serialize::InputArchive& archive, const char* key) {
  c10::IValue v;
  archive.read(key, v);
  return v.toDoubleVector();
}

CheckpointMeta read_meta(torch::serialize::InputArchive& archive, const fs::path& path) {
  CheckpointMeta m;
  c10::IValue magic;
  if (!archive.try_read(kMagicKey, magic) || !magic.isInt()) {
    throw CheckpointError("'" + path.string() +
                          "' is a LibTorch archive but not a dunet "
                          "checkpoint (no '" +
                          kMagicKey + "' entry)");
  }
  m.version = magic.toInt();
  DUNET_CHECK(m.version == kCheckpointVersion, CheckpointError, "checkpoint '", path.string(),
              "' has format version ", m.version, "; this dunet reads version ",
              kCheckpointVersion);
  try {
    m.epoch = read_int(archive, "epoch");
    m.step_in_epoch = read_int(archive, "step_in_epoch");
    m.samples_in_epoch = read_int(archive, "samples_in_epoch");
    m.global_step = read_int(archive, "global_step");
    m.seed = read_int(archive, "seed");
    m.world_size = read_int(archive, "world_size");
    m.best_iou = read_double(archive, "best_iou");
    m.last_iou = read_double(archive, "last_iou");
    m.last_dice = read_double(archive, "last_dice");
    m.last_loss = read_double(archive, "last_loss");
    m.config_toml = read_string(archive, "config_toml");
    m.model.in_channels = read_int(archive, "model.in_channels");
    m.model.out_channels = read_int(archive, "model.out_channels");
    m.model.base_channels = read_int(archive, "model.base_channels");
    m.model.depth = read_int(archive, "model.depth");
    m.model.norm = read_string(archive, "model.norm");
    m.mean = read_doubles(archive, "norm.mean");
    m.std = read_doubles(archive, "norm.std");
    c10::IValue patch_size;  // absent from checkpoints written before it was recorded
    if (archive.try_read("data.patch_size", patch_size) && patch_size.isInt()) {
      m.patch_size = patch_size.toInt();
    }
    c10::IValue numerics;  // absent from checkpoints written before it was recorded
    if (archive.try_read("numerics", numerics) && numerics.isString()) {
      m.numerics = numerics.toStringRef();
    }
    c10::IValue scale, good_steps;  // absent before mixed precision
    if (archive.try_read("loss_scale", scale) && scale.isDouble()) m.loss_scale = scale.toDouble();
    if (archive.try_read("loss_scale_good_steps", good_steps) && good_steps.isInt()) {
      m.loss_scale_good_steps = good_steps.toInt();
    }
  } catch (const std::exception& e) {  // c10::Error or the JIT's attribute errors
    throw CheckpointError("checkpoint '" + path.string() +
                          "' is incomplete or damaged: " + e.what());
  }
  return m;
}

torch::serialize::InputArchive open_archive(const fs::path& path) {
  DUNET_CHECK(fs::is_regular_file(path), CheckpointError, "checkpoint '", path.string(),
              "' does not exist");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string());
  } catch (const std::exception&) {
    throw CheckpointError("'" + path.string() +
                          "' is not a dunet checkpoint (not a LibTorch archive, or truncated)");
  }
  return archive;
}

void check_same(const fs::path& path, const char* field, int64_t saved, int64_t current) {
  DUNET_CHECK(saved == current, CheckpointError, "checkpoint '", path.string(),
              "' was trained with ", field, " = ", saved, " but this model has ", field, " = ",
              current, "; use a matching config or another checkpoint");
}

}  // namespace

void save_checkpoint(const fs::path& path, model::UNet& model, torch::optim::Optimizer* optimizer,
                     const CheckpointMeta& meta) {
  torch::serialize::OutputArchive archive;
  write_meta(archive, meta);
  torch::serialize::OutputArchive model_archive;
  model->save(model_archive);
  archive.write("model", model_archive);
  if (optimizer != nullptr) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  // Serialised in memory first, so that a failing disk is met by our own writes (which name
  // the cause) and never inside LibTorch's zip writer (whose destructor may then abort).
  std::vector<char> bytes;
  archive.save_to([&bytes](const void* data, size_t n) {
    bytes.insert(bytes.end(), static_cast<const char*>(data), static_cast<const char*>(data) + n);
    return n;
  });
  write_durably(path, [&bytes](const fs::path& temp) {
    write_bytes(temp, std::string_view(bytes.data(), bytes.size()));
  });
  write_checksum(path, "format_version=" + std::to_string(meta.version) +
                           "\nglobal_step=" + std::to_string(meta.global_step) +
                           "\nworld_size=" + std::to_string(meta.world_size) + "\n");
}

CheckpointMeta read_checkpoint_meta(const fs::path& path) {
  auto archive = open_archive(path);
  return read_meta(archive, path);
}

CheckpointMeta load_checkpoint(const fs::path& path, model::UNet& model,
                               torch::optim::Optimizer* optimizer) {
  auto archive = open_archive(path);
  CheckpointMeta meta = read_meta(archive, path);
  const model::ModelConfig& now = model->config();
  check_same(path, "model.in_channels", meta.model.in_channels, now.in_channels);
  check_same(path, "model.out_channels", meta.model.out_channels, now.out_channels);
  check_same(path, "model.base_channels", meta.model.base_channels, now.base_channels);
  check_same(path, "model.depth", meta.model.depth, now.depth);
  DUNET_CHECK(meta.model.norm == now.norm, CheckpointError, "checkpoint '", path.string(),
              "' was trained with model.norm = ", meta.model.norm,
              " but this model has model.norm = ", now.norm);
  try {
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    model->load(model_archive);
    if (optimizer != nullptr) {
      torch::serialize::InputArchive optimizer_archive;
      archive.read("optimizer", optimizer_archive);
      optimizer->load(optimizer_archive);
    }
  } catch (const std::exception& e) {
    throw CheckpointError("cannot load checkpoint '" + path.string() +
                          "' into this model: " + e.what());
  }
  return meta;
}

CheckpointStore::CheckpointStore(fs::path dir, int64_t keep_last)
    : dir_(std::move(dir)), keep_last_(keep_last) {}

void CheckpointStore::remove_leftover_temp_files() const {
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) return;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    if (entry.path().extension() != ".tmp" || !entry.is_regular_file()) continue;
    spdlog::warn("removing '{}', left by a checkpoint write that did not finish",
                 entry.path().string());
    fs::remove(entry.path(), ec);
  }
}

fs::path CheckpointStore::path_for_step(int64_t global_step) const {
  char name[32];
  std::snprintf(name, sizeof(name), "step-%09lld.pt", static_cast<long long>(global_step));
  return dir_ / name;
}

fs::path CheckpointStore::save(model::UNet& model, torch::optim::Optimizer& optimizer,
                               const CheckpointMeta& meta, bool is_best) {
  remove_leftover_temp_files();
  const fs::path path = path_for_step(meta.global_step);
  save_checkpoint(path, model, &optimizer, meta);
  if (is_best) {
    write_durably(best_path(), [&path](const fs::path& temp) {
      fs::copy_file(path, temp, fs::copy_options::overwrite_existing);
    });
    write_checksum(best_path());
  }
  const std::string marker = path.filename().string() + "\n";
  write_durably(dir_ / kLatestMarker,
                [&marker](const fs::path& temp) { write_bytes(temp, marker); });
  rotate(path);
  return path;
}

std::optional<fs::path> CheckpointStore::latest() const {
  std::ifstream in(dir_ / kLatestMarker);
  std::string name;
  if (!in || !std::getline(in, name) || name.empty()) return std::nullopt;
  const fs::path path = dir_ / name;
  DUNET_CHECK(fs::exists(path), CheckpointError, "'", (dir_ / kLatestMarker).string(), "' names '",
              name, "', which does not exist");
  return path;
}

std::optional<fs::path> CheckpointStore::latest_valid() const {
  std::vector<fs::path> candidates;
  std::error_code ignored;
  std::ifstream in(dir_ / kLatestMarker);
  std::string name;
  if (in && std::getline(in, name) && !name.empty()) candidates.push_back(dir_ / name);
  std::vector<fs::path> steps;
  for (const auto& entry : fs::directory_iterator(dir_, ignored)) {
    const std::string file = entry.path().filename().string();
    if (file.rfind("step-", 0) == 0 && entry.path().extension() == ".pt") {
      steps.push_back(entry.path());
    }
  }
  std::sort(steps.rbegin(), steps.rend());  // newest first
  candidates.insert(candidates.end(), steps.begin(), steps.end());
  for (const auto& path : candidates) {
    const Verification check = verify_checksum(path);
    if (check.ok) return path;
    if (fs::exists(path)) {
      spdlog::warn("checkpoint '{}' is damaged ({}); trying an older one", path.string(),
                   check.problem);
    }
  }
  return std::nullopt;
}

bool CheckpointStore::empty() const {
  if (!fs::is_directory(dir_)) return true;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    if (entry.path().extension() == ".pt") return false;
  }
  return true;
}

void CheckpointStore::rotate(const fs::path& keep) {
  std::vector<fs::path> steps;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("step-", 0) == 0 && entry.path().extension() == ".pt") {
      steps.push_back(entry.path());
    }
  }
  std::sort(steps.begin(), steps.end());  // zero-padded names sort by step
  const auto excess = static_cast<int64_t>(steps.size()) - keep_last_;
  for (int64_t i = 0; i < excess; ++i) {
    const fs::path& old = steps[static_cast<size_t>(i)];
    if (old == keep) continue;
    fs::remove(old);
    fs::remove(old.string() + ".sum");
  }
}

}  // namespace dunet::checkpoint
