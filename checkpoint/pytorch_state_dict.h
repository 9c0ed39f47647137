// Weights for the Python world and back: a folder that PyTorch and dunet both read.
//
//   state_dict.pt  the UNet's parameters and buffers under the seed's PyTorch names, written
//                  as torch.save writes a dict of tensors (torch::pickle_save): torch.load
//                  gives it back, and Module.load_state_dict takes it
//   model.json     the shape (in/out channels, base channels, depth, norm) and the input
//                  normalisation (mean, std per channel), which the weights need
//   example.pt     export only: a fixed input and dunet's logits for it, so that a Python
//                  network can show that it computes what dunet computes
//
// python/dunet_unet.py builds the seed's UNet from model.json, loads state_dict.pt, and
// writes such a folder from a PyTorch model for `dunet import`.
//
// The seed's names, per module of dunet's UNet (model/unet.h):
//   downs.<i>.conv.body.<k>.*  ->  downs.<i>.conv.<k>.*
//   bottom.body.<k>.*          ->  bottleneck.conv.<k>.*
//   ups.<i>.up.*               ->  ups.<2i>.*            (the 2x2 transpose convolution)
//   ups.<i>.conv.body.<k>.*    ->  ups.<2i+1>.conv.<k>.*
//   head.*                     ->  final_conv.*
// where <k> counts the layers of a DoubleConv: conv, norm (absent with norm = "none"), ReLU,
// twice.
#pragma once

#include <filesystem>
#include <string>

#include "model/model_config.h"

namespace dunet::checkpoint {

// The seed's name of a parameter or buffer of dunet's UNet, and back. Throws CheckpointError
// for a name outside the scheme above.
std::string seed_name_of(const std::string& dunet_name);
std::string dunet_name_of(const std::string& seed_name);

// Writes the folder above from a dunet checkpoint, each file whole or not at all.
void export_state_dict(const std::filesystem::path& checkpoint, const std::filesystem::path& out);

// Reads such a folder (from `export_state_dict` or python/dunet_unet.py) and writes a dunet
// checkpoint of its weights at step 0, which `dunet infer` serves and `train.init_weights`
// fine-tunes. Throws CheckpointError naming the file and the key for a missing, unexpected
// or misshapen tensor, or a bad model.json.
void import_state_dict(const std::filesystem::path& folder, const std::filesystem::path& out);

}  // namespace dunet::checkpoint
