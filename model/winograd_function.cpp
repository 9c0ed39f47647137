#include "model/winograd_function.h"

#include "model/winograd_conv.h"

namespace dunet::model {

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
  return WinogradConvFunction::apply(x, weight, bias);
}

}  // namespace dunet::model
