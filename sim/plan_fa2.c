/* plan_fa2.c — FlashAttention-2's split-KV rule (num_splits_heuristic), modelled exactly.
 *
 * Source: Dao-AILab/flash-attention and its vllm-project fork,
 * csrc/flash_attn/flash_api.cpp (num_splits_heuristic, set_params_splitkv,
 * mha_varlen_fwd) and csrc/flash_attn/src/flash_fwd_kernel.h
 * (compute_attn_1rowblock_splitkv).
 *
 * 1. GQA packing (seqlenq_ngroups_swapped): when every query length is 1 and
 *    hq > hkv, FA2 views q as (b, ngroups, hkv, d): seqlen_q = ngroups and
 *    h = hkv, so the grouped q heads form the M dimension of one CTA.
 * 2. CTAs without splitting: batch_nheads_mblocks = b * h * ceil(seqlen_q / 64)
 *    (the split kernel's kBlockM is 64).
 * 3. KV blocks: num_n_blocks = ceil(max_seqlen_k / block_n), block_n = 256 /
 *    128 / 64 for head dim <= 64 / <= 128 / else.
 * 4. num_splits_heuristic(batch_nheads_mblocks, 2 * num_SMs, num_n_blocks, 128)
 *    (SMs doubled because its CTAs have 128 threads, two fit an SM):
 *    - if batch_nheads_mblocks >= 0.8 * SMs: 1 split;
 *    - max_splits = min(128, SMs, num_n_blocks);
 *    - a split count s is eligible if s == 1 or ceil(n/s) != ceil(n/(s-1))
 *      (otherwise it gives the same blocks per split as s - 1);
 *    - efficiency(s) = w / ceil(w), w = batch_nheads_mblocks * s / SMs;
 *    - the first eligible s with efficiency >= 0.85 * max efficiency wins.
 *    One num_splits serves the whole batch.
 * 5. The split kernel gives request r n_blocks_per_split =
 *    ceil(ceil(len_r / block_n) / num_splits) blocks; split i covers blocks
 *    [i * n_blocks_per_split, min(ceil(len_r / block_n), (i+1) * ...)).
 *    Splits past a short request's end are empty: FA2 launches their CTAs
 *    anyway (they write LSE = -inf); the plan keeps only the non-empty chunks
 *    and counts the empty ones in grid_ctas.
 * Query length > 1 follows mha_fwd_kvcache (flash_attn_with_kvcache), which runs the heuristic
 * for any query length: no swap (so heads = hq, each q head's CTA reading its KV again) and
 * num_m_blocks = ceil(max_qlen / 64). (The paged varlen entry that vLLM calls does not split at
 * all for query length > 1: policy vllm.) The lab's kernel runs the plan's chunks with GQA-packed
 * 64-row tiles. */
#include <math.h>
#include <stdio.h>

#include "intmath.h"
#include "policy.h"

int32_t skv_fa2_block_n(int32_t head_dim) { return head_dim <= 64 ? 256 : (head_dim <= 128 ? 128 : 64); }

int32_t skv_fa2_num_splits_heuristic(int64_t batch_nheads_mblocks, int32_t num_sms, int64_t num_n_blocks,
                                     int32_t max_splits) {
  /* FA2 compares in float: batch_nheads_mblocks >= 0.8f * num_SMs. */
  if ((float)batch_nheads_mblocks >= 0.8f * (float)num_sms) return 1;
  int64_t cap = max_splits;
  if (num_sms < cap) cap = num_sms;
  if (num_n_blocks < cap) cap = num_n_blocks;
  float eff[128 + 1];
  float max_eff = 0.f;
  for (int64_t s = 1; s <= cap; s++) {
    bool eligible = s == 1 || skv_ceil_div(num_n_blocks, s) != skv_ceil_div(num_n_blocks, s - 1);
    if (!eligible) {
      eff[s] = 0.f;
      continue;
    }
    float n_waves = (float)(batch_nheads_mblocks * s) / (float)num_sms;
    eff[s] = n_waves / ceilf(n_waves);
    if (eff[s] > max_eff) max_eff = eff[s];
  }
  for (int64_t s = 1; s <= cap; s++) {
    bool eligible = s == 1 || skv_ceil_div(num_n_blocks, s) != skv_ceil_div(num_n_blocks, s - 1);
    /* FA2: efficiency[s - 1] >= 0.85 * max_efficiency (a double product). */
    if (eligible && eff[s] >= 0.85 * max_eff) return (int32_t)s;
  }
  return 1;
}

bool skv_policy_fa2(const skv_batch *b, const skv_policy_opts *o, const skv_gpu *gpu, skv_split_choice *c, char *err,
                    size_t errlen) {
  const int32_t num_sms = gpu->sms;
  const int64_t max_q = skv_batch_max_qlen(b), max_k = skv_batch_max_kvlen(b);
  const bool swapped = max_q == 1 && b->num_q_heads > b->num_kv_heads;
  const int64_t seqlen_q = swapped ? skv_batch_group(b) : max_q;
  const int64_t heads = swapped ? b->num_kv_heads : b->num_q_heads;
  const int64_t m_blocks = skv_ceil_div(seqlen_q, 64);
  const int32_t block_n = skv_fa2_block_n(b->head_dim);
  const int64_t n_blocks = skv_ceil_div(max_k, block_n);
  const int64_t bhm = (int64_t)b->num_requests * heads * m_blocks;
  int32_t splits;
  if (o->num_splits > 0) {
    if (o->num_splits > 128) {
      snprintf(err, errlen, "num-splits: FA2 supports at most 128 (got %d)", o->num_splits);
      return false;
    }
    splits = o->num_splits;
  } else {
    if (bhm > INT32_MAX) {
      snprintf(err, errlen, "fa2: batch x heads x m-blocks %lld overflows FA2's int", (long long)bhm);
      return false;
    }
    splits = skv_fa2_num_splits_heuristic(bhm, 2 * num_sms, n_blocks, 128);
  }
  for (int32_t r = 0; r < b->num_requests; r++) {
    int64_t blocks = skv_ceil_div(b->kvlen[r], block_n);
    int64_t per_split = skv_ceil_div(blocks, splits);
    c->chunk_tokens[r] = per_split > 0 ? per_split * block_n : 1;
  }
  c->batch_num_splits = splits;
  c->grid_ctas = bhm * splits;
  c->tile_rows = max_q > 1 ? SKV_TILE_ROWS_MAX : 0; /* kBlockM 64 */
  snprintf(c->why, sizeof c->why, "%s: b*h*m_blocks=%lld on 2x%d SMs, %lld blocks of %d: num_splits=%d%s",
           o->num_splits > 0 ? "forced" : "heuristic", (long long)bhm, num_sms, (long long)n_blocks, block_n, splits,
           swapped ? " (GQA packed)" : "");
  return true;
}
