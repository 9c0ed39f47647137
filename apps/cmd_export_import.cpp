// `dunet export --model CKPT --out DIR` and `dunet import --from DIR --out CKPT`: weights to and
// from PyTorch, as a folder of state_dict.pt (the seed's names) and model.json
// (checkpoint/pytorch_state_dict.h; python/dunet_unet.py is the Python side).
#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>

#include "apps/commands.h"
#include "checkpoint/pytorch_state_dict.h"

namespace dunet::apps {

namespace fs = std::filesystem;

void add_export_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "export", "Write a checkpoint's weights as a PyTorch state_dict with the seed's names");
  auto model = std::make_shared<fs::path>();
  auto out = std::make_shared<fs::path>();
  cmd->add_option("--model", *model, "dunet checkpoint (.pt)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", *out, "folder for state_dict.pt, model.json and example.pt")
      ->required();
  cmd->callback([model, out] {
    checkpoint::export_state_dict(*model, *out);
    spdlog::info("export: {} -> {}/state_dict.pt (+ model.json, example.pt); in Python: "
                 "dunet_unet.load_exported(\"{}\")",
                 model->string(), out->string(), out->string());
  });
}

void add_import_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "import", "Make a dunet checkpoint of a PyTorch state_dict folder (state_dict.pt + model.json)");
  auto from = std::make_shared<fs::path>();
  auto out = std::make_shared<fs::path>();
  cmd->add_option("--from", *from, "folder written by `dunet export` or python/dunet_unet.py")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--out", *out, "dunet checkpoint to write (.pt)")->required();
  cmd->callback([from, out] {
    checkpoint::import_state_dict(*from, *out);
    spdlog::info("import: {} -> {}; serve it with `dunet infer --model {}`, or fine-tune it "
                 "with train.init_weights = \"{}\"",
                 from->string(), out->string(), out->string(), out->string());
  });
}

}  // namespace dunet::apps
