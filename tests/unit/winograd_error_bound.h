// Rigorous float error bounds for dunet's Winograd F(4x4, 3x3) convolutions, computed in double
// by an independent implementation of the same algorithm (Lavin & Gray's matrices, here in the
// test, not taken from the code under test). See Note [Winograd error bound].
//
// Note [Winograd error bound]
// In IEEE float arithmetic (unit roundoff u = 2^-24) every operation rounds with a relative
// error of at most u. An expression whose every path from an input to the result passes
// through at most k roundings has |computed - exact| <= gamma_k * |expression|, where
// gamma_k = k u / (1 - k u) and |expression| is the same expression evaluated on absolute
// values with every subtraction made an addition (Higham, "Accuracy and Stability of
// Numerical Algorithms", ch. 3). This holds for any summation order, with or without FMA, on
// any CPU, so the bound is the same on every machine. Counting roundings along a path of
// dunet's kernels (kernels/winograd_kernels.cpp, winograd_conv.cpp):
//   forward, C input channels: input transform B^T d B 6 (3 per pass), filter transform by a
//   float [36, 9] product 10 (9 plus the rounded coefficients), the products summed over the
//   C channels by sgemm C, output transform A^T m A 9 (4 + 5 with the bias): C + 25.
//   weight gradient over T tiles (all images): dy transform 6, input transform 6, the sum
//   over tiles T, G^T dU G by a float [9, 36] product 37: T + 49.
// We allow C + 32 and T + 56. The input gradient is the forward pass over the output gradient
// with turned, in/out-swapped filters (C = output channels). The bound is rigorous, so a test
// that uses it cannot fail by chance; a wrong transform, weight or tile misses it by orders of
// magnitude.
#pragma once

#include <torch/torch.h>

#include <cmath>

namespace dunet::testing {

inline constexpr double kFloatRoundoff = 5.9604644775390625e-08;  // 2^-24

inline double gamma(int64_t roundings) {
  const double k = static_cast<double>(roundings) * kFloatRoundoff;
  return k / (1.0 - k);
}

// Lavin & Gray's F(4x4, 3x3): B^T [6, 6], G [6, 3], A^T [4, 6].
inline torch::Tensor winograd_bt() {
  return torch::tensor({4., 0., -5., 0.,  1., 0., 0., -4., -4., 1.,  1., 0.,  //
                        0., 4., -4., -1., 1., 0., 0., -2., -1., 2.,  1., 0.,  //
                        0., 2., -1., -2., 1., 0., 0., 4.,  0.,  -5., 0., 1.},
                       torch::kDouble)
      .view({6, 6});
}
inline torch::Tensor winograd_g() {
  return torch::tensor({1. / 4, 0., 0., -1. / 6, -1. / 6, -1. / 6, -1. / 6, 1. / 6, -1. / 6,
                        1. / 24, 1. / 12, 1. / 6, 1. / 24, -1. / 12, 1. / 6, 0., 0., 1.},
                       torch::kDouble)
      .view({6, 3});
}
inline torch::Tensor winograd_at() {
  return torch::tensor({1., 1., 1., 1., 1., 0., 0., 1., -1., 2., -2., 0.,  //
                        0., 1., 1., 4., 4., 0., 0., 1., -1., 8., -8., 1.},
                       torch::kDouble)
      .view({4, 6});
}

// [N, C, H, W] -> 6x6 input tiles [N, C, th, tw, 6, 6] at stride 4, padding 1 (zeros).
inline torch::Tensor input_tiles(const torch::Tensor& x) {
  const int64_t th = (x.size(2) + 3) / 4, tw = (x.size(3) + 3) / 4;
  const auto padded =
      torch::constant_pad_nd(x, {1, 4 * tw + 1 - x.size(3), 1, 4 * th + 1 - x.size(2)}, 0.0);
  return padded.unfold(2, 6, 4).unfold(3, 6, 4);
}

// [N, O, th, tw, 4, 4] output tiles -> [N, O, H, W].
inline torch::Tensor untile(const torch::Tensor& tiles, int64_t height, int64_t width) {
  const auto s = tiles.sizes();
  return tiles.permute({0, 1, 2, 4, 3, 5})
      .reshape({s[0], s[1], s[2] * 4, s[3] * 4})
      .narrow(2, 0, height)
      .narrow(3, 0, width);
}

// F(4x4, 3x3) of x [N, C, H, W] with w [O, C, 3, 3] in double; with `absolute`, every matrix
// and operand by its absolute value (the |expression| of the Note).
inline torch::Tensor winograd_forward(const torch::Tensor& x, const torch::Tensor& w,
                                      bool absolute) {
  auto f = [absolute](const torch::Tensor& t) {
    return absolute ? t.to(torch::kDouble).abs() : t.to(torch::kDouble);
  };
  const auto bt = f(winograd_bt()), g = f(winograd_g()), at = f(winograd_at());
  const auto v = torch::matmul(torch::matmul(bt, f(input_tiles(x))), bt.t());  // B^T d B
  const auto u = torch::matmul(torch::matmul(g, f(w)), g.t());                 // G g G^T
  const auto m = torch::einsum("ocij,ncyxij->noyxij", {u, v});
  return untile(torch::matmul(torch::matmul(at, m), at.t()), x.size(2), x.size(3));
}

// Largest error dunet's float forward (conv + bias) may have, per output element.
inline torch::Tensor winograd_forward_bound(const torch::Tensor& x, const torch::Tensor& w,
                                            const torch::Tensor& bias) {
  auto bound = winograd_forward(x, w, /*absolute=*/true);
  if (bias.defined()) bound = bound + bias.to(torch::kDouble).abs().view({1, -1, 1, 1});
  return gamma(x.size(1) + 32) * bound;
}

// Largest error of dunet's input gradient, per element, for output gradient dy [N, O, H, W].
inline torch::Tensor winograd_input_gradient_bound(const torch::Tensor& dy,
                                                   const torch::Tensor& w) {
  return gamma(dy.size(1) + 32) *
         winograd_forward(dy, w.transpose(0, 1).flip({2, 3}), /*absolute=*/true);
}

// Largest error of dunet's weight gradient [O, C, 3, 3], per element.
inline torch::Tensor winograd_weight_gradient_bound(const torch::Tensor& x,
                                                    const torch::Tensor& dy) {
  const auto bt = winograd_bt().abs(), g = winograd_g().abs(), at = winograd_at().abs();
  const auto v = torch::matmul(torch::matmul(bt, input_tiles(x).to(torch::kDouble).abs()), bt.t());
  // dy tiles [N, O, th, tw, 4, 4] (zeros past the border), transformed to 6x6 by A dy A^T.
  const int64_t th = v.size(2), tw = v.size(3);
  const auto dy_padded = torch::constant_pad_nd(
      dy.to(torch::kDouble).abs(), {0, 4 * tw - dy.size(3), 0, 4 * th - dy.size(2)}, 0.0);
  const auto dy_tiles = dy_padded.unfold(2, 4, 4).unfold(3, 4, 4);
  const auto dm = torch::matmul(torch::matmul(at.t(), dy_tiles), at);
  const auto du = torch::einsum("noyxij,ncyxij->ocij", {dm, v});
  const int64_t tiles = x.size(0) * th * tw;
  return gamma(tiles + 56) * torch::matmul(torch::matmul(g.t(), du), g);
}

// Whether every element of `got` lies within `bound` of `exact` (both compared in double).
inline bool within_bound(const torch::Tensor& got, const torch::Tensor& exact,
                         const torch::Tensor& bound) {
  return ((got.to(torch::kDouble) - exact.to(torch::kDouble)).abs() <= bound).all().item<bool>();
}

// The largest |got - exact| / bound, for messages (below 1 when within the bound).
inline double bound_ratio(const torch::Tensor& got, const torch::Tensor& exact,
                          const torch::Tensor& bound) {
  return ((got.to(torch::kDouble) - exact.to(torch::kDouble)).abs() /
          bound.clamp_min(std::numeric_limits<double>::min()))
      .max()
      .item<double>();
}

}  // namespace dunet::testing
