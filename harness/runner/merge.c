/* merge.c — joining the shards of a suite run (merge.h). */
#include "runner/merge.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "out/atomic_file.h"
#include "out/csv.h"
#include "out/name_index.h"
#include "out/plots.h"
#include "out/report.h"
#include "out/summary.h"
#include "runner/run.h"
#include "runner/run_dir.h"
#include "suite/suite.h"

typedef struct shard {
  const char *dir;
  json_t *meta;
  skv_csv_table t;
  bool have_t;
  int64_t index;
  skv_name_index rows; /* the shard's rows by configuration name */
} shard;

static const char *mstr(const json_t *m, const char *k) {
  const json_t *v = json_object_get(m, k);
  return json_is_string(v) ? json_string_value(v) : "";
}

/* The shards' meta and rows, checked to be one suite run's parts; 0, or 2 / 1 with a message. */
static int load_shards(shard *s, int n, char *err, size_t errlen) {
  for (int i = 0; i < n; i++) {
    char p[1100];
    snprintf(p, sizeof p, "%s/meta.json", s[i].dir);
    json_error_t je;
    if (!(s[i].meta = json_load_file(p, 0, &je))) {
      snprintf(err, errlen, "%.900s:%d: %.100s", p, je.line, je.text);
      return SKV_EXIT_USAGE;
    }
    snprintf(p, sizeof p, "%s/results.csv", s[i].dir);
    if (!(s[i].have_t = skv_csv_load(p, &s[i].t, err, errlen))) return SKV_EXIT_USAGE;
    const json_t *sh = json_object_get(s[i].meta, "shard");
    if (!json_is_object(sh)) {
      snprintf(err, errlen, "%s is not a shard (its meta.json has no \"shard\": made without skv run --shard)", s[i].dir);
      return SKV_EXIT_USAGE;
    }
    s[i].index = json_integer_value(json_object_get(sh, "index"));
    const int64_t count = json_integer_value(json_object_get(sh, "count"));
    if (count != n) {
      snprintf(err, errlen, "%s is shard %lld of %lld, but %d folders were given: every shard, once", s[i].dir,
               (long long)s[i].index, (long long)count, n);
      return SKV_EXIT_USAGE;
    }
    if (!json_is_true(json_object_get(s[i].meta, "complete"))) {
      snprintf(err, errlen, "%s is not complete: finish it (skv run ... --shard %lld/%d --resume --out %s)", s[i].dir,
               (long long)s[i].index, n, s[i].dir);
      return SKV_EXIT_USAGE;
    }
    static const char *const same[] = {"suite_file", "suite_hash_fnv1a64", "skv_commit", "mode", NULL};
    for (int k = 0; i > 0 && same[k]; k++)
      if (strcmp(mstr(s[i].meta, same[k]), mstr(s[0].meta, same[k])) != 0) {
        snprintf(err, errlen, "%s and %s differ in %s ('%s' and '%s'): shards of one run only", s[0].dir, s[i].dir, same[k],
                 mstr(s[0].meta, same[k]), mstr(s[i].meta, same[k]));
        return SKV_EXIT_USAGE;
      }
    for (int j = 0; j < i; j++)
      if (s[j].index == s[i].index) {
        snprintf(err, errlen, "%s and %s are both shard %lld", s[j].dir, s[i].dir, (long long)s[i].index);
        return SKV_EXIT_USAGE;
      }
    if (i > 0 && s[i].t.ncols != s[0].t.ncols) {
      snprintf(err, errlen, "%s and %s have other results.csv columns", s[0].dir, s[i].dir);
      return SKV_EXIT_USAGE;
    }
    for (int32_t c = 0; i > 0 && c < s[0].t.ncols; c++)
      if (strcmp(s[i].t.header[c], s[0].t.header[c]) != 0) {
        snprintf(err, errlen, "%s and %s have other results.csv columns", s[0].dir, s[i].dir);
        return SKV_EXIT_USAGE;
      }
  }
  return 0;
}

static bool write_row(FILE *f, char **fields, int32_t n) {
  for (int32_t c = 0; c < n; c++) {
    if (c) fputc(',', f);
    if (!skv_csv_write_field(f, fields[c])) return false;
  }
  fputc('\n', f);
  return !ferror(f);
}

int skv_merge_runs(const char *const *dirs, int n, const char *out_dir) {
  char err[2048] = "";
  shard *s = calloc((size_t)n, sizeof *s);
  if (!s) {
    fprintf(stderr, "skv merge: out of memory\n");
    return SKV_EXIT_FAIL;
  }
  for (int i = 0; i < n; i++) s[i].dir = dirs[i];
  skv_suite suite;
  memset(&suite, 0, sizeof suite);
  bool have_suite = false;
  int rc = load_shards(s, n, err, sizeof err);
  /* The suite file the shards ran, unchanged: its configurations give the rows' order. */
  if (rc == 0) {
    const char *path = mstr(s[0].meta, "suite_file");
    if (!(have_suite = skv_suite_load(path, &suite, err, sizeof err))) {
      rc = SKV_EXIT_USAGE;
    } else {
      char hash[32];
      snprintf(hash, sizeof hash, "%016llx", (unsigned long long)suite.file_hash);
      if (strcmp(hash, mstr(s[0].meta, "suite_hash_fnv1a64")) != 0) {
        snprintf(err, sizeof err, "%s changed since the shards ran (hash %s, theirs %s)", path, hash,
                 mstr(s[0].meta, "suite_hash_fnv1a64"));
        rc = SKV_EXIT_USAGE;
      }
    }
  }
  /* Each configuration's row, from the shard its position belongs to. */
  int64_t *row_of = NULL;
  if (rc == 0) {
    int64_t rows = 0;
    for (int i = 0; i < n; i++) rows += s[i].t.nrows;
    if (rows != suite.nconfigs) {
      snprintf(err, sizeof err, "the shards hold %lld rows; %s has %d configurations", (long long)rows, suite.path,
               suite.nconfigs);
      rc = SKV_EXIT_USAGE;
    }
    row_of = calloc((size_t)(suite.nconfigs > 0 ? suite.nconfigs : 1), sizeof *row_of);
    if (!row_of) snprintf(err, sizeof err, "out of memory"), rc = SKV_EXIT_FAIL;
  }
  int *shard_of = rc == 0 ? calloc((size_t)(suite.nconfigs > 0 ? suite.nconfigs : 1), sizeof *shard_of) : NULL;
  if (rc == 0 && !shard_of) snprintf(err, sizeof err, "out of memory"), rc = SKV_EXIT_FAIL;
  for (int i = 0; rc == 0 && i < n; i++) {
    const int32_t cc = skv_csv_col(&s[i].t, "config");
    for (int64_t r = 0; rc == 0 && r < s[i].t.nrows; r++)
      if (!skv_name_index_add(&s[i].rows, skv_csv_get(&s[i].t, r, cc), r)) snprintf(err, sizeof err, "out of memory"), rc = SKV_EXIT_FAIL;
  }
  for (int32_t j = 0; rc == 0 && j < suite.nconfigs; j++) {
    int i = 0;
    while (i < n && s[i].index != j % n) i++;
    const int64_t r = skv_name_index_find(&s[i].rows, suite.configs[j].name);
    if (r < 0) {
      snprintf(err, sizeof err, "configuration '%s' (position %d) is not in %s, shard %lld", suite.configs[j].name, j,
               s[i].dir, (long long)s[i].index);
      rc = SKV_EXIT_USAGE;
    }
    row_of[j] = r, shard_of[j] = i;
  }
  /* The merged folder: results.csv in the suite's order, meta.json, then summary, report, plots. */
  if (rc == 0) {
    struct stat st;
    char p[1100];
    snprintf(p, sizeof p, "%s/results.csv", out_dir);
    if (stat(p, &st) == 0) {
      snprintf(err, sizeof err, "%s holds a run: merge into another --out", out_dir);
      rc = SKV_EXIT_USAGE;
    } else if (!skv_mkdirs(out_dir, err, sizeof err)) {
      rc = SKV_EXIT_USAGE;
    }
  }
  if (rc == 0) {
    char p[1100];
    snprintf(p, sizeof p, "%s/results.csv", out_dir);
    skv_atomic_file a;
    bool ok = skv_atomic_open(&a, p, err, sizeof err);
    if (ok) {
      ok = write_row(a.f, s[0].t.header, s[0].t.ncols);
      for (int32_t j = 0; ok && j < suite.nconfigs; j++) ok = write_row(a.f, s[shard_of[j]].t.rows[row_of[j]], s[0].t.ncols);
      if (!ok) snprintf(err, sizeof err, "%s: write failed", p);
      ok = skv_atomic_commit(&a, ok, err, sizeof err);
    }
    json_t *m = ok ? json_deep_copy(s[0].meta) : NULL;
    if (ok && !m) snprintf(err, sizeof err, "out of memory"), ok = false;
    if (ok) {
      json_object_del(m, "shard");
      json_object_set_new(m, "configurations", json_integer(suite.nconfigs));
      json_object_set_new(m, "configurations_done", json_integer(suite.nconfigs));
      json_object_set_new(m, "complete", json_true());
      const char *slash = strrchr(out_dir, '/');
      json_object_set_new(m, "run_id", json_string(slash && slash[1] ? slash + 1 : out_dir));
      json_t *from = json_array();
      for (int i = 0; i < n; i++) {
        const json_t *g = json_object_get(s[i].meta, "gpu");
        json_array_append_new(from, json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:O}", "dir", s[i].dir, "shard", (json_int_t)s[i].index,
                                              "run_id", mstr(s[i].meta, "run_id"), "host", mstr(s[i].meta, "host"),
                                              "start_utc", mstr(s[i].meta, "start_utc"), "end_utc",
                                              mstr(s[i].meta, "end_utc"), "gpu", g ? (json_t *)g : json_null()));
      }
      json_object_set_new(m, "merged_from", from);
      skv_run_dir d = {.lock_fd = -1, .meta = m};
      snprintf(d.path, sizeof d.path, "%s", out_dir);
      ok = skv_run_dir_write_meta(&d, err, sizeof err);
      json_decref(m);
    }
    if (ok && skv_gnuplot_available()) {
      const bool measured = strcmp(mstr(s[0].meta, "mode"), "measured") == 0;
      const json_t *rt = json_object_get(json_object_get(s[0].meta, "gpu_model"), "read_tbps");
      ok = skv_plots_make(out_dir, (const char(*)[32])suite.plots, suite.nplots, measured,
                          json_is_number(rt) ? json_number_value(rt) : 1.0, err, sizeof err);
    }
    if (ok) {
      snprintf(p, sizeof p, "%s/results.csv", out_dir);
      skv_csv_table t;
      ok = skv_csv_load(p, &t, err, sizeof err);
      if (ok) {
        snprintf(p, sizeof p, "%s/summary.md", out_dir);
        skv_atomic_file sm;
        ok = skv_atomic_open(&sm, p, err, sizeof err) &&
             skv_atomic_commit(&sm, skv_summary_write(sm.f, &t, err, sizeof err), err, sizeof err);
        skv_csv_free(&t);
      }
      int nplots;
      ok = ok && skv_report_write(out_dir, &nplots, err, sizeof err);
    }
    if (!ok) rc = SKV_EXIT_FAIL;
  }
  if (rc != 0) fprintf(stderr, "skv merge: %s\n", err);
  else fprintf(stderr, "skv merge: %d shards, %d configurations: %s/results.csv, meta.json, summary.md, report.html, plots/\n",
               n, suite.nconfigs, out_dir);
  for (int i = 0; i < n; i++) {
    if (s[i].meta) json_decref(s[i].meta);
    if (s[i].have_t) skv_csv_free(&s[i].t);
    skv_name_index_free(&s[i].rows);
  }
  free(s);
  free(row_of);
  free(shard_of);
  if (have_suite) skv_suite_free(&suite);
  return rc;
}
