/* plan.h — a split-KV plan: per request KV chunks, the decode CTA work list, the combine work list, scratch sizes. */
#ifndef SKV_PLAN_H
#define SKV_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "policy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A KV range [begin, end) in token positions of one request. */
typedef struct skv_chunk {
  int64_t begin, end;
} skv_chunk;

/* One CTA: a chunk of one request for one KV head and one query tile: the tile's query tokens
 * [q_begin, q_end) times the group's q heads, packed as rows (token-major: row (t - q_begin) * group
 * + g is q head kv_head * group + g of query token t), so each K/V byte is read once per tile (GQA
 * packing). Decode (query length 1) has one tile of one token: the rows are the group's q heads.
 * Under the causal mask a tile runs only the chunks its last query sees (chunks are per request, so
 * these are its first num_chunks); a row that sees none of the chunk's keys gets the empty state. */
typedef struct skv_work {
  int32_t request;
  int32_t kv_head;
  int32_t chunk;       /* index of the chunk within its request */
  int32_t num_chunks;  /* chunks this tile runs (1: the CTA writes the final O and LSE) */
  int64_t kv_begin, kv_end;
  int64_t partial;     /* first scratch state row of this (request, tile, kv head, chunk): one row per
                          packed row, (q_end - q_begin) * group of them; -1 when num_chunks == 1 */
  int32_t q_begin, q_end; /* the tile's query tokens, 0-based within the request */
  int64_t q_start;     /* the request's first token in the packed queries and outputs (cu_seqlens_q) */
  int64_t key_end;     /* query q_begin + i sees keys < key_end + i (skv_batch_key_end; no mask: the
                          request's KV length, so every key) */
} skv_work;

/* One combine item: merge the partial states of a (request, tile, kv head) in ascending chunk
 * order; chunk c's state rows begin at first_partial + c * (q_end - q_begin) * group. */
typedef struct skv_combine_item {
  int32_t request;
  int32_t kv_head;
  int32_t num_chunks;
  int32_t q_begin, q_end;
  int32_t pad_;
  int64_t first_partial;
  int64_t q_start;     /* as skv_work's */
} skv_combine_item;

/* Packed rows of a tile (its query tokens x the group). */
static inline int64_t skv_tile_rows(int32_t q_begin, int32_t q_end, int32_t group) {
  return (int64_t)(q_end - q_begin) * group;
}

/* The plan: the single source of truth for how KV is split. Chunks are per
 * request and shared by all its KV heads and query tiles (every modelled policy splits that
 * way). Work is ordered request-major, then query tile, then chunk, then KV head. */
typedef struct skv_plan {
  skv_policy policy;
  skv_policy_opts opts;
  int32_t num_requests, num_q_heads, num_kv_heads, head_dim, page_size;
  int32_t num_sms;          /* SMs of the GPU model planned for */
  char gpu_name[32];        /* that model's name (gpu.h) */
  bool gqa_packed;          /* the policy's own kernel packs the q heads of a KV head (FA2: all qlen == 1) */
  skv_mask mask;            /* the batch's */
  int32_t tile_rows;        /* packed rows per CTA the plan's tiles fill (16, 32 or 64) */
  int32_t tile_tokens;      /* query tokens per tile: max(1, tile_rows / group); a request's last
                               tile is clipped to its query length */
  int32_t batch_num_splits; /* the policy's batch-wide split count (fa2, fa3, vllm), 0 if per request */
  int64_t *chunk_offset;    /* [num_requests + 1]: request r owns chunks[chunk_offset[r] .. chunk_offset[r+1]) */
  skv_chunk *chunks;
  int64_t num_chunks;
  skv_work *work;           /* [num_work] decode CTAs */
  int64_t num_work;
  skv_combine_item *combine;/* [num_combine] one per (request, tile, kv head) that runs > 1 chunk */
  int64_t num_combine;
  int64_t num_partials;     /* scratch state rows (one per packed row of a split tile's chunk) */
  int64_t scratch_o_bytes;  /* fp32 partial O: num_partials * head_dim * 4 */
  int64_t scratch_lse_bytes;/* fp32 partial LSE: num_partials * 4 */
  int64_t grid_ctas;        /* CTAs the modelled implementation launches (>= num_work: FA2's empty
                               splits, FlashInfer's graph padding) */
  double waves;             /* num_work / (num_sms * blocks_per_sm) */
  int64_t full_waves;       /* ceil(waves) */
  char why[200];            /* the policy's one-line reason */
} skv_plan;

/* The tile a plan takes when neither the options nor the policy choose one: decode 16 rows; query
 * length > 1: the fewest rows (16, 32 or 64) that hold the longest query times the group, so that a
 * short query (a speculative verify step) reads each K/V byte once. */
int32_t skv_plan_default_tile_rows(const skv_batch *b);

/* Plan batch b under policy p with options o (NULL: defaults) for GPU gpu (the
 * policies that model another library read its SM count only; lab, the whole
 * description). On failure: false, a one-line message in err, *plan zeroed. */
bool skv_plan_build(const skv_batch *b, skv_policy p, const skv_policy_opts *o, const skv_gpu *gpu, skv_plan *plan,
                    char *err, size_t errlen);
void skv_plan_free(skv_plan *plan);

/* Chunks of request r: count and pointer. */
static inline int64_t skv_plan_num_splits(const skv_plan *pl, int32_t r) {
  return pl->chunk_offset[r + 1] - pl->chunk_offset[r];
}
static inline const skv_chunk *skv_plan_chunks(const skv_plan *pl, int32_t r) {
  return pl->chunks + pl->chunk_offset[r];
}

/* Check a plan against its batch: chunks partition each request's KV exactly and in order, none
 * empty unless the KV is; tiles partition each request's queries; every (request, tile, kv head)
 * runs exactly the chunks its last query sees, with the right key bounds; scratch rows are written
 * once each and sized as the work list needs; a combine item per split tile reads its chunks' rows
 * in chunk order. Returns false with the first violation in err. */
bool skv_plan_check(const skv_plan *pl, const skv_batch *b, char *err, size_t errlen);

/* Packed rows of the plan's largest tile (what picks the kernel's row warps and form); a plan
 * without work: the group. */
int32_t skv_plan_max_tile_rows(const skv_plan *pl);

/* Min / max / mean of num_splits over the requests. */
void skv_plan_split_stats(const skv_plan *pl, int64_t *min, int64_t *max, double *mean);

#ifdef __cplusplus
}
#endif

#endif /* SKV_PLAN_H */
