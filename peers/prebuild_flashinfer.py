#!/usr/bin/env python3
"""prebuild_flashinfer.py — compile, in one parallel ninja run, the FlashInfer JIT modules the peer runner loads, so
that the timed part of a device call does not wait on nvcc; then, with --aot DIR, copy each built module to
DIR/<uri>/<uri>.so, the layout FlashInfer loads ahead of its JIT (flashinfer/jit/core.py: data/aot/<uri>/<uri>.so),
so a later call on a fresh machine can skip the build (install the copies under flashinfer/data/aot/).

Modules: decode on CUDA cores (bf16 q; bf16 and fp8 e4m3 caches), the FA2 prefill kernels (which the tensor-core
decode wrapper and the prefill wrapper share; bf16 and fp8), the FA3 prefill (bf16 only: FlashInfer 0.5.3 has no
bf16 x e4m3 wgmma), the page helper FA3's run launches, and the cascade merge. head_dim 128, no RoPE, no window, no
soft cap. Set FLASHINFER_CUDA_ARCH_LIST=9.0a and MAX_JOBS before running."""
import argparse
import os
import shutil
import sys
import time

import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--aot", default=None, help="copy the built modules here as <uri>/<uri>.so")
    a = ap.parse_args()
    from flashinfer.jit import build_jit_specs, gen_batch_decode_module, gen_batch_prefill_module
    from flashinfer.jit.cascade import gen_cascade_module
    from flashinfer.jit.page import gen_page_module

    bf, e4, i32 = torch.bfloat16, torch.float8_e4m3fn, torch.int32
    specs = [gen_batch_decode_module(bf, kv, bf, i32, 128, 128, 0, False, False) for kv in (bf, e4)]
    specs += [gen_batch_prefill_module("fa2", bf, kv, bf, i32, 128, 128, 0, False, False, False) for kv in (bf, e4)]
    specs += [gen_batch_prefill_module("fa3", bf, bf, bf, i32, 128, 128, 0, False, False, False)]
    specs += [gen_page_module(), gen_cascade_module()]
    t0 = time.time()
    build_jit_specs(specs, verbose=False)
    print(f"prebuild_flashinfer: {len(specs)} modules built in {time.time() - t0:.0f} s", flush=True)
    if a.aot:
        for spec in specs:
            so = spec.get_library_path()
            if not os.path.exists(so):
                print(f"prebuild_flashinfer: {spec.name}: no {so}", file=sys.stderr)
                return 1
            os.makedirs(os.path.join(a.aot, spec.name), exist_ok=True)
            shutil.copy2(so, os.path.join(a.aot, spec.name, f"{spec.name}.so"))
        print(f"prebuild_flashinfer: copied to {a.aot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
