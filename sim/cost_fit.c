/* cost_fit.c — least-squares fits of the cost model's terms (cost_fit.h). */
#include "cost_fit.h"

#include <math.h>

#include "cost_model.h"

/* Sum of squared relative errors of the decode times with stream s; -1 when out of memory. */
static double objective(skv_gpu *g, skv_stream_kind kind, const skv_gpu_stream *s, const skv_fit_point *pts,
                        int32_t n) {
  const skv_gpu_stream keep = g->stream[kind];
  g->stream[kind] = *s;
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

bool skv_fit_stream(skv_gpu *g, skv_stream_kind kind, const skv_fit_point *pts, int32_t n, double *rms) {
  if (n < 3) return false;
  const double hi = 1.05 * g->read_tbps;
  skv_gpu_stream x = g->stream[kind];
  x.stream_tbps = g->read_tbps, x.fixed_us = 1.0, x.fixed_sm_us = 0.0;
  double best = objective(g, kind, &x, pts, n);
  if (best < 0) return false;
  double step[3] = {0.1 * g->read_tbps, 1.0, 0.5};
  const double tol[3] = {1e-4 * g->read_tbps, 1e-3, 1e-3};
  for (int iter = 0; iter < 10000; iter++) {
    bool moved = false;
    for (int k = 0; k < 3; k++)
      for (int sign = -1; sign <= 1; sign += 2) {
        skv_gpu_stream y = x;
        double *v = k == 0 ? &y.stream_tbps : (k == 1 ? &y.fixed_us : &y.fixed_sm_us);
        *v += sign * step[k];
        if (k == 0 ? !(*v > 0 && *v <= hi) : !(*v >= 0)) continue;
        const double f = objective(g, kind, &y, pts, n);
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
  g->stream[kind] = x;
  *rms = sqrt(best / n);
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
