#include "checkpoint/pytorch_state_dict.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <torch/torch.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "checkpoint/format.h"
#include "core/durable_write.h"
#include "core/error.h"
#include "model/unet.h"

namespace dunet::checkpoint {

namespace {

namespace fs = std::filesystem;

constexpr char kFormat[] = "dunet-unet-state-dict";
constexpr int kFormatVersion = 1;

// What torch::pickle_save writes, but with plain dicts: its typed dicts call
// torch.jit._pickle.restore_type_tag, which torch.load refuses by default since PyTorch 2.6
// (weights_only=True). Plain dicts of tensors load with every torch.load, and LibTorch's
// pickle_load reads them back.
std::string pickled(const c10::Dict<std::string, at::Tensor>& tensors) {
  std::vector<char> pickle;
  torch::jit::Pickler pickler(
      [&pickle](const char* data, size_t size) { pickle.insert(pickle.end(), data, data + size); },
      /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
      /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(c10::IValue(tensors));
  pickler.stop();
  std::string archive;
  caffe2::serialize::PyTorchStreamWriter writer([&archive](const void* data, size_t size) {
    archive.append(static_cast<const char*>(data), size);
    return size;
  });
  torch::jit::writeArchiveAndTensors("data", pickle.data(), pickle.size(), pickler.tensorData(),
                                     writer);
  writer.writeEndOfFile();
  return archive;
}

std::string shape_text(at::IntArrayRef sizes) {
  std::ostringstream text;
  text << sizes;
  return text.str();
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  DUNET_CHECK(in.good(), CheckpointError, "cannot read '", path.string(), "'");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every parameter and buffer of `model`, by dunet's name.
std::vector<std::pair<std::string, at::Tensor>> named_state(model::UNet& model) {
  std::vector<std::pair<std::string, at::Tensor>> state;
  for (const auto& item : model->named_parameters(/*recurse=*/true)) {
    state.emplace_back(item.key(), item.value());
  }
  for (const auto& item : model->named_buffers(/*recurse=*/true)) {
    state.emplace_back(item.key(), item.value());
  }
  return state;
}

nlohmann::ordered_json model_json(const CheckpointMeta& meta, const fs::path& source) {
  return {{"format", kFormat},
          {"version", kFormatVersion},
          {"names", "seed"},
          {"in_channels", meta.model.in_channels},
          {"out_channels", meta.model.out_channels},
          {"base_channels", meta.model.base_channels},
          {"depth", meta.model.depth},
          {"norm", meta.model.norm},
          {"mean", meta.mean},
          {"std", meta.std},
          {"source", source.string()}};
}

// model.json's shape and normalisation, checked; errors name the file and the key.
CheckpointMeta read_model_json(const fs::path& path) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(read_bytes(path));
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError("'" + path.string() + "' is not JSON: " + e.what());
  }
  const auto field = [&](const char* key) -> const nlohmann::json& {
    DUNET_CHECK(json.is_object() && json.contains(key), CheckpointError, "'", path.string(),
                "' has no key '", key, "'");
    return json.at(key);
  };
  const auto integer = [&](const char* key, int64_t low, int64_t high) {
    const nlohmann::json& value = field(key);
    DUNET_CHECK(value.is_number_integer() && value.get<int64_t>() >= low &&
                    value.get<int64_t>() <= high,
                CheckpointError, "'", path.string(), "': '", key, "' is ", value.dump(),
                ", expected an integer in [", low, ", ", high, "]");
    return value.get<int64_t>();
  };
  const auto numbers = [&](const char* key, size_t count) {
    const nlohmann::json& value = field(key);
    DUNET_CHECK(value.is_array() && value.size() == count, CheckpointError, "'", path.string(),
                "': '", key, "' must be a list of ", count, " numbers (one per input channel)");
    std::vector<double> list;
    for (const auto& entry : value) {
      DUNET_CHECK(entry.is_number(), CheckpointError, "'", path.string(), "': '", key,
                  "' holds ", entry.dump(), ", not a number");
      list.push_back(entry.get<double>());
    }
    return list;
  };
  DUNET_CHECK(field("format") == kFormat, CheckpointError, "'", path.string(), "': format is ",
              field("format").dump(), ", expected \"", kFormat, "\"");
  DUNET_CHECK(field("version") == kFormatVersion, CheckpointError, "'", path.string(),
              "': version ", field("version").dump(), "; this dunet reads version ",
              kFormatVersion);
  CheckpointMeta meta;
  meta.model.in_channels = integer("in_channels", 1, 4);
  meta.model.out_channels = integer("out_channels", 1, 16);
  meta.model.base_channels = integer("base_channels", 1, 1024);
  meta.model.depth = integer("depth", 1, 8);
  const nlohmann::json& norm = field("norm");
  DUNET_CHECK(norm.is_string(), CheckpointError, "'", path.string(), "': 'norm' must be a string");
  meta.model.norm = norm.get<std::string>();
  try {
    model::parse_norm(meta.model.norm);
  } catch (const std::exception& e) {
    throw CheckpointError("'" + path.string() + "': 'norm': " + e.what());
  }
  meta.mean = numbers("mean", static_cast<size_t>(meta.model.in_channels));
  meta.std = numbers("std", static_cast<size_t>(meta.model.in_channels));
  return meta;
}

}  // namespace

std::string seed_name_of(const std::string& name) {
  static const std::regex down(R"(downs\.(\d+)\.conv\.body\.(.+))");
  static const std::regex bottom(R"(bottom\.body\.(.+))");
  static const std::regex up(R"(ups\.(\d+)\.up\.(.+))");
  static const std::regex up_conv(R"(ups\.(\d+)\.conv\.body\.(.+))");
  static const std::regex head(R"(head\.(.+))");
  std::smatch m;
  if (std::regex_match(name, m, down)) return "downs." + m.str(1) + ".conv." + m.str(2);
  if (std::regex_match(name, m, bottom)) return "bottleneck.conv." + m.str(1);
  if (std::regex_match(name, m, up)) return "ups." + std::to_string(2 * std::stoll(m.str(1))) + "." + m.str(2);
  if (std::regex_match(name, m, up_conv)) {
    return "ups." + std::to_string(2 * std::stoll(m.str(1)) + 1) + ".conv." + m.str(2);
  }
  if (std::regex_match(name, m, head)) return "final_conv." + m.str(1);
  throw CheckpointError("'" + name + "' is not a name of dunet's UNet");
}

std::string dunet_name_of(const std::string& name) {
  static const std::regex down(R"(downs\.(\d+)\.conv\.(.+))");
  static const std::regex bottleneck(R"(bottleneck\.conv\.(.+))");
  static const std::regex up_conv(R"(ups\.(\d+)\.conv\.(.+))");
  static const std::regex up(R"(ups\.(\d+)\.(weight|bias))");
  static const std::regex final_conv(R"(final_conv\.(.+))");
  std::smatch m;
  if (std::regex_match(name, m, down)) return "downs." + m.str(1) + ".conv.body." + m.str(2);
  if (std::regex_match(name, m, bottleneck)) return "bottom.body." + m.str(1);
  if (std::regex_match(name, m, up_conv) && std::stoll(m.str(1)) % 2 == 1) {
    return "ups." + std::to_string(std::stoll(m.str(1)) / 2) + ".conv.body." + m.str(2);
  }
  if (std::regex_match(name, m, up) && std::stoll(m.str(1)) % 2 == 0) {
    return "ups." + std::to_string(std::stoll(m.str(1)) / 2) + ".up." + m.str(2);
  }
  if (std::regex_match(name, m, final_conv)) return "head." + m.str(1);
  throw CheckpointError("'" + name + "' is not a name of the seed's UNet");
}

void export_state_dict(const fs::path& checkpoint, const fs::path& out) {
  const CheckpointMeta meta = read_checkpoint_meta(checkpoint);
  model::UNet model(meta.model);
  load_checkpoint(checkpoint, model, nullptr);
  model->eval();
  c10::Dict<std::string, at::Tensor> state;
  for (const auto& [name, tensor] : named_state(model)) {
    state.insert(seed_name_of(name), tensor.detach().to(torch::kCPU).contiguous().clone());
  }
  // A fixed input of an odd size (padded inside the network, as dunet pads) and dunet's
  // logits for it.
  torch::manual_seed(0);
  const int64_t side = model->size_multiple() * 3 + 5;
  const torch::Tensor input = torch::randn({1, meta.model.in_channels, side, side + 6});
  torch::Tensor logits;
  {
    const torch::NoGradGuard no_grad;
    logits = model->forward(input);
  }
  c10::Dict<std::string, at::Tensor> example;
  example.insert("input", input);
  example.insert("logits", logits.contiguous());

  fs::create_directories(out);
  write_file_durably(out / "state_dict.pt", pickled(state));
  write_file_durably(out / "example.pt", pickled(example));
  write_file_durably(out / "model.json", model_json(meta, checkpoint).dump(2) + "\n");
}

void import_state_dict(const fs::path& folder, const fs::path& out) {
  const fs::path json_path = folder / "model.json";
  const fs::path weights_path = folder / "state_dict.pt";
  CheckpointMeta meta = read_model_json(json_path);
  const std::string bytes = read_bytes(weights_path);
  c10::IValue loaded;
  try {
    loaded = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const std::exception& e) {
    // LibTorch's reader takes a plain dict; the OrderedDict that Module.state_dict() returns
    // carries metadata that it cannot rebuild.
    const std::string what = e.what();
    throw CheckpointError("'" + weights_path.string() +
                          "' is not a torch.save file of a plain dict of tensors (" +
                          what.substr(0, what.find('\n')) +
                          "); in Python save it with torch.save(dict(model.state_dict()), "
                          "path), or with dunet_unet.save_for_dunet");
  }
  DUNET_CHECK(loaded.isGenericDict(), CheckpointError, "'", weights_path.string(),
              "' holds a ", loaded.tagKind(), ", expected a dict of tensors (a state_dict)");
  std::map<std::string, at::Tensor> by_dunet_name;
  for (const auto& item : loaded.toGenericDict()) {
    DUNET_CHECK(item.key().isString() && item.value().isTensor(), CheckpointError, "'",
                weights_path.string(), "' holds an entry that is not a named tensor");
    const std::string& seed_name = item.key().toStringRef();
    std::string name;
    try {
      name = dunet_name_of(seed_name);
    } catch (const CheckpointError&) {
      throw CheckpointError("'" + weights_path.string() + "': unexpected key '" + seed_name +
                            "' (not a parameter of the seed's UNet)");
    }
    by_dunet_name[name] = item.value().toTensor();
  }
  model::UNet model(meta.model);
  {
    const torch::NoGradGuard no_grad;
    for (const auto& [name, tensor] : named_state(model)) {
      const auto found = by_dunet_name.find(name);
      DUNET_CHECK(found != by_dunet_name.end(), CheckpointError, "'", weights_path.string(),
                  "' has no '", seed_name_of(name), "', which a UNet of ", json_path.string(),
                  "'s shape has");
      DUNET_CHECK(found->second.sizes() == tensor.sizes(), CheckpointError, "'",
                  weights_path.string(), "': '", seed_name_of(name), "' has shape ",
                  shape_text(found->second.sizes()), ", expected ", shape_text(tensor.sizes()));
      tensor.copy_(found->second.to(tensor.scalar_type()));
      by_dunet_name.erase(found);
    }
  }
  DUNET_CHECK(by_dunet_name.empty(), CheckpointError, "'", weights_path.string(),
              "': unexpected key '",
              by_dunet_name.empty() ? "" : seed_name_of(by_dunet_name.begin()->first),
              "' for a UNet of ", json_path.string(), "'s shape");
  meta.config_toml = "# imported by `dunet import` from " + folder.string() + "\n";
  save_checkpoint(out, model, nullptr, meta);
}

}  // namespace dunet::checkpoint
