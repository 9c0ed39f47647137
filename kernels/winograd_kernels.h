// The data-parallel parts of Winograd F(4x4, 3x3) (winograd_conv.h): the transforms between
// images and the [frequency][channel][tile] buffers whose 36 matrix products do the
// arithmetic. Tiles are handled kLanes at a time so that the transforms run in vector
// registers; the functions are compiled for AVX2 and for any x86-64 and pick at load time.
#pragma once

#include <cstdint>

namespace dunet::kernels::winograd {

constexpr int64_t kTile = 4;          // output tile side
constexpr int64_t kInputTile = 6;     // input tile side: kTile + 3 - 1
constexpr int64_t kFrequencies = 36;  // kInputTile squared: one matrix product each
constexpr int64_t kLanes = 8;         // tiles transformed together: one AVX register of floats
// Tiles are processed in blocks whose transformed input and output (36 x (in + out) floats
// per tile) stay in the caches between the input transform, the products and the output
// transform, instead of a trip to memory for each.
constexpr int64_t kBlockBytes = int64_t{16} << 20;

struct Geometry {
  int64_t height, width, tiles_h, tiles_w, tiles_per_image;

  Geometry(int64_t h, int64_t w)
      : height(h),
        width(w),
        tiles_h((h + kTile - 1) / kTile),
        tiles_w((w + kTile - 1) / kTile),
        tiles_per_image(tiles_h * tiles_w) {}
};

// One block of tiles in a [frequency][channel][tile] buffer.
struct Block {
  int64_t first_tile;  // over the whole batch
  int64_t num_tiles;
  int64_t stride;  // buffer distance between channels, a multiple of kLanes
};

// Each function handles one channel of one block; input, output and gradients are [N, C, H, W].

// Input tiles d (6x6, zero outside the image) -> B^T d B into v[k][channel][tile], k = 6i + j.
void transform_input(const float* input, const Geometry& g, int64_t channels, int64_t channel,
                     const Block& block, float* v);

// m[k][channel][tile] -> A^T m A + bias (then ReLU when asked) into the output's 4x4 tiles.
void transform_output(const float* m, const Geometry& g, int64_t channels, int64_t channel,
                      const Block& block, float bias, bool relu, float* output);

// The adjoint of transform_output: 4x4 output-gradient tiles dy (zero outside the image)
// -> A dy A^T into dm[k][channel][tile].
void transform_output_gradient(const float* grad_output, const Geometry& g, int64_t channels,
                               int64_t channel, const Block& block, float* dm);

}  // namespace dunet::kernels::winograd
