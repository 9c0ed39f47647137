#include "kernels/winograd_kernels.h"

#include <algorithm>

#include "kernels/cpu_kernels.h"

namespace dunet::kernels::winograd {

namespace {

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

}  // namespace

__attribute__((always_inline)) inline void transform_input_body(const float* input,
                                                                const Geometry& g, int64_t channels,
                                                                int64_t channel, const Block& block,
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
DUNET_CPU_KERNEL(void, transform_input,
                 (const float* input, const Geometry& g, int64_t channels, int64_t channel,
                  const Block& block, float* v),
                 (input, g, channels, channel, block, v))

__attribute__((always_inline)) inline void transform_output_body(const float* m, const Geometry& g,
                                                                 int64_t channels, int64_t channel,
                                                                 const Block& block, float bias,
                                                                 bool relu, float* output) {
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
      float* origin =
          output + (cursor.image * channels + channel) * g.height * g.width + y0 * g.width + x0;
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
DUNET_CPU_KERNEL(void, transform_output,
                 (const float* m, const Geometry& g, int64_t channels, int64_t channel,
                  const Block& block, float bias, bool relu, float* output),
                 (m, g, channels, channel, block, bias, relu, output))

__attribute__((always_inline)) inline void transform_output_gradient_body(
    const float* grad_output, const Geometry& g, int64_t channels, int64_t channel,
    const Block& block, float* dm) {
  TileCursor cursor(block.first_tile, g);
  for (int64_t base = 0; base < block.num_tiles; base += kLanes) {
    float dy[kTile][kTile][kLanes];
    for (int64_t lane = 0; lane < kLanes; ++lane, cursor.next(g)) {
      const int64_t y0 = cursor.row * kTile, x0 = cursor.column * kTile;
      const int64_t rows = base + lane < block.num_tiles ? std::min(kTile, g.height - y0) : 0;
      const int64_t columns = std::min(kTile, g.width - x0);
      const float* origin = grad_output + (cursor.image * channels + channel) * g.height * g.width +
                            y0 * g.width + x0;
      for (int64_t i = 0; i < kTile; ++i) {
        for (int64_t j = 0; j < kTile; ++j) {
          dy[i][j][lane] = i < rows && j < columns ? origin[i * g.width + j] : 0.0f;
        }
      }
    }
    // A applied down the columns, then along the rows: A = (A^T)^T is 6x4.
    float t[kInputTile][kTile][kLanes];
    for (int64_t j = 0; j < kTile; ++j) {
      for (int64_t l = 0; l < kLanes; ++l) {
        const float y0 = dy[0][j][l], y1 = dy[1][j][l], y2 = dy[2][j][l], y3 = dy[3][j][l];
        t[0][j][l] = y0;
        t[1][j][l] = y0 + y1 + y2 + y3;
        t[2][j][l] = y0 - y1 + y2 - y3;
        t[3][j][l] = y0 + 2.0f * y1 + 4.0f * y2 + 8.0f * y3;
        t[4][j][l] = y0 - 2.0f * y1 + 4.0f * y2 - 8.0f * y3;
        t[5][j][l] = y3;
      }
    }
    for (int64_t i = 0; i < kInputTile; ++i) {
      float m_row[kInputTile][kLanes];
      for (int64_t l = 0; l < kLanes; ++l) {
        const float y0 = t[i][0][l], y1 = t[i][1][l], y2 = t[i][2][l], y3 = t[i][3][l];
        m_row[0][l] = y0;
        m_row[1][l] = y0 + y1 + y2 + y3;
        m_row[2][l] = y0 - y1 + y2 - y3;
        m_row[3][l] = y0 + 2.0f * y1 + 4.0f * y2 + 8.0f * y3;
        m_row[4][l] = y0 - 2.0f * y1 + 4.0f * y2 - 8.0f * y3;
        m_row[5][l] = y3;
      }
      for (int64_t j = 0; j < kInputTile; ++j) {
        float* out = dm + ((i * kInputTile + j) * channels + channel) * block.stride + base;
        std::copy(m_row[j], m_row[j] + kLanes, out);
      }
    }
  }
}
DUNET_CPU_KERNEL(void, transform_output_gradient,
                 (const float* grad_output, const Geometry& g, int64_t channels, int64_t channel,
                  const Block& block, float* dm),
                 (grad_output, g, channels, channel, block, dm))

}  // namespace dunet::kernels::winograd
