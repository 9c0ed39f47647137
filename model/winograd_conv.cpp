#include "model/winograd_conv.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <algorithm>

#include "core/error.h"
#include "model/compute_threads.h"

namespace dunet::model {

namespace {

constexpr int64_t kTile = 4;         // output tile side
constexpr int64_t kInputTile = 6;    // input tile side: kTile + 3 - 1
constexpr int64_t kFrequencies = 36; // kInputTile squared: one matrix product each
constexpr int64_t kLanes = 8;        // tiles transformed together: one AVX register of floats
// Tiles are processed in blocks whose transformed input and output (36 x (in + out) floats
// per tile) stay in the caches between the input transform, the products and the output
// transform, instead of a trip to memory for each.
constexpr int64_t kBlockBytes = int64_t{16} << 20;

// Fortran BLAS, as exported by OpenBLAS (and by the reference BLAS).
using Sgemm = void (*)(const char* transa, const char* transb, const int* m, const int* n,
                       const int* k, const float* alpha, const float* a, const int* lda,
                       const float* b, const int* ldb, const float* beta, float* c,
                       const int* ldc);

// Only with OpenBLAS: the reference BLAS multiplies at a few GFLOP/s, far slower than
// LibTorch's direct convolution. Looked up at run time like compute_threads.cpp, because which
// libblas.so.3 is loaded is the system's choice.
Sgemm find_sgemm() {
  if (dlsym(RTLD_DEFAULT, "openblas_set_num_threads") == nullptr) return nullptr;
  return reinterpret_cast<Sgemm>(dlsym(RTLD_DEFAULT, "sgemm_"));
}

Sgemm sgemm() {
  static const Sgemm function = find_sgemm();
  return function;
}

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
  int64_t stride;      // buffer distance between channels, a multiple of kLanes
};

// Walks tiles in order (image, tile row, tile column) without a division per tile.
struct TileCursor {
  int64_t image, row, column;

  TileCursor(int64_t tile, const Geometry& g)
      : image(tile / g.tiles_per_image),
        row(tile % g.tiles_per_image / g.tiles_w),
        column(tile % g.tiles_w) {}

  void next(const Geometry& g) {
    if (++column < g.tiles_w) return;
    column = 0;
    if (++row < g.tiles_h) return;
    row = 0;
    ++image;
  }
};

// Fills d with the 6x6 input tiles (zero padding outside the image) of the next `lanes`
// tiles and moves the cursor past them; lanes beyond `lanes` are zero.
__attribute__((always_inline)) inline void gather_input_tiles(
    const float* input, const Geometry& g, int64_t channels, int64_t channel, int64_t lanes,
    TileCursor& cursor, float (&d)[kInputTile][kInputTile][kLanes]) {
  const int64_t y0 = cursor.row * kTile - 1, x0 = cursor.column * kTile - 1;
  if (lanes == kLanes && cursor.column + kLanes <= g.tiles_w && y0 >= 0 && x0 >= 0 &&
      y0 + kInputTile <= g.height && x0 + kTile * (kLanes - 1) + kInputTile <= g.width) {
    // The common case: all lanes side by side in one tile row, inside the image. Filled one
    // whole lane vector at a time, so that the transform's vector loads of d are forwarded
    // from vector stores (eight scalar stores followed by a vector load stall).
    const float* origin =
        input + (cursor.image * channels + channel) * g.height * g.width + y0 * g.width + x0;
    for (int64_t r = 0; r < kInputTile; ++r) {
      for (int64_t s = 0; s < kInputTile; ++s) {
        for (int64_t l = 0; l < kLanes; ++l) d[r][s][l] = origin[r * g.width + kTile * l + s];
      }
    }
    for (int64_t l = 0; l < kLanes; ++l) cursor.next(g);
    return;
  }
  for (int64_t lane = 0; lane < kLanes; ++lane, cursor.next(g)) {
    if (lane >= lanes) {
      for (auto& row : d)
        for (auto& column : row) column[lane] = 0.0f;
      continue;
    }
    const int64_t top = cursor.row * kTile - 1, left = cursor.column * kTile - 1;
    const float* plane = input + (cursor.image * channels + channel) * g.height * g.width;
    for (int64_t r = 0; r < kInputTile; ++r) {
      const int64_t y = top + r;
      for (int64_t s = 0; s < kInputTile; ++s) {
        const int64_t x = left + s;
        const bool inside = y >= 0 && y < g.height && x >= 0 && x < g.width;
        d[r][s][lane] = inside ? plane[y * g.width + x] : 0.0f;
      }
    }
  }
}

// d (6x6 input tiles, kLanes at a time) -> B^T d B, stored as v[k][channel][tile], k = 6i + j.
__attribute__((target_clones("avx2", "default"))) void transform_input_channel(
    const float* input, const Geometry& g, int64_t channels, int64_t channel, const Block& block,
    float* v) {
  TileCursor cursor(block.first_tile, g);
  for (int64_t base = 0; base < block.num_tiles; base += kLanes) {
    float d[kInputTile][kInputTile][kLanes];
    gather_input_tiles(input, g, channels, channel, std::min(kLanes, block.num_tiles - base),
                       cursor, d);
    // B^T applied down the columns, then along the rows.
    float t[kInputTile][kInputTile][kLanes];
    for (int64_t j = 0; j < kInputTile; ++j) {
      for (int64_t l = 0; l < kLanes; ++l) {
        const float d0 = d[0][j][l], d1 = d[1][j][l], d2 = d[2][j][l];
        const float d3 = d[3][j][l], d4 = d[4][j][l], d5 = d[5][j][l];
        t[0][j][l] = 4.0f * d0 - 5.0f * d2 + d4;
        t[1][j][l] = -4.0f * (d1 + d2) + d3 + d4;
        t[2][j][l] = 4.0f * (d1 - d2) - d3 + d4;
        t[3][j][l] = 2.0f * (d3 - d1) - d2 + d4;
        t[4][j][l] = 2.0f * (d1 - d3) - d2 + d4;
        t[5][j][l] = 4.0f * d1 - 5.0f * d3 + d5;
      }
    }
    for (int64_t i = 0; i < kInputTile; ++i) {
      float v_row[kInputTile][kLanes];  // local, so the compiler need not fear aliasing
      for (int64_t l = 0; l < kLanes; ++l) {
        const float t0 = t[i][0][l], t1 = t[i][1][l], t2 = t[i][2][l];
        const float t3 = t[i][3][l], t4 = t[i][4][l], t5 = t[i][5][l];
        v_row[0][l] = 4.0f * t0 - 5.0f * t2 + t4;
        v_row[1][l] = -4.0f * (t1 + t2) + t3 + t4;
        v_row[2][l] = 4.0f * (t1 - t2) - t3 + t4;
        v_row[3][l] = 2.0f * (t3 - t1) - t2 + t4;
        v_row[4][l] = 2.0f * (t1 - t3) - t2 + t4;
        v_row[5][l] = 4.0f * t1 - 5.0f * t3 + t5;
      }
      for (int64_t j = 0; j < kInputTile; ++j) {
        float* out = v + ((i * kInputTile + j) * channels + channel) * block.stride + base;
        std::copy(v_row[j], v_row[j] + kLanes, out);
      }
    }
  }
}

// m[k][channel][tile] -> A^T m A + bias (then ReLU), written into the output's 4x4 tiles.
__attribute__((target_clones("avx2", "default"))) void transform_output_channel(
    const float* m, const Geometry& g, int64_t channels, int64_t channel, const Block& block,
    float bias, bool relu, float* output) {
  TileCursor cursor(block.first_tile, g);
  for (int64_t base = 0; base < block.num_tiles; base += kLanes) {
    float t[kTile][kInputTile][kLanes];
    for (int64_t j = 0; j < kInputTile; ++j) {
      const float* in[kInputTile];
      for (int64_t i = 0; i < kInputTile; ++i) {
        in[i] = m + ((i * kInputTile + j) * channels + channel) * block.stride + base;
      }
      for (int64_t l = 0; l < kLanes; ++l) {
        const float m0 = in[0][l], m1 = in[1][l], m2 = in[2][l];
        const float m3 = in[3][l], m4 = in[4][l], m5 = in[5][l];
        t[0][j][l] = m0 + m1 + m2 + m3 + m4;
        t[1][j][l] = m1 - m2 + 2.0f * (m3 - m4);
        t[2][j][l] = m1 + m2 + 4.0f * (m3 + m4);
        t[3][j][l] = m1 - m2 + 8.0f * (m3 - m4) + m5;
      }
    }
    float y[kTile][kTile][kLanes];
    for (int64_t i = 0; i < kTile; ++i) {
      for (int64_t l = 0; l < kLanes; ++l) {
        const float t0 = t[i][0][l], t1 = t[i][1][l], t2 = t[i][2][l];
        const float t3 = t[i][3][l], t4 = t[i][4][l], t5 = t[i][5][l];
        y[i][0][l] = t0 + t1 + t2 + t3 + t4 + bias;
        y[i][1][l] = t1 - t2 + 2.0f * (t3 - t4) + bias;
        y[i][2][l] = t1 + t2 + 4.0f * (t3 + t4) + bias;
        y[i][3][l] = t1 - t2 + 8.0f * (t3 - t4) + t5 + bias;
      }
    }
    if (relu) {
      for (auto& row : y)
        for (auto& column : row)
          for (float& value : column) value = std::max(value, 0.0f);
    }
    const int64_t lanes = std::min(kLanes, block.num_tiles - base);
    for (int64_t lane = 0; lane < lanes; ++lane, cursor.next(g)) {
      const int64_t y0 = cursor.row * kTile, x0 = cursor.column * kTile;
      float* origin = output + (cursor.image * channels + channel) * g.height * g.width +
                      y0 * g.width + x0;
      if (y0 + kTile <= g.height && x0 + kTile <= g.width) {
        for (int64_t i = 0; i < kTile; ++i) {
          for (int64_t j = 0; j < kTile; ++j) origin[i * g.width + j] = y[i][j][lane];
        }
        continue;
      }
      const int64_t rows = std::min(kTile, g.height - y0);  // partial tile at the border
      const int64_t columns = std::min(kTile, g.width - x0);
      for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < columns; ++j) origin[i * g.width + j] = y[i][j][lane];
      }
    }
  }
}

// G, the 6x3 filter transform of F(4x4, 3x3).
at::Tensor filter_transform() {
  return at::tensor({1.0 / 4, 0.0, 0.0,                //
                     -1.0 / 6, -1.0 / 6, -1.0 / 6,     //
                     -1.0 / 6, 1.0 / 6, -1.0 / 6,      //
                     1.0 / 24, 1.0 / 12, 1.0 / 6,      //
                     1.0 / 24, -1.0 / 12, 1.0 / 6,     //
                     0.0, 0.0, 1.0},
                    at::kDouble)
      .view({kInputTile, 3});
}

}  // namespace

bool WinogradConv3x3::available() { return sgemm() != nullptr; }

WinogradConv3x3::WinogradConv3x3(const at::Tensor& weight, const at::Tensor& bias)
    : in_channels_(weight.size(1)), out_channels_(weight.size(0)) {
  DUNET_CHECK(weight.dim() == 4 && weight.size(2) == 3 && weight.size(3) == 3, Error,
              "Winograd convolution needs a [out, in, 3, 3] weight, got ", weight.sizes());
  // In double, so that the transformed filters carry no rounding of their own.
  const at::Tensor g = filter_transform();
  const at::Tensor u = at::matmul(at::matmul(g, weight.detach().cpu().to(at::kDouble)), g.t());
  transformed_weight_ = u.permute({2, 3, 0, 1})
                            .reshape({kFrequencies, out_channels_, in_channels_})
                            .to(at::kFloat)
                            .contiguous();
  bias_ = bias.defined() ? bias.detach().cpu().to(at::kFloat).contiguous()
                         : at::zeros({out_channels_}, at::kFloat);
}

at::Tensor WinogradConv3x3::forward(const at::Tensor& input, bool relu) const {
  DUNET_CHECK(available(), Error, "Winograd convolution needs OpenBLAS (sgemm_ not found)");
  DUNET_CHECK(input.dim() == 4 && input.size(1) == in_channels_ && input.is_cpu() &&
                  input.scalar_type() == at::kFloat,
              Error, "Winograd convolution expects a float CPU tensor [N, ", in_channels_,
              ", H, W], got ", input.sizes(), " ", input.scalar_type());
  const at::Tensor x = input.contiguous();
  const int64_t batch = x.size(0);
  const Geometry g(x.size(2), x.size(3));
  at::Tensor output = at::empty({batch, out_channels_, g.height, g.width}, x.options());
  const int64_t tiles = batch * g.tiles_per_image;
  if (tiles == 0) return output;

  const int64_t bytes_per_tile = kFrequencies * (in_channels_ + out_channels_) * 4;
  const int64_t rounded_tiles = (tiles + kLanes - 1) / kLanes * kLanes;
  const int64_t block_tiles =
      std::min(rounded_tiles, std::max(kLanes, kBlockBytes / bytes_per_tile / kLanes * kLanes));
  at::Tensor v = at::empty({kFrequencies * in_channels_ * block_tiles}, x.options());
  at::Tensor m = at::empty({kFrequencies * out_channels_ * block_tiles}, x.options());
  const float* in = x.data_ptr<float>();
  float* out = output.data_ptr<float>();
  float* v_data = v.data_ptr<float>();
  float* m_data = m.data_ptr<float>();
  const float* u = transformed_weight_.data_ptr<float>();
  const float* bias = bias_.data_ptr<float>();
  const Sgemm multiply = sgemm();
  // The products are split over threads here (one frequency each), so BLAS must not start
  // threads of its own inside them.
  const BlasOnCallingThread blas_on_calling_thread;

  for (int64_t first = 0; first < tiles; first += block_tiles) {
    const Block block{first, std::min(block_tiles, tiles - first), block_tiles};
    at::parallel_for(0, in_channels_, 1, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        transform_input_channel(in, g, in_channels_, c, block, v_data);
      }
    });
    at::parallel_for(0, kFrequencies, 1, [&](int64_t begin, int64_t end) {
      const int rows = static_cast<int>(block.num_tiles), columns = static_cast<int>(out_channels_);
      const int depth = static_cast<int>(in_channels_), ld = static_cast<int>(block.stride);
      const float one = 1.0f, zero = 0.0f;
      for (int64_t k = begin; k < end; ++k) {
        // Row-major M_k[out][tile] = U_k[out][in] V_k[in][tile], written as the column-major
        // product M_k^T = V_k^T U_k^T that Fortran BLAS computes.
        multiply("N", "N", &rows, &columns, &depth, &one, v_data + k * in_channels_ * block.stride,
                 &ld, u + k * out_channels_ * in_channels_, &depth, &zero,
                 m_data + k * out_channels_ * block.stride, &ld);
      }
    });
    at::parallel_for(0, out_channels_, 1, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        transform_output_channel(m_data, g, out_channels_, o, block, bias[o], relu, out);
      }
    });
  }
  return output;
}

}  // namespace dunet::model
