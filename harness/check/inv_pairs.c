/* inv_pairs.c — the invariance pairs' variants, plans and predictions, shared by the model and GPU executors. */
#include "check/inv_pairs.h"

#include <stdio.h>

bool skv_inv_pair_plan(const skv_exec_job *job, int32_t k, skv_variant *v, skv_plan *vp, bool *usable, bool *same,
                       char *err, size_t errlen) {
  *usable = false;
  const skv_batch *b = &job->w->batch;
  if (!skv_variant_make(b, 0, job->w->opts.seed, k, SKV_INV_MAX_BATCH, v, err, errlen)) return false;
  char why[256];
  if (!skv_variant_predict(job->plan, b, 0, v, job->cfg->policy, &job->cfg->opts, job->model, vp, same, why,
                           sizeof why))
    return true; /* the policy refuses this batch: no pair */
  *usable = true;
  return true;
}

bool skv_inv_pairs_predict(const skv_exec_job *job, int64_t *pairs, int64_t *same, char *err, size_t errlen) {
  *pairs = *same = -1;
  if (job->suite->invariance_pairs <= 0) return true;
  *pairs = *same = 0;
  for (int32_t k = 0; k < job->suite->invariance_pairs; k++) {
    skv_variant v;
    skv_plan vp;
    bool usable, eq;
    if (!skv_inv_pair_plan(job, k, &v, &vp, &usable, &eq, err, errlen)) return false;
    if (usable) {
      (*pairs)++;
      *same += eq;
      skv_plan_free(&vp);
    }
    skv_variant_free(&v);
  }
  return true;
}
