/* plan_none.c — no split: one chunk per request (FlashInfer disable_split_kv, vLLM batch-invariant mode). */
#include <stdio.h>

#include "policy.h"

bool skv_policy_none(const skv_batch *b, const skv_policy_opts *o, const skv_gpu *gpu, skv_split_choice *c, char *err,
                     size_t errlen) {
  (void)o, (void)gpu, (void)err, (void)errlen;
  for (int32_t r = 0; r < b->num_requests; r++) c->chunk_tokens[r] = b->kvlen[r] > 0 ? b->kvlen[r] : 1;
  c->batch_num_splits = 1;
  snprintf(c->why, sizeof c->why, "one chunk per request");
  return true;
}
