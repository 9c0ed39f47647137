#include "launcher/local_launch.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <thread>

#include "core/error.h"
#ifdef DUNET_HAVE_NCCL
#include "launcher/nccl_communicator.h"
#endif

namespace dunet::launcher {

namespace {

volatile std::sig_atomic_t g_child = 0;

// The job runs in its own process group, so a Ctrl-C in the terminal reaches only this
// launcher; it asks the ranks to checkpoint and stop through mpirun, which forwards SIGUSR1.
extern "C" void forward_as_usr1(int /*signal*/) {
  if (g_child > 0) kill(g_child, SIGUSR1);
}

}  // namespace

int default_process_count() {
#ifdef DUNET_HAVE_NCCL
  if (visible_cuda_devices() > 0) return visible_cuda_devices();
#endif
  return std::max(1u, std::thread::hardware_concurrency());
}

std::vector<std::string> launch_command(const LaunchOptions& options, const std::string& dunet) {
  const int n = options.processes > 0 ? options.processes : default_process_count();
  std::vector<std::string> command = {
      options.mpirun, "-n",   std::to_string(n), "--oversubscribe", "--bind-to", "none",
      dunet,          "train"};
  command.insert(command.end(), options.train_args.begin(), options.train_args.end());
  return command;
}

int run_local_job(const LaunchOptions& options) {
  const std::string dunet = std::filesystem::read_symlink("/proc/self/exe").string();
  const auto command = launch_command(options, dunet);
  const pid_t child = fork();
  DUNET_CHECK(child >= 0, Error, "dunet launch: fork failed: ", std::strerror(errno));
  if (child == 0) {
    setpgid(0, 0);
    // One machine: shared memory between ranks, and nothing but loopback for mpirun itself.
    setenv("OMPI_MCA_btl", "self,vader", /*overwrite=*/0);
    setenv("OMPI_MCA_oob_tcp_if_include", "lo", 0);
    if (geteuid() == 0) {
      setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
      setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
    }
    std::vector<char*> argv;
    for (const auto& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    std::fprintf(stderr, "dunet launch: cannot run %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  g_child = child;
  struct sigaction action {};
  action.sa_handler = forward_as_usr1;
  sigemptyset(&action.sa_mask);
  for (const int signal : {SIGINT, SIGTERM, SIGUSR1}) sigaction(signal, &action, nullptr);
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    DUNET_CHECK(errno == EINTR, Error, "dunet launch: waitpid failed: ", std::strerror(errno));
  }
  g_child = 0;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace dunet::launcher
