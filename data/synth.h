// `dunet synth`: a synthetic nuclei dataset in the DSB2018 layout, for demos and tests when no
// real data is at hand. Textured blobs of varied size, brightness and density, with noise and
// blur, in fluorescence (grey) and stained (colour) styles; one mask PNG per nucleus.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>

namespace dunet::data {

struct SynthOptions {
  std::filesystem::path out_dir;
  int64_t count = 16;
  int64_t width = 256;
  int64_t height = 256;
  uint64_t seed = 0;
  std::function<void(int64_t done, int64_t total)> progress;  // optional
};

// Writes <out>/<id>/images/<id>.png and <out>/<id>/masks/<k>.png; returns nuclei written.
int64_t write_synthetic_dataset(const SynthOptions& options);

}  // namespace dunet::data
