/* invariance.h — the simulator's batch-invariance prediction: whether a request gets the same bits in two batches. */
#ifndef SKV_INVARIANCE_H
#define SKV_INVARIANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "plan.h"
#include "policy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Whether request ra of plan a and request rb of plan b are computed alike: the same chunks
 * [begin, end) in the same order. The kernels compute a chunk's state from its tokens alone and
 * merge a request's chunks in ascending chunk order whatever the batch (kernels/merge.cuh), so for
 * the same kernel variant and inputs this predicts bitwise equal O and LSE. */
bool skv_same_chunks(const skv_plan *a, int32_t ra, const skv_plan *b, int32_t rb);

/* The kernel arithmetic a plan's launch runs (kernels/decode_kernel.cuh): the column form (8-bit K
 * and V, tiles of at most 8 rows) or the row form with 1, 2 or 4 row warps, from the plan's largest
 * tile. Two launches of different forms order a row's sums differently. */
typedef struct skv_kernel_form {
  bool columns;
  int32_t row_warps;
} skv_kernel_form;
skv_kernel_form skv_plan_kernel_form(const skv_plan *p, const skv_batch *b);

/* Whether query token qa of request ra in plan a (batch ba) and token qb of request rb in plan b
 * (batch bb) get the same bits: the same chunks, and launches of the same kernel form. Within a
 * CTA a row's arithmetic does not depend on the other rows of its tile (each row's scores, max,
 * sums and P.V are its own; rows past its key bound add exact zeros), nor on how many chunks its
 * tile runs (a chunk a row does not see merges with weight exactly 0). So, for the same inputs,
 * this predicts bitwise equal O and LSE for those rows: e.g. a request alone and in a batch, or
 * the last token of a prefill chunk and the same token as a decode step (under fixed chunks). */
bool skv_same_row_bits(const skv_plan *a, const skv_batch *ba, int32_t ra, const skv_plan *b, const skv_batch *bb,
                       int32_t rb);

/* Request r of batch b planned alone (a batch of one) against inside b, both under policy p:
 * *same is the prediction above. False with err when a plan fails. */
bool skv_predict_alone_vs_batch(const skv_batch *b, const skv_plan *in_batch, int32_t r, skv_policy p,
                                const skv_policy_opts *o, const skv_gpu *gpu, bool *same, char *err, size_t errlen);

/* ---- Invariance pairs (issue 17): the same request in many batches ----
 *
 * Variant k of a base batch puts the base's request `probe` (its query and KV lengths, its data)
 * among other requests: k = 0 alone; otherwise a batch of B requests, B log-uniform in
 * 1..max_batch, the probe at a uniform position, each neighbour a uniformly drawn base request cut
 * to a KV length log-uniform in 1..its length (a prefix of its pages) and, when that request has
 * more than one query token, a query length of 1 or its own (at most the new KV length). Drawn
 * from (seed, k) alone, so the same variants on every host and in every resumed run. */
typedef struct skv_variant {
  skv_batch batch;   /* the variant (the base's shape and mask) */
  int32_t *source;   /* [batch.num_requests] the base request each one takes its data from */
  int32_t probe;     /* the probe's position in batch */
} skv_variant;

bool skv_variant_make(const skv_batch *base, int32_t probe, uint64_t seed, int32_t k, int32_t max_batch,
                      skv_variant *v, char *err, size_t errlen);
void skv_variant_free(skv_variant *v);

/* The prediction for one pair: the probe's rows in base plan a (batch ba, request ra) against the
 * variant planned under the same policy and options (*variant_plan, built here for the caller, who
 * frees it). */
bool skv_variant_predict(const skv_plan *a, const skv_batch *ba, int32_t ra, const skv_variant *v, skv_policy p,
                         const skv_policy_opts *o, const skv_gpu *gpu, skv_plan *variant_plan, bool *same, char *err,
                         size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* SKV_INVARIANCE_H */
