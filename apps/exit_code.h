// Exit statuses of `dunet` that scripts act on, and the exception that carries one to main().
#pragma once

namespace dunet::apps {

// The run stopped early on a signal after writing a checkpoint: requeue or rerun it with
// --resume auto (EX_TEMPFAIL from sysexits.h).
inline constexpr int kExitStoppedWithCheckpoint = 75;

// A file could not be written or read (disk full, read-only folder, file gone): free space or
// fix the path, then rerun; a training run continues with --resume auto (EX_IOERR).
inline constexpr int kExitCannotWriteOrRead = 74;

struct ExitCode {
  int code;
};

}  // namespace dunet::apps
