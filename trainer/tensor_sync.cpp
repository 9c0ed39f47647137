#include "trainer/tensor_sync.h"

namespace dunet::trainer {

namespace {

// Runs `collective` on one flat copy of `tensors` and copies the result back.
template <typename Collective>
void on_flat_copy(const std::vector<torch::Tensor>& tensors, Collective&& collective) {
  if (tensors.empty()) return;
  std::vector<torch::Tensor> flat_parts;
  flat_parts.reserve(tensors.size());
  for (const auto& t : tensors) flat_parts.push_back(t.reshape(-1));
  torch::Tensor flat = torch::cat(flat_parts);
  collective(flat);
  int64_t offset = 0;
  for (const auto& t : tensors) {
    t.copy_(flat.narrow(0, offset, t.numel()).view_as(t));
    offset += t.numel();
  }
}

}  // namespace

void broadcast_model_state(torch::nn::Module& model, launcher::Communicator& comm) {
  if (comm.size() == 1) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> floats, others;
  for (const auto& p : model.parameters()) floats.push_back(p);
  for (const auto& b : model.buffers()) {
    (b.is_floating_point() ? floats : others).push_back(b);
  }
  on_flat_copy(floats, [&comm](torch::Tensor& flat) { comm.broadcast(flat, 0); });
  for (auto& t : others) {
    torch::Tensor contiguous = t.contiguous();
    comm.broadcast(contiguous, 0);
    t.copy_(contiguous);
  }
}

void average_buffers(torch::nn::Module& model, launcher::Communicator& comm) {
  if (comm.size() == 1) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> floats;
  for (const auto& b : model.buffers()) {
    if (b.is_floating_point()) floats.push_back(b);
  }
  on_flat_copy(floats, [&comm](torch::Tensor& flat) {
    comm.all_reduce(flat, launcher::ReduceOp::kAverage);
  });
}

}  // namespace dunet::trainer
