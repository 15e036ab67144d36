// decode.cu — the decode kernel's launcher and its 16-bit (bf16 / fp16) instantiations; the kernel
// itself, its math and its design are in decode_kernel.cuh, the quantized-cache instantiations in
// decode_quant.cu.
//
// Build: part of `make` (kernels/*.cu, sm_90a and sm_80); `make ptxas` prints registers/spills.
#include <cuda_runtime.h>
#include <math.h>

#include "cuda_check.h"
#include "decode_kernel.cuh"
#include "skv_kernels.h"
#include "support.h"

namespace {

bool is16(skv_dtype t) { return t == SKV_BF16 || t == SKV_FP16; }

// The instantiation p selects: launch it, or with `occupancy` report its resident CTAs per SM.
int launch_variant(const skv_decode_problem *p, const skv_plan_device *pd, cudaStream_t s, char *err, size_t errlen,
                   int *occupancy) {
  int shift = 0;
  while ((1 << shift) < p->page_size) ++shift;
  if (!is16(p->k_dtype)) return skv::launch_decode_quant(p, pd, shift, s, err, errlen, occupancy);
  if (p->q_dtype == SKV_BF16)
    return skv::launch_decode_dim<__nv_bfloat16, skv::kKv16>(p, pd, shift, s, err, errlen, occupancy);
  return skv::launch_decode_dim<__half, skv::kKv16>(p, pd, shift, s, err, errlen, occupancy);
}

}  // namespace

extern "C" bool skv_decode_supported(const skv_decode_problem *p, char *err, size_t errlen) {
  /* Shape and dtype rules: sim/support.h, the same the suites and the CLI check before any GPU work. */
  skv_shape shape;
  memset(&shape, 0, sizeof shape);
  shape.hq = p->num_q_heads, shape.hkv = p->num_kv_heads, shape.head_dim = p->head_dim, shape.page_size = p->page_size;
  shape.qlen = 1;  /* any query length: the plan's tiles (checked at launch) */
  shape.q_dtype = p->q_dtype, shape.k_dtype = p->k_dtype, shape.v_dtype = p->v_dtype, shape.o_dtype = p->o_dtype;
  shape.kv_scale_mode = p->per_token_head ? SKV_SCALE_PER_TOKEN_HEAD : SKV_SCALE_PER_TENSOR;
  char why[400];
  if (skv_support_check(&shape, nullptr, why, sizeof why) != SKV_SUPPORT_GPU) {
    snprintf(err, errlen, "decode kernel: %s", why);
    return false;
  }
  const skv_dtype k = p->k_dtype, v = p->v_dtype;
  if ((k == SKV_INT8 || (k == SKV_FP8_E4M3 && p->per_token_head)) && !p->d_k_token_scale) {
    snprintf(err, errlen, "decode kernel: per-token K scales missing");
    return false;
  }
  if (((v == SKV_FP8_E4M3 && p->per_token_head) && !p->d_v_token_scale) || (v == SKV_INT8 && !p->d_v_channel_scale)) {
    snprintf(err, errlen, "decode kernel: V scales missing");
    return false;
  }
  if (p->lse_layout.rank != 3) {
    snprintf(err, errlen, "decode kernel: the LSE layout must have rank 3 over (query token, kv head, group), got %d",
             p->lse_layout.rank);
    return false;
  }
  /* The kernels store 4 output elements (8 bytes) and read and write 4 partial floats (16 bytes) at a
   * time: cudaMalloc'd buffers are aligned far beyond that, an offset into one may not be. */
  if ((reinterpret_cast<uintptr_t>(p->d_o) & 7) != 0) {
    snprintf(err, errlen, "decode kernel: the output buffer must be 8-byte aligned");
    return false;
  }
  if (p->total_q < p->num_requests || (p->mask != SKV_MASK_CAUSAL && p->mask != SKV_MASK_NONE)) {
    snprintf(err, errlen, "decode kernel: %lld query tokens for %d requests, or mask %d", (long long)p->total_q,
             p->num_requests, (int)p->mask);
    return false;
  }
  if (!(p->softmax_scale > 0.f) || !isfinite(p->softmax_scale)) {
    snprintf(err, errlen, "decode kernel: softmax scale must be finite and > 0");
    return false;
  }
  return true;
}

extern "C" int skv_decode_launch(const skv_decode_problem *p, const skv_plan_device *pd, skv_stream s, char *err,
                                 size_t errlen) {
  if (!skv_decode_supported(p, err, errlen)) return (int)cudaErrorInvalidValue;
  const bool quant = !is16(p->k_dtype);
  const int G = p->num_q_heads / p->num_kv_heads;
  if (pd->max_tile_rows < 1 || pd->max_tile_rows > SKV_TILE_ROWS_MAX) {
    snprintf(err, errlen, "decode kernel: tiles of %d packed rows (group %d); the kernel holds 1 to %d",
             pd->max_tile_rows, G, SKV_TILE_ROWS_MAX);
    return (int)cudaErrorInvalidValue;
  }
  const size_t loop = quant ? skv::loop_bytes_quant(p, pd) : skv::loop_bytes<skv::kKv16>(p, pd);
  const int R = pd->max_tile_rows;
  if (pd->fused_combine && pd->num_combine > 0 &&
      (!pd->d_work_item || !pd->d_arrivals || skv::merge_smem_bytes(pd->max_chunks, R) > loop)) {
    snprintf(err, errlen, "decode kernel: fused combine needs work-item and arrival arrays and at most %zu chunks "
             "per tile (got %d); use the combine kernel", loop / (sizeof(float) * (size_t)R) - 1, pd->max_chunks);
    return (int)cudaErrorInvalidValue;
  }
  if ((reinterpret_cast<uintptr_t>(pd->d_partial_o) & 15) != 0) {
    snprintf(err, errlen, "decode kernel: the partial-output scratch must be 16-byte aligned");
    return (int)cudaErrorInvalidValue;
  }
  if (pd->num_work == 0) return 0;
  if (pd->num_work > 0x7FFFFFFFll) {
    snprintf(err, errlen, "decode kernel: %lld work items exceed the grid limit", (long long)pd->num_work);
    return (int)cudaErrorInvalidValue;
  }
  return launch_variant(p, pd, s, err, errlen, nullptr);
}

extern "C" int skv_decode_occupancy(const skv_decode_problem *p, int *ctas_per_sm, char *err, size_t errlen) {
  *ctas_per_sm = 0;
  if (!skv_decode_supported(p, err, errlen)) return (int)cudaErrorInvalidValue;
  return launch_variant(p, nullptr, 0, err, errlen, ctas_per_sm);
}
