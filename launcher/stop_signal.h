// Graceful stop on SIGUSR1 (SLURM's warning before a time limit or preemption), SIGTERM and
// SIGINT (Ctrl-C): the handler only sets a flag; the trainer checks it at step boundaries,
// agrees on it with the other ranks, checkpoints and returns.
#pragma once

namespace dunet::launcher {

// Installs the handlers (idempotent). A second SIGINT while a stop is pending exits at once.
void install_stop_handlers();

// The signal that asked to stop, or 0.
int stop_signal();

// For tests: as if `signal` had arrived.
void request_stop(int signal);
void clear_stop();

}  // namespace dunet::launcher
