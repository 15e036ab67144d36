/* cost_fit.c — least-squares fits of the cost model's terms (cost_fit.h). */
#include "cost_fit.h"

#include <math.h>

#include "batch.h"
#include "cost_model.h"

/* Sum of squared relative errors of the decode times with stream s; -1 when out of memory. */
/* A candidate of skv_fit_stream: the three values it moves. */
typedef struct fit_x {
  double stream, fixed, fixed_sm;
} fit_x;

static void put(skv_gpu *g, skv_stream_kind kind, int32_t d, int32_t q, const fit_x *x) {
  g->stream[kind].stream_tbps[d][q] = x->stream;
  g->stream[kind].fixed_us[d][q] = x->fixed;
  g->stream[kind].fixed_sm_us = x->fixed_sm;
}

static double objective(skv_gpu *g, skv_stream_kind kind, int32_t d, int32_t q, const fit_x *x,
                        const skv_fit_point *pts, int32_t n) {
  const skv_gpu_stream keep = g->stream[kind];
  put(g, kind, d, q, x);
  double sum = 0;
  for (int32_t i = 0; i < n; i++) {
    skv_prediction pr;
    if (!skv_cost_predict(pts[i].p, pts[i].b, g, &pr)) {
      sum = -1;
      break;
    }
    const double e = (pr.decode_us - pts[i].us) / pts[i].us;
    sum += e * e;
  }
  g->stream[kind] = keep;
  return sum;
}

bool skv_fit_stream(skv_gpu *g, skv_stream_kind kind, int32_t d, int32_t q, const skv_fit_point *pts, int32_t n,
                    double *rms) {
  if (n < 3) return false;
  const double hi = 1.05 * g->read_tbps;
  fit_x x = {g->read_tbps, 1.0, 0.0};
  double best = objective(g, kind, d, q, &x, pts, n);
  if (best < 0) return false;
  double step[3] = {0.1 * g->read_tbps, 1.0, 0.5};
  const double tol[3] = {1e-4 * g->read_tbps, 1e-3, 1e-3};
  for (int iter = 0; iter < 10000; iter++) {
    bool moved = false;
    for (int k = 0; k < 3; k++)
      for (int sign = -1; sign <= 1; sign += 2) {
        fit_x y = x;
        double *v = k == 0 ? &y.stream : (k == 1 ? &y.fixed : &y.fixed_sm);
        *v += sign * step[k];
        if (k == 0 ? !(*v > 0 && *v <= hi) : !(*v >= 0)) continue;
        const double f = objective(g, kind, d, q, &y, pts, n);
        if (f < 0) return false;
        if (f < best) {
          best = f, x = y, moved = true;
          break;
        }
      }
    if (moved) continue;
    bool small = true;
    for (int k = 0; k < 3; k++) {
      step[k] *= 0.5;
      if (step[k] >= tol[k]) small = false;
    }
    if (small) break;
  }
  put(g, kind, d, q, &x);
  *rms = sqrt(best / n);
  return true;
}

/* Bytes each CTA of an unsplit plan reads (its first work item's). */
static double cta_bytes(const skv_fit_point *p) {
  return (double)(p->p->work[0].kv_end - p->p->work[0].kv_begin) *
         (double)(skv_batch_token_kv_bytes(p->b) + skv_batch_token_scale_bytes(p->b));
}

double skv_fit_lone_slope(const skv_fit_point lone[2]) {
  return (lone[1].us - lone[0].us) / (cta_bytes(&lone[1]) - cta_bytes(&lone[0]));
}

bool skv_fit_variant(skv_gpu *g, skv_stream_kind kind, int32_t d, int32_t q, const skv_fit_point lone[2],
                     int32_t n_lone, const skv_fit_point *large) {
  const double slope = skv_fit_lone_slope(lone);
  if (!(slope > 0)) return false;
  skv_gpu_stream *s = &g->stream[kind];
  const double hi = 1.05 * g->read_tbps;
  for (int iter = 0; iter < 50; iter++) {
    const double cta0 = s->cta_gbps[d][q], stream0 = s->stream_tbps[d][q], fixed0 = s->fixed_us[d][q];
    s->cta_gbps[d][q] = skv_fit_cta_gbps(slope, n_lone, s->stream_tbps[d][q]);
    /* the short request's time is the fixed cost's: it enters the prediction as a sum */
    skv_prediction short_pr;
    if (!skv_cost_predict(lone[0].p, lone[0].b, g, &short_pr)) return false;
    s->fixed_us[d][q] = fmax(0.0, s->fixed_us[d][q] + lone[0].us - short_pr.decode_us);
    double lo = 1e-3 * g->read_tbps, up = hi;
    s->stream_tbps[d][q] = up;
    skv_prediction pr;
    if (!skv_cost_predict(large->p, large->b, g, &pr)) return false;
    if (pr.decode_us < large->us) { /* slower than the ceiling allows: bisect */
      for (int i = 0; i < 60; i++) {
        s->stream_tbps[d][q] = 0.5 * (lo + up);
        if (!skv_cost_predict(large->p, large->b, g, &pr)) return false;
        if (pr.decode_us > large->us) lo = s->stream_tbps[d][q];
        else up = s->stream_tbps[d][q];
      }
      s->stream_tbps[d][q] = 0.5 * (lo + up);
    }
    if (fabs(s->cta_gbps[d][q] - cta0) <= 1e-6 * cta0 && fabs(s->stream_tbps[d][q] - stream0) <= 1e-6 * stream0 &&
        fabs(s->fixed_us[d][q] - fixed0) <= 1e-6)
      break;
  }
  return true;
}

/* Solve the 3x3 system a x = r by Gaussian elimination with partial pivoting; false if singular. */
static bool solve3(double a[3][3], double r[3], double x[3]) {
  for (int c = 0; c < 3; c++) {
    int piv = c;
    for (int i = c + 1; i < 3; i++)
      if (fabs(a[i][c]) > fabs(a[piv][c])) piv = i;
    if (!(fabs(a[piv][c]) > 1e-12)) return false;
    for (int j = 0; j < 3; j++) {
      const double t = a[c][j];
      a[c][j] = a[piv][j], a[piv][j] = t;
    }
    const double t = r[c];
    r[c] = r[piv], r[piv] = t;
    for (int i = c + 1; i < 3; i++) {
      const double f = a[i][c] / a[c][c];
      for (int j = c; j < 3; j++) a[i][j] -= f * a[c][j];
      r[i] -= f * r[c];
    }
  }
  for (int c = 2; c >= 0; c--) {
    double s = r[c];
    for (int j = c + 1; j < 3; j++) s -= a[c][j] * x[j];
    x[c] = s / a[c][c];
  }
  return true;
}

bool skv_fit_combine(const double *us, const double *partial_bytes, const double *waves, const double *chunks, int32_t n,
                     double read_tbps, double *launch_us, double *item_us, double *chunk_us) {
  if (n < 3) return false;
  double a[3][3] = {{0}}, r[3] = {0}, x[3];
  for (int32_t i = 0; i < n; i++) {
    const double col[3] = {1.0, waves[i], waves[i] * chunks[i]};
    const double y = us[i] - partial_bytes[i] / (read_tbps * 1e6);
    for (int j = 0; j < 3; j++) {
      r[j] += col[j] * y;
      for (int k = 0; k < 3; k++) a[j][k] += col[j] * col[k];
    }
  }
  if (!solve3(a, r, x)) return false;
  *launch_us = x[0] > 0 ? x[0] : 0;
  *item_us = x[1] > 0 ? x[1] : 0;
  *chunk_us = x[2] > 0 ? x[2] : 0;
  return true;
}

double skv_fit_cta_gbps(double us_per_byte, int32_t n, double stream_tbps) {
  const double r = 1.0 / us_per_byte, stream = stream_tbps * 1e6;
  double lo = r, hi = 4 * r + stream;
  for (int i = 0; i < 200; i++) {
    const double mid = 0.5 * (lo + hi);
    if (skv_cost_aggregate_rate(n, mid, stream) / n < r) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi) * 1e-3;
}
