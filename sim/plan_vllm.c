/* plan_vllm.c — vLLM's FlashAttention backend: how it sets num_splits for the FA kernels.
 *
 * Source: vllm-project/vllm vllm/v1/attention/backends/flash_attn.py
 * (FlashAttentionMetadataBuilder.build: max_num_splits) and
 * vllm/vllm_flash_attn/flash_attn_interface.py.
 *   - default: num_splits = 0, i.e. the kernel's own heuristic (FA2's
 *     num_splits_heuristic, plan_fa2.c);
 *   - full CUDA graph (num tokens <= max_cudagraph_size): the split count is
 *     bounded by max_num_splits (flash_attn_max_num_splits_for_cuda_graph,
 *     default 32; 16 in older releases) so the captured grid is bounded.
 *     vLLM passes this bound to FA3's AOT scheduler; here it caps FA2's
 *     heuristic, the model the lab studies;
 *   - batch-invariant mode (VLLM_BATCH_INVARIANT): max_num_splits = 1.
 * Query length > 1: vLLM runs the whole batch (decode, speculative verify, chunked prefill) as one
 * flash_attn_varlen_func call over the paged cache. FA2's mha_varlen_fwd
 * (vllm-project/flash-attention csrc/flash_attn/flash_api.cpp) splits only in the GQA-swapped
 * case, which needs every query length to be 1; otherwise paged varlen refuses num_splits > 1
 * ("num_splits > 1 is not supported for varlen paged KV") and launches one CTA per (64-row query
 * block, request, q head): no split and no GQA packing, each CTA walking its request's whole KV
 * (vllm-flash-attn PRs #176, #190, #193: a verify step 7-27x slower than the split decode). */
#include <stdio.h>
#include <string.h>

#include "policy.h"

bool skv_policy_vllm(const skv_batch *b, const skv_policy_opts *o, const skv_gpu *gpu, skv_split_choice *c, char *err,
                     size_t errlen) {
  const int64_t max_q = skv_batch_max_qlen(b);
  if (max_q > 1) {
    for (int32_t r = 0; r < b->num_requests; r++) c->chunk_tokens[r] = b->kvlen[r] > 0 ? b->kvlen[r] : 1;
    c->batch_num_splits = 1;
    c->grid_ctas = (int64_t)b->num_requests * b->num_q_heads * ((max_q + 63) / 64);
    c->tile_rows = SKV_TILE_ROWS_MAX;
    snprintf(c->why, sizeof c->why,
             "vllm FA2 varlen paged, max_query_len %lld > 1: no GQA swap, num_splits 1; %lld CTAs of 64 rows x 1 head",
             (long long)max_q, (long long)c->grid_ctas);
    return true;
  }
  skv_policy_opts fa2 = *o;
  const char *mode = "heuristic";
  if (o->batch_invariant) {
    fa2.num_splits = 1;
    mode = "batch-invariant: 1 split";
  }
  if (!skv_policy_fa2(b, &fa2, gpu, c, err, errlen)) return false;
  if (!o->batch_invariant && o->cuda_graph && c->batch_num_splits > o->max_splits) {
    fa2.num_splits = o->max_splits;
    if (!skv_policy_fa2(b, &fa2, gpu, c, err, errlen)) return false;
    mode = "full CUDA graph: capped at max_num_splits";
  } else if (o->cuda_graph && !o->batch_invariant) {
    mode = "full CUDA graph: heuristic under max_num_splits";
  }
  char inner[sizeof c->why];
  memcpy(inner, c->why, sizeof inner);
  snprintf(c->why, sizeof c->why, "vllm %s; FA2 %.150s", mode, inner);
  return true;
}
