/* plan_flashinfer.c — FlashInfer's decode split-KV planner (balanced partition), modelled.
 *
 * Source: flashinfer-ai/flashinfer include/flashinfer/attention/scheduler.cuh
 * (PartitionPagedKVCacheBinarySearchMinNumPagePerBatch,
 * BatchDecodeWithPagedKVCacheWorkEstimationDispatched, DecodePlan,
 * DecodeSplitKVIndptr; PrefillSplitQOKVIndptr for the options of PR #1675)
 * and flashinfer/decode.py.
 *
 * Default (CUDA-core decode planner):
 *   max_grid = blocks_per_sm * SMs (FlashInfer asks the occupancy API; here it
 *   is the --blocks-per-sm option). If batch * hkv >= max_grid: no split.
 *   Otherwise binary search, in pages, for the smallest chunk c >= max(128 /
 *   page_size, 1) with sum_r ceil(pages_r / c) * hkv <= max_grid; if that
 *   leaves every request in one chunk and no CUDA graph is used, no split;
 *   with a CUDA graph the split kernel is always used.
 *   CUDA-graph padding: the grid is padded to max_grid / hkv blocks per KV head
 *   when split (padded CTAs exit on block_valid_mask), else batch.
 * Options of PR #1675 (FlashInfer applies them on its tensor-core decode path,
 * which reuses the prefill planner):
 *   fixed_split_size (pages): the chunk is exactly that, with no search, so a
 *   request's chunks depend on its own length only. With a CUDA graph the
 *   padded batch is max(max_grid / hkv, batch) and FlashInfer refuses a plan
 *   with more chunks than that.
 *   disable_split_kv: one chunk per request (no merge).
 * Chunks are token offsets k * c * page_size, the last clipped to the length. */
#include <stdio.h>

#include "intmath.h"
#include "policy.h"

/* Smallest pages-per-chunk >= min_pages whose chunk count times hkv fits
 * max_grid (FlashInfer's binary search); *chunks gets the resulting count of
 * work items per KV head (empty requests count as one page). */
static int64_t binary_search_chunk_pages(const skv_batch *b, int64_t max_grid, int64_t min_pages, int64_t *chunks) {
  int64_t low = min_pages, high = 0;
  for (int32_t r = 0; r < b->num_requests; r++)
    if (skv_batch_pages(b, r) > high) high = skv_batch_pages(b, r);
  while (low < high) {
    int64_t mid = (low + high) / 2, n = 0;
    for (int32_t r = 0; r < b->num_requests; r++) n += skv_ceil_div(skv_batch_pages(b, r), mid);
    if (n * b->num_kv_heads > max_grid) low = mid + 1;
    else high = mid;
  }
  int64_t n = 0;
  for (int32_t r = 0; r < b->num_requests; r++) {
    int64_t p = skv_batch_pages(b, r);
    n += skv_ceil_div(p > 1 ? p : 1, low);
  }
  *chunks = n;
  return low;
}

bool skv_policy_flashinfer(const skv_batch *b, const skv_policy_opts *o, const skv_gpu *gpu, skv_split_choice *c,
                           char *err, size_t errlen) {
  const int64_t hkv = b->num_kv_heads, n = b->num_requests, ps = b->page_size;
  const int32_t num_sms = gpu->sms;
  const int64_t max_grid = (int64_t)o->blocks_per_sm * num_sms;
  if (o->fixed_split_pages < 0) {
    snprintf(err, errlen, "fixed-split-pages: must be >= 1 page, or 0 for off (got %d)", o->fixed_split_pages);
    return false;
  }
  int64_t chunk_pages = 0; /* 0: one chunk per request */
  int64_t padded = n;
  if (o->disable_split_kv) {
    snprintf(c->why, sizeof c->why, "disable_split_kv: one chunk per request");
  } else if (o->fixed_split_pages > 0) {
    chunk_pages = o->fixed_split_pages;
    int64_t items = 0;
    for (int32_t r = 0; r < b->num_requests; r++) {
      int64_t p = skv_batch_pages(b, r);
      items += skv_ceil_div(p > 1 ? p : 1, chunk_pages);
    }
    if (o->cuda_graph) {
      padded = max_grid / hkv > n ? max_grid / hkv : n;
      if (items > padded) {
        snprintf(err, errlen,
                 "flashinfer: fixed_split_size=%lld pages gives %lld chunks per KV head, more than the CUDA graph's "
                 "padded batch %lld (FlashInfer refuses this plan)",
                 (long long)chunk_pages, (long long)items, (long long)padded);
        return false;
      }
    }
    snprintf(c->why, sizeof c->why, "fixed_split_size=%lld pages (%lld tokens)", (long long)chunk_pages,
             (long long)(chunk_pages * ps));
  } else if (n * hkv >= max_grid) {
    snprintf(c->why, sizeof c->why, "batch*hkv=%lld >= max_grid=%lld (%d/SM x %d SMs): no split", (long long)(n * hkv),
             (long long)max_grid, o->blocks_per_sm, num_sms);
  } else {
    const int64_t min_pages = 128 / ps > 1 ? 128 / ps : 1;
    int64_t items;
    int64_t pages = binary_search_chunk_pages(b, max_grid, min_pages, &items);
    if (items == n && !o->cuda_graph) {
      snprintf(c->why, sizeof c->why, "search gives %lld pages/chunk but no request splits: no split", (long long)pages);
    } else {
      chunk_pages = pages;
      if (o->cuda_graph) padded = max_grid / hkv;
      snprintf(c->why, sizeof c->why, "search: %lld pages/chunk (>= %lld), %lld chunks x %lld heads <= max_grid=%lld",
               (long long)pages, (long long)min_pages, (long long)items, (long long)hkv, (long long)max_grid);
    }
  }
  for (int32_t r = 0; r < b->num_requests; r++) {
    int64_t whole = b->kvlen[r] > 0 ? b->kvlen[r] : 1;
    c->chunk_tokens[r] = chunk_pages > 0 ? chunk_pages * ps : whole;
  }
  c->grid_ctas = o->cuda_graph ? padded * hkv : 0;
  return true;
}
