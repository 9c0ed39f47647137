#!/usr/bin/env python3
"""Cost model of one data-parallel training step of dunet's UNet on N GPUs (docs/scaling.md).

The all-reduce is read off bandwidth-versus-message-size curves, not flat peaks: NCCL's bus
bandwidth at 1 MiB is a fraction of its bandwidth at 32 MiB, and dunet's gradient buckets are
1 MiB (the first) and 25 MiB. Each fabric's curve is busbw(S) = S / (alpha + S / peak), with
alpha and peak fitted to two published points of NCCL's all_reduce_perf (or an assumption,
marked as such). A bucket of S bytes on N GPUs takes 2(N-1)/N x S / busbw(S), plus, beyond the
GPU count the curve was published for, 2 hop latencies per doubling (tree depth).

step(N) = compute + exposed communication
compute = batch x GFLOP per image / achieved TFLOP/s per GPU
exposed = max(last bucket's all-reduce, all buckets - hideable share of backward)
efficiency(N) = compute / step(N)

Every input is a named constant below; nothing here is a GPU measurement.
Usage: python3 bench/scaling_model.py   (prints the tables of docs/scaling.md)
"""
import math

MIB = 2**20
GFLOP_PER_IMAGE = 289.0      # base 64, 256x256, forward + backward (bench/reference --flops)
PARAMETERS = 31_043_521      # base 64 (tests/unit/model_test.cpp)
BUCKET_MB = 25.0             # [dist] bucket_mb default; the first bucket is 1 MiB
BACKWARD_SHARE = 2.0 / 3.0   # backward is ~2/3 of a step's convolution arithmetic
HIDEABLE = 0.9               # share of backward after the first bucket is ready (bucket order)
GPUS_PER_NODE = 8

# Achieved (not peak) rate per GPU: assumptions, A100/H100-class. Published dense peaks: A100
# 156 TF32 / 312 BF16, H100 SXM 495 / 989. A well-fed cuDNN UNet reaches a fraction of them.
COMPUTE = {"TF32, 40 TFLOP/s achieved": 40.0, "AMP (BF16), 120 TFLOP/s achieved": 120.0}


class Curve:
    """busbw(S) = S / (alpha + S / peak) through two (bytes, GB/s) points, for `gpus` GPUs."""

    def __init__(self, small, large, gpus, hop_s):
        (s1, b1), (s2, b2) = small, large
        t1, t2 = s1 / (b1 * 1e9), s2 / (b2 * 1e9)
        self.peak = (s2 - s1) / (t2 - t1)  # bytes/s
        self.alpha = t1 - s1 / self.peak   # s
        self.gpus, self.hop_s = gpus, hop_s

    def busbw(self, size):  # GB/s
        return size / (self.alpha + size / self.peak) / 1e9

    def seconds(self, size, n):
        extra_depth = max(0, math.ceil(math.log2(n / self.gpus))) if n > self.gpus else 0
        return 2 * (n - 1) / n * size / (self.busbw(size) * 1e9) + 2 * extra_depth * self.hop_s


# Published points (NCCL all_reduce_perf, bus bandwidth), rounded; the fits' second point for
# the networks is an assumption where only the 1 MiB figure is published.
NVLINK_LOW = Curve((1 * MIB, 40.0), (24 * MIB, 220.0), 8, 8e-6)    # 8x H200: 40 at 1 MiB ...
NVLINK_HIGH = Curve((1 * MIB, 75.0), (24 * MIB, 300.0), 8, 8e-6)   # ... 75; 220-300 at 16-32 MiB
IB_8X400 = Curve((1 * MIB, 10.0), (256 * MIB, 180.0), 16, 10e-6)   # 2x8 H100: 10 at 1 MiB;
#                                                                     180 at 256 MiB assumed
ETH_1X100 = Curve((1 * MIB, 5.0), (256 * MIB, 10.0), 16, 15e-6)    # assumed: one 100 Gb/s NIC
# (inside the node, across nodes, network adapters per node)
FABRICS = {
    "NVLink in the node; 8x400 Gb/s IB per node": (NVLINK_LOW, IB_8X400, 8),
    "NVLink in the node; 1x100 Gb/s Ethernet per node": (NVLINK_LOW, ETH_1X100, 1),
}


def buckets(grad_bytes, bucket_mb=BUCKET_MB):
    sizes, left = [min(MIB, grad_bytes)], grad_bytes - min(MIB, grad_bytes)
    while left > 0:
        sizes.append(min(bucket_mb * MIB, left))
        left -= sizes[-1]
    return sizes


def step(n, batch, tflops, fabric, grad_bytes_per_param=4, hidden=HIDEABLE, bucket_mb=BUCKET_MB,
         hierarchical=False):
    intra, inter, nics = fabric
    sizes = buckets(PARAMETERS * grad_bytes_per_param, bucket_mb)
    compute = batch * GFLOP_PER_IMAGE / (tflops * 1e3)
    if n == 1:
        return compute, 0.0, 0.0, 1.0

    def bucket_s(size):
        if n <= GPUS_PER_NODE:
            return intra.seconds(size, n)
        if hierarchical:
            # Reduce-scatter and all-gather on NVLink; across nodes, an all-reduce among the
            # nodes of each adapter's share of the bytes: 1/8 with one adapter per GPU, all of
            # them through a node's single adapter (then only the latency term shrinks).
            nodes = n // GPUS_PER_NODE
            return intra.seconds(size, GPUS_PER_NODE) + inter.seconds(size / nics, nodes)
        return inter.seconds(size, n)

    times = [bucket_s(size) for size in sizes]
    total = sum(times)
    exposed = max(times[-1], total - hidden * BACKWARD_SHARE * compute)
    return compute, total, exposed, compute / (compute + exposed)


def curve_table():
    rows = ["| fabric | alpha us | peak GB/s | busbw 1 MiB | busbw 25 MiB | busbw 128 MiB |",
            "|---|---|---|---|---|---|"]
    for name, curve in [("NVLink, 8 GPUs, low (40 / 220)", NVLINK_LOW),
                        ("NVLink, 8 GPUs, high (75 / 300)", NVLINK_HIGH),
                        ("8x400 Gb/s IB, 2x8 GPUs", IB_8X400),
                        ("1x100 Gb/s Ethernet, 2x8 GPUs (assumed)", ETH_1X100)]:
        rows.append(f"| {name} | {1e6 * curve.alpha:.1f} | {curve.peak / 1e9:.0f} | "
                    f"{curve.busbw(MIB):.0f} | {curve.busbw(25 * MIB):.0f} | "
                    f"{curve.busbw(128 * MIB):.0f} |")
    return "\n".join(rows)


def table(batch, grad_bytes_per_param=4):
    rows = ["| compute | fabric | N | compute ms | all-reduce ms | exposed ms | efficiency |",
            "|---|---|---|---|---|---|---|"]
    for cname, tflops in COMPUTE.items():
        for fname, fabric in FABRICS.items():
            for n in (8, 64, 512):
                c, a, e, eff = step(n, batch, tflops, fabric, grad_bytes_per_param)
                rows.append(f"| {cname} | {fname} | {n} | {1e3 * c:.1f} | {1e3 * a:.1f} | "
                            f"{1e3 * e:.1f} | **{100 * eff:.0f} %** |")
    return "\n".join(rows)


def what_lifts_it(n=512):
    """Options for the hardest case: AMP compute on the Ethernet fabric."""
    fabric = FABRICS["NVLink in the node; 1x100 Gb/s Ethernet per node"]
    tflops = COMPUTE["AMP (BF16), 120 TFLOP/s achieved"]
    rows = ["| option | all-reduce ms | exposed ms | efficiency |", "|---|---|---|---|"]
    for name, kwargs in [
            ("as modelled: batch 8, FP32 gradients, 25 MiB buckets", {}),
            ("no overlap (all-reduce after backward)", {"hidden": 0.0}),
            ("bigger buckets: 100 MiB", {"bucket_mb": 100.0}),
            ("hierarchical all-reduce (in the node on NVLink, then across nodes)",
             {"hierarchical": True}),
            ("compressed gradients: BF16", {"grad_bytes_per_param": 2}),
            ("hierarchical + BF16", {"hierarchical": True, "grad_bytes_per_param": 2}),
            ("batch 16 per GPU", {"batch": 16})]:
        batch = kwargs.pop("batch", 8)
        _, a, e, eff = step(n, batch, tflops, fabric, **kwargs)
        rows.append(f"| {name} | {1e3 * a:.1f} | {1e3 * e:.1f} | **{100 * eff:.0f} %** |")
    return "\n".join(rows)


if __name__ == "__main__":
    print("### The curves\n")
    print(curve_table())
    print("\n### Batch 8 per GPU, FP32 gradients, 90 % of backward usable for overlap\n")
    print(table(batch=8))
    print("\n### Batch 8 per GPU, BF16 gradients (half the bytes)\n")
    print(table(batch=8, grad_bytes_per_param=2))
    print("\n### What lifts it at 512 GPUs (AMP compute, 1x100 Gb/s Ethernet per node)\n")
    print(what_lifts_it())
