/* stats.c — median / min / max of timings, sorting and nearest-rank percentiles. */
#include "prof/stats.h"

#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double skv_median(const double *v, int n) {
  if (n <= 0) return 0;
  double *s = malloc((size_t)n * sizeof *s);
  if (!s) return v[0];
  memcpy(s, v, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
  free(s);
  return m;
}

double skv_min(const double *v, int n) {
  double m = v[0];
  for (int i = 1; i < n; i++)
    if (v[i] < m) m = v[i];
  return m;
}

double skv_max(const double *v, int n) {
  double m = v[0];
  for (int i = 1; i < n; i++)
    if (v[i] > m) m = v[i];
  return m;
}

void skv_sort_doubles(double *v, int64_t n) {
  if (n > 1) qsort(v, (size_t)n, sizeof *v, cmp_double);
}

double skv_nearest_rank(const double *v, int64_t n, double q) {
  int64_t k = (int64_t)((q / 100.0) * (double)n + 0.999999999);
  if (k < 1) k = 1;
  if (k > n) k = n;
  return v[k - 1];
}
