/* cascade_table.c — decision regrets and model error over a run's cascade rows (cascade_table.h). */
#include "out/cascade_table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prof/stats.h"

static const char *const time_cols[SKV_CASCADE_CHOICES] = {"total_us", "cascade_us", "cascade_outer_us",
                                                           "cascade_merged_us"};

void skv_cascade_row_times(const skv_csv_table *t, int64_t r, double times[SKV_CASCADE_CHOICES]) {
  for (int ch = 0; ch < SKV_CASCADE_CHOICES; ch++) times[ch] = skv_csv_num(t, r, skv_csv_col(t, time_cols[ch]));
}

const char *skv_cascade_decision_name(int p) {
  static const char *const names[SKV_CASCADE_DECISIONS] = {
      "never (flash decoding, shared pages)", "always (every level cascaded)", "vllm (use_cascade_attention)",
      "lab (the calibrated cost model)", "oracle (the fastest measured)"};
  return p >= 0 && p < SKV_CASCADE_DECISIONS ? names[p] : "?";
}

int skv_cascade_row_choice(const skv_csv_table *t, int64_t r, int p, const double times[SKV_CASCADE_CHOICES]) {
  switch (p) {
  case 0: return SKV_CASCADE_FD;
  case 1: return SKV_CASCADE_ALL;
  case 2: {
    const char *v = skv_csv_get(t, r, skv_csv_col(t, "cascade_vllm"));
    if (strcmp(v, "no") == 0) return SKV_CASCADE_FD;
    if (strcmp(v, "yes") != 0) return -1;
    return isnan(times[SKV_CASCADE_OUTER]) ? SKV_CASCADE_ALL : SKV_CASCADE_OUTER;
  }
  case 3: {
    const char *v = skv_csv_get(t, r, skv_csv_col(t, "cascade_lab"));
    for (int ch = 0; ch < SKV_CASCADE_CHOICES; ch++)
      if (strcmp(v, skv_cascade_choice_name((skv_cascade_choice)ch)) == 0) return ch;
    return -1;
  }
  case 4: return skv_cascade_oracle(times);
  default: return -1;
  }
}

/* The median and largest of |v[0..n)| (n >= 1), v left as sorted magnitudes. */
static void abs_stats(double *v, int64_t n, double *med, double *max) {
  for (int64_t i = 0; i < n; i++) v[i] = fabs(v[i]);
  skv_sort_doubles(v, n);
  *med = skv_nearest_rank(v, n, 50), *max = v[n - 1];
}

bool skv_cascade_table_write(FILE *f, const skv_csv_table *t, char *err, size_t errlen) {
  const int32_t cc = skv_csv_col(t, "config"), cf = skv_csv_col(t, "total_us"), ca = skv_csv_col(t, "cascade_us"),
                cv = skv_csv_col(t, "cascade_vllm"), cd = skv_csv_col(t, "fd_distinct_us"),
                pf = skv_csv_col(t, "predicted_us"), pa = skv_csv_col(t, "cascade_predicted_us"),
                cl = skv_csv_col(t, "cascade_lab");
  if (cc < 0 || cf < 0 || ca < 0 || cv < 0) { /* the newer columns may be missing (a run from before them) */
    snprintf(err, errlen, "cascade table: results.csv lacks a column it needs (total_us, cascade_us, cascade_vllm)");
    return false;
  }
  const int64_t n = t->nrows;
  double *reg = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  if (!reg) {
    snprintf(err, errlen, "cascade table: out of memory");
    return false;
  }
  int64_t rows = 0;
  for (int64_t r = 0; r < n; r++) rows += !isnan(skv_csv_num(t, r, ca)) && !isnan(skv_csv_num(t, r, cf));
  if (rows == 0) {
    free(reg);
    snprintf(err, errlen, "cascade table: no row has a cascade time (suite key cascade and shared prefixes)");
    return false;
  }
  fprintf(f, "Regret of each decision: (the chosen path's kernel time − the fastest measured) / the fastest, over "
             "the %lld rows with flash decoding (over the shared pages) and cascade times; with two levels of "
             "sharing the choices are also the outer level alone and each group's whole prefix as one level.\n\n",
          (long long)rows);
  fprintf(f, "| decision | rows | median regret | 90th percentile | largest regret | largest at | chose the fastest |\n"
             "|---|---:|---:|---:|---:|---|---:|\n");
  for (int p = 0; p < SKV_CASCADE_DECISIONS; p++) {
    int64_t k = 0, worst_row = -1, best = 0;
    double worst = -1;
    for (int64_t r = 0; r < n; r++) {
      double times[SKV_CASCADE_CHOICES];
      skv_cascade_row_times(t, r, times);
      if (isnan(times[SKV_CASCADE_FD]) || isnan(times[SKV_CASCADE_ALL])) continue;
      const int ch = skv_cascade_row_choice(t, r, p, times);
      if (ch < 0) continue;
      const double g = skv_cascade_regret(times, (skv_cascade_choice)ch);
      if (isnan(g)) continue;
      reg[k++] = g;
      best += g == 0;
      if (g > worst) worst = g, worst_row = r;
    }
    if (k == 0) {
      fprintf(f, "| %s | 0 | — | — | — | — | — |\n", skv_cascade_decision_name(p));
      continue;
    }
    skv_sort_doubles(reg, k);
    fprintf(f, "| %s | %lld | %.1f%% | %.1f%% | %.1f%% | %s | %lld |\n", skv_cascade_decision_name(p), (long long)k,
            100 * skv_nearest_rank(reg, k, 50), 100 * skv_nearest_rank(reg, k, 90), 100 * worst,
            worst > 0 ? skv_csv_get(t, worst_row, cc) : "—", (long long)best);
  }
  /* the cost model on both paths */
  if (pf >= 0 && pa >= 0) {
    fprintf(f, "\nThe cost model, (predicted − measured) / measured:\n\n| path | rows | median error | largest error | "
               "largest at |\n|---|---:|---:|---:|---|\n");
    for (int path = 0; path < 2; path++) {
      const int32_t cm = path == 0 ? cf : ca, cp = path == 0 ? pf : pa;
      int64_t k = 0, worst_row = -1;
      double worst = -1;
      for (int64_t r = 0; r < n; r++) {
        const double m = skv_csv_num(t, r, cm), p = skv_csv_num(t, r, cp);
        if (isnan(m) || isnan(p) || isnan(skv_csv_num(t, r, ca)) || m <= 0) continue;
        reg[k++] = (p - m) / m;
        if (fabs(reg[k - 1]) > worst) worst = fabs(reg[k - 1]), worst_row = r;
      }
      if (k == 0) continue;
      double med, max;
      abs_stats(reg, k, &med, &max);
      fprintf(f, "| %s | %lld | %.1f%% | %.1f%% | %s |\n",
              path == 0 ? "flash decoding, shared pages" : "cascade (every level)", (long long)k, 100 * med, 100 * max,
              skv_csv_get(t, worst_row, cc));
    }
  }
  fprintf(f, "\n| configuration | flash decoding, shared pages ÷ cascade | predicted | flash decoding, distinct pages "
             "÷ cascade | vLLM picks cascade | lab picks | fastest |\n|---|---:|---:|---:|---|---|---|\n");
  for (int64_t r = 0; r < n; r++) {
    double times[SKV_CASCADE_CHOICES];
    skv_cascade_row_times(t, r, times);
    const double fd = times[SKV_CASCADE_FD], cas = times[SKV_CASCADE_ALL], dis = skv_csv_num(t, r, cd);
    if (isnan(fd) || isnan(cas)) continue;
    const double pfd = skv_csv_num(t, r, pf), pcas = skv_csv_num(t, r, pa);
    const char *v = skv_csv_get(t, r, cv), *lab = skv_csv_get(t, r, cl);
    fprintf(f, "| %s | %.2f | ", skv_csv_get(t, r, cc), fd / cas);
    if (isnan(pfd) || isnan(pcas)) fprintf(f, "— | ");
    else fprintf(f, "%.2f | ", pfd / pcas);
    if (isnan(dis)) fprintf(f, "— | ");
    else fprintf(f, "%.2f | ", dis / cas);
    fprintf(f, "%s | %s | %s |\n", *v ? v : "—", *lab ? lab : "—",
            skv_cascade_choice_name(skv_cascade_oracle(times)));
  }
  free(reg);
  return true;
}
