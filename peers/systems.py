"""systems.py — the peers: each one takes a Problem, says whether it runs it, and gives one call per replica (for
timing), the outputs of a call (for the check) and what its own planner decided.

  sdpa-cudnn, sdpa-flash   PyTorch scaled_dot_product_attention, cuDNN and FlashAttention backends, over the
                           contiguous copy [B, hkv, L, d] with enable_gqa (no K/V expansion: the same bytes);
                           query length > 1 with the bottom-right causal mask. 16-bit caches only; no LSE.
  flashinfer-tc            FlashInfer BatchDecodeWithPagedKVCacheWrapper(use_tensor_cores=True): the prefill
                           kernels with its prefill planner; query length 1.
  flashinfer-cc            the same wrapper with CUDA cores (its decode kernel, grid sized from occupancy).
  flashinfer-prefill       FlashInfer BatchPrefillWithPagedKVCacheWrapper, causal, FA2 backend: query length > 1.
  flashinfer-fa3           the same with the FA3 (sm90) backend.
  flashinfer-cascade       FlashInfer MultiLevelCascadeAttentionWrapper over the configuration's shared prefixes
                           (one level per sharing level, then the suffixes; FA2 backend).
Over a configuration with shared prefixes the paged peers read the same physical prefix pages as the lab's flash
decoding does (prefix caching).

FlashInfer 0.5.3 (the wheel, its JIT sources compiled on the GPU host for sm_90a); PDL off so that each kernel's
duration is its own. FlashInfer's LSE is base 2 (its kernels keep the softmax state in log2 units; include/flashinfer/attention/
state.cuh in its sources); the runner converts it to natural log before the check."""
import math

import torch
import torch.nn.functional as F

LN2 = math.log(2.0)


class Skip(Exception):
    """The peer does not take this configuration (its reason is reported, no row is written)."""


def _flashinfer():
    try:
        import flashinfer  # noqa: F401
    except Exception as e:  # ImportError, or a JIT/tvm-ffi failure at import
        raise Skip(f"flashinfer not importable: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    return flashinfer


def version(name):
    if name.startswith("sdpa"):
        return f"torch {torch.__version__} (CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()})"
    try:
        import flashinfer
        return f"flashinfer {flashinfer.__version__}"
    except Exception as e:
        return f"flashinfer unavailable ({type(e).__name__})"


class Sdpa:
    def __init__(self, backend):
        self.name = f"sdpa-{backend}"
        self.backend = backend

    def setup(self, p):
        if p.kv_name not in ("bf16", "fp16"):
            raise Skip(f"SDPA takes no {p.kv_name} cache")
        if p.shared:
            raise Skip("shared prefix pages: SDPA has no page table (its contiguous copy would read distinct pages)")
        from torch.nn.attention import SDPBackend, sdpa_kernel
        be = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION}[self.backend]
        mask = None
        if p.Q > 1:
            from torch.nn.attention.bias import causal_lower_right
            mask = causal_lower_right(p.Q, p.L)
        qs = [q.view(p.B, p.Q, p.hq, p.d).transpose(1, 2) for q in p.q]  # [B, hq, Q, d] views

        def call(i):
            with sdpa_kernel([be]):
                return F.scaled_dot_product_attention(qs[i], p.kc[i], p.vc[i], attn_mask=mask, enable_gqa=True,
                                                      scale=p.sm_scale)

        def outputs():
            o = call(0)  # [B, hq, Q, d]
            return o.transpose(1, 2).reshape(p.B * p.Q, p.hq, p.d), None

        try:
            outputs()
            torch.cuda.synchronize()
        except RuntimeError as e:
            raise Skip(f"{self.name}: {str(e).splitlines()[0]}")
        return [lambda i=i: call(i) for i in range(p.replicas)], outputs, {}, f"backend {self.backend}, contiguous KV"


class FlashInferDecode:
    def __init__(self, tensor_cores):
        self.name = "flashinfer-tc" if tensor_cores else "flashinfer-cc"
        self.tc = tensor_cores

    def setup(self, p):
        if p.Q != 1:
            raise Skip("the decode wrapper takes query length 1 (flashinfer-prefill times Q > 1)")
        if p.kv_name == "int8":
            raise Skip("FlashInfer has no int8 cache")
        fi = _flashinfer()
        ws = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
        w = fi.BatchDecodeWithPagedKVCacheWrapper(ws, "NHD", use_tensor_cores=self.tc)
        w.plan(p.kv_indptr, p.kv_indices, p.last_page_len, p.hq, p.hkv, p.d, p.page, q_data_type=p.q_dtype,
               kv_data_type=p.kv_dtype, sm_scale=p.sm_scale)
        return _wrapper_calls(w, p) + (plan_info(w, p),
                                       f"BatchDecodeWithPagedKVCacheWrapper use_tensor_cores={self.tc}, NHD, no PDL")


class FlashInferPrefill:
    def __init__(self, backend):
        self.name = "flashinfer-prefill" if backend == "fa2" else "flashinfer-fa3"
        self.backend = backend

    def setup(self, p):
        if p.Q == 1:
            raise Skip("query length 1: the decode wrappers time it")
        if p.kv_name == "int8":
            raise Skip("FlashInfer has no int8 cache")
        if self.backend == "fa3" and p.kv_name == "fp8_e4m3":
            raise Skip("FA3 backend: no bf16 x e4m3 tensor-core product (FlashInfer's fp8 paged prefill is FA2's)")
        fi = _flashinfer()
        ws = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
        w = fi.BatchPrefillWithPagedKVCacheWrapper(ws, "NHD", backend=self.backend)
        w.plan(p.qo_indptr, p.kv_indptr, p.kv_indices, p.last_page_len, p.hq, p.hkv, p.d, p.page, causal=True,
               q_data_type=p.q_dtype, kv_data_type=p.kv_dtype, sm_scale=p.sm_scale)
        return _wrapper_calls(w, p) + (plan_info(w, p),
                                       f"BatchPrefillWithPagedKVCacheWrapper backend={self.backend}, causal, NHD, no PDL")


class FlashInferCascade:
    """FlashInfer's MultiLevelCascadeAttentionWrapper over the configuration's sharing: level 0 the prefix every
    request shares (all queries as one segment, non-causal), then the group prefixes (each group's queries as one
    segment), then each request's own suffix (causal); FlashInfer merges the levels' states in place
    (flashinfer/cascade.py). Its prefill wrappers run the FA2 backend (on sm_90 "auto" picks FA3, which has no
    fp8 path) with PDL off, as the other FlashInfer peers. An fp8 cache's K scale goes into the softmax scale
    (the wrapper's run takes no scales); the V scale is applied to the output for the check only."""

    name = "flashinfer-cascade"

    def setup(self, p):
        if not p.shared:
            raise Skip("no shared prefix")
        if p.kv_name == "int8":
            raise Skip("FlashInfer has no int8 cache")
        fi = _flashinfer()
        import functools
        sp_ids, gp_ids, sx_ids = p.level_pages
        T, Q, dev, i32 = p.B * p.Q, p.Q, "cuda", torch.int32
        qo, kvi, idx, last = [], [], [], []
        full = lambda n: torch.full((n,), p.page, device=dev, dtype=i32)  # noqa: E731
        if p.sp > 0:
            qo.append(torch.tensor([0, T], device=dev, dtype=i32))
            kvi.append(torch.tensor([0, sp_ids.numel()], device=dev, dtype=i32))
            idx.append(sp_ids.contiguous())
            last.append(full(1))
        if gp_ids is not None:
            G, n = gp_ids.shape
            qo.append(torch.arange(0, G + 1, device=dev, dtype=i32) * (p.gs * Q))
            kvi.append(torch.arange(0, G + 1, device=dev, dtype=i32) * n)
            idx.append(gp_ids.reshape(-1).contiguous())
            last.append(full(G))
        n_sx = sx_ids.shape[1]
        qo.append(p.qo_indptr)
        kvi.append(torch.arange(0, p.B + 1, device=dev, dtype=i32) * n_sx)
        idx.append(sx_ids.reshape(-1).contiguous())
        last.append(torch.full((p.B,), p.suffix - (n_sx - 1) * p.page, device=dev, dtype=i32))
        ws = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
        w = fi.MultiLevelCascadeAttentionWrapper(len(qo), ws, "NHD")
        for inner in w._batch_prefill_wrappers:
            inner._backend = "fa2"
            inner.run = functools.partial(inner.run, enable_pdl=False)
        w.plan(qo, kvi, idx, last, p.hq, p.hkv, p.d, p.page, causal=True, sm_scale=p.sm_scale * p.k_scale,
               q_data_type=p.q_dtype, kv_data_type=p.kv_dtype)

        def call(i):
            return w.run(p.q[i], (p.k[i], p.v[i]))

        def outputs():
            return call(0).float() * p.v_scale, None

        plans = {"levels": len(qo), "level_plans": [plan_info(x, p) for x in w._batch_prefill_wrappers]}
        return [lambda i=i: call(i) for i in range(p.replicas)], outputs, plans, \
            f"MultiLevelCascadeAttentionWrapper, {len(qo)} levels, FA2 backend, NHD, no PDL"


def _wrapper_calls(w, p):
    """A planned FlashInfer decode or prefill wrapper's calls, one per replica (PDL off, the fp8 K scale passed),
    and its outputs for the check: O times the V scale (see _fp8_kwargs) and the LSE in natural log."""
    kw = _fp8_kwargs(p)

    def call(i, lse=False):
        return w.run(p.q[i], (p.k[i], p.v[i]), return_lse=lse, enable_pdl=False, **kw)

    def outputs():
        o, lse = call(0, True)
        return o.float() * p.v_scale, lse.float() * LN2

    return ([lambda i=i: call(i) for i in range(p.replicas)], outputs)


def _fp8_kwargs(p):
    """An fp8 cache's K scale goes in (FlashInfer folds it into the softmax scale). Its V scale does not: FlashInfer
    applies it with a separate elementwise kernel after attention (decode.py, run), which the lab folds into its
    kernel; the output is linear in V, so the check multiplies the output by the V scale instead and the timed call
    is the attention alone."""
    return {"k_scale": p.k_scale} if p.kv_name == "fp8_e4m3" else {}


def plan_info(w, p):
    """What FlashInfer's planner decided, from the plan-info vector its C++ planner returns and the host copy of the
    integer workspace it filled (include/flashinfer/attention/scheduler.cuh in its sources): DecodePlanInfo (CUDA
    cores, 10 fields: padded batch, ..., o_indptr offset [5], kv_chunk_size offset [7], cuda graph, split_kv [9]) or
    PrefillPlanInfo (tensor cores / FA2, 15 fields: padded batch, ..., cta_tile_q [3], kv_chunk_size offset [9],
    split_kv [14]); offsets are bytes into the pinned int workspace. Returns the raw vector and what it decodes to
    (padded batch, split on/off, KV chunk in tokens, splits per request)."""
    try:
        v = [int(x) for x in w._plan_info]
    except (AttributeError, TypeError):
        return {}
    out = {"plan_info": v}
    pin = getattr(w, "_pin_memory_int_workspace_buffer", None)

    def i32(off, n=1):
        return pin[off:off + 4 * n].view(torch.int32).tolist()

    try:
        if len(v) == 10:
            out.update(padded_batch=v[0], split_kv=bool(v[9]))
            if pin is not None:
                out["kv_chunk_tokens"] = i32(v[7])[0]
                ind = i32(v[5], p.B + 1)
                out["splits_per_request"] = [ind[i + 1] - ind[i] for i in range(p.B)] if v[9] else [1] * p.B
        elif len(v) == 15:
            out.update(padded_batch=v[0], cta_tile_q=v[3], split_kv=bool(v[14]))
            if pin is not None:
                chunk = i32(v[9])[0]
                out["kv_chunk_tokens"] = chunk
                n = -(-p.L // chunk) if v[14] and chunk > 0 else 1
                out["splits_per_request"] = [n] * p.B
    except (RuntimeError, IndexError, TypeError) as e:
        out["decode_error"] = str(e)
    return out


ALL = {
    "sdpa-cudnn": lambda: Sdpa("cudnn"),
    "sdpa-flash": lambda: Sdpa("flash"),
    "flashinfer-tc": lambda: FlashInferDecode(True),
    "flashinfer-cc": lambda: FlashInferDecode(False),
    "flashinfer-prefill": lambda: FlashInferPrefill("fa2"),
    "flashinfer-fa3": lambda: FlashInferPrefill("fa3"),
    "flashinfer-cascade": lambda: FlashInferCascade(),
}
