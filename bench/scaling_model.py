#!/usr/bin/env python3
"""Cost model of one data-parallel training step of dunet's UNet on N GPUs (docs/scaling.md).

step(N) = compute + exposed communication
compute = batch x GFLOP per image / achieved TFLOP/s per GPU
allreduce(N) = 2(N-1)/N x gradient bytes / bus bandwidth          (ring, bandwidth term)
             + buckets x 2 ceil(log2 N) x hop latency             (tree, latency term)
exposed = max(last bucket's all-reduce, allreduce(N) - hidden x backward)
efficiency(N) = compute / step(N)

Every input is a named constant below: published hardware figures and assumptions are marked
as such; nothing here is a GPU measurement. Prints the markdown tables of docs/scaling.md.
Usage: python3 bench/scaling_model.py
"""
import math

GFLOP_PER_IMAGE = 289.0      # base 64, 256x256, forward + backward (bench/reference --flops)
PARAMETERS = 31_043_521      # base 64 (tests/unit/model_test.cpp)
BUCKET_MB = 25.0             # [dist] bucket_mb default; the first bucket is 1 MiB
BACKWARD_SHARE = 2.0 / 3.0   # backward is ~2/3 of a step's convolution arithmetic
HIDEABLE = 0.9               # share of backward after the first bucket is ready (bucket order)

# Achieved (not peak) rate per GPU: assumptions, A100-class. Published peaks: 19.5 TFLOP/s FP32,
# 156 TF32, 312 BF16 dense. A well-fed cuDNN UNet reaches a fraction of them.
COMPUTE = {"TF32, 40 TFLOP/s achieved": 40.0, "AMP (BF16), 120 TFLOP/s achieved": 120.0}

# NCCL bus bandwidth (GB/s) and per-hop latency (s): published NVLink/IB figures, rounded down.
NETWORKS = {
    "8 GPUs per node on NVLink, 8x200 Gb/s IB per node": {"intra": 230.0, "inter": 90.0, "hop": 8e-6},
    "8 GPUs per node on NVLink, 1x100 Gb/s per node": {"intra": 230.0, "inter": 10.0, "hop": 10e-6},
}
GPUS_PER_NODE = 8


def allreduce_s(n, grad_bytes, buckets, net):
    if n == 1:
        return 0.0
    busbw = net["intra"] if n <= GPUS_PER_NODE else net["inter"]
    bandwidth = 2 * (n - 1) / n * grad_bytes / (busbw * 1e9)
    latency = buckets * 2 * math.ceil(math.log2(n)) * net["hop"]
    return bandwidth + latency


def step(n, batch, tflops, net, grad_bytes_per_param=4, hidden=HIDEABLE):
    grad_bytes = PARAMETERS * grad_bytes_per_param
    buckets = 1 + math.ceil((grad_bytes - 2**20) / (BUCKET_MB * 2**20))
    compute = batch * GFLOP_PER_IMAGE / (tflops * 1e3)
    total = allreduce_s(n, grad_bytes, buckets, net)
    last_bucket = total / buckets
    exposed = max(last_bucket, total - hidden * BACKWARD_SHARE * compute) if n > 1 else 0.0
    return compute, total, exposed, compute / (compute + exposed)


def table(batch, grad_bytes_per_param=4, hidden=HIDEABLE):
    rows = ["| compute | network | N | compute ms | all-reduce ms | exposed ms | efficiency |",
            "|---|---|---|---|---|---|---|"]
    for cname, tflops in COMPUTE.items():
        for nname, net in NETWORKS.items():
            for n in (8, 64, 512):
                c, a, e, eff = step(n, batch, tflops, net, grad_bytes_per_param, hidden)
                rows.append(f"| {cname} | {nname} | {n} | {1e3 * c:.1f} | {1e3 * a:.1f} | "
                            f"{1e3 * e:.1f} | **{100 * eff:.0f} %** |")
    return "\n".join(rows)


def what_it_takes(n=64):
    """Options for the hardest case at N = 64: AMP compute on the lean network."""
    net = NETWORKS["8 GPUs per node on NVLink, 1x100 Gb/s per node"]
    tflops = COMPUTE["AMP (BF16), 120 TFLOP/s achieved"]
    rows = ["| option | compute ms | all-reduce ms | exposed ms | efficiency |",
            "|---|---|---|---|---|"]
    for name, batch, grad_bytes, hidden in [
            ("as modelled above: batch 8, FP32 gradients", 8, 4, HIDEABLE),
            ("no overlap at all (all-reduce after backward)", 8, 4, 0.0),
            ("BF16 gradients (compressed all-reduce)", 8, 2, HIDEABLE),
            ("batch 16 per GPU, FP32 gradients", 16, 4, HIDEABLE),
            ("batch 16 per GPU, BF16 gradients", 16, 2, HIDEABLE)]:
        c, a, e, eff = step(n, batch, tflops, net, grad_bytes, hidden)
        rows.append(f"| {name} | {1e3 * c:.1f} | {1e3 * a:.1f} | {1e3 * e:.1f} | **{100 * eff:.0f} %** |")
    return "\n".join(rows)


def calibration():
    """This machine, 2 processes, MPI over shared memory (docs/benchmarks.md)."""
    base16_params, base16_step_s = 1_944_049, 4 / (17.79 / 2)  # 2x1: 17.8 images/s in all
    net = {"intra": 3.4, "inter": 3.4, "hop": 10e-6}  # busbw measured at 8 MB (bench allreduce)
    grad = base16_params * 4
    predicted_ar = allreduce_s(2, grad, 1, net)
    exposed = (1 - 0.661) * predicted_ar  # 66.1 % hidden, measured by bench/scaling.sh
    return (f"| base 16, 128x128, batch 4, 2 processes | {1e3 * predicted_ar:.2f} ms "
            f"(measured 2.48 ms bucketed at 8 MiB) | {1e3 * exposed:.2f} ms of a "
            f"{1e3 * base16_step_s:.0f} ms step | {100 * base16_step_s / (base16_step_s + exposed):.1f} % "
            f"|")


if __name__ == "__main__":
    print("### Batch 8 per GPU, FP32 gradients, 90 % of backward usable for overlap\n")
    print(table(batch=8))
    print("\n### Batch 8 per GPU, BF16 gradients (half the bytes)\n")
    print(table(batch=8, grad_bytes_per_param=2))
    print("\n### What it takes at 64 GPUs (AMP compute, 1x100 Gb/s per node)\n")
    print(what_it_takes())
    print("\n### Calibration on this machine\n")
    print("| setting | predicted all-reduce | predicted exposed | predicted efficiency |")
    print("|---|---|---|---|")
    print(calibration())
