/* compare.c — two runs of a suite, row by row (compare.h). */
#include "out/compare.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "out/atomic_file.h"
#include "out/name_index.h"
#include "out/plots.h"
#include "out/summary.h"

const char *skv_compare_verdict(double a, double a_min, double a_max, double b, double b_min, double b_max) {
  if (isnan(a) || isnan(b)) return "missing";
  if (isnan(a_min) || isnan(a_max) || isnan(b_min) || isnan(b_max)) return b == a ? "same" : (b < a ? "faster" : "slower");
  if (b_min <= a_max && a_min <= b_max) return "noise";
  return b < a ? "faster" : "slower";
}

static const char *str(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : "";
}

static void gpu_text(const skv_compare_run *r, char *buf, size_t len) {
  const json_t *g = json_object_get(r->meta, "gpu");
  if (json_is_object(g))
    snprintf(buf, len, "%s (%lld SMs)", str(g, "name"), (long long)json_integer_value(json_object_get(g, "sm_count")));
  else
    snprintf(buf, len, "simulated: %s", str(json_object_get(r->meta, "gpu_model"), "name"));
}

bool skv_compare_gpus_differ(const skv_compare_run *a, const skv_compare_run *b, char *what, size_t len) {
  char ga[160], gb[160];
  gpu_text(a, ga, sizeof ga);
  gpu_text(b, gb, sizeof gb);
  snprintf(what, len, "%s against %s", ga, gb);
  return strcmp(ga, gb) != 0;
}

/* A running geometric mean and verdict counts. */
typedef struct tally {
  char key[1024];
  int64_t n, faster, slower, noise;
  double log_sum;
} tally;

static tally *tally_for(tally **ts, int64_t *n, int64_t *cap, const char *key) {
  for (int64_t i = 0; i < *n; i++)
    if (strcmp((*ts)[i].key, key) == 0) return &(*ts)[i];
  if (*n == *cap) {
    const int64_t c = *cap ? 2 * *cap : 16;
    tally *t = realloc(*ts, sizeof *t * (size_t)c);
    if (!t) return NULL;
    *ts = t, *cap = c;
  }
  tally *t = &(*ts)[(*n)++];
  memset(t, 0, sizeof *t);
  snprintf(t->key, sizeof t->key, "%s", key);
  return t;
}

static void tally_add(tally *t, double ratio, const char *verdict) {
  t->n++;
  t->log_sum += log(ratio);
  if (strcmp(verdict, "faster") == 0) t->faster++;
  else if (strcmp(verdict, "slower") == 0) t->slower++;
  else if (strcmp(verdict, "noise") == 0) t->noise++;
}

static void tally_table(FILE *f, const char *what, const tally *ts, int64_t n) {
  fprintf(f, "| %s | rows | geomean B / A | faster | slower | noise |\n|---|---:|---:|---:|---:|---:|\n", what);
  for (int64_t i = 0; i < n; i++)
    fprintf(f, "| %s | %lld | %.3f | %lld | %lld | %lld |\n", ts[i].key, (long long)ts[i].n, exp(ts[i].log_sum / (double)ts[i].n),
            (long long)ts[i].faster, (long long)ts[i].slower, (long long)ts[i].noise);
  fprintf(f, "\n");
}

/* Table t's rows by their configuration name (column ccfg); false when out of memory. */
static bool index_rows(const skv_csv_table *t, int32_t ccfg, skv_name_index *x) {
  memset(x, 0, sizeof *x);
  for (int64_t r = 0; r < t->nrows; r++)
    if (!skv_name_index_add(x, skv_csv_get(t, r, ccfg), r)) return false;
  return true;
}

bool skv_compare_write(FILE *f, const skv_compare_run *a, const skv_compare_run *b, char *err, size_t errlen) {
  const char *ma = str(a->meta, "mode"), *mb = str(b->meta, "mode");
  if (strcmp(ma, mb) != 0) {
    snprintf(err, errlen, "%s is a %s run and %s a %s one: compare runs of one mode", a->name, ma, b->name, mb);
    return false;
  }
  const bool measured = strcmp(ma, "measured") == 0;
  static const char *const need[] = {"config", "policy", "policy_options", "total_us", "total_min_us", "total_max_us",
                                     "predicted_us", NULL};
  int32_t ca[7], cb[7];
  for (int i = 0; need[i]; i++) {
    ca[i] = skv_csv_col(a->t, need[i]), cb[i] = skv_csv_col(b->t, need[i]);
    if (ca[i] < 0 || cb[i] < 0) {
      snprintf(err, errlen, "%s has no column '%s'", ca[i] < 0 ? a->name : b->name, need[i]);
      return false;
    }
  }
  for (int i = 0; skv_summary_group_columns[i]; i++)
    if (skv_csv_col(a->t, skv_summary_group_columns[i]) < 0) {
      snprintf(err, errlen, "%s has no column '%s'", a->name, skv_summary_group_columns[i]);
      return false;
    }
  /* What differs between the runs. */
  char ga[160], gb[160];
  gpu_text(a, ga, sizeof ga);
  gpu_text(b, gb, sizeof gb);
  const json_t *gja = json_object_get(a->meta, "gpu"), *gjb = json_object_get(b->meta, "gpu");
  char ra[32] = "—", rb[32] = "—";
  if (json_is_object(gja)) snprintf(ra, sizeof ra, "%.3f", json_number_value(json_object_get(gja, "read_ceiling_tbps")));
  if (json_is_object(gjb)) snprintf(rb, sizeof rb, "%.3f", json_number_value(json_object_get(gjb, "read_ceiling_tbps")));
  struct { const char *what, *va, *vb; } rows[] = {
      {"run", str(a->meta, "run_id"), str(b->meta, "run_id")},
      {"commit", str(a->meta, "skv_commit"), str(b->meta, "skv_commit")},
      {"suite", str(a->meta, "suite"), str(b->meta, "suite")},
      {"suite hash", str(a->meta, "suite_hash_fnv1a64"), str(b->meta, "suite_hash_fnv1a64")},
      {"mode", ma, mb},
      {"GPU", ga, gb},
      {"read ceiling TB/s", ra, rb},
  };
  fprintf(f, "## skv compare: A = %s, B = %s\n\n| | A | B |\n|---|---|---|\n", a->name, b->name);
  char differs[256] = "";
  size_t at = 0;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    fprintf(f, "| %s | %s | %s |\n", rows[i].what, rows[i].va, rows[i].vb);
    if (strcmp(rows[i].va, rows[i].vb) != 0 && at < sizeof differs)
      at += (size_t)snprintf(differs + at, sizeof differs - at, "%s%s", at ? ", " : "", rows[i].what);
  }
  fprintf(f, "\nDiffers: %s.", at ? differs : "nothing");
  if (json_is_object(gja) && json_is_object(gjb)) {
    const double ca0 = json_number_value(json_object_get(gja, "read_ceiling_tbps")),
                 cb0 = json_number_value(json_object_get(gjb, "read_ceiling_tbps"));
    if (ca0 > 0 && cb0 > 0 && ca0 != cb0)
      fprintf(f, " The read ceilings' A / B is %.3f: a bandwidth-bound row moved by that much moved with the "
                 "device, not the change.", ca0 / cb0);
  }
  fprintf(f, "\n\n");
  /* Rows. */
  const int32_t ti = measured ? 3 : 6;
  bool varies[64] = {false};
  skv_summary_varying(a->t, varies);
  tally *pol = NULL, *grp = NULL, all;
  int64_t npol = 0, cpol = 0, ngrp = 0, cgrp = 0, matched = 0, only_a = 0, only_b = 0;
  memset(&all, 0, sizeof all);
  snprintf(all.key, sizeof all.key, "all rows");
  skv_name_index ia = {0}, ib = {0};
  bool ok = index_rows(a->t, ca[0], &ia) && index_rows(b->t, cb[0], &ib);
  if (!ok) snprintf(err, errlen, "out of memory");
  if (ok)
    fprintf(f, "| configuration | A µs%s | B µs%s | B / A | verdict |\n|---|---:|---:|---:|---|\n",
          measured ? " (min–max)" : "", measured ? " (min–max)" : "");
  for (int64_t r = 0; ok && r < a->t->nrows; r++) {
    const char *cfg = skv_csv_get(a->t, r, ca[0]);
    const int64_t s = skv_name_index_find(&ib, cfg);
    if (s < 0) {
      only_a++;
      continue;
    }
    matched++;
    const double va = skv_csv_number(skv_csv_get(a->t, r, ca[ti])), vb = skv_csv_number(skv_csv_get(b->t, s, cb[ti]));
    const double a0 = measured ? skv_csv_number(skv_csv_get(a->t, r, ca[4])) : NAN, a1 = measured ? skv_csv_number(skv_csv_get(a->t, r, ca[5])) : NAN;
    const double b0 = measured ? skv_csv_number(skv_csv_get(b->t, s, cb[4])) : NAN, b1 = measured ? skv_csv_number(skv_csv_get(b->t, s, cb[5])) : NAN;
    const char *v = skv_compare_verdict(va, a0, a1, vb, b0, b1);
    char sa[64] = "—", sb[64] = "—", ratio[32] = "—";
    /* a time without a spread (simulated, or a cascade's) prints alone */
    if (!isnan(va)) snprintf(sa, sizeof sa, isnan(a0) || isnan(a1) ? "%.2f" : "%.2f (%.2f–%.2f)", va, a0, a1);
    if (!isnan(vb)) snprintf(sb, sizeof sb, isnan(b0) || isnan(b1) ? "%.2f" : "%.2f (%.2f–%.2f)", vb, b0, b1);
    if (!isnan(va) && !isnan(vb) && va > 0 && vb > 0) {
      const double q = vb / va;
      snprintf(ratio, sizeof ratio, "%.3f", q);
      char pk[256], gk[1024];
      const char *opt = skv_csv_get(a->t, r, ca[2]);
      snprintf(pk, sizeof pk, "%s%s%s", skv_csv_get(a->t, r, ca[1]), opt[0] ? " " : "", opt);
      skv_summary_group_label(a->t, r, varies, gk, sizeof gk);
      tally *tp = tally_for(&pol, &npol, &cpol, pk), *tg = tally_for(&grp, &ngrp, &cgrp, gk);
      if (!tp || !tg) {
        snprintf(err, errlen, "out of memory");
        ok = false;
        break;
      }
      tally_add(tp, q, v);
      tally_add(tg, q, v);
      tally_add(&all, q, v);
    }
    fprintf(f, "| %s | %s | %s | %s | %s |\n", cfg, sa, sb, ratio, v);
  }
  for (int64_t s = 0; ok && s < b->t->nrows; s++)
    if (skv_name_index_find(&ia, skv_csv_get(b->t, s, cb[0])) < 0) only_b++;
  if (ok) {
    fprintf(f, "\nRows: %lld matched by configuration, %lld only in A, %lld only in B. Verdict: %s\n\n", (long long)matched,
            (long long)only_a, (long long)only_b,
            measured ? "\"noise\" when the two min–max ranges over the repeats overlap, else faster or slower."
                     : "simulated rows have no spread: \"same\", faster or slower.");
    tally_table(f, "policy", pol, npol);
    tally_table(f, "shape group", grp, ngrp);
    if (all.n > 0) tally_table(f, "over", &all, 1);
  }
  skv_name_index_free(&ia);
  skv_name_index_free(&ib);
  free(pol);
  free(grp);
  return ok;
}

bool skv_compare_plot(const char *dir, const skv_compare_run *a, const skv_compare_run *b, char *err, size_t errlen) {
  const bool measured = strcmp(str(a->meta, "mode"), "measured") == 0;
  const int32_t ca = skv_csv_col(a->t, "config"), cb = skv_csv_col(b->t, "config");
  const char *tcol = measured ? "total_us" : "predicted_us";
  const int32_t ta = skv_csv_col(a->t, tcol), tb = skv_csv_col(b->t, tcol);
  const int32_t a0 = skv_csv_col(a->t, "total_min_us"), a1 = skv_csv_col(a->t, "total_max_us"),
                b0 = skv_csv_col(b->t, "total_min_us"), b1 = skv_csv_col(b->t, "total_max_us");
  if (ca < 0 || cb < 0 || ta < 0 || tb < 0) {
    snprintf(err, errlen, "a run lacks the config or %s column", tcol);
    return false;
  }
  skv_name_index ib;
  if (!index_rows(b->t, cb, &ib)) {
    skv_name_index_free(&ib);
    snprintf(err, errlen, "out of memory");
    return false;
  }
  char path[1200];
  snprintf(path, sizeof path, "%s/compare.gp", dir);
  FILE *f = fopen(path, "w");
  if (!f) {
    snprintf(err, errlen, "%s: cannot write it", path);
    return false;
  }
  static const char *const verdicts[3] = {"faster", "slower", "noise"};
  static const char *const colours[3] = {"#2ca02c", "#d62728", "#7f7f7f"};
  int64_t n = 0;
  /* one datablock per verdict: position, B / A */
  for (int v = 0; v < 3; v++) {
    fprintf(f, "$V%d << EOD\n", v);
    int64_t pos = 0;
    for (int64_t r = 0; r < a->t->nrows; r++) {
      const int64_t s = skv_name_index_find(&ib, skv_csv_get(a->t, r, ca));
      if (s < 0) continue;
      const double va = skv_csv_number(skv_csv_get(a->t, r, ta)), vb = skv_csv_number(skv_csv_get(b->t, s, tb));
      if (!(va > 0) || !(vb > 0)) continue;
      pos++;
      const char *verdict =
          skv_compare_verdict(va, measured ? skv_csv_number(skv_csv_get(a->t, r, a0)) : NAN, measured ? skv_csv_number(skv_csv_get(a->t, r, a1)) : NAN,
                              vb, measured ? skv_csv_number(skv_csv_get(b->t, s, b0)) : NAN, measured ? skv_csv_number(skv_csv_get(b->t, s, b1)) : NAN);
      if (strcmp(verdict, verdicts[v]) == 0 || (v == 2 && strcmp(verdict, "same") == 0)) fprintf(f, "%lld %.6g\n", (long long)pos, vb / va);
    }
    fprintf(f, "EOD\n");
    if (v == 0) n = pos;
  }
  skv_name_index_free(&ib);
  fprintf(f, "set title \"B / A per configuration: A = %s, B = %s\" noenhanced\n", str(a->meta, "run_id"), str(b->meta, "run_id"));
  fprintf(f, "set xlabel \"configuration (in A's results.csv order; names in the table)\"\nset ylabel \"B / A\"\n");
  fprintf(f, "set logscale y 2\nset grid\nset key outside right top\nset xrange [0:%lld]\n", (long long)n + 1);
  fprintf(f, "do for [fmt in \"png svg\"] {\n  if (fmt eq \"png\") { set terminal pngcairo size 1200,600 font \",10\"; "
             "set output \"compare.png" SKV_ATOMIC_SUFFIX "\" } else { set terminal svg size 1200,600 dynamic font \",10\"; "
             "set output \"compare.svg" SKV_ATOMIC_SUFFIX "\" }\n");
  fprintf(f, "  plot 1 with lines lc rgb \"black\" title \"B = A\"");
  const json_t *ga = json_object_get(a->meta, "gpu"), *gb = json_object_get(b->meta, "gpu");
  if (measured && json_is_object(ga) && json_is_object(gb)) {
    const double ra = json_number_value(json_object_get(ga, "read_ceiling_tbps")),
                 rb = json_number_value(json_object_get(gb, "read_ceiling_tbps"));
    if (ra > 0 && rb > 0) fprintf(f, ", %.6g with lines dt 2 lc rgb \"#1f77b4\" title \"read ceilings A / B\"", ra / rb);
  }
  for (int v = 0; v < 3; v++)
    fprintf(f, ", $V%d using 1:2 with points pt 7 lc rgb \"%s\" title \"%s\"", v, colours[v], verdicts[v]);
  fprintf(f, "\n  set output\n}\n");
  const bool wrote = !ferror(f);
  if (fclose(f) != 0 || !wrote) {
    snprintf(err, errlen, "%s: write failed", path);
    return false;
  }
  return skv_gnuplot_run(dir, "compare", err, errlen);
}
