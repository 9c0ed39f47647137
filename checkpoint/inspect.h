// `dunet checkpoint inspect`: what a checkpoint holds, as text, without LibTorch in the
// interface (apps/ stays torch-free).
#pragma once

#include <filesystem>
#include <string>

namespace dunet::checkpoint {

// Epoch, step, metrics, model shape, world size, checksum status and the stored config.
// Throws CheckpointError for a file that is not a dunet checkpoint.
std::string describe_checkpoint(const std::filesystem::path& path);

}  // namespace dunet::checkpoint
