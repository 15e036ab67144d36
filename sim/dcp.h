/* dcp.h — decode context parallelism: a request's KV interleaved over W ranks, each rank's split-KV plan of its
 * shard, and the cross-rank merge of the ranks' (O, LSE); the CPU executor of all of it in double precision. */
#ifndef SKV_DCP_H
#define SKV_DCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "gpu.h"
#include "plan.h"
#include "policy.h"
#include "workload.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The shard rule of vLLM's decode context parallelism (seed 002, `cp_kv_cache_interleave_size` I over a group of
 * W ranks; vllm/v1/attention/backends/utils.py get_dcp_local_seq_lens): KV token p lives on rank (p / I) mod W at
 * local position (p / (W I)) I + p mod I — blocks of I consecutive tokens dealt round-robin. */
#define SKV_DCP_MAX_WORLD 64

static inline int32_t skv_dcp_rank_of(int64_t p, int32_t W, int32_t I) { return (int32_t)((p / I) % W); }
static inline int64_t skv_dcp_local_pos(int64_t p, int32_t W, int32_t I) { return (p / ((int64_t)W * I)) * I + p % I; }
/* The inverse on rank w: its local position t holds global token ((t / I) W + w) I + t mod I. */
static inline int64_t skv_dcp_global_pos(int64_t t, int32_t w, int32_t W, int32_t I) {
  return ((t / I) * W + w) * I + t % I;
}
/* Tokens of a length-L sequence that rank w holds: full rounds of W I tokens give I each; the last, partial
 * round gives rank w what is left of the L mod W I tokens after w blocks of I. */
int64_t skv_dcp_local_len(int64_t L, int32_t w, int32_t W, int32_t I);

/* How the ranks' states are merged (the cross-rank hand-off):
 *   AG_RS: vLLM's cp_lse_ag_out_rs — all-gather every rank's LSE, each rank scales its O by
 *          exp(lse_w - logsumexp over ranks), then a reduce-scatter sums the scaled O over the ranks (each rank
 *          keeps its slice of the heads): O = sum_w exp(lse_w - lse) O_w in rank order;
 *   AG_ORDERED: all-gather of (O, LSE) and the states merged pairwise in rank order (skv_merge_states), as the
 *          combine kernel merges chunks.
 * The two are the same function of the states; in floating point their rounding differs. */
typedef enum skv_dcp_merge { SKV_DCP_MERGE_AG_RS = 0, SKV_DCP_MERGE_AG_ORDERED, SKV_DCP_MERGE_COUNT } skv_dcp_merge;
const char *skv_dcp_merge_name(skv_dcp_merge m); /* "ag-rs", "ag-ordered" */

/* A DCP plan of batch b: W ranks, interleave I, and per rank its batch (b's requests, each of KV length its local
 * length, every query) planned by (p, po) for gpu. Query length 1 (decode) only: vLLM runs the context part of a
 * longer query non-causally over the shards and its new tokens apart (seed 002, _forward_with_dcp), which this
 * plan does not model. */
typedef struct skv_dcp_plan {
  int32_t world, interleave;
  skv_batch rank_batch[SKV_DCP_MAX_WORLD];
  skv_plan rank_plan[SKV_DCP_MAX_WORLD];
} skv_dcp_plan;

/* Build it; false with err (W outside 1..SKV_DCP_MAX_WORLD, I < 1, a query longer than 1, a rank's plan
 * refused). */
bool skv_dcp_plan_build(const skv_batch *b, int32_t W, int32_t I, skv_policy p, const skv_policy_opts *po,
                        const skv_gpu *gpu, skv_dcp_plan *out, char *err, size_t errlen);
void skv_dcp_plan_free(skv_dcp_plan *d);

/* The cross-rank merge of one (token, q head): the W ranks' states o[w][d], lse[w] (natural log; an empty shard:
 * -inf and 0) into out, *lse_out. Every rank empty: -inf and 0. */
void skv_dcp_merge_states(skv_dcp_merge m, int32_t W, int32_t d, const double *o, const double *lse, double *out,
                          double *lse_out);

/* The CPU executor: every rank's plan run over its shard of w in double (each chunk of local tokens as the merge
 * of its runs of global tokens, the chunks merged in order as the combine does), then the cross-rank merge m.
 * o[total_q][hq][head_dim], lse[hq][total_q] (skv_ref_attention's layouts, natural log). rank_lse (may be NULL):
 * [W][hq][total_q], each rank's LSE before the merge. False with err. */
bool skv_dcp_cpu_execute(const skv_workload *w, const skv_dcp_plan *d, skv_dcp_merge m, double *o, double *lse,
                         double *rank_lse, char *err, size_t errlen);
/* The same with each rank's O before the merge too: rank_o (may be NULL) [W][total_q][hq][head_dim]. */
bool skv_dcp_cpu_execute_ranks(const skv_workload *w, const skv_dcp_plan *d, skv_dcp_merge m, double *o, double *lse,
                               double *rank_o, double *rank_lse, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* SKV_DCP_H */
