/* report.c — report.html of a run (report.h). */
#include "out/report.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/atomic_file.h"
#include "out/csv.h"
#include "out/html.h"
#include "out/peers.h"
#include "out/summary.h"
#include "out/text_file.h"

/* A meta.json value as text: strings as they are, numbers and booleans printed, objects skipped. */
static void value_text(const json_t *v, char *buf, size_t len) {
  buf[0] = '\0';
  if (json_is_string(v)) snprintf(buf, len, "%s", json_string_value(v));
  else if (json_is_integer(v)) snprintf(buf, len, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v)) snprintf(buf, len, "%.4g", json_real_value(v));
  else if (json_is_boolean(v)) snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
}

static void meta_row(FILE *f, const char *what, const json_t *v) {
  char text[1024];
  value_text(v, text, sizeof text);
  if (!text[0]) return;
  fprintf(f, "<tr><th>");
  skv_html_escape(f, what);
  fprintf(f, "</th><td>");
  skv_html_escape(f, text);
  fprintf(f, "</td></tr>\n");
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The plots' SVG files, sorted by name; *n of them (malloc'd names). */
static char **svg_names(const char *dir, int *n) {
  *n = 0;
  DIR *d = opendir(dir);
  if (!d) return NULL;
  char **v = NULL;
  int cap = 0;
  for (struct dirent *e; (e = readdir(d));) {
    const size_t len = strlen(e->d_name);
    if (len < 5 || strcmp(e->d_name + len - 4, ".svg") != 0) continue;
    if (*n == cap) {
      char **w = realloc(v, sizeof *w * (size_t)(cap = cap ? 2 * cap : 16));
      if (!w) break;
      v = w;
    }
    if (!(v[*n] = strdup(e->d_name))) break;
    (*n)++;
  }
  closedir(d);
  if (v) qsort(v, (size_t)*n, sizeof *v, cmp_names);
  return v;
}

static const char style[] =
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:1300px;color:#222}"
    "table{border-collapse:collapse;margin:0.5em 0 1.5em}th,td{border:1px solid #ccc;padding:3px 8px;font-size:14px}"
    "th{background:#f3f3f3;text-align:left}td{font-variant-numeric:tabular-nums}tr.best td{background:#eef7ee}"
    "figure{margin:1em 0 2em;border-top:1px solid #ddd}figcaption{font-weight:600;margin:0.5em 0}"
    "svg{max-width:100%;height:auto}";

bool skv_report_write(const char *run_dir, int *nplots, char *err, size_t errlen) {
  *nplots = 0;
  char path[1200];
  snprintf(path, sizeof path, "%s/meta.json", run_dir);
  json_error_t je;
  json_t *meta = json_load_file(path, 0, &je);
  if (!meta) {
    snprintf(err, errlen, "%.900s:%d: %.100s", path, je.line, je.text);
    return false;
  }
  snprintf(path, sizeof path, "%s/results.csv", run_dir);
  skv_csv_table t;
  if (!skv_csv_load(path, &t, err, errlen)) {
    json_decref(meta);
    return false;
  }
  snprintf(path, sizeof path, "%s/report.html", run_dir);
  skv_atomic_file a;
  bool ok = skv_atomic_open(&a, path, err, errlen);
  int nsvg = 0;
  char pdir[1200];
  snprintf(pdir, sizeof pdir, "%s/plots", run_dir);
  char **svgs = ok ? svg_names(pdir, &nsvg) : NULL;
  if (ok) {
    FILE *f = a.f;
    const char *suite = json_string_value(json_object_get(meta, "suite")),
               *run_id = json_string_value(json_object_get(meta, "run_id"));
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>skv run ");
    skv_html_escape(f, suite ? suite : "?");
    fprintf(f, " ");
    skv_html_escape(f, run_id ? run_id : "?");
    fprintf(f, "</title><style>%s</style></head><body>\n<h1>SplitKV Lab: ", style);
    skv_html_escape(f, suite ? suite : "?");
    fprintf(f, " ");
    skv_html_escape(f, run_id ? run_id : "?");
    fprintf(f, "</h1>\n<h2>Run</h2>\n<table id=\"meta\">\n");
    static const char *const keys[] = {"suite", "suite_file", "suite_hash_fnv1a64", "run_id", "skv_commit", "command",
                                       "mode", "mode_reason", "start_utc", "end_utc", "complete", "configurations",
                                       "configurations_done", "repeat", "warmup", "host", "plots", NULL};
    for (int i = 0; keys[i]; i++) meta_row(f, keys[i], json_object_get(meta, keys[i]));
    const json_t *gpu = json_object_get(meta, "gpu");
    static const char *const gkeys[] = {"name", "sm_count", "compute_capability", "l2_bytes", "memory_bytes",
                                        "read_ceiling_tbps", "copy_ceiling_tbps", "read_ceiling_tbps_end",
                                        "copy_ceiling_tbps_end", "driver_version",
                                        "cuda_runtime_version", "cupti_timing", NULL};
    for (int i = 0; json_is_object(gpu) && gkeys[i]; i++) {
      char what[64];
      snprintf(what, sizeof what, "gpu %s", gkeys[i]);
      meta_row(f, what, json_object_get(gpu, gkeys[i]));
    }
    const json_t *gm = json_object_get(meta, "gpu_model");
    meta_row(f, "gpu_model", json_object_get(gm, "name"));
    meta_row(f, "gpu_model source", json_object_get(gm, "source"));
    meta_row(f, "gpu_model calibrated", json_object_get(gm, "calibrated"));
    fprintf(f, "</table>\n<div id=\"summary\">\n");
    ok = skv_summary_write_html(f, &t, err, errlen);
    skv_csv_table peers;
    bool have_peers = false;
    if (ok) ok = skv_peers_load(run_dir, &t, &peers, &have_peers, err, errlen);
    if (ok && have_peers) ok = skv_summary_write_peers_html(f, &t, &peers, err, errlen);
    if (have_peers) skv_csv_free(&peers);
    fprintf(f, "</div>\n<h2>Plots</h2>\n");
    if (nsvg == 0) fprintf(f, "<p>No plots were drawn for this run (plots/ holds no SVG).</p>\n");
    for (int i = 0; ok && i < nsvg; i++) {
      char sp[1500];
      snprintf(sp, sizeof sp, "%s/%s", pdir, svgs[i]);
      char *svg = skv_read_text_file(sp, NULL);
      if (!svg) {
        snprintf(err, errlen, "%s: cannot read it", sp);
        ok = false;
        break;
      }
      const char *body = strstr(svg, "<svg");
      if (!body) {
        snprintf(err, errlen, "%s: no <svg> element", sp);
        free(svg);
        ok = false;
        break;
      }
      char name[256];
      snprintf(name, sizeof name, "%.*s", (int)(strlen(svgs[i]) - 4), svgs[i]);
      fprintf(f, "<figure id=\"plot-");
      skv_html_escape(f, name);
      fprintf(f, "\"><figcaption>");
      skv_html_escape(f, name);
      fprintf(f, "</figcaption>\n%s\n</figure>\n", body);
      free(svg);
      (*nplots)++;
    }
    fprintf(f, "</body></html>\n");
    ok = skv_atomic_commit(&a, ok && !ferror(f), err, errlen);
  }
  for (int i = 0; i < nsvg; i++) free(svgs[i]);
  free(svgs);
  skv_csv_free(&t);
  json_decref(meta);
  return ok;
}
