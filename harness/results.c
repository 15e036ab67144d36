/* results.c — results.csv rows, atomic rewrites and resume. */
#include "results.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"

const char *const skv_results_columns[] = {
    "config", "suite", "run_id", "mode", "batch", "seqlen", "kvlen_min", "kvlen_max", "kvlen_mean", "qlen", "hq",
    "hkv", "head_dim", "page_size", "q_dtype", "kv_dtype", "v_dtype", "kv_scale_mode", "q_scale", "k_scale",
    "v_scale", "drop_scale", "policy", "policy_options", "lse_layout", "host_path", "gpu_model", "sms",
    "num_splits_min", "num_splits_max", "num_splits_mean", "ctas", "grid_ctas", "waves", "scratch_bytes", "kv_bytes",
    "predicted_decode_us", "predicted_combine_us", "predicted_us", "combine", "timer", "decode_us", "combine_us",
    "total_us", "total_min_us", "total_max_us", "tbps", "read_ceiling_tbps", "frac_of_read_ceiling", "reference",
    "o_rel_err", "o_max_abs", "lse_max_abs", "quant_o_rel_err", "unwritten", "bitwise_repeat", "batch_invariant",
    "batch_invariant_predicted", "lse_correct", "lse_correct_predicted", NULL};
const int skv_results_ncolumns = (int)(sizeof skv_results_columns / sizeof skv_results_columns[0]) - 1;

const char *const skv_results_measured[] = {"timer", "decode_us", "combine_us", "total_us", "total_min_us",
                                            "total_max_us", "tbps", "read_ceiling_tbps", "frac_of_read_ceiling",
                                            "unwritten", "bitwise_repeat", "batch_invariant", "lse_correct", NULL};
const char *const skv_results_predicted[] = {"num_splits_min", "num_splits_max", "num_splits_mean", "ctas",
                                             "grid_ctas", "waves", "scratch_bytes", "predicted_decode_us",
                                             "predicted_combine_us", "predicted_us", "batch_invariant_predicted",
                                             "lse_correct_predicted", NULL};

void skv_run_row_init(skv_run_row *row) {
  memset(row, 0, sizeof *row);
  row->kvlen_mean = row->q_scale = row->k_scale = row->v_scale = NAN;
  row->num_splits_mean = row->waves = NAN;
  row->predicted_decode_us = row->predicted_combine_us = row->predicted_us = NAN;
  row->decode_us = row->combine_us = row->total_us = row->total_min_us = row->total_max_us = NAN;
  row->tbps = row->read_ceiling_tbps = row->frac_of_read_ceiling = NAN;
  row->o_rel_err = row->o_max_abs = row->lse_max_abs = row->quant_o_rel_err = NAN;
  row->unwritten = -1;
  row->bitwise_repeat = row->batch_invariant = row->batch_invariant_predicted = SKV_CHECK_NA;
  row->lse_correct = row->lse_correct_predicted = SKV_CHECK_NA;
  snprintf(row->combine, sizeof row->combine, "-");
  snprintf(row->timer, sizeof row->timer, "-");
  snprintf(row->reference, sizeof row->reference, "none");
}

/* A growable string. */
typedef struct sbuf {
  char *s;
  size_t n, cap;
  bool oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
    va_end(ap);
    if (k < 0) {
      b->oom = true;
      return;
    }
    if (b->s && b->n + (size_t)k < b->cap) {
      b->n += (size_t)k;
      return;
    }
    size_t cap = b->cap ? b->cap * 2 : 1024;
    while (cap < b->n + (size_t)k + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
      b->oom = true;
      return;
    }
    b->s = s;
    b->cap = cap;
  }
}

/* CSV fields never need quoting: the writer keeps commas, quotes and newlines out of them. */
static void field_str(sbuf *b, const char *s, bool first) {
  if (!first) sb_printf(b, ",");
  for (const char *p = s; *p; p++) sb_printf(b, "%c", (*p == ',' || *p == '"' || *p == '\n') ? ';' : *p);
}
static void field_int(sbuf *b, int64_t v) { sb_printf(b, ",%" PRId64, v); }
static void field_dbl(sbuf *b, double v) {
  if (isnan(v)) sb_printf(b, ",");
  else if (isinf(v)) sb_printf(b, ",%s", v > 0 ? "inf" : "-inf");
  else sb_printf(b, ",%.6g", v);
}
static void field_check(sbuf *b, skv_check c) { sb_printf(b, ",%s", c == SKV_CHECK_NA ? "" : (c ? "yes" : "no")); }

static char *format_row(const skv_run_row *r) {
  sbuf b = {0};
  field_str(&b, r->config, true);
  field_str(&b, r->suite, false);
  field_str(&b, r->run_id, false);
  field_str(&b, r->mode, false);
  field_int(&b, r->batch);
  field_str(&b, r->seqlen, false);
  field_int(&b, r->kvlen_min);
  field_int(&b, r->kvlen_max);
  field_dbl(&b, r->kvlen_mean);
  field_int(&b, r->qlen);
  field_int(&b, r->hq);
  field_int(&b, r->hkv);
  field_int(&b, r->head_dim);
  field_int(&b, r->page_size);
  field_str(&b, r->q_dtype, false);
  field_str(&b, r->kv_dtype, false);
  field_str(&b, r->v_dtype, false);
  field_str(&b, r->kv_scale_mode, false);
  field_dbl(&b, r->q_scale);
  field_dbl(&b, r->k_scale);
  field_dbl(&b, r->v_scale);
  field_str(&b, r->drop_scale, false);
  field_str(&b, r->policy, false);
  field_str(&b, r->policy_options, false);
  field_str(&b, r->lse_layout, false);
  field_str(&b, r->host_path, false);
  field_str(&b, r->gpu_model, false);
  field_int(&b, r->sms);
  field_int(&b, r->num_splits_min);
  field_int(&b, r->num_splits_max);
  field_dbl(&b, r->num_splits_mean);
  field_int(&b, r->ctas);
  field_int(&b, r->grid_ctas);
  field_dbl(&b, r->waves);
  field_int(&b, r->scratch_bytes);
  field_int(&b, r->kv_bytes);
  field_dbl(&b, r->predicted_decode_us);
  field_dbl(&b, r->predicted_combine_us);
  field_dbl(&b, r->predicted_us);
  field_str(&b, r->combine, false);
  field_str(&b, r->timer, false);
  field_dbl(&b, r->decode_us);
  field_dbl(&b, r->combine_us);
  field_dbl(&b, r->total_us);
  field_dbl(&b, r->total_min_us);
  field_dbl(&b, r->total_max_us);
  field_dbl(&b, r->tbps);
  field_dbl(&b, r->read_ceiling_tbps);
  field_dbl(&b, r->frac_of_read_ceiling);
  field_str(&b, r->reference, false);
  field_dbl(&b, r->o_rel_err);
  field_dbl(&b, r->o_max_abs);
  field_dbl(&b, r->lse_max_abs);
  field_dbl(&b, r->quant_o_rel_err);
  if (r->unwritten < 0) sb_printf(&b, ",");
  else field_int(&b, r->unwritten);
  field_check(&b, r->bitwise_repeat);
  field_check(&b, r->batch_invariant);
  field_check(&b, r->batch_invariant_predicted);
  field_check(&b, r->lse_correct);
  field_check(&b, r->lse_correct_predicted);
  if (b.oom) {
    free(b.s);
    return NULL;
  }
  return b.s;
}

static char *header_line(void) {
  sbuf b = {0};
  for (int i = 0; i < skv_results_ncolumns; i++) sb_printf(&b, "%s%s", i ? "," : "", skv_results_columns[i]);
  return b.oom ? (free(b.s), NULL) : b.s;
}

static bool push(skv_results *r, char *line, char *config) {
  if (r->nlines == r->cap) {
    int64_t cap = r->cap ? 2 * r->cap : 64;
    char **l = realloc(r->lines, (size_t)cap * sizeof *l);
    if (!l) return false;
    r->lines = l;
    char **c = realloc(r->configs, (size_t)cap * sizeof *c);
    if (!c) return false;
    r->configs = c;
    r->cap = cap;
  }
  r->lines[r->nlines] = line;
  r->configs[r->nlines] = config;
  r->nlines++;
  return true;
}

bool skv_results_open(skv_results *r, const char *dir, bool resume, char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  snprintf(r->path, sizeof r->path, "%s/results.csv", dir);
  FILE *f = fopen(r->path, "r");
  if (!f) {
    if (errno == ENOENT) return true;
    snprintf(err, errlen, "%s: %s", r->path, strerror(errno));
    return false;
  }
  if (!resume) {
    fclose(f);
    snprintf(err, errlen, "%s exists: use --resume to continue that run, or another --out", r->path);
    return false;
  }
  char *line = NULL, *header = header_line();
  size_t cap = 0;
  ssize_t k;
  bool ok = header != NULL, first = true;
  while (ok && (k = getline(&line, &cap, f)) > 0) {
    if (line[k - 1] == '\n') line[--k] = '\0';
    if (first) {
      if (strcmp(line, header) != 0) {
        snprintf(err, errlen, "%s: its columns differ from this skv's; start a new run", r->path);
        ok = false;
      }
      first = false;
      continue;
    }
    if (k == 0) continue;
    char *comma = strchr(line, ',');
    char *copy = strdup(line), *config = comma ? strndup(line, (size_t)(comma - line)) : NULL;
    ok = copy && config && push(r, copy, config);
    if (!ok) {
      free(copy), free(config);
      snprintf(err, errlen, "%s: out of memory or a malformed row", r->path);
    }
  }
  free(line);
  free(header);
  fclose(f);
  if (!ok) skv_results_close(r);
  return ok;
}

bool skv_results_has(const skv_results *r, const char *config) {
  for (int64_t i = 0; i < r->nlines; i++)
    if (strcmp(r->configs[i], config) == 0) return true;
  return false;
}

bool skv_results_append(skv_results *r, const skv_run_row *row, char *err, size_t errlen) {
  char *line = format_row(row), *config = strdup(row->config);
  if (!line || !config || !push(r, line, config)) {
    free(line), free(config);
    snprintf(err, errlen, "results: out of memory");
    return false;
  }
  sbuf b = {0};
  char *header = header_line();
  sb_printf(&b, "%s\n", header ? header : "");
  free(header);
  for (int64_t i = 0; i < r->nlines; i++) sb_printf(&b, "%s\n", r->lines[i]);
  if (b.oom) {
    free(b.s);
    snprintf(err, errlen, "results: out of memory");
    return false;
  }
  bool ok = skv_write_file_atomic(r->path, b.s, b.n, err, errlen);
  free(b.s);
  return ok;
}

void skv_results_close(skv_results *r) {
  for (int64_t i = 0; i < r->nlines; i++) {
    free(r->lines[i]);
    free(r->configs[i]);
  }
  free(r->lines);
  free(r->configs);
  memset(r, 0, sizeof *r);
}
