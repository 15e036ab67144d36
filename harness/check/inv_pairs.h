/* inv_pairs.h — the invariance pairs of a configuration (checks: invariance_pairs): its probe (request 0) in variant batches, predicted by the simulator, measured on the GPU. */
#ifndef SKV_INV_PAIRS_H
#define SKV_INV_PAIRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exec/exec.h"
#include "invariance.h"

/* Variant batches hold at most this many requests (issue 17: batch sizes 1..256). */
#define SKV_INV_MAX_BATCH 256

/* Pair k of job: variant k of the job's batch around request 0 (invariance.h, seeded by the
 * workload's seed), planned under the job's policy and options (*vp, the caller frees it when
 * *usable), and whether the simulator predicts the probe's bits equal to its bits in the job's
 * plan. *usable is false when the policy refuses the variant batch (FlashInfer's fixed_split_size
 * beyond its graph padding): the pair is not counted. False with err when out of memory. */
bool skv_inv_pair_plan(const skv_exec_job *job, int32_t k, skv_variant *v, skv_plan *vp, bool *usable, bool *same,
                       char *err, size_t errlen);

/* The simulator's side for a row: inv_pairs (usable pairs) and inv_same_predicted; -1 both when
 * the suite asks for none. */
bool skv_inv_pairs_predict(const skv_exec_job *job, int64_t *pairs, int64_t *same, char *err, size_t errlen);

#endif /* SKV_INV_PAIRS_H */
