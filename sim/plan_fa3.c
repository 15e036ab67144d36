/* plan_fa3.c — FlashAttention-3's split rule for paged decode (get_num_splits + dynamic split), modelled.
 *
 * Source: Dao-AILab/flash-attention hopper/flash_api.cpp (get_num_splits),
 * hopper/heuristics.h (num_splits_heuristic), hopper/tile_size.h
 * (tile_size_fwd_sm90), hopper/flash_prepare_scheduler.cu
 * (prepare_varlen_num_blocks_kernel). Upstream rule, not the vLLM fork's
 * variant (which selects at 0.95 of the best efficiency and adds penalties).
 *
 * Tiles (bf16/fp16, non-causal, paged KV without TMA, as decode runs):
 *   kBlockM x kBlockN = 192 x 128 (d 64), 128 x 128 (d 128), 128 x 80 (d 256).
 * Static split (an upper bound): q heads are always packed for splitting, so
 *   num_m_blocks = ceil(max_qlen * group / kBlockM); with paged varlen the
 *   batch is taken as 1: total_mblocks = hkv * num_m_blocks;
 *   num_n_blocks = ceil(max_kvlen / kBlockN); then num_splits_heuristic over
 *   num_SMs (not doubled):
 *   - total_mblocks >= 0.8 * SMs: 1 split, unless one KV head is larger than
 *     a 50 MB L2, num_m_blocks >= 2 * SMs and not causal: ceil(size / 50MB);
 *   - num_n_blocks <= 4: 1 split;
 *   - else FA2's efficiency rule without the eligibility test, max 128.
 * Dynamic split per request (prepare kernel; batch <= 992 and static > 1):
 *   blocks_per_sm = ceil(1.1 * hkv * sum_r m_r * n_r / SMs),
 *   splits_r = clamp(ceil(n_r / blocks_per_sm), 1, static),
 *   each split ceil(n_r / splits_r) blocks of kBlockN tokens.
 * The sum over the batch makes a request's split depend on its neighbours.
 * Query length > 1 (speculative verify, chunked prefill): the same rule; PackGQA is always on for
 * paged varlen, so m_r = ceil(qlen_r * group / kBlockM) and the static split sees the longest
 * query; under the causal mask the L2 branch of the heuristic does not apply. A prefill chunk in
 * the batch makes hkv * num_m_blocks large, so the static split, and with it every request's, is 1.
 * The lab's kernel runs the plan's chunks with 64-row tiles. */
#include <math.h>
#include <stdio.h>

#include "intmath.h"
#include "policy.h"

static void fa3_tile(int32_t head_dim, int32_t *block_m, int32_t *block_n) {
  if (head_dim <= 64) *block_m = 192, *block_n = 128;
  else if (head_dim <= 128) *block_m = 128, *block_n = 128;
  else *block_m = 128, *block_n = 80;
}

static int32_t fa3_num_splits_heuristic(int64_t total_mblocks, int32_t num_sms, int64_t num_n_blocks,
                                        int64_t num_m_blocks, int64_t size_one_kv_head, int32_t max_splits) {
  if ((float)total_mblocks >= 0.8f * (float)num_sms) {
    const int64_t size_l2 = 50ll * 1024 * 1024;
    if (size_one_kv_head > size_l2 && num_m_blocks >= 2ll * num_sms) {
      int64_t s = skv_ceil_div(size_one_kv_head, size_l2);
      return (int32_t)(s < max_splits ? s : max_splits);
    }
    return 1;
  }
  if (num_n_blocks <= 4) return 1;
  int64_t cap = max_splits;
  if (num_sms < cap) cap = num_sms;
  if (num_n_blocks < cap) cap = num_n_blocks;
  float eff[128 + 1], max_eff = 0.f;
  for (int64_t s = 1; s <= cap; s++) {
    float n_waves = (float)(total_mblocks * s) / (float)num_sms;
    eff[s] = n_waves / ceilf(n_waves);
    if (eff[s] > max_eff) max_eff = eff[s];
  }
  for (int64_t s = 1; s <= cap; s++)
    if (eff[s] >= 0.85 * max_eff) return (int32_t)s;
  return 1;
}

bool skv_policy_fa3(const skv_batch *b, const skv_policy_opts *o, const skv_gpu *gpu, skv_split_choice *c, char *err,
                    size_t errlen) {
  const int32_t num_sms = gpu->sms;
  int32_t block_m, block_n;
  fa3_tile(b->head_dim, &block_m, &block_n);
  const int32_t group = skv_batch_group(b);
  const int64_t max_q = skv_batch_max_qlen(b), max_k = skv_batch_max_kvlen(b);
  const int64_t m_blocks = skv_ceil_div(max_q * group, block_m);
  const int64_t n_blocks = skv_ceil_div(max_k, block_n);
  const int64_t elem = skv_dtype_size(b->kv_dtype) == 1 ? 1 : 2;
  const int64_t size_one_kv_head = max_k * 2 * b->head_dim * elem;
  int32_t stat;
  if (o->num_splits > 0) {
    if (o->num_splits > 128) {
      snprintf(err, errlen, "num-splits: FA3 supports at most 128 (got %d)", o->num_splits);
      return false;
    }
    stat = o->num_splits;
  } else {
    const bool causal = max_q > 1 && b->mask == SKV_MASK_CAUSAL;
    stat = fa3_num_splits_heuristic((int64_t)b->num_kv_heads * m_blocks, num_sms, n_blocks, m_blocks,
                                    causal ? 0 : size_one_kv_head, 128);
  }
  /* Dynamic split (prepare_varlen_num_blocks_kernel). */
  int64_t total_blocks = 0;
  for (int32_t r = 0; r < b->num_requests; r++)
    total_blocks += skv_ceil_div(b->qlen[r] * group, block_m) * skv_ceil_div(b->kvlen[r], block_n);
  const bool dynamic = b->num_requests <= 992 && stat > 1;
  const int64_t blocks_per_sm =
      (int64_t)ceilf((float)total_blocks * 1.1f * (float)b->num_kv_heads / (float)num_sms);
  int32_t max_used = 1;
  int64_t grid = 0;
  for (int32_t r = 0; r < b->num_requests; r++) {
    const int64_t n_r = skv_ceil_div(b->kvlen[r], block_n);
    int64_t splits = 1;
    if (dynamic && blocks_per_sm > 0) {
      splits = skv_ceil_div(n_r, blocks_per_sm);
      if (splits > stat) splits = stat;
      if (splits < 1) splits = 1;
    }
    const int64_t per_split = skv_ceil_div(n_r, splits);
    c->chunk_tokens[r] = per_split > 0 ? per_split * block_n : 1;
    if (splits > max_used) max_used = (int32_t)splits;
    grid += splits * skv_ceil_div(b->qlen[r] * group, block_m) * b->num_kv_heads;
  }
  c->batch_num_splits = stat;
  c->grid_ctas = grid;
  c->tile_rows = max_q > 1 ? SKV_TILE_ROWS_MAX : 0;
  snprintf(c->why, sizeof c->why,
           "static num_splits=%d (hkv*m_blocks=%lld, %lld blocks of %d, %d SMs); dynamic: %lld blocks/SM, up to %d "
           "splits",
           stat, (long long)(b->num_kv_heads * m_blocks), (long long)n_blocks, block_n, num_sms,
           (long long)blocks_per_sm, max_used);
  return true;
}
