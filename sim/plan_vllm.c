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
 *   - batch-invariant mode (VLLM_BATCH_INVARIANT): max_num_splits = 1. */
#include <stdio.h>
#include <string.h>

#include "policy.h"

bool skv_policy_vllm(const skv_batch *b, const skv_policy_opts *o, const skv_gpu *gpu, skv_split_choice *c, char *err,
                     size_t errlen) {
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
