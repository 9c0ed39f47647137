#!/usr/bin/python3
"""The PyTorch reference dunet is measured against: the classic UNet training step as a PyTorch
user writes it (DoubleConv = (conv3x3, BatchNorm, ReLU) x 2, max-pool down, ConvTranspose2d
up, skip concatenation, BCEWithLogitsLoss, Adam), with DistributedDataParallel over gloo when
started with more than one process (mpirun sets the rank; rendezvous on 127.0.0.1).

It reads random patches of the same HDF5 shards dunet trains on (preloaded into memory, so the
reference never waits for data) and prints one JSON line with its median images/s, peak memory
and, with --infer, the median latency of single-image inference.

Usage: mpirun -n P python3 unet_reference.py --shards 'DIR/train-*.h5' --base 64 --patch 256
       --batch 4 --threads 2 --steps 6 --warmup 2 [--infer 5]
"""
import argparse
import glob
import json
import os
import resource
import statistics
import time

import h5py
import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn


class DoubleConv(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Up(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cin // 2, 2, stride=2)
        self.conv = DoubleConv(cin, cout)

    def forward(self, x, skip):
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


class UNet(nn.Module):
    def __init__(self, in_channels=3, base=64, depth=4):
        super().__init__()
        widths = [base << i for i in range(depth)]
        self.downs = nn.ModuleList()
        c = in_channels
        for w in widths:
            self.downs.append(DoubleConv(c, w))
            c = w
        self.bottom = DoubleConv(c, 2 * c)
        c *= 2
        self.ups = nn.ModuleList()
        for w in reversed(widths):
            self.ups.append(Up(c, w))
            c = w
        self.head = nn.Conv2d(c, 1, 1)

    def forward(self, x):
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
            x = nn.functional.max_pool2d(x, 2)
        x = self.bottom(x)
        for up in self.ups:
            x = up(x, skips.pop())
        return self.head(x)


def training_flops_per_image(base, patch, depth=4, in_channels=3):
    """Multiply-adds x 2 of forward + backward (3 x forward) for one image, convolutions only."""
    flops, c, size = 0, in_channels, patch
    widths = [base << i for i in range(depth)]
    for w in widths:
        flops += 2 * 9 * (c * w + w * w) * size * size
        c, size = w, size // 2
    flops += 2 * 9 * (c * 2 * c + 4 * c * c) * size * size
    c *= 2
    for w in reversed(widths):
        flops += 2 * 4 * c * (c // 2) * size * size  # 2x2 transpose conv, stride 2
        size *= 2
        flops += 2 * 9 * (c * w + w * w) * size * size
        c = w
    return 3 * (flops + 2 * c * size * size)


def conv_ceiling_gflops(threads):
    """The best forward rate of LibTorch's (oneDNN) 3x3 convolutions over UNet-like shapes."""
    torch.set_num_threads(threads)
    best = 0.0
    for cin, size in [(64, 128), (128, 64), (256, 32), (512, 16)]:
        x, w = torch.randn(4, cin, size, size), torch.randn(cin, cin, 3, 3)
        times = []
        for _ in range(6):
            start = time.perf_counter()
            torch.conv2d(x, w, padding=1)
            times.append(time.perf_counter() - start)
        best = max(best, 2 * 9 * 4 * cin * cin * size * size / statistics.median(times[1:]) / 1e9)
    return best


def load_samples(pattern, limit):
    samples = []
    for path in sorted(glob.glob(pattern)):
        with h5py.File(path, "r") as f:
            channels = int(f.attrs["channels"])
            mean = np.asarray(f.attrs["mean"], np.float32)
            std = np.asarray(f.attrs["std"], np.float32)
            images, masks, index = f["images"][:], f["masks"][:], f["index"][:]
        for offset, h, w, _ in index:
            pixels = images[offset * channels:(offset + h * w) * channels].reshape(h, w, channels)
            image = (pixels.astype(np.float32) / 255.0 - mean) / std
            mask = masks[offset:offset + h * w].reshape(h, w).astype(np.float32)
            samples.append((image.transpose(2, 0, 1).copy(), mask))
            if len(samples) == limit:
                return samples
    if not samples:
        raise SystemExit(f"no samples in {pattern}")
    return samples


def random_batch(samples, batch, patch, rng):
    xs, ys = [], []
    for _ in range(batch):
        image, mask = samples[rng.integers(len(samples))]
        h, w = mask.shape
        ph, pw = max(patch - h, 0), max(patch - w, 0)
        if ph or pw:  # reflect-pad images smaller than the patch
            image = np.pad(image, ((0, 0), (0, ph), (0, pw)), mode="reflect")
            mask = np.pad(mask, ((0, ph), (0, pw)), mode="reflect")
            h, w = mask.shape
        top, left = rng.integers(h - patch + 1), rng.integers(w - patch + 1)
        xs.append(image[:, top:top + patch, left:left + patch])
        ys.append(mask[None, top:top + patch, left:left + patch])
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--shards")
    p.add_argument("--flops", action="store_true", help="print training GFLOP per image and exit")
    p.add_argument("--ceiling", action="store_true", help="print the conv GFLOP/s ceiling and exit")
    p.add_argument("--base", type=int, default=64)
    p.add_argument("--patch", type=int, default=256)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--infer", type=int, default=0, help="single-image inference repetitions")
    a = p.parse_args()
    if a.flops:
        return print(f"{training_flops_per_image(a.base, a.patch) / 1e9:.2f}")
    if a.ceiling:
        return print(f"{conv_ceiling_gflops(a.threads):.0f}")
    if not a.shards:
        p.error("--shards is required")

    torch.set_num_threads(a.threads)
    rank = int(os.environ.get("OMPI_COMM_WORLD_RANK", 0))
    world = int(os.environ.get("OMPI_COMM_WORLD_SIZE", 1))
    torch.manual_seed(0)
    model = UNet(base=a.base)
    if world > 1:
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", "29517")
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
        dist.init_process_group("gloo", rank=rank, world_size=world)
        model = nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    samples = load_samples(a.shards, 64)
    rng = np.random.default_rng(rank)

    times = []
    for step in range(a.warmup + a.steps):
        x, y = random_batch(samples, a.batch, a.patch, rng)
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        if world > 1:  # the slowest rank sets the pace, as in dunet's step timing
            dist.barrier()
        times.append(time.perf_counter() - start)
    step_s = statistics.median(times[a.warmup:])
    result = {"images_per_s": a.batch * world / step_s, "step_s": step_s,
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "params": sum(p.numel() for p in model.parameters()), "loss": float(loss)}
    if a.infer:
        net = model.module if world > 1 else model
        net.eval()
        x, _ = random_batch(samples, 1, a.patch, rng)
        latencies = []
        with torch.no_grad():
            for _ in range(a.infer + 1):
                start = time.perf_counter()
                torch.sigmoid(net(x))
                latencies.append(time.perf_counter() - start)
        result["infer_ms"] = 1000 * statistics.median(latencies[1:])
    if world > 1:
        dist.destroy_process_group()
    if rank == 0:
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
