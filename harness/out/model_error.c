/* model_error.c — the cost model's error per cache over a run (model_error.h). */
#include "out/model_error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static bool number(const char *s, double *out) {
  char *end;
  *out = strtod(s, &end);
  return s[0] != '\0' && *end == '\0' && isfinite(*out);
}

/* Summarize the n signed errors (percent) in e; abs_ is scratch of n. */
static void summarize(double *e, double *abs_, int64_t n, skv_model_error_group *g) {
  g->n = n;
  if (n == 0) return;
  for (int64_t i = 0; i < n; i++) abs_[i] = fabs(e[i]);
  qsort(abs_, (size_t)n, sizeof *abs_, cmp_double);
  qsort(e, (size_t)n, sizeof *e, cmp_double);
  const int64_t rank = (int64_t)ceil(0.9 * (double)n) - 1;
  g->median = n % 2 ? abs_[n / 2] : 0.5 * (abs_[n / 2 - 1] + abs_[n / 2]);
  g->p90 = abs_[rank < 0 ? 0 : rank];
  g->max = abs_[n - 1];
  g->bias = n % 2 ? e[n / 2] : 0.5 * (e[n / 2 - 1] + e[n / 2]);
}

bool skv_model_error_of(const skv_csv_table *t, skv_model_error *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  static const char *const cols[4] = {"predicted_us", "total_us", "kv_dtype", "v_dtype"};
  int32_t c[4];
  for (int i = 0; i < 4; i++)
    if ((c[i] = skv_csv_col(t, cols[i])) < 0) {
      snprintf(err, errlen, "results.csv has no column '%s'", cols[i]);
      return false;
    }
  const int64_t n = t->nrows;
  double *e = malloc(sizeof *e * (size_t)(n > 0 ? n : 1)), *scratch = malloc(sizeof *scratch * (size_t)(n > 0 ? n : 1)),
         *ge = malloc(sizeof *ge * (size_t)(n > 0 ? n : 1));
  int32_t *grp = malloc(sizeof *grp * (size_t)(n > 0 ? n : 1));
  bool ok = e && scratch && ge && grp;
  if (!ok) snprintf(err, errlen, "out of memory");
  int64_t m = 0;
  for (int64_t r = 0; ok && r < n; r++) {
    const char *ps = skv_csv_get(t, r, c[0]), *ms = skv_csv_get(t, r, c[1]);
    if (ps[0] == '\0' || ms[0] == '\0') {
      out->unmeasured++;
      continue;
    }
    double p, meas;
    if (!number(ps, &p) || !number(ms, &meas) || !(meas > 0)) {
      snprintf(err, errlen, "row %lld: predicted_us '%s' / total_us '%s' is not a positive number", (long long)r + 1, ps,
               ms);
      ok = false;
      break;
    }
    const char *k = skv_csv_get(t, r, c[2]), *v = skv_csv_get(t, r, c[3]);
    char cache[40];
    if (v[0] == '\0' || strcmp(k, v) == 0) snprintf(cache, sizeof cache, "%.39s", k);
    else snprintf(cache, sizeof cache, "%.19s/%.19s", k, v);
    int32_t gi = 0;
    while (gi < out->ng && strcmp(out->g[gi].cache, cache) != 0) gi++;
    if (gi == out->ng) {
      if (out->ng == SKV_MODEL_ERROR_MAX_GROUPS - 1) {
        snprintf(err, errlen, "more than %d caches in one run", SKV_MODEL_ERROR_MAX_GROUPS - 1);
        ok = false;
        break;
      }
      snprintf(out->g[out->ng++].cache, sizeof out->g[0].cache, "%s", cache);
    }
    grp[m] = gi;
    e[m++] = 100.0 * (p - meas) / meas;
  }
  for (int32_t gi = 0; ok && gi < out->ng; gi++) {
    int64_t k = 0;
    for (int64_t i = 0; i < m; i++)
      if (grp[i] == gi) ge[k++] = e[i];
    summarize(ge, scratch, k, &out->g[gi]);
  }
  if (ok && out->ng > 0) {
    skv_model_error_group *all = &out->g[out->ng++];
    snprintf(all->cache, sizeof all->cache, "all");
    summarize(e, scratch, m, all);
  }
  free(e);
  free(scratch);
  free(ge);
  free(grp);
  return ok;
}

void skv_model_error_markdown(FILE *f, const skv_model_error *e) {
  fprintf(f, "| cache | rows | median abs error | p90 abs error | max abs error | median signed error |\n");
  fprintf(f, "|---|---:|---:|---:|---:|---:|\n");
  for (int32_t i = 0; i < e->ng; i++) {
    const skv_model_error_group *g = &e->g[i];
    fprintf(f, "| %s | %lld | %.1f%% | %.1f%% | %.1f%% | %+.1f%% |\n", g->cache, (long long)g->n, g->median, g->p90,
            g->max, g->bias);
  }
  fprintf(f, "\nError: (predicted - measured) / measured of decode + combine time per row; p90 is the ceil(0.9 n)-th "
             "smallest |error|. Rows left out (no measurement or no prediction): %lld.\n",
          (long long)e->unmeasured);
}
