#include "launcher/stop_signal.h"

#include <unistd.h>
#include <csignal>
#include <initializer_list>

namespace dunet::launcher {

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int signal) {
  if (signal == SIGINT && g_stop_signal == SIGINT) _exit(130);  // impatient Ctrl-C
  g_stop_signal = signal;
}

}  // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (const int signal : {SIGUSR1, SIGTERM, SIGINT}) sigaction(signal, &action, nullptr);
}

int stop_signal() { return g_stop_signal; }

void request_stop(int signal) { g_stop_signal = signal; }

void clear_stop() { g_stop_signal = 0; }

}  // namespace dunet::launcher
