/* reference.c — double-precision attention: online softmax per query over dequantized K/V rows. */
#include "reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"

bool skv_ref_states(const skv_workload *w, int32_t r, int32_t kv_head, int64_t kv_begin, int64_t kv_end, double *o,
                    double *lse) {
  return skv_ref_tile_states(w, r, kv_head, 0, w->batch.qlen[r], kv_begin, kv_end, o, lse);
}

bool skv_ref_tile_states(const skv_workload *w, int32_t r, int32_t kv_head, int64_t q_begin, int64_t q_end,
                         int64_t kv_begin, int64_t kv_end, double *o, double *lse) {
  const skv_batch *b = &w->batch;
  const int32_t d = b->head_dim, g = skv_batch_group(b);
  const int64_t qlen = q_end - q_begin, L = b->kvlen[r], rows = qlen * g;
  double *q = malloc((size_t)(rows * d) * sizeof *q);
  double *m = malloc((size_t)rows * sizeof *m);
  double *l = malloc((size_t)rows * sizeof *l);
  double *krow = malloc((size_t)d * sizeof *krow), *vrow = malloc((size_t)d * sizeof *vrow);
  if (!q || !m || !l || !krow || !vrow) {
    free(q), free(m), free(l), free(krow), free(vrow);
    return false;
  }
  for (int64_t i = 0; i < qlen; i++)
    for (int32_t j = 0; j < g; j++) skv_workload_q_row(w, r, q_begin + i, kv_head * g + j, q + (i * g + j) * d);
  for (int64_t x = 0; x < rows; x++) m[x] = -INFINITY, l[x] = 0.0;
  memset(o, 0, (size_t)(rows * d) * sizeof *o);
  if (kv_begin < 0) kv_begin = 0;
  if (kv_end > L) kv_end = L;
  if (qlen > 0 && kv_end > skv_batch_key_end(b, r, q_end - 1)) kv_end = skv_batch_key_end(b, r, q_end - 1);
  for (int64_t t = kv_begin; t < kv_end; t++) {
    /* Load the rows once for every query and head of the group. */
    skv_workload_kv_row(w, false, r, t, kv_head, krow);
    skv_workload_kv_row(w, true, r, t, kv_head, vrow);
    for (int64_t i = 0; i < qlen; i++) {
      if (t >= skv_batch_key_end(b, r, q_begin + i)) continue; /* causal by absolute position (batch.h) */
      for (int32_t j = 0; j < g; j++) {
        const int64_t x = i * g + j;
        const double *qx = q + x * d;
        double s = 0.0;
        for (int32_t c = 0; c < d; c++) s += qx[c] * krow[c];
        s *= w->softmax_scale;
        /* Online softmax: keep m = max score, l = sum exp(s - m), o = sum exp(s - m) v. */
        double *ox = o + x * d;
        if (s > m[x]) {
          const double shrink = exp(m[x] - s); /* exp(-inf) = 0 on the first key */
          l[x] *= shrink;
          for (int32_t c = 0; c < d; c++) ox[c] *= shrink;
          m[x] = s;
        }
        const double p = exp(s - m[x]);
        l[x] += p;
        for (int32_t c = 0; c < d; c++) ox[c] += p * vrow[c];
      }
    }
  }
  for (int64_t x = 0; x < rows; x++) {
    if (l[x] > 0.0) {
      for (int32_t c = 0; c < d; c++) o[x * d + c] /= l[x];
      lse[x] = m[x] + log(l[x]);
    } else {
      lse[x] = -INFINITY; /* o stays 0 */
    }
  }
  free(q), free(m), free(l), free(krow), free(vrow);
  return true;
}

void skv_ref_scatter(const skv_workload *w, int32_t r, int32_t kv_head, const double *so, const double *slse,
                    bool base2, double *o, double *lse) {
  skv_ref_tile_scatter(w, r, kv_head, 0, w->batch.qlen[r], so, slse, base2, o, lse);
}

void skv_ref_tile_scatter(const skv_workload *w, int32_t r, int32_t kv_head, int64_t q_begin, int64_t q_end,
                          const double *so, const double *slse, bool base2, double *o, double *lse) {
  const skv_batch *b = &w->batch;
  const int32_t d = b->head_dim, g = skv_batch_group(b), hq = b->num_q_heads;
  const int64_t total_q = w->cu_seqlens_q[b->num_requests];
  for (int64_t i = 0; i < q_end - q_begin; i++) {
    const int64_t tok = w->cu_seqlens_q[r] + q_begin + i;
    for (int32_t j = 0; j < g; j++) {
      const int32_t h = kv_head * g + j;
      memcpy(o + (tok * hq + h) * d, so + (i * g + j) * d, (size_t)d * sizeof *o);
      double v = slse[i * g + j];
      lse[(int64_t)h * total_q + tok] = base2 ? v / M_LN2 : v;
    }
  }
}

bool skv_ref_attention(const skv_workload *w, bool base2, double *o, double *lse) {
  const skv_batch *b = &w->batch;
  const int32_t d = b->head_dim, g = skv_batch_group(b);
  const int64_t maxq = skv_batch_max_qlen(b);
  double *so = malloc((size_t)(maxq * g * d) * sizeof *so), *sl = malloc((size_t)(maxq * g) * sizeof *sl);
  bool ok = so && sl;
  for (int32_t r = 0; r < b->num_requests && ok; r++)
    for (int32_t h = 0; h < b->num_kv_heads && ok; h++) {
      ok = skv_ref_states(w, r, h, 0, b->kvlen[r], so, sl);
      if (ok) skv_ref_scatter(w, r, h, so, sl, base2, o, lse);
    }
  free(so), free(sl);
  return ok;
}

double skv_ref_work(const skv_batch *b) {
  double c = 0;
  for (int32_t r = 0; r < b->num_requests; r++) c += (double)b->kvlen[r] * (double)b->qlen[r];
  return c * b->num_q_heads * b->head_dim * 2;
}
