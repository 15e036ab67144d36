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

/* One decode CTA: a chunk of one request for one KV head, all q heads of the
 * group packed together (GQA packing: each K/V byte is read once). */
typedef struct skv_work {
  int32_t request;
  int32_t kv_head;
  int32_t chunk;       /* index of the chunk within its request */
  int32_t num_chunks;  /* chunks of this request (1: the CTA writes the final O and LSE) */
  int64_t kv_begin, kv_end;
  int64_t partial;     /* scratch row of this (request, kv head, chunk), or -1 when num_chunks == 1 */
} skv_work;

/* One combine item: merge the partial states of a (request, kv head) in
 * ascending chunk order; chunk c sits in scratch row first_partial + c. */
typedef struct skv_combine_item {
  int32_t request;
  int32_t kv_head;
  int32_t num_chunks;
  int32_t pad_;
  int64_t first_partial;
} skv_combine_item;

/* The plan: the single source of truth for how KV is split. Chunks are per
 * request and shared by all its KV heads (every modelled policy splits that
 * way). Work is ordered request-major, then chunk, then KV head. */
typedef struct skv_plan {
  skv_policy policy;
  skv_policy_opts opts;
  int32_t num_requests, num_q_heads, num_kv_heads, head_dim, page_size;
  int32_t num_sms;          /* SMs of the GPU model planned for */
  char gpu_name[32];        /* that model's name (gpu.h) */
  bool gqa_packed;          /* the policy's own kernel packs the q heads of a KV head (FA2: all qlen == 1) */
  int32_t batch_num_splits; /* the policy's batch-wide split count (fa2, fa3, vllm), 0 if per request */
  int64_t *chunk_offset;    /* [num_requests + 1]: request r owns chunks[chunk_offset[r] .. chunk_offset[r+1]) */
  skv_chunk *chunks;
  int64_t num_chunks;
  skv_work *work;           /* [num_work] decode CTAs */
  int64_t num_work;
  skv_combine_item *combine;/* [num_combine] one per (request with > 1 chunk, kv head) */
  int64_t num_combine;
  int64_t num_partials;     /* scratch rows */
  int64_t scratch_o_bytes;  /* fp32 partial O: num_partials * group * head_dim * 4 */
  int64_t scratch_lse_bytes;/* fp32 partial LSE: num_partials * group * 4 */
  int64_t grid_ctas;        /* CTAs the modelled implementation launches (>= num_work: FA2's empty
                               splits, FlashInfer's graph padding) */
  double waves;             /* num_work / (num_sms * blocks_per_sm) */
  int64_t full_waves;       /* ceil(waves) */
  char why[200];            /* the policy's one-line reason */
} skv_plan;

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

/* Check a plan against its batch: chunks partition each request's KV exactly
 * and in order, none empty unless the KV is, work = chunks x kv heads, scratch
 * rows and sizes match the work list, combine items cover every split request.
 * Returns false with the first violation in err. */
bool skv_plan_check(const skv_plan *pl, const skv_batch *b, char *err, size_t errlen);

/* Min / max / mean of num_splits over the requests. */
void skv_plan_split_stats(const skv_plan *pl, int64_t *min, int64_t *max, double *mean);

#ifdef __cplusplus
}
#endif

#endif /* SKV_PLAN_H */
