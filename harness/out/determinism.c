/* determinism.c — the latency-vs-determinism study (determinism.h). */
#include "out/determinism.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "out/summary.h"

void skv_det_study_free(skv_det_study *s) {
  free(s->p);
  memset(s, 0, sizeof *s);
}

static int32_t policy_of(skv_det_study *s, const char *label, bool *oom) {
  for (int32_t i = 0; i < s->n; i++)
    if (strcmp(s->p[i].label, label) == 0) return i;
  skv_det_policy *p = realloc(s->p, sizeof *p * (size_t)(s->n + 1));
  if (!p) {
    *oom = true;
    return -1;
  }
  s->p = p;
  memset(&p[s->n], 0, sizeof p[s->n]);
  snprintf(p[s->n].label, sizeof p[s->n].label, "%s", label);
  return s->n++;
}

bool skv_det_study_make(const skv_csv_table *t, bool measured, skv_det_study *s, char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  s->measured = measured;
  const char *tcol = measured ? "total_us" : "predicted_us", *scol = measured ? "inv_same_measured" : "inv_same_predicted";
  const int32_t cp = skv_csv_col(t, "policy"), co = skv_csv_col(t, "policy_options"), ct = skv_csv_col(t, tcol),
                cn = skv_csv_col(t, "inv_pairs"), cs = skv_csv_col(t, scol), cc = skv_csv_col(t, "config");
  if (cp < 0 || co < 0 || ct < 0 || cn < 0 || cs < 0 || cc < 0) {
    snprintf(err, errlen, "determinism: results.csv lacks a column the study needs (policy, policy_options, %s, "
             "inv_pairs, %s)", tcol, scol);
    return false;
  }
  const int64_t n = t->nrows;
  int32_t *pol = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
  char **key = calloc((size_t)(n > 0 ? n : 1), sizeof(char *));
  bool oom = !pol || !key;
  for (int64_t r = 0; r < n && !oom; r++) {
    char label[200];
    const char *o = skv_csv_get(t, r, co);
    snprintf(label, sizeof label, "%s%s%s%s", skv_csv_get(t, r, cp), *o ? " (" : "", o, *o ? ")" : "");
    pol[r] = policy_of(s, label, &oom);
    if (!oom && !(key[r] = skv_summary_group_key(t, r))) oom = true;
    if (oom) break;
    const double np = skv_csv_num(t, r, cn), ns = skv_csv_num(t, r, cs);
    if (!isnan(np) && !isnan(ns)) s->p[pol[r]].pairs += (int64_t)np, s->p[pol[r]].same += (int64_t)ns;
  }
  int64_t total_pairs = 0;
  for (int32_t i = 0; i < s->n; i++) {
    s->p[i].invariant = s->p[i].pairs > 0 && s->p[i].same == s->p[i].pairs;
    s->p[i].geomean = 0;
    total_pairs += s->p[i].pairs;
  }
  if (!oom && total_pairs == 0) {
    snprintf(err, errlen, "determinism: no row has invariance pairs (checks: invariance_pairs)");
    for (int64_t r = 0; key && r < n; r++) free(key[r]);
    free(key), free(pol);
    skv_det_study_free(s);
    return false;
  }
  /* each shape's baseline, then every row's ratio to it */
  double *base = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  oom = oom || !base;
  for (int64_t r = 0; r < n && !oom; r++) {
    base[r] = NAN;
    for (int64_t q = 0; q < n; q++) {
      if (strcmp(key[q], key[r]) != 0 || s->p[pol[q]].invariant || s->p[pol[q]].pairs == 0) continue;
      const double v = skv_csv_num(t, q, ct);
      if (v > 0 && (isnan(base[r]) || v < base[r])) base[r] = v;
    }
  }
  for (int64_t r = 0; r < n && !oom; r++) {
    const double v = skv_csv_num(t, r, ct);
    if (isnan(base[r]) || !(v > 0)) continue;
    skv_det_policy *p = &s->p[pol[r]];
    const double ratio = v / base[r];
    p->geomean += log(ratio);
    p->shapes++;
    if (ratio > p->worst) {
      p->worst = ratio;
      snprintf(p->worst_shape, sizeof p->worst_shape, "%s", skv_csv_get(t, r, cc));
    }
  }
  for (int64_t r = 0; r < n && !oom; r++) {
    bool first = true;
    for (int64_t q = 0; q < r && first; q++) first = strcmp(key[q], key[r]) != 0;
    if (first && !isnan(base[r])) s->shapes++;
  }
  for (int32_t i = 0; i < s->n; i++) s->p[i].geomean = s->p[i].shapes > 0 ? exp(s->p[i].geomean / (double)s->p[i].shapes) : NAN;
  for (int64_t r = 0; key && r < n; r++) free(key[r]);
  free(key), free(pol), free(base);
  if (oom) {
    skv_det_study_free(s);
    snprintf(err, errlen, "determinism: out of memory");
    return false;
  }
  return true;
}

static int cmp_geomean(const void *a, const void *b) {
  const skv_det_policy *x = a, *y = b;
  const double gx = isnan(x->geomean) ? INFINITY : x->geomean, gy = isnan(y->geomean) ? INFINITY : y->geomean;
  return gx < gy ? -1 : gx > gy ? 1 : strcmp(x->label, y->label);
}

void skv_det_study_write_md(FILE *f, const skv_det_study *s) {
  skv_det_policy *p = malloc(sizeof *p * (size_t)(s->n > 0 ? s->n : 1));
  if (!p) return;
  memcpy(p, s->p, sizeof *p * (size_t)s->n);
  qsort(p, (size_t)s->n, sizeof *p, cmp_geomean);
  fprintf(f, "Time over the best non-invariant policy of each shape (%s), geometric mean over %lld shapes; "
             "invariance: the probe's bits in its batch and in variant batches (%s).\n\n",
          s->measured ? "measured kernel time" : "predicted time", (long long)s->shapes,
          s->measured ? "measured on the GPU" : "predicted by the simulator");
  fprintf(f, "| policy | × best (geomean) | × best (worst) | worst at | pairs | bitwise equal | invariant |\n");
  fprintf(f, "|---|---:|---:|---|---:|---:|---|\n");
  for (int32_t i = 0; i < s->n; i++)
    fprintf(f, "| %s | %.3f | %.3f | %s | %lld | %lld | %s |\n", p[i].label, p[i].geomean, p[i].worst,
            p[i].worst_shape, (long long)p[i].pairs, (long long)p[i].same,
            p[i].pairs == 0 ? "not checked" : p[i].invariant ? "yes" : "no");
  free(p);
}
