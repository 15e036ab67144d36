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

/* Request r of batch b planned alone (a batch of one) against inside b, both under policy p:
 * *same is the prediction above. False with err when a plan fails. */
bool skv_predict_alone_vs_batch(const skv_batch *b, const skv_plan *in_batch, int32_t r, skv_policy p,
                                const skv_policy_opts *o, const skv_gpu *gpu, bool *same, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* SKV_INVARIANCE_H */
