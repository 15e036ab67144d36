/* invariance.c — batch invariance predicted from plans: a request's chunks alone and inside a batch. */
#include "invariance.h"

#include <stdio.h>
#include <string.h>

bool skv_same_chunks(const skv_plan *a, int32_t ra, const skv_plan *b, int32_t rb) {
  const int64_t n = skv_plan_num_splits(a, ra);
  return n == skv_plan_num_splits(b, rb) &&
         memcmp(skv_plan_chunks(a, ra), skv_plan_chunks(b, rb), (size_t)n * sizeof(skv_chunk)) == 0;
}

bool skv_predict_alone_vs_batch(const skv_batch *b, const skv_plan *in_batch, int32_t r, skv_policy p,
                                const skv_policy_opts *o, const skv_gpu *gpu, bool *same, char *err, size_t errlen) {
  skv_batch one;
  if (!skv_batch_slice(b, r, 1, &one)) {
    snprintf(err, errlen, "invariance: out of memory");
    return false;
  }
  skv_plan alone;
  const bool ok = skv_plan_build(&one, p, o, gpu, &alone, err, errlen);
  if (ok) {
    *same = skv_same_chunks(in_batch, r, &alone, 0);
    skv_plan_free(&alone);
  }
  skv_batch_free(&one);
  return ok;
}
