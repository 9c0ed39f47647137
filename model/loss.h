// Segmentation losses on logits: BCE-with-logits (the seed's), soft Dice, and their sum.
#pragma once

#include <torch/torch.h>

#include <string>

namespace dunet::model {

enum class LossKind { kBce, kDice, kBceDice };

// "bce" | "dice" | "bce_dice"; throws dunet::Error otherwise.
LossKind parse_loss(const std::string& name);

// logits and target have the same shape [N, C, H, W]; target holds 0/1. Returns a scalar:
// BCE is the mean over every element, Dice the mean over the channels of each one's Dice.
torch::Tensor segmentation_loss(const torch::Tensor& logits, const torch::Tensor& target,
                                LossKind kind);

// 1 - (2 sum(p t) + 1) / (sum(p) + sum(t) + 1) over the whole batch, p = sigmoid(logits).
torch::Tensor soft_dice_loss(const torch::Tensor& logits, const torch::Tensor& target);

}  // namespace dunet::model
