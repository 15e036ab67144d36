/* invariance.c — batch invariance predicted from plans: a request's chunks alone and inside a batch. */
#include "invariance.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

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

/* log-uniform integer in [1, hi] */
static int64_t log_uniform(skv_rng *g, int64_t hi) {
  if (hi <= 1) return 1;
  const int64_t x = (int64_t)floor(exp(skv_rng_uniform(g) * log((double)hi + 1)));
  return x < 1 ? 1 : x > hi ? hi : x;
}

void skv_variant_free(skv_variant *v) {
  skv_batch_free(&v->batch);
  free(v->source);
  memset(v, 0, sizeof *v);
}

bool skv_variant_make(const skv_batch *base, int32_t probe, uint64_t seed, int32_t k, int32_t max_batch,
                      skv_variant *v, char *err, size_t errlen) {
  memset(v, 0, sizeof *v);
  skv_rng g;
  skv_rng_seed(&g, seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(k + 1)));
  const int32_t B = k == 0 ? 1 : (int32_t)log_uniform(&g, max_batch > 0 ? max_batch : 1);
  skv_batch nb;
  if (!skv_batch_alloc(&nb, B) || !(v->source = malloc(sizeof(int32_t) * (size_t)B))) {
    skv_batch_free(&nb);
    snprintf(err, errlen, "invariance: out of memory");
    return false;
  }
  int64_t *q = nb.qlen, *kv = nb.kvlen;
  nb = *base;
  nb.num_requests = B, nb.qlen = q, nb.kvlen = kv;
  v->probe = (int32_t)skv_rng_range(&g, 0, B - 1);
  for (int32_t i = 0; i < B; i++) {
    if (i == v->probe) {
      v->source[i] = probe, q[i] = base->qlen[probe], kv[i] = base->kvlen[probe];
      continue;
    }
    const int32_t j = (int32_t)skv_rng_range(&g, 0, base->num_requests - 1);
    v->source[i] = j;
    kv[i] = base->kvlen[j] == 0 ? 0 : log_uniform(&g, base->kvlen[j]);
    const int64_t qj = base->qlen[j] > 1 && skv_rng_range(&g, 0, 1) ? base->qlen[j] : 1;
    q[i] = kv[i] > 0 && qj > kv[i] ? kv[i] : qj;
  }
  v->batch = nb;
  return true;
}

bool skv_variant_predict(const skv_plan *a, const skv_batch *ba, int32_t ra, const skv_variant *v, skv_policy p,
                         const skv_policy_opts *o, const skv_gpu *gpu, skv_plan *variant_plan, bool *same, char *err,
                         size_t errlen) {
  if (!skv_plan_build(&v->batch, p, o, gpu, variant_plan, err, errlen)) return false;
  *same = skv_same_row_bits(a, ba, ra, variant_plan, &v->batch, v->probe);
  return true;
}
