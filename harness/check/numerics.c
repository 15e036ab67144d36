/* numerics.c — comparing kernel outputs with the double reference (or the GPU fp32 reference). */
#include "check/numerics.h"

#include <math.h>
#include <stdlib.h>

#include "reference.h"

typedef struct acc {
  double num, den;
} acc;

static void add_o(skv_numerics *n, acc *a, double got, double ref) {
  n->checked++;
  if (isnan(got)) {
    n->unwritten++;
    return;
  }
  const double e = fabs(got - ref);
  a->num += e * e;
  a->den += ref * ref;
  if (e > n->o_max_abs) n->o_max_abs = e;
}

static void add_lse(skv_numerics *n, double got, double ref) {
  if (isnan(got)) {
    n->unwritten++;
  } else if (isinf(got) || isinf(ref)) {
    if (got != ref) n->lse_max_abs = INFINITY;
  } else if (fabs(got - ref) > n->lse_max_abs) {
    n->lse_max_abs = fabs(got - ref);
  }
}

static void finish(skv_numerics *n, const acc *a) { n->o_rel_l2 = a->den > 0 ? sqrt(a->num / a->den) : sqrt(a->num); }

bool skv_numerics_reference(const skv_workload *w, const int32_t *reqs, int32_t nreqs, double **ref_o,
                            double **ref_lse) {
  const skv_batch *b = &w->batch;
  const int32_t d = b->head_dim, g = skv_batch_group(b), hq = b->num_q_heads;
  int64_t tokens = 0;
  for (int32_t i = 0; i < nreqs; i++) tokens += b->qlen[reqs[i]];
  const int64_t maxq = skv_batch_max_qlen(b);
  double *o = malloc(sizeof(double) * (size_t)(tokens * hq * d + 1));
  double *l = malloc(sizeof(double) * (size_t)(tokens * hq + 1));
  double *so = malloc(sizeof(double) * (size_t)(maxq * g * d + 1)), *sl = malloc(sizeof(double) * (size_t)(maxq * g + 1));
  bool ok = o && l && so && sl;
  int64_t off = 0; /* the request's first row among the selected requests' tokens */
  for (int32_t i = 0; i < nreqs && ok; i++) {
    const int32_t r = reqs[i];
    for (int32_t h = 0; h < b->num_kv_heads && ok; h++) {
      ok = skv_ref_states(w, r, h, 0, b->kvlen[r], so, sl); /* [qlen][g][d], [qlen][g] */
      for (int64_t t = 0; ok && t < b->qlen[r]; t++)
        for (int32_t j = 0; j < g; j++) {
          const int64_t row = (off + t) * hq + (int64_t)h * g + j;
          for (int32_t c = 0; c < d; c++) o[row * d + c] = so[(t * g + j) * d + c];
          l[row] = sl[t * g + j];
        }
    }
    off += b->qlen[r];
  }
  free(so), free(sl);
  if (!ok) {
    free(o), free(l);
    return false;
  }
  *ref_o = o;
  *ref_lse = l;
  return true;
}

void skv_numerics_compare(const skv_workload *w, skv_dtype o_dtype, const void *o, const float *lse,
                          const skv_layout *lse_layout, const int32_t *reqs, int32_t nreqs, const double *ref_o,
                          const double *ref_lse, skv_numerics *out) {
  const skv_batch *b = &w->batch;
  const int32_t d = b->head_dim, g = skv_batch_group(b), hq = b->num_q_heads;
  *out = (skv_numerics){0, 0, 0, 0, 0};
  acc a = {0, 0};
  int64_t off = 0;
  for (int32_t i = 0; i < nreqs; i++) {
    const int32_t r = reqs[i];
    for (int64_t t = 0; t < b->qlen[r]; t++, off++) {
      const int64_t tok = w->cu_seqlens_q[r] + t;
      for (int32_t h = 0; h < hq; h++) {
        for (int32_t c = 0; c < d; c++)
          add_o(out, &a, skv_load_as_double(o_dtype, o, (tok * hq + h) * d + c), ref_o[(off * hq + h) * d + c]);
        add_lse(out, lse[skv_layout_offset3(lse_layout, tok, h / g, h % g)], ref_lse[off * hq + h]);
      }
    }
  }
  finish(out, &a);
}

bool skv_numerics_vs_reference(const skv_workload *w, skv_dtype o_dtype, const void *o, const float *lse,
                               const skv_layout *lse_layout, const int32_t *reqs, int32_t nreqs, skv_numerics *out) {
  const int32_t n = reqs ? nreqs : w->batch.num_requests;
  int32_t *all = NULL;
  if (!reqs) {
    all = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    if (!all) return false;
    for (int32_t i = 0; i < n; i++) all[i] = i;
  }
  double *ro, *rl;
  bool ok = skv_numerics_reference(w, reqs ? reqs : all, n, &ro, &rl);
  if (ok) {
    skv_numerics_compare(w, o_dtype, o, lse, lse_layout, reqs ? reqs : all, n, ro, rl, out);
    free(ro), free(rl);
  }
  free(all);
  return ok;
}

void skv_numerics_vs_fp32(int64_t num_tokens, int32_t hq, int32_t hkv, int32_t d, skv_dtype o_dtype, const void *o,
                          const float *lse, const skv_layout *lse_layout, const float *ref_o, const float *ref_lse,
                          skv_numerics *out) {
  *out = (skv_numerics){0, 0, 0, 0, 0};
  acc a = {0, 0};
  const int32_t g = hq / hkv;
  for (int64_t i = 0; i < num_tokens * hq * d; i++) add_o(out, &a, skv_load_as_double(o_dtype, o, i), ref_o[i]);
  for (int64_t t = 0; t < num_tokens; t++)
    for (int32_t h = 0; h < hq; h++)
      add_lse(out, lse[skv_layout_offset3(lse_layout, t, h / g, h % g)], ref_lse[(int64_t)h * num_tokens + t]);
  finish(out, &a);
}

int64_t skv_count_nan(skv_dtype o_dtype, const void *o, int64_t n, const float *lse, int64_t m) {
  int64_t c = 0;
  for (int64_t i = 0; i < n; i++) c += isnan(skv_load_as_double(o_dtype, o, i));
  for (int64_t i = 0; i < m; i++) c += isnan(lse[i]);
  return c;
}

bool skv_numerics_ref_vs_ref(const skv_workload *a, const skv_workload *b, skv_numerics *out) {
  const skv_batch *bb = &b->batch;
  const int64_t tq = b->cu_seqlens_q[bb->num_requests], no = tq * bb->num_q_heads * bb->head_dim,
                nl = tq * bb->num_q_heads;
  double *oa = malloc(sizeof(double) * (size_t)no), *ob = malloc(sizeof(double) * (size_t)no);
  double *la = malloc(sizeof(double) * (size_t)nl), *lb = malloc(sizeof(double) * (size_t)nl);
  bool ok = oa && ob && la && lb && skv_ref_attention(a, false, oa, la) && skv_ref_attention(b, false, ob, lb);
  if (ok) {
    *out = (skv_numerics){0, 0, 0, 0, 0};
    acc s = {0, 0};
    for (int64_t i = 0; i < no; i++) add_o(out, &s, oa[i], ob[i]);
    for (int64_t i = 0; i < nl; i++) add_lse(out, la[i], lb[i]);
    finish(out, &s);
  }
  free(oa), free(ob), free(la), free(lb);
  return ok;
}
