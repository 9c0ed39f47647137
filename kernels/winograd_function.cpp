// conv2d(x, weight, bias, stride 1, padding 1) for training on the CPU by Winograd F(4x4, 3x3)
// (winograd_conv.h) in the forward pass and in both products of the backward pass:
// the input gradient is the same convolution of the output gradient with the filters turned
// by 180 degrees and in/out swapped, the weight gradient is winograd_weight_gradient. Each is
// a quarter of direct convolution's arithmetic. Needs OpenBLAS (WinogradConv3x3::available()).
#include "kernels/fast_paths.h"

#include "core/error.h"
#include "kernels/winograd_conv.h"

namespace dunet::kernels {

namespace {

class WinogradConvFunction : public torch::autograd::Function<WinogradConvFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias) {
    ctx->save_for_backward({x, weight});
    return WinogradConv3x3(weight, bias).forward(x, /*relu=*/false);
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const torch::Tensor& weight = saved[1];
    const torch::Tensor grad_output = grad_outputs[0].contiguous();
    torch::Tensor grad_x, grad_weight, grad_bias;
    if (ctx->needs_input_grad(0)) {
      const WinogradConv3x3 adjoint(weight.transpose(0, 1).flip({2, 3}), torch::Tensor());
      grad_x = adjoint.forward(grad_output, /*relu=*/false);
    }
    if (ctx->needs_input_grad(1)) grad_weight = winograd_weight_gradient(x, grad_output);
    if (ctx->needs_input_grad(2)) grad_bias = grad_output.sum({0, 2, 3});
    return {grad_x, grad_weight, grad_bias};
  }
};

}  // namespace

torch::Tensor winograd_conv2d(const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& bias) {
  DUNET_CHECK(cpu_fast_path_applies(x), Error,
              "winograd_conv2d takes float32 CPU tensors outside autocast, got one of type ",
              x.scalar_type(), " on ", x.device().str());
  return WinogradConvFunction::apply(x, weight, bias);
}

}  // namespace dunet::kernels
