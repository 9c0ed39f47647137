// `dunet synth`: writes a synthetic nuclei dataset in the DSB2018 layout.
#include <spdlog/spdlog.h>

#include <regex>

#include "apps/commands.h"
#include "core/error.h"
#include "core/progress.h"
#include "data/synth.h"

namespace dunet::apps {

void add_synth_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("synth", "Write a synthetic nuclei dataset (DSB2018 layout)");
  auto options = std::make_shared<data::SynthOptions>();
  auto size = std::make_shared<std::string>("256x256");
  cmd->add_option("--out", options->out_dir, "Folder to write <id>/images and <id>/masks into")
      ->required();
  cmd->add_option("--count", options->count, "Number of samples")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  cmd->add_option("--size", *size, "Image size WIDTHxHEIGHT")->capture_default_str();
  cmd->add_option("--seed", options->seed, "Random seed")->capture_default_str();
  cmd->callback([options, size] {
    std::smatch m;
    DUNET_CHECK(std::regex_match(*size, m, std::regex(R"((\d+)x(\d+))")), Error, "--size '", *size,
                "': expected WIDTHxHEIGHT, e.g. 256x256");
    // Synthetic images are for tests and demos: a 100000x100000 request is a typo, not a plan.
    DUNET_CHECK(m[1].length() <= 5 && m[2].length() <= 5, Error, "--size '", *size,
                "': each side must be between 8 and 8192 pixels");
    options->width = std::stoll(m[1]);
    options->height = std::stoll(m[2]);
    DUNET_CHECK(options->width >= 8 && options->width <= 8192 && options->height >= 8 &&
                    options->height <= 8192,
                Error, "--size '", *size, "': each side must be between 8 and 8192 pixels");
    ProgressBar bar("synth", options->count);
    options->progress = [&bar](int64_t done, int64_t) { bar.update(done); };
    const int64_t nuclei = data::write_synthetic_dataset(*options);
    bar.finish();
    spdlog::info("synth: wrote {} samples with {} nuclei to {}", options->count, nuclei,
                 options->out_dir.string());
  });
}

}  // namespace dunet::apps
