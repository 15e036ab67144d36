/* plan_fixed.c — fixed chunk length in tokens: batch-invariant by construction.
 *
 * A request's chunks depend on its own length only, so its O and LSE are the
 * same bits alone or in any batch (given a combine that merges in a fixed
 * order). SGLang's deterministic mode uses fixed split tiles of 2048 or 4096
 * tokens; FlashInfer's fixed_split_size is the same idea in pages
 * (plan_flashinfer.c). */
#include <inttypes.h>
#include <stdio.h>

#include "policy.h"

bool skv_policy_fixed(const skv_batch *b, const skv_policy_opts *o, const skv_gpu *gpu, skv_split_choice *c, char *err,
                      size_t errlen) {
  (void)gpu;
  if (o->split_size < 1) {
    snprintf(err, errlen, "split-size: must be >= 1 token (got %" PRId64 ")", o->split_size);
    return false;
  }
  for (int32_t r = 0; r < b->num_requests; r++) c->chunk_tokens[r] = o->split_size;
  snprintf(c->why, sizeof c->why, "chunks of %" PRId64 " tokens", o->split_size);
  return true;
}
