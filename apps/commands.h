// The sub-commands of the `dunet` executable; each file adds one to the CLI11 app.
// Callbacks throw dunet::Error on failure; main() reports it and sets the exit status.
#pragma once

#include <CLI/CLI.hpp>

namespace dunet::apps {

void add_synth_command(CLI::App& app);
void add_prepare_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_infer_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_config_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_launch_command(CLI::App& app);
void add_submit_command(CLI::App& app);
void add_checkpoint_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_import_command(CLI::App& app);

}  // namespace dunet::apps
