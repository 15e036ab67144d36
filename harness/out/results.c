/* results.c — results.csv rows: formatting (RFC 4180), one appended row per configuration, resume. */
#include "out/results.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out/atomic_file.h"

#include "out/csv.h"

const char *const skv_results_columns[] = {
    "config", "suite", "run_id", "mode", "batch", "seqlen", "kvlen_min", "kvlen_max", "kvlen_mean", "qlen", "hq",
    "hkv", "head_dim", "page_size", "q_dtype", "kv_dtype", "v_dtype", "kv_scale_mode", "q_scale", "k_scale",
    "v_scale", "drop_scale", "policy", "policy_options", "lse_layout", "host_path", "gpu_model", "device_model", "sms",
    "num_splits_min", "num_splits_max", "num_splits_mean", "ctas", "grid_ctas", "waves", "scratch_bytes", "kv_bytes",
    "scale_bytes", "predicted_decode_us", "predicted_combine_us", "predicted_us", "combine", "timer", "decode_us", "combine_us",
    "total_us", "total_min_us", "total_max_us", "repeats", "total_q1_us", "total_q3_us", "spread", "tbps", "read_ceiling_tbps", "frac_of_read_ceiling", "reference",
    "o_rel_err", "o_max_abs", "lse_max_abs", "quant_o_rel_err", "unwritten", "bitwise_repeat", "batch_invariant",
    "batch_invariant_predicted", "lse_correct", "lse_correct_predicted", "gpu_supported", "inv_pairs",
    "inv_same_predicted", "inv_same_measured", "inv_disagree", "inv_graph_pairs", "inv_graph_same", "graph_ctas", "graph_partials", "graph_fits", "graph_us",
    "eager_us", "graph_bits", "cascade_vllm", "cascade_us", "cascade_o_rel_err", "cascade_faster", "fd_distinct_us",
    "cascade_predicted_us", "fd_distinct_predicted_us", "cascade_bytes_bound_us", "cascade_flops_bound_us", "cascade_lab",
    "cascade_outer_us", "cascade_merged_us", "cascade_oracle", "regret_never", "regret_always", "regret_vllm",
    "regret_lab", "cascade_prefix_us", "cascade_suffix_us", "cascade_merge_us", "cascade_prefix_predicted_us",
    "cascade_suffix_predicted_us", "checks", NULL};
const int skv_results_ncolumns = (int)(sizeof skv_results_columns / sizeof skv_results_columns[0]) - 1;

const char *const skv_results_measured[] = {"timer", "decode_us", "combine_us", "total_us", "total_min_us",
                                            "total_max_us", "repeats", "total_q1_us", "total_q3_us", "spread", "tbps",
                                            "read_ceiling_tbps", "frac_of_read_ceiling",
                                            "device_model", "unwritten", "bitwise_repeat", "batch_invariant", "inv_same_measured",
                                            "inv_disagree", "inv_graph_pairs", "inv_graph_same", "graph_us", "eager_us",
                                            "graph_bits", "cascade_us", "cascade_o_rel_err", "cascade_faster", "fd_distinct_us",
                                            "cascade_outer_us", "cascade_merged_us", "cascade_oracle", "regret_never",
                                            "regret_always", "regret_vllm", "regret_lab", "cascade_prefix_us",
                                            "cascade_suffix_us", "cascade_merge_us", "lse_correct", NULL};
const char *const skv_results_predicted[] = {"num_splits_min", "num_splits_max", "num_splits_mean", "ctas",
                                             "grid_ctas", "waves", "scratch_bytes", "predicted_decode_us",
                                             "predicted_combine_us", "predicted_us", "batch_invariant_predicted",
                                             "inv_pairs", "inv_same_predicted", "graph_ctas", "graph_partials",
                                             "graph_fits", "cascade_vllm", "cascade_predicted_us",
                                             "fd_distinct_predicted_us", "cascade_bytes_bound_us",
                                             "cascade_flops_bound_us", "cascade_lab", "cascade_prefix_predicted_us",
                                             "cascade_suffix_predicted_us", "lse_correct_predicted", NULL};

void skv_run_row_init(skv_run_row *row) {
  memset(row, 0, sizeof *row);
  row->kvlen_mean = row->q_scale = row->k_scale = row->v_scale = NAN;
  row->num_splits_mean = row->waves = NAN;
  row->predicted_decode_us = row->predicted_combine_us = row->predicted_us = NAN;
  row->decode_us = row->combine_us = row->total_us = row->total_min_us = row->total_max_us = NAN;
  row->repeats = -1;
  row->total_q1_us = row->total_q3_us = NAN;
  row->spread = SKV_CHECK_NA;
  row->tbps = row->read_ceiling_tbps = row->frac_of_read_ceiling = NAN;
  row->o_rel_err = row->o_max_abs = row->lse_max_abs = row->quant_o_rel_err = NAN;
  row->unwritten = -1;
  row->inv_pairs = row->inv_same_predicted = row->inv_same_measured = row->inv_disagree = -1;
  row->inv_graph_pairs = row->inv_graph_same = -1;
  row->graph_ctas = row->graph_partials = -1;
  row->graph_fits = row->graph_bits = SKV_CHECK_NA;
  row->graph_us = row->eager_us = NAN;
  row->cascade_vllm = row->cascade_faster = SKV_CHECK_NA;
  row->cascade_us = row->cascade_o_rel_err = row->fd_distinct_us = NAN;
  row->cascade_predicted_us = row->fd_distinct_predicted_us = row->cascade_bytes_bound_us = NAN;
  row->cascade_flops_bound_us = row->cascade_outer_us = row->cascade_merged_us = NAN;
  row->regret_never = row->regret_always = row->regret_vllm = row->regret_lab = NAN;
  row->cascade_lab_choice = row->cascade_vllm_choice = -1;
  row->cascade_prefix_us = row->cascade_suffix_us = row->cascade_merge_us = NAN;
  row->cascade_prefix_predicted_us = row->cascade_suffix_predicted_us = NAN;
  row->bitwise_repeat = row->batch_invariant = row->batch_invariant_predicted = SKV_CHECK_NA;
  row->lse_correct = row->lse_correct_predicted = row->gpu_supported = SKV_CHECK_NA;
  snprintf(row->combine, sizeof row->combine, "-");
  snprintf(row->timer, sizeof row->timer, "-");
  snprintf(row->reference, sizeof row->reference, "none");
  snprintf(row->checks, sizeof row->checks, "none");
}

/* One field after the first: a comma, then the value (NaN written empty). */
static void field_str(FILE *f, const char *s, bool first) {
  if (!first) fputc(',', f);
  skv_csv_write_field(f, s);
}
static void field_int(FILE *f, int64_t v) { fprintf(f, ",%" PRId64, v); }
static void field_dbl(FILE *f, double v) {
  if (isnan(v)) fputc(',', f);
  else if (isinf(v)) fprintf(f, ",%s", v > 0 ? "inf" : "-inf");
  else fprintf(f, ",%.6g", v);
}
static void field_check(FILE *f, skv_check c) { fprintf(f, ",%s", c == SKV_CHECK_NA ? "" : (c ? "yes" : "no")); }

char *skv_results_format_row(const skv_run_row *r) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  field_str(f, r->config, true);
  field_str(f, r->suite, false);
  field_str(f, r->run_id, false);
  field_str(f, r->mode, false);
  field_int(f, r->batch);
  field_str(f, r->seqlen, false);
  field_int(f, r->kvlen_min);
  field_int(f, r->kvlen_max);
  field_dbl(f, r->kvlen_mean);
  field_int(f, r->qlen);
  field_int(f, r->hq);
  field_int(f, r->hkv);
  field_int(f, r->head_dim);
  field_int(f, r->page_size);
  field_str(f, r->q_dtype, false);
  field_str(f, r->kv_dtype, false);
  field_str(f, r->v_dtype, false);
  field_str(f, r->kv_scale_mode, false);
  field_dbl(f, r->q_scale);
  field_dbl(f, r->k_scale);
  field_dbl(f, r->v_scale);
  field_str(f, r->drop_scale, false);
  field_str(f, r->policy, false);
  field_str(f, r->policy_options, false);
  field_str(f, r->lse_layout, false);
  field_str(f, r->host_path, false);
  field_str(f, r->gpu_model, false);
  field_str(f, r->device_model, false);
  field_int(f, r->sms);
  field_int(f, r->num_splits_min);
  field_int(f, r->num_splits_max);
  field_dbl(f, r->num_splits_mean);
  field_int(f, r->ctas);
  field_int(f, r->grid_ctas);
  field_dbl(f, r->waves);
  field_int(f, r->scratch_bytes);
  field_int(f, r->kv_bytes);
  field_int(f, r->scale_bytes);
  field_dbl(f, r->predicted_decode_us);
  field_dbl(f, r->predicted_combine_us);
  field_dbl(f, r->predicted_us);
  field_str(f, r->combine, false);
  field_str(f, r->timer, false);
  field_dbl(f, r->decode_us);
  field_dbl(f, r->combine_us);
  field_dbl(f, r->total_us);
  field_dbl(f, r->total_min_us);
  field_dbl(f, r->total_max_us);
  if (r->repeats < 0) fputc(',', f);
  else field_int(f, r->repeats);
  field_dbl(f, r->total_q1_us);
  field_dbl(f, r->total_q3_us);
  field_check(f, r->spread);
  field_dbl(f, r->tbps);
  field_dbl(f, r->read_ceiling_tbps);
  field_dbl(f, r->frac_of_read_ceiling);
  field_str(f, r->reference, false);
  field_dbl(f, r->o_rel_err);
  field_dbl(f, r->o_max_abs);
  field_dbl(f, r->lse_max_abs);
  field_dbl(f, r->quant_o_rel_err);
  if (r->unwritten < 0) fputc(',', f);
  else field_int(f, r->unwritten);
  field_check(f, r->bitwise_repeat);
  field_check(f, r->batch_invariant);
  field_check(f, r->batch_invariant_predicted);
  field_check(f, r->lse_correct);
  field_check(f, r->lse_correct_predicted);
  field_check(f, r->gpu_supported);
  const int64_t inv[6] = {r->inv_pairs,   r->inv_same_predicted, r->inv_same_measured,
                          r->inv_disagree, r->inv_graph_pairs,    r->inv_graph_same};
  for (int i = 0; i < 6; i++) {
    if (inv[i] < 0) fputc(',', f);
    else field_int(f, inv[i]);
  }
  for (int i = 0; i < 2; i++) {
    const int64_t v = i == 0 ? r->graph_ctas : r->graph_partials;
    if (v < 0) fputc(',', f);
    else field_int(f, v);
  }
  field_check(f, r->graph_fits);
  field_dbl(f, r->graph_us);
  field_dbl(f, r->eager_us);
  field_check(f, r->graph_bits);
  field_check(f, r->cascade_vllm);
  field_dbl(f, r->cascade_us);
  field_dbl(f, r->cascade_o_rel_err);
  field_check(f, r->cascade_faster);
  field_dbl(f, r->fd_distinct_us);
  field_dbl(f, r->cascade_predicted_us);
  field_dbl(f, r->fd_distinct_predicted_us);
  field_dbl(f, r->cascade_bytes_bound_us);
  field_dbl(f, r->cascade_flops_bound_us);
  field_str(f, r->cascade_lab, false);
  field_dbl(f, r->cascade_outer_us);
  field_dbl(f, r->cascade_merged_us);
  field_str(f, r->cascade_oracle, false);
  field_dbl(f, r->regret_never);
  field_dbl(f, r->regret_always);
  field_dbl(f, r->regret_vllm);
  field_dbl(f, r->regret_lab);
  field_dbl(f, r->cascade_prefix_us);
  field_dbl(f, r->cascade_suffix_us);
  field_dbl(f, r->cascade_merge_us);
  field_dbl(f, r->cascade_prefix_predicted_us);
  field_dbl(f, r->cascade_suffix_predicted_us);
  field_str(f, r->checks, false);
  fputc('\n', f);
  const bool ok = !ferror(f);
  if (fclose(f) != 0 || !ok) {
    free(buf);
    return NULL;
  }
  return buf;
}

static char *header_line(void) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  for (int i = 0; i < skv_results_ncolumns; i++) fprintf(f, "%s%s", i ? "," : "", skv_results_columns[i]);
  fputc('\n', f);
  const bool ok = !ferror(f);
  if (fclose(f) != 0 || !ok) {
    free(buf);
    return NULL;
  }
  return buf;
}

static bool push(skv_results *r, const char *config, const char *run_id) {
  if (r->nrows == r->cap) {
    const int64_t cap = r->cap ? 2 * r->cap : 64;
    char **c = realloc(r->configs, (size_t)cap * sizeof *c);
    if (!c) return false;
    r->configs = c;
    char **id = realloc(r->run_ids, (size_t)cap * sizeof *id);
    if (!id) return false;
    r->run_ids = id;
    r->cap = cap;
  }
  char *c = strdup(config), *id = strdup(run_id);
  if (!c || !id) {
    free(c), free(id);
    return false;
  }
  if (!skv_name_index_add(&r->index, c, r->nrows)) {
    free(c), free(id);
    return false;
  }
  r->configs[r->nrows] = c;
  r->run_ids[r->nrows] = id;
  r->nrows++;
  return true;
}

/* Read back an existing results.csv for a resume: cut a half-written last line, check the header,
 * collect each row's configuration and run id. */
static bool read_existing(skv_results *r, char *note, size_t notelen, char *err, size_t errlen) {
  char *header = header_line();
  skv_csv_table t;
  memset(&t, 0, sizeof t);
  struct stat st;
  bool ok = header != NULL && fstat(r->fd, &st) == 0;
  if (!ok) snprintf(err, errlen, "%s: %s", r->path, header ? strerror(errno) : "out of memory");
  char *text = ok ? malloc((size_t)st.st_size + 1) : NULL;
  if (ok && !text) {
    snprintf(err, errlen, "%s: out of memory", r->path);
    ok = false;
  }
  size_t len = 0;
  while (ok && len < (size_t)st.st_size) {
    const ssize_t k = pread(r->fd, text + len, (size_t)st.st_size - len, (off_t)len);
    if (k <= 0) {
      snprintf(err, errlen, "%s: read: %s", r->path, k < 0 ? strerror(errno) : "unexpected end of file");
      ok = false;
    }
    len += k > 0 ? (size_t)k : 0;
  }
  if (ok && len > 0 && text[len - 1] != '\n') {
    /* An interrupted append: the last row has no newline. It is dropped, to be run again. */
    size_t keep = len;
    while (keep > 0 && text[keep - 1] != '\n') keep--;
    snprintf(note, notelen, "dropped a half-written last row (%zu bytes) of the interrupted run", len - keep);
    len = keep;
    if (ftruncate(r->fd, (off_t)len) != 0 || fsync(r->fd) != 0) {
      snprintf(err, errlen, "%s: truncate: %s", r->path, strerror(errno));
      ok = false;
    }
  }
  if (ok && (len < strlen(header) || memcmp(text, header, strlen(header)) != 0)) {
    snprintf(err, errlen, "%s: its columns differ from this skv's (another version's run?): start a new run", r->path);
    ok = false;
  }
  if (ok) ok = skv_csv_parse(text, len, r->path, &t, err, errlen);
  const int32_t cc = ok ? skv_csv_col(&t, "config") : -1, ci = ok ? skv_csv_col(&t, "run_id") : -1;
  for (int64_t i = 0; ok && i < t.nrows; i++) {
    ok = push(r, skv_csv_get(&t, i, cc), skv_csv_get(&t, i, ci));
    if (!ok) snprintf(err, errlen, "%s: out of memory", r->path);
  }
  skv_csv_free(&t);
  free(text);
  free(header);
  return ok;
}

bool skv_results_open(skv_results *r, const char *dir, bool resume, char *note, size_t notelen, char *err,
                      size_t errlen) {
  memset(r, 0, sizeof *r);
  r->fd = -1;
  note[0] = '\0';
  snprintf(r->path, sizeof r->path, "%s/results.csv", dir);
  struct stat st;
  const bool exists = stat(r->path, &st) == 0;
  if (exists && !resume) {
    snprintf(err, errlen, "%s exists: use --resume to continue that run, or another --out", r->path);
    return false;
  }
  if (!exists) {
    char *header = header_line();
    const bool ok = header && skv_write_file_atomic(r->path, header, strlen(header), err, errlen);
    if (!header) snprintf(err, errlen, "results: out of memory");
    free(header);
    if (!ok) return false;
  }
  r->fd = open(r->path, O_RDWR | O_APPEND);
  if (r->fd < 0) {
    snprintf(err, errlen, "%s: %s", r->path, strerror(errno));
    return false;
  }
  if (exists && !read_existing(r, note, notelen, err, errlen)) {
    skv_results_close(r);
    return false;
  }
  return true;
}

bool skv_results_has(const skv_results *r, const char *config) { return skv_name_index_find(&r->index, config) >= 0; }

int64_t skv_results_find(const skv_results *r, const char *config) { return skv_name_index_find(&r->index, config); }

bool skv_results_append(skv_results *r, const skv_run_row *row, char *err, size_t errlen) {
  char *line = skv_results_format_row(row);
  if (!line || !push(r, row->config, row->run_id)) {
    free(line);
    snprintf(err, errlen, "results: out of memory");
    return false;
  }
  const size_t len = strlen(line);
  /* One write of the whole line: O_APPEND places it at the end as a unit. */
  const ssize_t k = write(r->fd, line, len);
  free(line);
  if (k != (ssize_t)len || fdatasync(r->fd) != 0) {
    snprintf(err, errlen, "%s: append: %s", r->path, k < 0 || k == (ssize_t)len ? strerror(errno) : "short write");
    return false;
  }
  return true;
}

void skv_results_close(skv_results *r) {
  if (r->fd >= 0) close(r->fd);
  for (int64_t i = 0; i < r->nrows; i++) {
    free(r->configs[i]);
    free(r->run_ids[i]);
  }
  free(r->configs);
  free(r->run_ids);
  skv_name_index_free(&r->index);
  memset(r, 0, sizeof *r);
  r->fd = -1;
}
