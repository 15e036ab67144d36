/* reference.h — CPU reference attention in double precision over a paged KV workload (a plan's execution: cpu_exec.h). */
#ifndef SKV_REFERENCE_H
#define SKV_REFERENCE_H

#include <stdbool.h>
#include <stdint.h>

#include "plan.h"
#include "workload.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Attention states of request r's queries for the q heads of KV head kv_head
 * over KV positions [kv_begin, kv_end), each query also limited by the batch's
 * mask (batch.h: causal by absolute position, query i of a request with KV
 * length L and query length Q sees keys < L - Q + i + 1; or none). Scores are q.k * softmax_scale
 * (dequantized values, quant.h). Outputs, natural-log LSE:
 *   o[qlen][group][head_dim], lse[qlen][group]
 * A query that sees no key gets lse = -inf and o = 0. False when out of memory. */
bool skv_ref_states(const skv_workload *w, int32_t r, int32_t kv_head, int64_t kv_begin, int64_t kv_end, double *o,
                    double *lse);
/* The same for the query tokens [q_begin, q_end) of request r only (a plan's query tile): o[q_end -
 * q_begin][group][head_dim], lse[q_end - q_begin][group]. */
bool skv_ref_tile_states(const skv_workload *w, int32_t r, int32_t kv_head, int64_t q_begin, int64_t q_end,
                         int64_t kv_begin, int64_t kv_end, double *o, double *lse);

/* Unsplit attention of the whole batch: o[total_q][hq][head_dim] and
 * lse[hq][total_q] (the logical layout merge_attn_states reads), base-2 LSE if
 * base2. False when out of memory. */
bool skv_ref_attention(const skv_workload *w, bool base2, double *o, double *lse);

/* Multiply-adds of the unsplit reference over batch b (scores and weighted values: KV length x
 * query length x q heads x head dim x 2), the measure of what a reference check costs. */
double skv_ref_work(const skv_batch *b);

/* Write one (request, KV head) state block (skv_ref_states' layout) into the batch outputs of
 * skv_ref_attention's layout; base2 converts its LSE to log2. */
void skv_ref_scatter(const skv_workload *w, int32_t r, int32_t kv_head, const double *o_state,
                     const double *lse_state, bool base2, double *o, double *lse);
/* The same for a tile's state block (skv_ref_tile_states' layout) of query tokens [q_begin, q_end). */
void skv_ref_tile_scatter(const skv_workload *w, int32_t r, int32_t kv_head, int64_t q_begin, int64_t q_end,
                          const double *o_state, const double *lse_state, bool base2, double *o, double *lse);

#ifdef __cplusplus
}
#endif

#endif /* SKV_REFERENCE_H */
