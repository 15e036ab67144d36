/* graph_bound.h — what a captured CUDA graph holds (grid, combine items, scratch, page table), taken from a policy's graph mode, and whether a runtime plan fits it. */
#ifndef SKV_GRAPH_BOUND_H
#define SKV_GRAPH_BOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "gpu.h"
#include "plan.h"
#include "policy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A graph is captured once for a batch size and replayed for batches of that many requests or
 * fewer and any lengths up to max_seqlen, by rewriting the device-side plan (work list, combine
 * list, page table, queries) only: its grid, scratch and shared memory are fixed at capture. */
typedef struct skv_graph_bound {
  int32_t requests;    /* requests the capture holds */
  int64_t tokens;      /* query tokens (requests x the longest query) */
  int64_t pages;       /* page-table entries (requests x the pages of max_seqlen) */
  int64_t ctas;        /* the decode grid */
  int64_t combine;     /* combine items (the combine grid) */
  int64_t partials;    /* scratch state rows */
  int32_t max_chunks;  /* chunks of one combine item (the merge's shared memory) */
  int32_t tile_rows;   /* packed rows of the largest tile (the kernel form) */
  char source[200];    /* the rule the bound comes from */
} skv_graph_bound;

/* The bound of policy p (options o) for batches shaped like b (its request count, heads, head dim,
 * caches, longest query) of KV length up to max_seqlen, on gpu:
 *   vllm with cuda_graph: max_num_splits chunks per (request, KV head) (vLLM's FlashAttention
 *     backend sizes the split kernel's grid and scratch for max_num_splits; seed 002, vLLM #20301,
 *     #25495); batch_invariant: 1;
 *   flashinfer with cuda_graph: its padded grid, max(blocks_per_sm x SMs / hkv, batch) items per KV
 *     head, one state per item (FlashInfer's CUDA-graph plan pads the batch and masks the padding;
 *     one request may own every item);
 *   lab-invariant: its max_splits chunks per request (plan_lab_invariant.c);
 *   any other policy (no graph mode of its own): the plan of b's requests all at max_seqlen.
 * False with err when that plan fails or out of memory. */
bool skv_graph_bound_make(const skv_batch *b, skv_policy p, const skv_policy_opts *o, const skv_gpu *gpu,
                          int64_t max_seqlen, skv_graph_bound *out, char *err, size_t errlen);

/* Whether plan pl of batch b fits the bound; when not, why names the first quantity over it
 * ("CTAs 4096 > 2048 captured"). */
bool skv_graph_bound_fits(const skv_graph_bound *g, const skv_plan *pl, const skv_batch *b, char *why, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* SKV_GRAPH_BOUND_H */
