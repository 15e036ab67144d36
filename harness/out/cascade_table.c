/* cascade_table.c — decision regrets over a run's cascade rows (cascade_table.h). */
#include "out/cascade_table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prof/stats.h"

bool skv_cascade_table_write(FILE *f, const skv_csv_table *t, char *err, size_t errlen) {
  const int32_t cc = skv_csv_col(t, "config"), cf = skv_csv_col(t, "total_us"), ca = skv_csv_col(t, "cascade_us"),
                cv = skv_csv_col(t, "cascade_vllm"), cd = skv_csv_col(t, "fd_distinct_us");
  if (cc < 0 || cf < 0 || ca < 0 || cv < 0) { /* fd_distinct_us may be missing (a run from before it) */
    snprintf(err, errlen, "cascade table: results.csv lacks a column it needs (total_us, cascade_us, cascade_vllm)");
    return false;
  }
  static const char *const names[4] = {"never (flash decoding, shared pages)", "always (cascade)",
                                       "vllm (use_cascade_attention)", "oracle (the faster)"};
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
  fprintf(f, "Regret of each decision: chosen kernel time / the faster of flash decoding (over the shared pages) "
             "and cascade − 1, over the %lld rows with both.\n\n", (long long)rows);
  fprintf(f, "| decision | rows | median regret | largest regret | largest at |\n|---|---:|---:|---:|---|\n");
  for (int p = 0; p < 4; p++) {
    int64_t k = 0, worst_row = -1;
    for (int64_t r = 0; r < n; r++) {
      const double fd = skv_csv_num(t, r, cf), cas = skv_csv_num(t, r, ca);
      if (isnan(fd) || isnan(cas)) continue;
      const char *v = skv_csv_get(t, r, cv);
      if (p == 2 && strcmp(v, "yes") != 0 && strcmp(v, "no") != 0) continue;
      const double chosen = p == 0 ? fd : p == 1 ? cas : p == 2 ? (strcmp(v, "yes") == 0 ? cas : fd) : fmin(fd, cas);
      reg[k++] = chosen / fmin(fd, cas) - 1;
    }
    double worst = -1;
    for (int64_t r = 0, j = 0; r < n; r++) {
      const double fd = skv_csv_num(t, r, cf), cas = skv_csv_num(t, r, ca);
      if (isnan(fd) || isnan(cas)) continue;
      const char *v = skv_csv_get(t, r, cv);
      if (p == 2 && strcmp(v, "yes") != 0 && strcmp(v, "no") != 0) continue;
      if (reg[j] > worst) worst = reg[j], worst_row = r;
      j++;
    }
    const double med = k > 0 ? skv_median(reg, (int)k) : NAN;
    fprintf(f, "| %s | %lld | %.1f%% | %.1f%% | %s |\n", names[p], (long long)k, 100 * med, 100 * worst,
            worst_row >= 0 && worst > 0 ? skv_csv_get(t, worst_row, cc) : "—");
  }
  fprintf(f, "\n| configuration | flash decoding, shared pages ÷ cascade | flash decoding, distinct pages ÷ cascade | "
             "vLLM picks cascade |\n|---|---:|---:|---|\n");
  for (int64_t r = 0; r < n; r++) {
    const double fd = skv_csv_num(t, r, cf), cas = skv_csv_num(t, r, ca), dis = skv_csv_num(t, r, cd);
    if (isnan(fd) || isnan(cas)) continue;
    const char *v = skv_csv_get(t, r, cv);
    fprintf(f, "| %s | %.2f | ", skv_csv_get(t, r, cc), fd / cas);
    if (isnan(dis)) fprintf(f, "— | ");
    else fprintf(f, "%.2f | ", dis / cas);
    fprintf(f, "%s |\n", *v ? v : "— (nested groups)");
  }
  free(reg);
  return true;
}
