"""The seed's UNet in PyTorch, and dunet's weights in it and back.

`dunet export --model CKPT --out DIR` writes DIR/state_dict.pt (the seed's parameter names),
DIR/model.json (shape and input normalisation) and DIR/example.pt (a fixed input and dunet's
logits for it). Here:

    import dunet_unet
    model, mean, std = dunet_unet.load_exported("DIR")      # eval mode
    logits = model(dunet_unet.normalise(images, mean, std))  # images: [N, C, H, W] in 0..1

and the reverse, for `dunet import --from DIR --out CKPT`:

    dunet_unet.save_for_dunet(model, "DIR", mean, std)

The network is the classic UNet: DoubleConv = (3x3 conv, norm, ReLU) x 2; four (`depth`) down
steps with 2x2 max-pool; 2x2 stride-2 transpose convolutions up, each concatenated after the
skip; a 1x1 convolution to the logits. Like dunet, it zero-pads the input at the bottom and
right to a multiple of 2**depth and crops the logits back, so any size goes in. Norms: batch
(also dunet's sync_batch), group (8 groups, or the largest divisor of the channels below 8),
instance (a GroupNorm with a group per channel, as dunet's), none.
"""
import json
import os

import torch
from torch import nn
import torch.nn.functional as F

FORMAT = "dunet-unet-state-dict"
VERSION = 1


def group_norm_groups(channels):
    """dunet's model::group_norm_groups: 8, or the largest divisor of the channels below 8."""
    for groups in range(min(8, channels), 0, -1):
        if channels % groups == 0:
            return groups
    return 1


def _norm(kind, channels):
    if kind in ("batch", "sync_batch"):
        return nn.BatchNorm2d(channels)
    if kind == "group":
        return nn.GroupNorm(group_norm_groups(channels), channels)
    if kind == "instance":
        return nn.GroupNorm(channels, channels)
    if kind == "none":
        return None
    raise ValueError(f"unknown norm {kind!r}: batch, sync_batch, group, instance or none")


class DoubleConv(nn.Module):
    def __init__(self, in_channels, out_channels, norm="batch"):
        super().__init__()
        layers = []
        for channels in (in_channels, out_channels):
            layers.append(nn.Conv2d(channels, out_channels, kernel_size=3, padding=1))
            layer = _norm(norm, out_channels)
            if layer is not None:
                layers.append(layer)
            layers.append(nn.ReLU(inplace=True))
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, in_channels=3, out_channels=1, base_channels=64, depth=4, norm="batch"):
        super().__init__()
        self.depth = depth
        self.norm = norm
        features = [base_channels << level for level in range(depth)]
        self.downs = nn.ModuleList()
        self.ups = nn.ModuleList()
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        channels = in_channels
        for feature in features:
            self.downs.append(DoubleConv(channels, feature, norm))
            channels = feature
        self.bottleneck = DoubleConv(features[-1], features[-1] * 2, norm)
        for feature in reversed(features):
            self.ups.append(nn.ConvTranspose2d(feature * 2, feature, kernel_size=2, stride=2))
            self.ups.append(DoubleConv(feature * 2, feature, norm))
        self.final_conv = nn.Conv2d(features[0], out_channels, kernel_size=1)

    def forward(self, x):
        height, width = x.shape[-2:]
        multiple = 1 << self.depth
        pad_bottom, pad_right = -height % multiple, -width % multiple
        if pad_bottom or pad_right:
            x = F.pad(x, (0, pad_right, 0, pad_bottom))
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for i in range(0, len(self.ups), 2):
            x = self.ups[i](x)
            x = self.ups[i + 1](torch.cat((skips.pop(), x), dim=1))
        x = self.final_conv(x)
        return x[..., :height, :width]


def normalise(images, mean, std):
    """Images [N, C, H, W] with values in 0..1, normalised per channel as dunet's input."""
    mean = torch.as_tensor(mean, dtype=images.dtype).view(1, -1, 1, 1)
    std = torch.as_tensor(std, dtype=images.dtype).view(1, -1, 1, 1)
    return (images - mean) / std


def _shape(description):
    return {key: description[key]
            for key in ("in_channels", "out_channels", "base_channels", "depth", "norm")}


def load_exported(folder):
    """(model in eval mode, mean, std) from a folder of `dunet export`."""
    with open(os.path.join(folder, "model.json")) as f:
        description = json.load(f)
    if description.get("format") != FORMAT or description.get("version") != VERSION:
        raise ValueError(f"{folder}/model.json is not a {FORMAT} version {VERSION} file")
    model = UNet(**_shape(description))
    state = torch.load(os.path.join(folder, "state_dict.pt"), map_location="cpu")
    model.load_state_dict(state, strict=True)
    model.eval()
    return model, description["mean"], description["std"]


def save_for_dunet(model, folder, mean, std):
    """Writes `model`'s weights as a folder that `dunet import --from FOLDER` reads."""
    shape = {"in_channels": model.downs[0].conv[0].in_channels,
             "out_channels": model.final_conv.out_channels,
             "base_channels": model.downs[0].conv[0].out_channels,
             "depth": model.depth,
             "norm": model.norm}
    if len(mean) != shape["in_channels"] or len(std) != shape["in_channels"]:
        raise ValueError("mean and std need one value per input channel")
    os.makedirs(folder, exist_ok=True)
    # A plain dict: what torch.save writes for it is what LibTorch's pickle_load reads.
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    _save_whole(os.path.join(folder, "state_dict.pt"), lambda path: torch.save(state, path))
    description = {"format": FORMAT, "version": VERSION, "names": "seed", **shape,
                   "mean": [float(v) for v in mean], "std": [float(v) for v in std],
                   "source": "python/dunet_unet.py"}
    _save_whole(os.path.join(folder, "model.json"),
                lambda path: open(path, "w").write(json.dumps(description, indent=2) + "\n"))


def _save_whole(path, write):
    """Writes through a temporary file and a rename, so `path` is whole or absent."""
    temporary = path + ".tmp"
    write(temporary)
    with open(temporary, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(temporary, path)
