// A 1x1 convolution as matrix products over blocks of pixels, split over LibTorch's threads.
// OpenBLAS keeps one thread (compute_threads.h), so one [out, in] x [in, H W] product per image
// would run on one core; blocks of pixels give every thread work, in training and in inference
// of a single image alike.
#include "kernels/cpu_kernels.h"
#include "kernels/fast_paths.h"
#include "kernels/parallel_each.h"
#include "kernels/precision.h"

#include <algorithm>

namespace dunet::kernels {

namespace {

// Fixed, not derived from the thread count, so that the weight and bias gradients' partial
// sums (one per block) and their order are the same however many threads run.
constexpr int64_t kBlockPixels = 1024;

int64_t blocks_per_image(int64_t pixels) { return (pixels + kBlockPixels - 1) / kBlockPixels; }

// fn(block index, image, first pixel, pixel count) for every block of every image. fn must
// only touch detached tensors: LibTorch's worker threads have gradient mode on.
template <typename Fn>
void for_each_block(int64_t images, int64_t pixels, const Fn& fn) {
  const int64_t per_image = blocks_per_image(pixels);
  parallel_each(images * per_image, [&](int64_t block) {
    const int64_t image = block / per_image, first = block % per_image * kBlockPixels;
    fn(block, image, first, std::min(kBlockPixels, pixels - first));
  });
}

class PointwiseConvFunction : public torch::autograd::Function<PointwiseConvFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias) {
    const torch::Tensor input = x.detach().contiguous();
    const torch::Tensor w = weight.detach().contiguous();
    ctx->save_for_backward({input, w});
    const int64_t n = x.size(0), in = x.size(1), out = w.size(0), pixels = x.size(2) * x.size(3);
    const torch::Tensor in_rows = input.view({n, in, pixels});
    const torch::Tensor bias_column = bias.detach().view({out, 1});
    torch::Tensor y = torch::empty({n, out, x.size(2), x.size(3)}, x.options());
    const torch::Tensor out_rows = y.view({n, out, pixels});
    for_each_block(n, pixels, [&](int64_t, int64_t image, int64_t first, int64_t count) {
      torch::Tensor target = out_rows[image].narrow(1, first, count);
      at::addmm_out(target, bias_column.expand({out, count}), w,
                    in_rows[image].narrow(1, first, count));
    });
    return y;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& input = saved[0];
    const torch::Tensor& w = saved[1];
    const int64_t n = input.size(0), in = input.size(1), out = w.size(0);
    const int64_t pixels = input.size(2) * input.size(3);
    const torch::Tensor dy = grad_outputs[0].contiguous().view({n, out, pixels});
    const torch::Tensor in_rows = input.view({n, in, pixels});
    const torch::Tensor w_t = w.t();
    torch::Tensor dx = torch::empty_like(input);
    const torch::Tensor dx_rows = dx.view({n, in, pixels});
    const int64_t blocks = n * blocks_per_image(pixels);
    torch::Tensor partial = torch::empty({blocks, out, in}, input.options());
    torch::Tensor partial_bias = torch::empty({blocks, out}, input.options());
    for_each_block(n, pixels, [&](int64_t block, int64_t image, int64_t first, int64_t count) {
      const torch::Tensor dy_block = dy[image].narrow(1, first, count);
      torch::Tensor dx_block = dx_rows[image].narrow(1, first, count);
      at::mm_out(dx_block, w_t, dy_block);
      torch::Tensor dw_block = partial[block];
      at::mm_out(dw_block, dy_block, in_rows[image].narrow(1, first, count).t());
      torch::Tensor db_block = partial_bias[block];
      at::sum_out(db_block, dy_block, {1});
    });
    torch::Tensor dw = partial[0].clone(), db = partial_bias[0].clone();
    for (int64_t block = 1; block < blocks; ++block) {
      dw.add_(partial[block]);
      db.add_(partial_bias[block]);
    }
    return {dx, dw, db};
  }
};

}  // namespace

bool pointwise_conv_applies(const torch::Tensor& x) {
  return kCpuKernelsBuilt && x.defined() && x.is_cpu() && x.dim() == 4 &&
         (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kDouble) &&
         !autocast_active(c10::DeviceType::CPU) && blas_is_openblas();
}

torch::Tensor pointwise_conv(const torch::Tensor& x, const torch::Tensor& weight,
                             const torch::Tensor& bias) {
  return PointwiseConvFunction::apply(x, weight, bias);
}

}  // namespace dunet::kernels
