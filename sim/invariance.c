/* invariance.c — batch invariance predicted from plans: a request's chunks alone and inside a batch. */
#include "invariance.h"

#include <stdio.h>
#include <string.h>

bool skv_same_chunks(const skv_plan *a, int32_t ra, const skv_plan *b, int32_t rb) {
  const int64_t n = skv_plan_num_splits(a, ra);
  return n == skv_plan_num_splits(b, rb) &&
         memcmp(skv_plan_chunks(a, ra), skv_plan_chunks(b, rb), (size_t)n * sizeof(skv_chunk)) == 0;
}

skv_kernel_form skv_plan_kernel_form(const skv_plan *p, const skv_batch *b) {
  const int32_t rows = skv_plan_max_tile_rows(p);
  skv_kernel_form f;
  f.columns = skv_decode_column_form(skv_dtype_size(b->kv_dtype), skv_dtype_size(b->v_dtype), rows);
  f.row_warps = f.columns ? 1 : skv_decode_row_warps(rows);
  return f;
}

bool skv_same_row_bits(const skv_plan *a, const skv_batch *ba, int32_t ra, const skv_plan *b, const skv_batch *bb,
                       int32_t rb) {
  const skv_kernel_form fa = skv_plan_kernel_form(a, ba), fb = skv_plan_kernel_form(b, bb);
  return skv_same_chunks(a, ra, b, rb) && fa.columns == fb.columns && fa.row_warps == fb.row_warps;
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
    *same = skv_same_row_bits(in_batch, b, r, &alone, &one, 0);
    skv_plan_free(&alone);
  }
  skv_batch_free(&one);
  return ok;
}
