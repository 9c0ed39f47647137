// dunet's exception hierarchy and the DUNET_CHECK / DUNET_ASSERT macros.
// Messages say what failed, which file/key/rank, what was expected, and a hint where one helps.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace dunet {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad configuration: unknown key, wrong type, value out of range.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// Bad input data: images, masks, shards.
class DataError : public Error {
 public:
  using Error::Error;
};

// Communication failures between ranks (MPI, NCCL, CUDA).
class CommError : public Error {
 public:
  using Error::Error;
};

// Checkpoints that cannot be written, read or applied to this model.
class CheckpointError : public Error {
 public:
  using Error::Error;
};

// A file that cannot be written or read: the disk is full, the folder read-only, the file
// gone. The message names the path and the system's cause.
class IoError : public Error {
 public:
  using Error::Error;
};

namespace detail {
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

}  // namespace dunet

// Caller errors: throws ErrorType with the message parts streamed together. Stays on in release.
#define DUNET_CHECK(cond, ErrorType, ...)                               \
  do {                                                                  \
    if (!(cond)) throw ErrorType(::dunet::detail::concat(__VA_ARGS__)); \
  } while (false)

// Invariants that cannot fail unless dunet has a bug. Stays on in release.
#define DUNET_ASSERT(cond)                                                                      \
  do {                                                                                          \
    if (!(cond))                                                                                \
      throw ::dunet::Error(                                                                     \
          ::dunet::detail::concat("internal error at ", __FILE__, ":", __LINE__, ": ", #cond)); \
  } while (false)
