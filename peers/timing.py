"""timing.py — the lab's timing rules for a peer: kernel durations from CUPTI (through PyTorch's profiler), or CUDA
events with --no-cupti; warm-up runs, then the median of the timed runs; inputs rotated past the L2.

The lab times its own kernels the same way (harness/gpu/gpu_timing.c): the kernels of one call are summed (a
split-KV decode is a decode kernel and a merge kernel), launch gaps excluded, the median taken over `repeat` calls
after `warmup`, each call reading a replica of its inputs that was not read for at least 4x the L2's bytes.

A call's kernels are found by correlation: each call runs inside a profiler range ("skv_call_<i>"); the CUDA
runtime or driver launches made inside the range carry correlation ids, and the kernels with those ids are the
call's. All timed calls are enqueued before the one synchronization, as the lab's are. Kernels launched through any API (PyTorch ops, tvm-ffi modules, Triton) are traced by CUPTI alike."""
import json
import math
import os
import statistics
import tempfile

import torch


class Timing:
    """One configuration's timing: medians and quartiles of the per-call kernel sums, and the kernels' names and
    grids (from the first timed call)."""

    def __init__(self, totals, timer, kernels, spans=None):
        s = sorted(totals)
        # a call's first kernel start to its last kernel end (CUPTI; the gaps between its kernels count),
        # as `skv bench decode`'s span_us; with events the events' span, which is the total
        self.span_us = statistics.median(spans) if spans else statistics.median(s)
        self.repeats = len(s)
        self.total_us = statistics.median(s)
        self.min_us, self.max_us = s[0], s[-1]
        self.q1_us, self.q3_us = quantile(s, 0.25), quantile(s, 0.75)
        self.timer = timer
        self.kernels = kernels  # [(name, grid ctas, duration us)] of one call


def quantile(sorted_values, p):
    """Linear interpolation between closest ranks (as harness/prof/stats.c's skv_quantile)."""
    if not sorted_values:
        return math.nan
    x = p * (len(sorted_values) - 1)
    lo = int(math.floor(x))
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (x - lo)


def replicas_past_l2(bytes_per_replica, l2_bytes, free_bytes, cap=64):
    """How many replicas of a call's inputs make each call read bytes the L2 no longer holds: at least 4x the L2
    between two reads of one replica, within half the free memory."""
    need = max(1, math.ceil(4 * l2_bytes / max(1, bytes_per_replica)) + 1)
    fit = max(1, int(free_bytes // 2 // max(1, bytes_per_replica)))
    return min(need, fit, cap)


def time_calls(calls, warmup, repeat, use_cupti):
    """Time calls[i % len(calls)] for warmup + repeat calls (each entry a zero-argument function that launches one
    call on the current stream, reading its own replica). Returns a Timing."""
    n = len(calls)
    for i in range(warmup):
        calls[i % n]()
    torch.cuda.synchronize()
    if not use_cupti:
        totals = []
        for i in range(repeat):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            calls[(warmup + i) % n]()
            e.record()
            e.synchronize()
            totals.append(s.elapsed_time(e) * 1000.0)
        return Timing(totals, "events", [])
    acts = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=acts) as prof:
        # every call enqueued before any is waited for, as the lab's own timed runs
        # (harness/gpu/gpu_timing.c): a call's span then holds the GPU's gaps between its kernels, not
        # the host's time between two calls
        for i in range(repeat):
            with torch.profiler.record_function(f"skv_call_{i}"):
                calls[(warmup + i) % n]()
        torch.cuda.synchronize()
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    try:
        prof.export_chrome_trace(path)
        with open(path) as f:
            trace = json.load(f)
    finally:
        os.unlink(path)
    return kernel_sums(trace.get("traceEvents", []), repeat)


def kernel_sums(events, repeat):
    """Per call: the sum of the durations of the kernels launched inside its range (see the module's comment)."""
    ranges = {}
    launches = []  # (ts, tid, correlation)
    kernels = {}  # correlation -> (name, ctas, dur, ts)
    for ev in events:
        cat, name = ev.get("cat", ""), ev.get("name", "")
        if cat == "user_annotation" and name.startswith("skv_call_"):
            ranges[int(name[len("skv_call_"):])] = (float(ev["ts"]), float(ev["ts"]) + float(ev.get("dur", 0)),
                                                     ev.get("tid"))
        elif cat in ("cuda_runtime", "cuda_driver") and "correlation" in ev.get("args", {}):
            launches.append((float(ev["ts"]), ev.get("tid"), ev["args"]["correlation"]))
        elif cat == "kernel" and "correlation" in ev.get("args", {}):
            g = ev["args"].get("grid", [1, 1, 1])
            kernels[ev["args"]["correlation"]] = (name, int(g[0]) * int(g[1]) * int(g[2]), float(ev.get("dur", 0)),
                                                  float(ev.get("ts", 0)))
    if len(ranges) != repeat:
        raise RuntimeError(f"profiler trace holds {len(ranges)} of the {repeat} call ranges")
    totals, spans, first = [], [], None
    for i in range(repeat):
        t0, t1, tid = ranges[i]
        ks = [kernels[c] for ts, t, c in launches if t == tid and t0 <= ts <= t1 and c in kernels]
        if not ks:
            raise RuntimeError(f"call {i}: no kernel traced (is CUPTI available? --no-cupti times with events)")
        totals.append(sum(k[2] for k in ks))
        spans.append(max(k[3] + k[2] for k in ks) - min(k[3] for k in ks))
        if first is None:
            first = [k[:3] for k in ks]
    return Timing(totals, "cupti", first, spans)


try:
    import triton
    import triton.language as tl

    @triton.jit
    def _read_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
        pid = tl.program_id(0)
        offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
        v = tl.load(x_ptr + offs, mask=offs < n, other=0)
        tl.atomic_add(out_ptr + (pid % 1024), tl.sum(v, axis=0))
except ImportError:
    triton = None


def read_stream_tbps(nbytes=2 << 30, repeat=10):
    """A plain Triton streaming reduction over a buffer past the L2, at a few block sizes, and torch.sum: the read
    rates a peer tool measures on this GPU, to set beside the lab's in-run read ceiling (issue 20). Returns
    {name: TB/s} (CUDA events, median of `repeat` after 3 warm-ups)."""
    n = nbytes // 4
    x = torch.randint(-2**31, 2**31 - 1, (n,), dtype=torch.int32, device="cuda")
    out = torch.zeros(1024, dtype=torch.int32, device="cuda")
    runs = []
    if triton is not None:
        for block, warps in ((4096, 8), (8192, 8), (16384, 16)):
            grid = (triton.cdiv(n, block),)
            runs.append((f"triton tl.load BLOCK={block} warps={warps}",
                         lambda g=grid, b=block, w=warps: _read_kernel[g](x, out, n, BLOCK=b, num_warps=w)))
    runs.append(("torch.sum int32", lambda: torch.sum(x, dtype=torch.int64)))
    rates = {}
    for name, fn in runs:
        times = []
        for i in range(3 + repeat):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            fn()
            e.record()
            e.synchronize()
            if i >= 3:
                times.append(s.elapsed_time(e) * 1e-3)
        rates[name] = nbytes / statistics.median(times) / 1e12
    del x
    torch.cuda.empty_cache()
    return rates
