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
 * Chunks are token offsets k * c * page_size, the last clipped to the length.
 *
 * Query length > 1 (speculative verify, chunked prefill, prefill): FlashInfer's FA2 prefill planner
 * (scheduler.cuh PrefillSplitQOKVIndptr, PrefillBinarySearchKVChunkSize, PrefillPlanImpl; utils.cuh
 * FA2DetermineCtaTileQ; the same rule from v0.4.0 to the 0.6 nightlies), which its tensor-core decode
 * wrapper also runs for q_len_per_req > 1. (On SM90 with 16-bit caches the prefill wrapper's "auto"
 * backend is FA3, whose planner never splits KV: policy none models that.)
 *   packed_r = qlen_r * group (q heads folded into the rows);
 *   cta_tile_q T from the batch's AVERAGE packed length floor(sum packed / B) (with a CUDA graph:
 *     (total rows - B + 1) * group, the worst case of one request holding all rows): d < 256: > 64
 *     gives 128, > 16 gives 64, else 16; d = 256: > 16 gives 64, else 16. A request's tile thus
 *     depends on its neighbours (FlashInfer issue #2424);
 *   max items MBS = floor(2 * SMs / hkv) (2 CTAs per SM, a constant of PrefillPlanImpl);
 *   chunk search: the smallest chunk c >= max(128 / page_size, 1) pages with
 *     sum_r ceil(packed_r / T) * ceil(pages_r / c) <= MBS; split when c < the longest request's pages
 *     (always with a CUDA graph); fixed_split_size: c given, split if any request has > 1 chunk;
 *     disable_split_kv: one chunk per request;
 *   work items request-major, q tile, then chunk, every tile over every chunk (FlashInfer masks
 *     inside the kernel; the lab's plan does not launch a chunk a tile cannot see); padded to
 *     max(MBS, tiles) per KV head with a CUDA graph.
 * The lab's kernels run tiles of at most 64 rows: a T of 128 runs as 64-row tiles (the why line
 * gives FlashInfer's T). */
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

/* FA2DetermineCtaTileQ for FlashInfer's 16-bit caches (head dims 64..256). */
static int32_t cta_tile_q(int64_t packed_len, int32_t head_dim) {
  if (packed_len > 64 && head_dim < 256) return 128;
  return packed_len > 16 ? 64 : 16;
}

/* The prefill planner (query length > 1): see the top of this file. */
static bool flashinfer_prefill(const skv_batch *b, const skv_policy_opts *o, const skv_gpu *gpu, skv_split_choice *c,
                               char *err, size_t errlen) {
  const int64_t hkv = b->num_kv_heads, n = b->num_requests, ps = b->page_size, g = skv_batch_group(b);
  const int64_t mbs = (int64_t)o->blocks_per_sm * gpu->sms / hkv;
  int64_t rows = 0, max_pages = 1;
  for (int32_t r = 0; r < n; r++) {
    rows += b->qlen[r];
    if (skv_batch_pages(b, r) > max_pages) max_pages = skv_batch_pages(b, r);
  }
  const int32_t T = cta_tile_q(o->cuda_graph ? (rows - n + 1) * g : rows * g / n, b->head_dim);
  int64_t tiles = 0;
  for (int32_t r = 0; r < n; r++) tiles += skv_ceil_div(b->qlen[r] * g, T);
  int64_t chunk_pages = 0; /* 0: one chunk per request */
  if (o->fixed_split_pages < 0) {
    snprintf(err, errlen, "fixed-split-pages: must be >= 1 page, or 0 for off (got %d)", o->fixed_split_pages);
    return false;
  }
  if (o->disable_split_kv) {
    snprintf(c->why, sizeof c->why, "prefill planner, cta_tile_q %d: disable_split_kv, one chunk per request", T);
  } else if (o->fixed_split_pages > 0) {
    chunk_pages = o->fixed_split_pages;
    snprintf(c->why, sizeof c->why, "prefill planner, cta_tile_q %d: fixed_split_size=%lld pages", T,
             (long long)chunk_pages);
  } else {
    int64_t lo = 128 / ps > 1 ? 128 / ps : 1, hi = max_pages;
    while (lo < hi) {
      const int64_t mid = (lo + hi) / 2;
      int64_t items = 0;
      for (int32_t r = 0; r < n; r++) {
        const int64_t p = skv_batch_pages(b, r);
        items += skv_ceil_div(b->qlen[r] * g, T) * skv_ceil_div(p > 1 ? p : 1, mid);
      }
      if (items > mbs) lo = mid + 1;
      else hi = mid;
    }
    const bool split = o->cuda_graph || lo < max_pages;
    chunk_pages = split ? lo : 0;
    snprintf(c->why, sizeof c->why, "prefill planner, cta_tile_q %d (avg packed rows): search %lld pages/chunk, %s "
             "(max %lld items per KV head)", T, (long long)lo, split ? "split" : "no split", (long long)mbs);
  }
  int64_t items = 0;
  for (int32_t r = 0; r < n; r++) {
    const int64_t p = skv_batch_pages(b, r), q_tiles = skv_ceil_div(b->qlen[r] * g, T);
    const int64_t nkv = chunk_pages > 0 ? skv_ceil_div(p > 1 ? p : 1, chunk_pages) : 1;
    items += q_tiles * nkv;
    c->chunk_tokens[r] = chunk_pages > 0 ? chunk_pages * ps : (b->kvlen[r] > 0 ? b->kvlen[r] : 1);
  }
  int64_t padded = items;
  if (o->cuda_graph) {
    padded = mbs > tiles ? mbs : tiles;
    if (items > padded) {
      snprintf(err, errlen, "flashinfer: %lld work items per KV head exceed the CUDA graph's padded batch %lld "
               "(FlashInfer refuses this plan)", (long long)items, (long long)padded);
      return false;
    }
  }
  c->grid_ctas = padded * hkv;
  c->tile_rows = T > SKV_TILE_ROWS_MAX ? SKV_TILE_ROWS_MAX : T;
  return true;
}

bool skv_policy_flashinfer(const skv_batch *b, const skv_policy_opts *o, const skv_gpu *gpu, skv_split_choice *c,
                           char *err, size_t errlen) {
  if (skv_batch_max_qlen(b) > 1) return flashinfer_prefill(b, o, gpu, c, err, errlen);
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
