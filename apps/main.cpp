// `dunet`: prepare data, train, and infer with UNet segmentation models.
// Parses the command line, runs one sub-command, and turns errors into one clear message.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <unistd.h>

#include "apps/cli_suggestions.h"
#include "apps/commands.h"
#include "apps/exit_code.h"
#include "core/error.h"
#include "kernels/blas_core.h"
#include "launcher/logging.h"
#include "launcher/mpi_world.h"
#include "launcher/process_group.h"

int main(int argc, char** argv) {
  // OpenBLAS chose its kernels when it loaded; where it fell back to the generic ones, start
  // again once with the core that fits this CPU (kernels/blas_core.h).
  if (const auto core = dunet::kernels::openblas_core_to_force()) {
    setenv("OPENBLAS_CORETYPE", core->c_str(), 1);
    setenv(dunet::kernels::kOpenblasCoreChosenByDunet, core->c_str(), 1);
    // By its real path, so that the process keeps its name (ps, pkill dunet).
    std::error_code error;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
    if (!error) execv(self.c_str(), argv);  // returns only on failure: go on as we are
  }
  CLI::App app{"dunet: UNet segmentation of microscope images, from PNG folders to masks", "dunet"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "dunet 0.1.0");
  dunet::apps::add_synth_command(app);
  dunet::apps::add_prepare_command(app);
  dunet::apps::add_train_command(app);
  dunet::apps::add_infer_command(app);
  dunet::apps::add_eval_command(app);
  dunet::apps::add_config_command(app);
  dunet::apps::add_bench_command(app);
  dunet::apps::add_launch_command(app);
  dunet::apps::add_submit_command(app);
  dunet::apps::add_checkpoint_command(app);
  dunet::apps::add_export_command(app);
  dunet::apps::add_import_command(app);
  // Errors before MPI is up (a bad config, say) still name the rank that had them.
  const auto [rank, size] = dunet::launcher::MpiWorld::rank_from_launcher();
  dunet::launcher::setup_logging(rank, size);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // An unknown sub-command or option is the cause of an "unexpected argument" or of a
    // "required option missing" (it was misspelt), whichever CLI11 reports first.
    const int code = e.get_exit_code();
    if (code == static_cast<int>(CLI::ExitCodes::ExtrasError) ||
        code == static_cast<int>(CLI::ExitCodes::RequiredError)) {
      if (const auto unknown = dunet::apps::describe_unknown_argument(app)) {
        std::cerr << *unknown << "\n";
        return static_cast<int>(CLI::ExitCodes::ExtrasError);
      }
    }
    return app.exit(e);
  } catch (const dunet::apps::ExitCode& e) {
    return e.code;
  } catch (const dunet::IoError& e) {
    spdlog::error("{}", e.what());
    dunet::launcher::abort_other_ranks(dunet::apps::kExitCannotWriteOrRead);
    return dunet::apps::kExitCannotWriteOrRead;
  } catch (const std::filesystem::filesystem_error& e) {  // names the operation, cause, path
    spdlog::error("{}", e.what());
    dunet::launcher::abort_other_ranks(dunet::apps::kExitCannotWriteOrRead);
    return dunet::apps::kExitCannotWriteOrRead;
  } catch (const dunet::Error& e) {
    spdlog::error("{}", e.what());
    dunet::launcher::abort_other_ranks(1);  // the other ranks would wait for this one forever
    return 1;
  } catch (const std::exception& e) {
    spdlog::error("unexpected error: {}", e.what());
    dunet::launcher::abort_other_ranks(2);
    return 2;
  }
  return 0;
}
