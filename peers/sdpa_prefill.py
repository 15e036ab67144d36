#!/usr/bin/env python3
"""sdpa_prefill.py — PyTorch SDPA (FlashAttention-2 and cuDNN backends) on causal prefill shapes, timed
beside the lab's prefill suite (experiments/prefill.yaml) in the same device call.

The optional peer runner's first part (issue 15's prefill target; the full runner is issue 20's):
Python on a GPU host, outside `make run` / `make test`. Contiguous KV here (SDPA has no paged cache),
K and V expanded from hkv to hq heads (repeat_interleave) so both backends take them; prefill is
compute-bound, so the extra K/V bytes do not set the time. Timing: CUDA events around each call,
warmup 3, then the median of --repeat calls (no L2 rotation: a 2k-8k causal prefill reads its
few MB of K/V from L2 anyway, as the lab's kernel does at these shapes).

  python3 peers/sdpa_prefill.py --out FILE.csv [--points 1x512,1x2048,1x8192,4x2048] [--repeat 20]

CSV columns: peer, backend, batch, qlen, kvlen, hq, hkv, head_dim, dtype, us, tflops, torch, cuda, gpu
(tflops: causal FLOPs 4 * batch * hq * head_dim * Q (Q + 1) / 2 over the median time)."""
import argparse
import csv
import statistics
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel


def causal_flops(b, q, hq, d):
    return 4.0 * b * hq * d * q * (q + 1) / 2.0


def time_call(fn, repeat):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        e.synchronize()
        times.append(s.elapsed_time(e) * 1000.0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--points", default="1x512,1x2048,1x8192,4x2048", help="BxL list: batch x (query = KV length)")
    ap.add_argument("--hq", type=int, default=32)
    ap.add_argument("--hkv", type=int, default=8)
    ap.add_argument("--head-dim", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=20)
    a = ap.parse_args()
    if not torch.cuda.is_available():
        print("sdpa_prefill: no CUDA device", file=sys.stderr)
        return 2
    points = []
    for p in a.points.split(","):
        try:
            b, l = p.lower().split("x")
            points.append((int(b), int(l)))
        except ValueError:
            print(f"--points: '{p}' is not BxL", file=sys.stderr)
            return 2
    gpu = torch.cuda.get_device_name(0)
    rows = []
    torch.manual_seed(0)
    for b, l in points:
        q = torch.randn(b, a.hq, l, a.head_dim, device="cuda", dtype=torch.bfloat16)
        k = torch.randn(b, a.hkv, l, a.head_dim, device="cuda", dtype=torch.bfloat16)
        v = torch.randn(b, a.hkv, l, a.head_dim, device="cuda", dtype=torch.bfloat16)
        g = a.hq // a.hkv
        ke, ve = k.repeat_interleave(g, dim=1), v.repeat_interleave(g, dim=1)
        for name, backend in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)):
            try:
                with sdpa_kernel([backend]):
                    fn = lambda: F.scaled_dot_product_attention(q, ke, ve, is_causal=True)
                    us = time_call(fn, a.repeat)
            except RuntimeError as e:  # a backend that does not take the shape: say so, no row
                print(f"sdpa {name} {b}x{l}: {str(e).splitlines()[0]}", file=sys.stderr)
                continue
            tf = causal_flops(b, l, a.hq, a.head_dim) / (us * 1e-6) / 1e12
            rows.append(["torch-sdpa", name, b, l, l, a.hq, a.hkv, a.head_dim, "bf16", f"{us:.2f}", f"{tf:.1f}",
                         torch.__version__, torch.version.cuda, gpu])
            print(f"sdpa {name:5s} b={b} L={l}: {us:9.1f} us  {tf:6.1f} TFLOP/s")
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["peer", "backend", "batch", "qlen", "kvlen", "hq", "hkv", "head_dim", "dtype", "us", "tflops",
                    "torch", "cuda", "gpu"])
        w.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
