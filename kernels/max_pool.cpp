// The UNet's 2x2 stride-2 max-pool. LibTorch 1.13's CPU kernel with indices takes 5.3 ms for
// a [4, 16, 128, 128] batch, about 20x a pass over memory; this one needs no index tensor
// either: backward finds the maximum again in the saved input.
#include "kernels/fast_paths.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu_kernels.h"
#include "kernels/parallel_each.h"

namespace dunet::kernels {

namespace {

struct Planes {
  int64_t count, height, width;  // N * C planes of the input; the output has half of each side

  int64_t out_height() const { return height / 2; }
  int64_t out_width() const { return width / 2; }
};

// LibTorch's max-pool scans each window in row-major order and replaces the running maximum
// by a value that is greater or NaN; the gradient goes to the last replacement.
inline bool replaces(float best, float candidate) {
  return candidate > best || candidate != candidate;
}

inline float pick(float best, float candidate) {
  return replaces(best, candidate) ? candidate : best;
}

__attribute__((always_inline)) inline void pool_plane_body(const float* in, const Planes& p,
                                                           float* out) {
  for (int64_t oy = 0; oy < p.out_height(); ++oy) {
    const float* top = in + 2 * oy * p.width;
    const float* bottom = top + p.width;
    float* row = out + oy * p.out_width();
    for (int64_t ox = 0; ox < p.out_width(); ++ox) {
      row[ox] = pick(pick(pick(top[2 * ox], top[2 * ox + 1]), bottom[2 * ox]), bottom[2 * ox + 1]);
    }
  }
}
DUNET_CPU_KERNEL(void, pool_plane, (const float* in, const Planes& p, float* out), (in, p, out))

// Eight windows at a time in GCC vector types (the compiler does not vectorise the selects of
// the plain loop): AVX registers in the avx2 clone, pairs of SSE registers otherwise.
using Floats = float __attribute__((vector_size(32)));
using Ints = int32_t __attribute__((vector_size(32)));
constexpr int64_t kWindows = 8;
constexpr Ints kEven = {0, 2, 4, 6, 8, 10, 12, 14}, kOdd = {1, 3, 5, 7, 9, 11, 13, 15};
constexpr Ints kLowHalf = {0, 8, 1, 9, 2, 10, 3, 11}, kHighHalf = {4, 12, 5, 13, 6, 14, 7, 15};

__attribute__((always_inline)) inline void unpool_gradient_plane_body(const float* in,
                                                                      const float* grad_out,
                                                                      const Planes& p,
                                                                      float* grad_in) {
  if (p.height % 2 != 0) {  // the last row of an odd height is in no window
    std::fill_n(grad_in + (p.height - 1) * p.width, p.width, 0.0f);
  }
  for (int64_t oy = 0; oy < p.out_height(); ++oy) {
    const float* top = in + 2 * oy * p.width;
    const float* bottom = top + p.width;
    float* grad_top = grad_in + 2 * oy * p.width;
    float* grad_bottom = grad_top + p.width;
    const float* g = grad_out + oy * p.out_width();
    int64_t ox = 0;
    for (; ox + kWindows <= p.out_width(); ox += kWindows) {
      // Vector values only in locals: a function passing them would change with the clone's
      // ABI. Windows' values a b over c d, de-interleaved from the two rows.
      Floats top_pair[2], bottom_pair[2], gradient;
      std::memcpy(top_pair, top + 2 * ox, sizeof top_pair);
      std::memcpy(bottom_pair, bottom + 2 * ox, sizeof bottom_pair);
      std::memcpy(&gradient, g + ox, sizeof gradient);
      const Floats a = __builtin_shuffle(top_pair[0], top_pair[1], kEven);
      const Floats b = __builtin_shuffle(top_pair[0], top_pair[1], kOdd);
      const Floats c = __builtin_shuffle(bottom_pair[0], bottom_pair[1], kEven);
      const Floats d = __builtin_shuffle(bottom_pair[0], bottom_pair[1], kOdd);
      const Ints to_b = (b > a) | (b != b);
      const Floats ab = to_b ? b : a;
      const Ints to_c = (c > ab) | (c != c);
      const Ints to_d = (d > (to_c ? c : ab)) | (d != d);
      const Floats zero = {};
      const Floats ga = (~to_d & ~to_c & ~to_b) ? gradient : zero;
      const Floats gb = (~to_d & ~to_c & to_b) ? gradient : zero;
      const Floats gc = (~to_d & to_c) ? gradient : zero;
      const Floats gd = to_d ? gradient : zero;
      const Floats grad_top_pair[2] = {__builtin_shuffle(ga, gb, kLowHalf),
                                       __builtin_shuffle(ga, gb, kHighHalf)};
      const Floats grad_bottom_pair[2] = {__builtin_shuffle(gc, gd, kLowHalf),
                                          __builtin_shuffle(gc, gd, kHighHalf)};
      std::memcpy(grad_top + 2 * ox, grad_top_pair, sizeof grad_top_pair);
      std::memcpy(grad_bottom + 2 * ox, grad_bottom_pair, sizeof grad_bottom_pair);
    }
    for (; ox < p.out_width(); ++ox) {
      const float window[4] = {top[2 * ox], top[2 * ox + 1], bottom[2 * ox], bottom[2 * ox + 1]};
      int winner = 0;
      for (int i = 1; i < 4; ++i) {
        if (replaces(window[winner], window[i])) winner = i;
      }
      float* targets[4] = {grad_top + 2 * ox, grad_top + 2 * ox + 1, grad_bottom + 2 * ox,
                           grad_bottom + 2 * ox + 1};
      for (int i = 0; i < 4; ++i) *targets[i] = i == winner ? g[ox] : 0.0f;
    }
    if (p.width % 2 != 0) grad_top[p.width - 1] = grad_bottom[p.width - 1] = 0.0f;
  }
}
DUNET_CPU_KERNEL(void, unpool_gradient_plane,
                 (const float* in, const float* grad_out, const Planes& p, float* grad_in),
                 (in, grad_out, p, grad_in))

Planes planes_of(const torch::Tensor& x) { return {x.size(0) * x.size(1), x.size(2), x.size(3)}; }

class MaxPool2x2Function : public torch::autograd::Function<MaxPool2x2Function> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x) {
    const Planes p = planes_of(x);
    torch::Tensor y =
        torch::empty({x.size(0), x.size(1), p.out_height(), p.out_width()}, x.options());
    const float* in = x.data_ptr<float>();
    float* out = y.data_ptr<float>();
    const int64_t in_plane = p.height * p.width, out_plane = p.out_height() * p.out_width();
    parallel_each(p.count,
                  [&](int64_t i) { pool_plane(in + i * in_plane, p, out + i * out_plane); });
    ctx->save_for_backward({x});
    return y;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grad_outputs) {
    const torch::Tensor x = ctx->get_saved_variables()[0];
    const torch::Tensor grad_y = grad_outputs[0].contiguous();
    const Planes p = planes_of(x);
    torch::Tensor grad_x = torch::empty_like(x);
    const float* in = x.data_ptr<float>();
    const float* g = grad_y.data_ptr<float>();
    float* dx = grad_x.data_ptr<float>();
    const int64_t in_plane = p.height * p.width, out_plane = p.out_height() * p.out_width();
    parallel_each(p.count, [&](int64_t i) {
      unpool_gradient_plane(in + i * in_plane, g + i * out_plane, p, dx + i * in_plane);
    });
    return {grad_x};
  }
};

}  // namespace

torch::Tensor max_pool2x2(const torch::Tensor& x) {
  if (!cpu_fast_path_applies(x) || x.dim() != 4 || !x.is_contiguous() || x.size(2) < 2 ||
      x.size(3) < 2) {
    return torch::max_pool2d(x, /*kernel_size=*/2);
  }
  return MaxPool2x2Function::apply(x);
}

}  // namespace dunet::kernels
