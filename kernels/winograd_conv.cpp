#include "kernels/winograd_conv.h"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>

#include "core/error.h"
#include "kernels/compute_threads.h"
#include "kernels/cpu_kernels.h"
#include "kernels/parallel_each.h"
#include "kernels/winograd_kernels.h"

namespace dunet::kernels {

using namespace winograd;

namespace {

// Fortran BLAS, as exported by OpenBLAS (and by the reference BLAS).
using Sgemm = void (*)(const char* transa, const char* transb, const int* m, const int* n,
                       const int* k, const float* alpha, const float* a, const int* lda,
                       const float* b, const int* ldb, const float* beta, float* c, const int* ldc);

// Only with OpenBLAS: the reference BLAS multiplies at a few GFLOP/s, far slower than
// LibTorch's direct convolution. Looked up at run time like compute_threads.cpp, because which
// libblas.so.3 is loaded is the system's choice.
Sgemm find_sgemm() {
  if (!blas_is_openblas()) return nullptr;
  return reinterpret_cast<Sgemm>(dlsym(RTLD_DEFAULT, "sgemm_"));
}

Sgemm sgemm() {
  static const Sgemm function = find_sgemm();
  return function;
}

// G (6x3), the filter transform of F(4x4, 3x3), as the 36x9 matrix kron(G, G) that maps a
// flattened 3x3 filter g to the flattened 6x6 G g G^T. Applying it to all filters at once is
// one matrix product, where per-filter 6x3 products would be millions of tiny ones.
at::Tensor filter_transform(at::ScalarType type) {
  const at::Tensor g = at::tensor({1.0 / 4, 0.0, 0.0,             //
                                   -1.0 / 6, -1.0 / 6, -1.0 / 6,  //
                                   -1.0 / 6, 1.0 / 6, -1.0 / 6,   //
                                   1.0 / 24, 1.0 / 12, 1.0 / 6,   //
                                   1.0 / 24, -1.0 / 12, 1.0 / 6,  //
                                   0.0, 0.0, 1.0},
                                  at::kDouble)
                           .view({kInputTile, 3});
  return at::kron(g, g).to(type);
}

// Tiles per block for products of in x out channels: the block's buffers stay in the caches.
int64_t tiles_per_block(int64_t tiles, int64_t in_channels, int64_t out_channels) {
  const int64_t bytes_per_tile = kFrequencies * (in_channels + out_channels) * 4;
  const int64_t rounded_tiles = (tiles + kLanes - 1) / kLanes * kLanes;
  return std::min(rounded_tiles, std::max(kLanes, kBlockBytes / bytes_per_tile / kLanes * kLanes));
}

void check_input(const at::Tensor& x, int64_t channels, const char* what) {
  DUNET_CHECK(sgemm() != nullptr, Error, "Winograd convolution needs OpenBLAS (sgemm_ not found)");
  DUNET_CHECK(x.dim() == 4 && x.size(1) == channels && x.is_cpu() && x.scalar_type() == at::kFloat,
              Error, "Winograd convolution expects ", what, " as a float CPU tensor [N, ", channels,
              ", H, W], got ", x.sizes(), " ", x.scalar_type());
}

// Column-major C (m x n) = op(A) B + beta C with single-precision Fortran BLAS, op(A) = A or
// A^T (m x k).
void multiply(bool transpose_a, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
              const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  const int mi = static_cast<int>(m), ni = static_cast<int>(n), ki = static_cast<int>(k);
  const int lda_i = static_cast<int>(lda), ldb_i = static_cast<int>(ldb);
  const int ldc_i = static_cast<int>(ldc);
  const float one = 1.0f;
  sgemm()(transpose_a ? "T" : "N", "N", &mi, &ni, &ki, &one, a, &lda_i, b, &ldb_i, &beta, c,
          &ldc_i);
}

// The tiles of a batch in blocks, with one [frequency][channel][tile] buffer of the block for
// the input side and one for the output side, reused from block to block.
class TileBlocks {
 public:
  TileBlocks(const Geometry& g, int64_t batch, int64_t in_channels, int64_t out_channels,
             const at::TensorOptions& options)
      : tiles_(batch * g.tiles_per_image),
        block_tiles_(tiles_per_block(tiles_, in_channels, out_channels)),
        input_side_(at::empty({kFrequencies * in_channels * block_tiles_}, options)),
        output_side_(at::empty({kFrequencies * out_channels * block_tiles_}, options)) {}

  // fn(block, input-side buffer, output-side buffer) for each block in order.
  template <typename Fn>
  void for_each(const Fn& fn) {
    for (int64_t first = 0; first < tiles_; first += block_tiles_) {
      const Block block{first, std::min(block_tiles_, tiles_ - first), block_tiles_};
      fn(block, input_side_.data_ptr<float>(), output_side_.data_ptr<float>());
    }
  }

 private:
  int64_t tiles_;
  int64_t block_tiles_;
  at::Tensor input_side_;
  at::Tensor output_side_;
};

// On unless the config's model.conv_path says otherwise (numerics.h applies it).
std::atomic<bool>& enabled_flag() {
  static std::atomic<bool> flag{true};
  return flag;
}

}  // namespace

bool winograd_enabled() { return WinogradConv3x3::available() && enabled_flag().load(); }

void set_winograd_enabled(bool enabled) { enabled_flag().store(enabled); }

bool WinogradConv3x3::available() { return kCpuKernelsBuilt && sgemm() != nullptr; }

WinogradConv3x3::WinogradConv3x3(const at::Tensor& weight, const at::Tensor& bias)
    : in_channels_(weight.size(1)), out_channels_(weight.size(0)) {
  DUNET_CHECK(weight.dim() == 4 && weight.size(2) == 3 && weight.size(3) == 3, Error,
              "Winograd convolution needs a [out, in, 3, 3] weight, got ", weight.sizes());
  // [36, 9] x [9, out * in] gives the [36, out, in] layout the products read. Double weights
  // (folded inference weights) are transformed in double, so they are rounded only once.
  const at::Tensor w = weight.detach().cpu();
  const BlasOnCallingThread blas_on_calling_thread;  // see forward()
  const at::ScalarType type = w.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  transformed_weight_ =
      at::mm(filter_transform(type), w.to(type).reshape({out_channels_ * in_channels_, 9}).t())
          .view({kFrequencies, out_channels_, in_channels_})
          .to(at::kFloat);
  bias_ = bias.defined() ? bias.detach().cpu().to(at::kFloat).contiguous()
                         : at::zeros({out_channels_}, at::kFloat);
}

at::Tensor WinogradConv3x3::forward(const at::Tensor& input, bool relu) const {
  check_input(input, in_channels_, "the input");
  const at::Tensor x = input.contiguous();
  const Geometry g(x.size(2), x.size(3));
  at::Tensor output = at::empty({x.size(0), out_channels_, g.height, g.width}, x.options());
  if (output.numel() == 0) return output;
  const float* in = x.data_ptr<float>();
  float* out = output.data_ptr<float>();
  const float* u = transformed_weight_.data_ptr<float>();
  const float* bias = bias_.data_ptr<float>();
  // The products are split over threads here (one frequency each), so BLAS must not start
  // threads of its own inside them.
  const BlasOnCallingThread blas_on_calling_thread;
  TileBlocks(g, x.size(0), in_channels_, out_channels_, x.options())
      .for_each([&](const Block& block, float* v, float* m) {
        parallel_each(in_channels_,
                      [&](int64_t c) { transform_input(in, g, in_channels_, c, block, v); });
        // Row-major M_k[out][tile] = U_k[out][in] V_k[in][tile], written as the column-major
        // product M_k^T = V_k^T U_k^T that Fortran BLAS computes.
        parallel_each(kFrequencies, [&](int64_t k) {
          multiply(false, block.num_tiles, out_channels_, in_channels_,
                   v + k * in_channels_ * block.stride, block.stride,
                   u + k * out_channels_ * in_channels_, in_channels_, 0.0f,
                   m + k * out_channels_ * block.stride, block.stride);
        });
        parallel_each(out_channels_, [&](int64_t o) {
          transform_output(m, g, out_channels_, o, block, bias[o], relu, out);
        });
      });
  return output;
}

std::function<torch::Tensor(const torch::Tensor&)> winograd_conv3x3_relu(
    const torch::Tensor& weight, const torch::Tensor& bias) {
  if (!winograd_pays_off(weight.size(1), weight.size(0), /*backward=*/false) ||
      !WinogradConv3x3::available()) {
    return {};
  }
  auto conv = std::make_shared<const WinogradConv3x3>(weight, bias);
  return [conv](const torch::Tensor& x) { return conv->forward(x, /*relu=*/true); };
}

at::Tensor winograd_weight_gradient(const at::Tensor& input, const at::Tensor& grad_output) {
  const int64_t in_channels = input.size(1), out_channels = grad_output.size(1);
  check_input(input, in_channels, "the input");
  check_input(grad_output, out_channels, "the output gradient");
  DUNET_CHECK(input.size(0) == grad_output.size(0) && input.size(2) == grad_output.size(2) &&
                  input.size(3) == grad_output.size(3),
              Error, "Winograd weight gradient: input ", input.sizes(), " and output gradient ",
              grad_output.sizes(), " differ in batch or image size");
  const at::Tensor x = input.contiguous(), dy = grad_output.contiguous();
  const Geometry g(x.size(2), x.size(3));
  at::Tensor du = at::zeros({kFrequencies, out_channels, in_channels}, x.options());
  const float* in = x.data_ptr<float>();
  const float* dy_data = dy.data_ptr<float>();
  float* du_data = du.data_ptr<float>();
  const BlasOnCallingThread blas_on_calling_thread;  // see forward()
  TileBlocks(g, x.size(0), in_channels, out_channels, x.options())
      .for_each([&](const Block& block, float* v, float* dm) {
        parallel_each(in_channels,
                      [&](int64_t c) { transform_input(in, g, in_channels, c, block, v); });
        parallel_each(out_channels, [&](int64_t o) {
          transform_output_gradient(dy_data, g, out_channels, o, block, dm);
        });
        // Row-major dU_k[out][in] += dM_k[out][tile] V_k[in][tile]^T, as the column-major
        // dU_k^T += V_k^T dM_k with V_k read transposed.
        parallel_each(kFrequencies, [&](int64_t k) {
          multiply(true, in_channels, out_channels, block.num_tiles,
                   v + k * in_channels * block.stride, block.stride,
                   dm + k * out_channels * block.stride, block.stride, 1.0f,
                   du_data + k * out_channels * in_channels, in_channels);
        });
      });
  // dW = G^T dU G for every (out, in) pair: the adjoint of the filter transform.
  return at::mm(filter_transform(at::kFloat).t(),
                du.view({kFrequencies, out_channels * in_channels}))
      .t()
      .reshape({out_channels, in_channels, 3, 3});
}

}  // namespace dunet::kernels
