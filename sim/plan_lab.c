/* plan_lab.c — the lab's own policy: the chunk length that the cost model (cost_model.h) predicts fastest.
 *
 * Candidates: one chunk per request, and every chunk length ceil(max_kvlen / s)
 * rounded up to the decode kernel's 64-token tile, for s = 2 .. 128. Each
 * candidate is planned like `fixed` and predicted with the lab's H100
 * calibration (SM count from the caller) with the combine fused into decode;
 * the fastest wins, ties to the longer chunk. The choice depends on the whole
 * batch (its longest request and its size), so it is not batch-invariant:
 * `fixed` is the lab's batch-invariant policy. */
#include <stdio.h>

#include "cost_model.h"
#include "plan.h"
#include "policy.h"

#define LAB_TILE 64
#define LAB_MAX_SPLITS 128

bool skv_policy_lab(const skv_batch *b, const skv_policy_opts *o, int32_t num_sms, skv_split_choice *c, char *err,
                    size_t errlen) {
  skv_gpu_params g;
  skv_gpu_params_h100(&g);
  g.sms = num_sms;
  const int64_t max_k = skv_batch_max_kvlen(b);
  int64_t best_chunk = max_k > 0 ? max_k : 1, tried = 0, previous = 0;
  double best_us = -1;
  skv_policy_opts fixed = *o;
  for (int64_t s = 1; s <= LAB_MAX_SPLITS; s++) {
    int64_t chunk = s == 1 ? (max_k > 0 ? max_k : 1) : ((max_k + s - 1) / s + LAB_TILE - 1) / LAB_TILE * LAB_TILE;
    if (chunk == previous) continue; /* several split counts round to the same tile multiple */
    if (s > 1 && chunk < LAB_TILE) break;
    previous = chunk;
    fixed.split_size = chunk;
    skv_plan p;
    if (!skv_plan_build(b, SKV_POLICY_FIXED, &fixed, num_sms, &p, err, errlen)) return false;
    skv_prediction pr;
    skv_cost_predict(&p, b, &g, &pr);
    skv_plan_free(&p);
    tried++;
    if (best_us < 0 || pr.total_us < best_us - 1e-9) {
      best_us = pr.total_us;
      best_chunk = chunk;
    }
  }
  for (int32_t r = 0; r < b->num_requests; r++) c->chunk_tokens[r] = best_chunk;
  snprintf(c->why, sizeof c->why, "cost model (H100 calibration, %d SMs): chunks of %lld tokens, "
           "predicted %.1f us (best of %lld candidates)",
           num_sms, (long long)best_chunk, best_us, (long long)tried);
  return true;
}
