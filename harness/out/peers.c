/* peers.c — a run's peers.csv (peers.h). */
#include "out/peers.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "out/summary.h"

bool skv_peers_load(const char *run_dir, const skv_csv_table *t, skv_csv_table *peers, bool *present, char *err,
                    size_t errlen) {
  char path[1100];
  snprintf(path, sizeof path, "%s/peers.csv", run_dir);
  struct stat st;
  *present = false;
  memset(peers, 0, sizeof *peers);
  if (stat(path, &st) != 0) {
    if (errno == ENOENT) return true;
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return false;
  }
  if (!skv_csv_load(path, peers, err, errlen)) return false;
  for (int32_t c = 0; c < t->ncols || c < peers->ncols; c++) {
    const char *a = c < t->ncols ? t->header[c] : "(none)", *b = c < peers->ncols ? peers->header[c] : "(none)";
    if (strcmp(a, b) != 0) {
      snprintf(err, errlen, "%s: column %d is '%s', results.csv's is '%s' (peers.csv must have results.csv's header)",
               path, c + 1, b, a);
      skv_csv_free(peers);
      return false;
    }
  }
  *present = true;
  return true;
}

/* Row r of src copied into a new row of dst's arrays (strdup'd fields); cfg replaces the config. */
static bool copy_row(const skv_csv_table *src, int64_t r, skv_csv_table *dst, const char *cfg) {
  char **row = calloc((size_t)src->ncols, sizeof *row);
  if (!row) return false;
  const int32_t cc = skv_csv_col(src, "config");
  for (int32_t c = 0; c < src->ncols; c++)
    if (!(row[c] = strdup(c == cc ? cfg : src->rows[r][c]))) {
      for (int32_t k = 0; k < c; k++) free(row[k]);
      free(row);
      return false;
    }
  dst->rows[dst->nrows++] = row;
  return true;
}

static bool table_like(const skv_csv_table *t, skv_csv_table *out) {
  memset(out, 0, sizeof *out);
  out->header = calloc((size_t)t->ncols, sizeof *out->header);
  out->rows = calloc((size_t)(t->nrows > 0 ? t->nrows : 1), sizeof *out->rows);
  if (!out->header || !out->rows) {
    free(out->header), free(out->rows);
    return false;
  }
  out->ncols = t->ncols;
  for (int32_t c = 0; c < t->ncols; c++)
    if (!(out->header[c] = strdup(t->header[c]))) {
      skv_csv_free(out);
      return false;
    }
  return true;
}

static void set_field(skv_csv_table *t, int64_t r, const char *col, const char *v) {
  const int32_t c = skv_csv_col(t, col);
  char *s = c >= 0 ? strdup(v) : NULL;
  if (s) free(t->rows[r][c]), t->rows[r][c] = s;
}

bool skv_peers_pair_tables(const skv_csv_table *t, const skv_csv_table *p, const char *peer, skv_csv_table *lab,
                           skv_csv_table *prow, char *err, size_t errlen) {
  const int32_t ppol = skv_csv_col(p, "policy"), pchk = skv_csv_col(p, "checks");
  if (ppol < 0) {
    snprintf(err, errlen, "peers.csv has no column 'policy'");
    return false;
  }
  if (!table_like(t, lab) || !table_like(p, prow)) {
    if (lab->header) skv_csv_free(lab);
    snprintf(err, errlen, "out of memory");
    return false;
  }
  bool varies[64] = {false};
  skv_summary_varying(t, varies);
  bool ok = true, any = false;
  for (int64_t q = 0; ok && q < p->nrows; q++) {
    if (strcmp(skv_csv_get(p, q, ppol), peer) != 0) continue;
    any = true;
    if (pchk >= 0 && strcmp(skv_csv_get(p, q, pchk), "pass") != 0) continue; /* a failed check is no time */
    char *k = skv_summary_point_key(p, q);
    ok = k != NULL;
    double lab_us = NAN;
    bool cascade = false;
    const int64_t best = ok ? skv_summary_lab_best(t, k, &lab_us, &cascade) : -1;
    if (best == -2) ok = false;
    free(k);
    if (!ok || best < 0) continue;
    char label[1024];
    skv_summary_point_label(t, best, varies, label, sizeof label);
    ok = copy_row(t, best, lab, label) && copy_row(p, q, prow, label);
    if (ok && cascade) { /* the lab's cascade: its time, no spread recorded */
      char v[48];
      snprintf(v, sizeof v, "%.6g", lab_us);
      set_field(lab, lab->nrows - 1, "total_us", v);
      set_field(lab, lab->nrows - 1, "total_min_us", "");
      set_field(lab, lab->nrows - 1, "total_max_us", "");
      set_field(lab, lab->nrows - 1, "policy_options", "cascade");
    }
  }
  if (ok && !any) {
    snprintf(err, errlen, "peers.csv has no rows of peer '%s'", peer);
    ok = false;
  } else if (!ok) {
    snprintf(err, errlen, "out of memory");
  }
  if (!ok) skv_csv_free(lab), skv_csv_free(prow);
  return ok;
}
