#include "model/loss.h"

#include "core/error.h"
#include "model/widen.h"

namespace dunet::model {

LossKind parse_loss(const std::string& name) {
  if (name == "bce") return LossKind::kBce;
  if (name == "dice") return LossKind::kDice;
  if (name == "bce_dice") return LossKind::kBceDice;
  throw Error("unknown loss '" + name + "'; expected bce, dice or bce_dice");
}

torch::Tensor soft_dice_loss(const torch::Tensor& logits, const torch::Tensor& target) {
  constexpr double kSmooth = 1.0;  // keeps empty masks from dividing by zero
  const torch::Tensor p = torch::sigmoid(logits);
  const torch::Tensor overlap = (p * target).sum();
  return 1.0 - (2.0 * overlap + kSmooth) / (p.sum() + target.sum() + kSmooth);
}

namespace {

// Outlines are a small fraction of the foreground: a Dice over both maps at once would let the
// foreground drown them, so each map gets its own.
torch::Tensor per_channel_dice_loss(const torch::Tensor& logits, const torch::Tensor& target) {
  if (logits.dim() < 2 || logits.size(1) == 1) return soft_dice_loss(logits, target);
  torch::Tensor sum = soft_dice_loss(logits.select(1, 0), target.select(1, 0));
  for (int64_t c = 1; c < logits.size(1); ++c) {
    sum = sum + soft_dice_loss(logits.select(1, c), target.select(1, c));
  }
  return sum / static_cast<double>(logits.size(1));
}

}  // namespace

torch::Tensor segmentation_loss(const torch::Tensor& logits_in, const torch::Tensor& target,
                                LossKind kind) {
  const torch::Tensor logits = widen_reduced_precision(logits_in);
  DUNET_CHECK(logits.sizes() == target.sizes(), Error, "loss: logits ", logits.sizes(),
              " and targets ", target.sizes(), " differ in shape");
  switch (kind) {
    case LossKind::kBce:
      return torch::binary_cross_entropy_with_logits(logits, target);
    case LossKind::kDice:
      return per_channel_dice_loss(logits, target);
    case LossKind::kBceDice:
      return torch::binary_cross_entropy_with_logits(logits, target) +
             per_channel_dice_loss(logits, target);
  }
  DUNET_ASSERT(false);
  return {};
}

}  // namespace dunet::model
