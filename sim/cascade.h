/* cascade.h — cascade attention: the shared prefixes of a batch (share.h) attended once for all their queries, each request's own tokens apart, the states merged. */
#ifndef SKV_CASCADE_H
#define SKV_CASCADE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "gpu.h"
#include "plan.h"
#include "policy.h"
#include "share.h"
#include "workload.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A cascade plan over batch b with sharing s. Following vLLM's cascade_attention (seed 002: one
 * shared prefix, non-causal over every query, then each request's suffix, causal, then
 * merge_attn_states) and FlashInfer's multi-level cascade (several levels of groups), as two
 * batches the lab's plans and kernels already run:
 *   prefix: one request per group, its queries every query token of the group's members (in
 *     request order), its KV the group's tokens [begin, end) (one member's pages: every member holds
 *     the same), mask none — the prefix read once for all the queries that share it;
 *   suffix: one request per request, its own queries over its KV past its deepest group, causal (the
 *     bound by absolute position less the prefix is the same bound);
 * each planned under its own policy. A query token's state is then the merge, in level order
 * (outermost first) and the suffix last, of its rows in the two batches: a shared state is read by
 * every member's tokens, which one request's chunks and combine items cannot express. */
typedef struct skv_cascade_plan {
  int32_t levels;
  int64_t total_q;        /* query tokens of the batch */
  skv_batch prefix, suffix;
  skv_plan prefix_plan, suffix_plan;
  int64_t *prefix_row;    /* [levels * total_q]: the prefix batch's query row of token t at level l
                             (-1: no group at that level) */
  int64_t *prefix_q_src;  /* [prefix tokens]: the batch token each prefix query row is */
  int32_t *prefix_page_src; /* [num_groups]: the member whose pages hold the group's tokens */
  int64_t *prefix_page_first; /* [num_groups]: its first page of the group */
  int64_t *suffix_page_first; /* [num_requests]: request r's first page past its deepest group */
} skv_cascade_plan;

/* Build the cascade plan of batch b with sharing s (checked: skv_share_check), the prefix batch
 * planned under (pp, po) and the suffix batch under (sp, so) for gpu. False with err. */
bool skv_cascade_plan_build(const skv_batch *b, const skv_share *s, skv_policy pp, const skv_policy_opts *po,
                            skv_policy sp, const skv_policy_opts *so, const skv_gpu *gpu, skv_cascade_plan *out,
                            char *err, size_t errlen);
void skv_cascade_plan_free(skv_cascade_plan *c);

/* The two batches' workloads from w (made with s's shared pages): pieces of w (skv_workload_gather),
 * borrowing its pools. */
bool skv_cascade_workloads(const skv_workload *w, const skv_cascade_plan *c, skv_workload *prefix,
                           skv_workload *suffix, char *err, size_t errlen);

/* Merge the two batches' outputs into the batch's: po/plse and so/slse as skv_ref_attention's
 * layouts of the prefix and suffix batches (o[tokens][hq][d], lse[hq][tokens], natural log), o/lse
 * the batch's. Each token's states merged in level order, the suffix last (skv_merge_states). */
void skv_cascade_merge(const skv_cascade_plan *c, int32_t hq, int32_t d, const double *po, const double *plse,
                       const double *so, const double *slse, double *o, double *lse);

/* The CPU executor: both plans run in double precision (cpu_exec.h), then merged. Outputs as
 * skv_ref_attention's. False with err. */
bool skv_cascade_cpu_execute(const skv_workload *w, const skv_cascade_plan *c, double *o, double *lse, char *err,
                             size_t errlen);

/* vLLM's use_cascade_attention (seed 002, vllm/v1/attention/backends/flash_attn.py), for a batch
 * whose requests share common_prefix tokens, as read there: no cascade under 256 shared tokens, with
 * ALiBi, a sliding window or local attention, under 8 requests, or with decode context
 * parallelism; cascade whenever FlashDecoding would not run (it runs only when hq / hkv > 1, no
 * sliding window or ALiBi, and every query length is 1); otherwise the "very rough" model with
 * 128 x 128 tiles: cascade_time = ceil(hq * ceil(requests / 128) / SMs) * ceil(prefix / 128) against
 * flash-decoding time ceil(requests * hkv * ceil(group / 128) * ceil(prefix / 128) / SMs), cascade
 * when strictly less. num_query_tokens is requests when every query length is 1, as vLLM uses. */
bool skv_cascade_vllm_decides(int64_t common_prefix, const int64_t *qlen, int32_t num_requests, int32_t hq,
                              int32_t hkv, int32_t num_sms, bool alibi, bool sliding_window, bool local_attention,
                              int32_t dcp_world_size);

#ifdef __cplusplus
}
#endif

#endif /* SKV_CASCADE_H */
