/* run.c — `skv run`: validate a suite, then plan, predict, execute (GPU or simulator), check and record each configuration. */
#include "run.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "atomic_file.h"
#include "gpus.h"
#include "json.h"
#include "lse_layout.h"
#include "plan_print.h"
#include "plots.h"
#include "numerics.h"
#include "progress.h"
#include "reference.h"
#include "version.h"


/* Double-precision work (multiply-adds) the CPU reference may spend on one configuration. */
#define SKV_CPU_REF_BUDGET_SIM 2e8
#define SKV_CPU_REF_BUDGET_GPU 6e8

/* ---- small helpers ---------------------------------------------------------------------------- */

static void utc_now(char *buf, size_t len, const char *fmt) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, len, fmt, &tm);
}

static bool mkdirs(const char *path, char *err, size_t errlen) {
  char tmp[1024];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
      snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
      return false;
    }
    *p = '/';
  }
  if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
    snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
    return false;
  }
  return true;
}

static bool file_exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

/* Work of the double reference for a batch: sum of kv length x query length x heads x head dim. */
static double ref_cost(const skv_batch *b) {
  double c = 0;
  for (int32_t r = 0; r < b->num_requests; r++) c += (double)b->kvlen[r] * (double)b->qlen[r];
  return c * b->num_q_heads * b->head_dim * 2;
}

static skv_layout logical_layout(const skv_batch *b) {
  const int64_t B = b->num_requests, G = skv_batch_group(b);
  return skv_layout3(B, b->num_kv_heads, G, 1, G * B, B);
}

/* ---- the LSE layout of a configuration (sim/lse_layout.h) --------------------------------------- */

static bool lse_case(const skv_config *c, const skv_batch *b, skv_lse_case *lc) {
  memset(lc, 0, sizeof *lc);
  if (strcmp(c->lse_layout, "logical") == 0) return false;
  const int32_t G = skv_batch_group(b);
  lc->swapped = skv_batch_max_qlen(b) == 1 && G > 1;
  lc->unpadded = strcmp(c->lse_layout, "fa2-padded") != 0;
  lc->kernel = strcmp(c->lse_layout, "fa2-split1") == 0 ? SKV_LSE_SPLIT1 : SKV_LSE_COMBINE;
  lc->host = strcmp(c->host_path, "fa2-upstream") == 0           ? SKV_LSE_HOST_UPSTREAM
             : strcmp(c->host_path, "vllm-fork-before-fix") == 0 ? SKV_LSE_HOST_FORK_BEFORE
                                                                  : SKV_LSE_HOST_FORK_AFTER;
  lc->batch = b->num_requests;
  lc->kv_heads = b->num_kv_heads;
  lc->groups = G;
  lc->qlen = 1;
  return true;
}

bool skv_run_lse_setup(const skv_config *c, const skv_batch *b, const skv_plan *p, skv_layout *layout,
                       skv_check *predicted, char *err, size_t errlen) {
  (void)p;
  skv_lse_case lc;
  *layout = logical_layout(b);
  *predicted = SKV_CHECK_NA;
  if (!lse_case(c, b, &lc)) return true;
  int64_t B, H, SQ;
  skv_lse_case_dims(&lc, &B, &H, &SQ);
  if (!skv_lse_write_layout(lc.kernel, skv_lse_case_kernel_swapped(&lc), lc.unpadded, B, H, SQ, layout, err, errlen))
    return false;
  if (strcmp(c->host_path, "none") == 0) {
    /* No host op: the caller reads the buffer as [hq, B]; right exactly when the kernel wrote that. */
    const skv_layout L = logical_layout(b);
    bool same = true;
    for (int64_t i = 0; i < B && same; i++)
      for (int64_t h = 0; h < H && same; h++)
        for (int64_t m = 0; m < SQ && same; m++)
          same = skv_layout_offset3(layout, i, h, m) == skv_layout_offset3(&L, i, h, m);
    *predicted = same ? SKV_CHECK_YES : SKV_CHECK_NO;
    return true;
  }
  skv_lse_row row;
  if (!skv_lse_evaluate(&lc, &row, err, errlen)) return false;
  *predicted = row.correct ? SKV_CHECK_YES : SKV_CHECK_NO;
  return true;
}

bool skv_run_lse_deliver(const skv_config *c, const skv_batch *b, const skv_plan *p, const float *buf, double *out,
                         char *err, size_t errlen) {
  (void)p;
  const int64_t n = (int64_t)b->num_requests * b->num_q_heads;
  skv_lse_case lc;
  if (!lse_case(c, b, &lc) || strcmp(c->host_path, "none") == 0) {
    /* The caller reads [hq, B]: element (r, h, g) at (h*G + g)*B + r. */
    const skv_layout L = logical_layout(b);
    for (int64_t r = 0; r < b->num_requests; r++)
      for (int64_t h = 0; h < b->num_kv_heads; h++)
        for (int64_t g = 0; g < skv_batch_group(b); g++)
          out[(r * b->num_kv_heads + h) * skv_batch_group(b) + g] = buf[skv_layout_offset3(&L, r, h, g)];
    return true;
  }
  /* The host path's torch ops on the buffer, then the caller's logical view, back in (b, h, m) order. */
  skv_lse_host_seq seq;
  skv_lse_host_seq_of(&lc, &seq);
  skv_host_tensor t;
  if (!skv_host_tensor_empty(&t, seq.alloc_rank, seq.alloc_shape) || t.numel != n) {
    snprintf(err, errlen, "lse: host tensor of %lld elements, buffer of %lld", (long long)t.numel, (long long)n);
    skv_host_tensor_free(&t);
    return false;
  }
  for (int64_t i = 0; i < n; i++) t.data[i] = buf[i];
  bool ok = true;
  for (int k = 0; k < seq.num_ops && ok; k++)
    ok = seq.ops[k].kind == SKV_HOST_RESHAPE ? skv_host_tensor_reshape(&t, seq.ops[k].rank, seq.ops[k].shape)
                                             : skv_host_tensor_transpose(&t, seq.ops[k].dim0, seq.ops[k].dim1);
  skv_lse_caller caller;
  skv_lse_caller_of(&lc, &caller);
  int64_t B, H, SQ;
  skv_lse_case_dims(&lc, &B, &H, &SQ);
  for (int64_t r = 0; r < B && ok; r++)
    for (int64_t h = 0; h < H; h++)
      for (int64_t m = 0; m < SQ; m++) {
        int64_t coord[SKV_LAYOUT_MAX_RANK];
        skv_layout_coord_row_major(&t.view, skv_layout_offset3(&caller.index, r, h, m), coord);
        out[(r * H + h) * SQ + m] = skv_host_tensor_get(&t, coord);
      }
  if (!ok) snprintf(err, errlen, "lse: a host op failed");
  skv_host_tensor_free(&t);
  return ok;
}

/* ---- rows --------------------------------------------------------------------------------------- */

/* Append "key=value" to a ';'-separated list (commas are kept out of CSV fields). */
static void opt_add(char *buf, size_t len, const char *fmt, long long v, bool has_value) {
  const size_t n = strlen(buf);
  if (n + 2 >= len) return;
  if (n) strcat(buf, ";");
  char item[64];
  if (has_value) snprintf(item, sizeof item, fmt, v);
  else snprintf(item, sizeof item, "%s", fmt);
  strncat(buf, item, len - strlen(buf) - 1);
}

/* The options that differ from the defaults (and a fixed policy's split size). */
static void policy_options(const skv_config *c, char *buf, size_t len) {
  skv_policy_opts d;
  skv_policy_opts_default(&d);
  const skv_policy_opts *o = &c->opts;
  buf[0] = '\0';
  if (o->split_size != d.split_size || c->policy == SKV_POLICY_FIXED) opt_add(buf, len, "split_size=%lld", o->split_size, true);
  if (o->num_splits != d.num_splits) opt_add(buf, len, "num_splits=%lld", o->num_splits, true);
  if (o->max_splits != d.max_splits) opt_add(buf, len, "max_splits=%lld", o->max_splits, true);
  if (o->fixed_split_pages != d.fixed_split_pages) opt_add(buf, len, "fixed_split_pages=%lld", o->fixed_split_pages, true);
  if (o->disable_split_kv) opt_add(buf, len, "disable_split_kv", 0, false);
  if (o->cuda_graph) opt_add(buf, len, "cuda_graph", 0, false);
  if (o->batch_invariant) opt_add(buf, len, "batch_invariant", 0, false);
  if (o->blocks_per_sm != d.blocks_per_sm) opt_add(buf, len, "blocks_per_sm=%lld", o->blocks_per_sm, true);
}

static void seqlen_text(const skv_config *c, char *buf, size_t len) {
  const skv_seqlen_spec *s = &c->seqlen;
  if (s->kind == SKV_SEQLEN_FIXED) snprintf(buf, len, "%lld", (long long)s->value);
  else if (s->kind == SKV_SEQLEN_UNIFORM)
    snprintf(buf, len, "uniform(%lld:%lld;seed=%llu)", (long long)s->lo, (long long)s->hi,
             (unsigned long long)s->seed);
  else snprintf(buf, len, "list(%d values)", s->nvalues);
}

static void fill_row(skv_run_row *row, const skv_suite *s, const char *run_id, bool measured, const skv_config *c,
                     const skv_batch *b, const skv_plan *p, const skv_prediction *pr) {
  skv_run_row_init(row);
  snprintf(row->config, sizeof row->config, "%s", c->name);
  snprintf(row->suite, sizeof row->suite, "%s", s->name);
  snprintf(row->run_id, sizeof row->run_id, "%.63s", run_id);
  snprintf(row->mode, sizeof row->mode, "%s", measured ? "measured" : "sim");
  row->batch = b->num_requests;
  seqlen_text(c, row->seqlen, sizeof row->seqlen);
  row->kvlen_min = INT64_MAX;
  double sum = 0;
  for (int32_t r = 0; r < b->num_requests; r++) {
    if (b->kvlen[r] < row->kvlen_min) row->kvlen_min = b->kvlen[r];
    if (b->kvlen[r] > row->kvlen_max) row->kvlen_max = b->kvlen[r];
    sum += (double)b->kvlen[r];
  }
  row->kvlen_mean = sum / b->num_requests;
  row->qlen = c->qlen;
  row->hq = b->num_q_heads, row->hkv = b->num_kv_heads, row->head_dim = b->head_dim, row->page_size = b->page_size;
  snprintf(row->q_dtype, sizeof row->q_dtype, "%s", skv_dtype_name(c->q_dtype));
  snprintf(row->kv_dtype, sizeof row->kv_dtype, "%s", skv_dtype_name(c->kv_dtype));
  snprintf(row->v_dtype, sizeof row->v_dtype, "%s",
           skv_dtype_name(c->v_dtype == SKV_DTYPE_COUNT ? c->kv_dtype : c->v_dtype));
  snprintf(row->kv_scale_mode, sizeof row->kv_scale_mode, "%s", skv_scale_mode_name(c->quant.kv_scale_mode));
  row->q_scale = c->quant.q_scale, row->k_scale = c->quant.k_scale, row->v_scale = c->quant.v_scale;
  snprintf(row->drop_scale, sizeof row->drop_scale, "%s",
           c->quant.drop_q_scale ? "q" : (c->quant.drop_k_scale ? "k" : (c->quant.drop_v_scale ? "v" : "none")));
  snprintf(row->policy, sizeof row->policy, "%s", skv_policy_name(c->policy));
  policy_options(c, row->policy_options, sizeof row->policy_options);
  snprintf(row->lse_layout, sizeof row->lse_layout, "%s", c->lse_layout);
  snprintf(row->host_path, sizeof row->host_path, "%s", c->host_path);
  snprintf(row->gpu_model, sizeof row->gpu_model, "%s", c->gpu_model);
  row->sms = p->num_sms;
  skv_plan_split_stats(p, &row->num_splits_min, &row->num_splits_max, &row->num_splits_mean);
  row->ctas = p->num_work;
  row->grid_ctas = p->grid_ctas;
  row->waves = p->waves;
  row->scratch_bytes = p->scratch_o_bytes + p->scratch_lse_bytes;
  row->kv_bytes = skv_batch_kv_bytes(b);
  row->predicted_decode_us = pr->decode_us;
  row->predicted_combine_us = pr->combine_us;
  row->predicted_us = pr->total_us;
  snprintf(row->combine, sizeof row->combine, "%s", p->num_combine > 0 ? "kernel" : "-");
}

/* Request 0 alone: does the plan give it the same chunks as inside the batch? */
static skv_check predicted_invariance(const skv_batch *b, const skv_config *c, int32_t sms, const skv_plan *p) {
  if (b->num_requests < 2) return SKV_CHECK_NA;
  skv_batch one;
  skv_plan p1;
  char err[256];
  if (!skv_batch_slice(b, 0, 1, &one)) return SKV_CHECK_NA;
  skv_check r = SKV_CHECK_NA;
  if (skv_plan_build(&one, c->policy, &c->opts, sms, &p1, err, sizeof err)) {
    const int64_t n = skv_plan_num_splits(p, 0);
    r = n == skv_plan_num_splits(&p1, 0) &&
                memcmp(skv_plan_chunks(p, 0), skv_plan_chunks(&p1, 0), (size_t)n * sizeof(skv_chunk)) == 0
            ? SKV_CHECK_YES
            : SKV_CHECK_NO;
    skv_plan_free(&p1);
  }
  skv_batch_free(&one);
  return r;
}

/* The simulator's numerics: the plan executed in double against the unsplit reference (it checks
 * that the plan partitions and merges correctly), where affordable. */
static bool sim_numerics(const skv_workload *w, const skv_plan *p, skv_run_row *row, char *err, size_t errlen) {
  const skv_batch *b = &w->batch;
  const int64_t tq = w->cu_seqlens_q[b->num_requests], no = tq * b->num_q_heads * b->head_dim,
                nl = tq * b->num_q_heads;
  double *ro = malloc(sizeof(double) * (size_t)no), *rl = malloc(sizeof(double) * (size_t)nl);
  double *po = malloc(sizeof(double) * (size_t)no), *pl = malloc(sizeof(double) * (size_t)nl);
  bool ok = ro && rl && po && pl && skv_ref_attention(w, false, ro, rl) && skv_ref_execute_plan(w, p, false, po, pl);
  if (ok) {
    double num = 0, den = 0, mx = 0, lmx = 0;
    for (int64_t i = 0; i < no; i++) {
      const double e = fabs(po[i] - ro[i]);
      num += e * e, den += ro[i] * ro[i];
      if (e > mx) mx = e;
    }
    for (int64_t i = 0; i < nl; i++)
      if (!(isinf(rl[i]) && pl[i] == rl[i]) && fabs(pl[i] - rl[i]) > lmx) lmx = fabs(pl[i] - rl[i]);
    row->o_rel_err = den > 0 ? sqrt(num / den) : sqrt(num);
    row->o_max_abs = mx;
    row->lse_max_abs = lmx;
    snprintf(row->reference, sizeof row->reference, "plan-cpu");
  } else {
    snprintf(err, errlen, "reference: out of memory");
  }
  free(ro), free(rl), free(po), free(pl);
  return ok;
}

/* Quantized (or a scale dropped to emulate a bug): the quant_o_rel_err column applies. */
static bool quantized(const skv_config *c) {
  return c->q_dtype == SKV_FP8_E4M3 || c->kv_dtype == SKV_FP8_E4M3 || c->kv_dtype == SKV_INT8 ||
         c->quant.drop_q_scale || c->quant.drop_k_scale || c->quant.drop_v_scale;
}

/* The simulator's quantization error: the reference on the stored values (with a dropped scale
 * when the suite emulates that bug) against the reference on the unquantized values. */
static bool sim_quant_error(const skv_workload *w, skv_run_row *row, char *err, size_t errlen) {
  const skv_workload truth = skv_workload_view_unquantized(w);
  skv_numerics n;
  if (!skv_numerics_ref_vs_ref(w, &truth, &n)) {
    snprintf(err, errlen, "reference: out of memory");
    return false;
  }
  row->quant_o_rel_err = n.o_rel_l2;
  return true;
}

/* ---- meta.json ---------------------------------------------------------------------------------- */

typedef struct run_meta {
  const skv_run_opts *o;
  const skv_suite *suite;
  const char *run_id, *dir, *mode_text, *started;
  char ended[32];
  bool measured, complete;
  const skv_gpu_session *gpu;
  const skv_gpu_model *model;
  int64_t configs_done;
  char plots_note[256];
} run_meta;

static bool write_meta(const run_meta *m, char *err, size_t errlen) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) {
    snprintf(err, errlen, "meta.json: out of memory");
    return false;
  }
  skv_json j;
  skv_json_init(&j, f, 2);
  skv_json_object_begin(&j);
  skv_json_kv_string(&j, "suite", m->suite->name);
  skv_json_kv_string(&j, "suite_file", m->suite->path);
  char hash[32];
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)m->suite->file_hash);
  skv_json_kv_string(&j, "suite_hash_fnv1a64", hash);
  skv_json_kv_string(&j, "run_id", m->run_id);
  skv_json_kv_string(&j, "skv_commit", skv_version);
  skv_json_kv_string(&j, "command", m->o->command ? m->o->command : "");
  skv_json_kv_string(&j, "mode", m->measured ? "measured" : "sim");
  skv_json_kv_string(&j, "mode_reason", m->mode_text);
  skv_json_kv_string(&j, "start_utc", m->started);
  skv_json_kv_string(&j, "end_utc", m->ended);
  skv_json_kv_bool(&j, "complete", m->complete);
  skv_json_kv_int(&j, "configurations", m->suite->nconfigs);
  skv_json_kv_int(&j, "configurations_done", m->configs_done);
  skv_json_kv_int(&j, "repeat", m->suite->repeat);
  skv_json_kv_int(&j, "warmup", m->suite->warmup);
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  skv_json_kv_string(&j, "host", host);
  skv_json_key(&j, "gpu");
  if (m->measured && m->gpu) {
    const skv_gpu_info *g = &m->gpu->info;
    skv_json_object_begin(&j);
    skv_json_kv_string(&j, "name", g->name);
    skv_json_kv_int(&j, "sm_count", g->sm_count);
    char cc[16];
    snprintf(cc, sizeof cc, "%d.%d", g->cc_major, g->cc_minor);
    skv_json_kv_string(&j, "compute_capability", cc);
    skv_json_kv_int(&j, "l2_bytes", g->l2_bytes);
    skv_json_kv_int(&j, "memory_bytes", g->mem_bytes);
    skv_json_kv_int(&j, "sm_clock_max_mhz", g->sm_clock_mhz);
    skv_json_kv_int(&j, "memory_clock_max_mhz", g->mem_clock_mhz);
    skv_json_kv_int(&j, "memory_bus_bits", g->mem_bus_bits);
    skv_json_kv_int(&j, "driver_version", g->driver_version);
    skv_json_kv_int(&j, "cuda_runtime_version", g->runtime_version);
    skv_json_kv_int(&j, "cupti_version", g->cupti_version);
    skv_json_kv_bool(&j, "cupti_timing", m->gpu->use_cupti);
    skv_json_kv_double(&j, "read_ceiling_tbps", m->gpu->read_tbps);
    skv_json_kv_double(&j, "copy_ceiling_tbps", m->gpu->copy_tbps);
    skv_json_object_end(&j);
  } else {
    skv_json_null(&j);
  }
  if (m->model) {
    skv_json_key(&j, "gpu_model");
    skv_json_object_begin(&j);
    skv_json_kv_string(&j, "name", m->model->name);
    skv_json_kv_int(&j, "sms", m->model->sms);
    skv_json_kv_double(&j, "read_tbps", m->model->read_tbps);
    skv_json_object_end(&j);
  }
  skv_json_key(&j, "measured_columns");
  skv_json_array_begin(&j);
  for (int i = 0; skv_results_measured[i]; i++) skv_json_string(&j, skv_results_measured[i]);
  skv_json_array_end(&j);
  skv_json_key(&j, "predicted_columns");
  skv_json_array_begin(&j);
  for (int i = 0; skv_results_predicted[i]; i++) skv_json_string(&j, skv_results_predicted[i]);
  skv_json_array_end(&j);
  skv_json_kv_string(&j, "plots", m->plots_note);
  skv_json_object_end(&j);
  bool ok = fclose(f) == 0 && buf;
  char path[1100];
  snprintf(path, sizeof path, "%s/meta.json", m->dir);
  if (ok) ok = skv_write_file_atomic(path, buf, len, err, errlen);
  else snprintf(err, errlen, "meta.json: write failed");
  free(buf);
  return ok;
}

/* The newest unfinished run of this suite under results/<suite>/ (for --resume without --out). */
static bool find_resume_dir(const skv_suite *s, char *dir, size_t len, char *err, size_t errlen) {
  char base[512], cmd[700];
  snprintf(base, sizeof base, "results/%s", s->name);
  snprintf(cmd, sizeof cmd, "ls -1 '%s' 2>/dev/null | sort -r", base);
  FILE *p = popen(cmd, "r");
  if (!p) {
    snprintf(err, errlen, "--resume: cannot list %s", base);
    return false;
  }
  char name[256];
  bool found = false;
  char hash[32];
  snprintf(hash, sizeof hash, "\"%016llx\"", (unsigned long long)s->file_hash);
  while (!found && fgets(name, sizeof name, p)) {
    name[strcspn(name, "\n")] = '\0';
    char meta[900];
    snprintf(meta, sizeof meta, "%s/%s/meta.json", base, name);
    FILE *f = fopen(meta, "r");
    if (!f) continue;
    char text[8192];
    size_t k = fread(text, 1, sizeof text - 1, f);
    text[k] = '\0';
    fclose(f);
    if (strstr(text, "\"complete\": false") && strstr(text, hash)) {
      snprintf(dir, len, "%s/%s", base, name);
      found = true;
    }
  }
  pclose(p);
  if (!found) snprintf(err, errlen, "--resume: no unfinished run of suite '%s' (this file version) under %s", s->name, base);
  return found;
}

/* ---- the run ------------------------------------------------------------------------------------ */

static const char *default_gpus_path(const char *suite_path, char *buf, size_t len) {
  const char *slash = strrchr(suite_path, '/');
  if (slash) snprintf(buf, len, "%.*s/gpus.yaml", (int)(slash - suite_path), suite_path);
  else snprintf(buf, len, "gpus.yaml");
  if (file_exists(buf)) return buf;
  snprintf(buf, len, "experiments/gpus.yaml");
  return buf;
}

static void model_params(const skv_gpu_model *m, int32_t sms, skv_gpu_params *g) {
  skv_gpu_params_h100(g);
  g->sms = sms;
  g->read_tbps = m->read_tbps;
  g->launch_us = m->launch_us;
  g->cta_fixed_us = m->cta_fixed_us;
  g->combine_item_us = m->combine_item_us;
  g->cta_gbps = m->cta_gbps;
  g->cta_gbps_8bit = m->cta_gbps_8bit;
}

/* --plots-only: draw the suite's plots from an existing run's results.csv (for a run made where
 * gnuplot was missing); measured if its rows were measured. The plots note in meta.json is updated. */
static int replot(const skv_suite *suite, const skv_run_opts *o, const skv_gpu_model *model) {
  char err[2048], path[1100];
  if (!o->out_dir) {
    fprintf(stderr, "skv run: --plots-only: give the run directory with --out\n");
    return SKV_EXIT_USAGE;
  }
  snprintf(path, sizeof path, "%s/results.csv", o->out_dir);
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "skv run: --plots-only: %s: %s\n", path, strerror(errno));
    return SKV_EXIT_USAGE;
  }
  char line[4096] = "";
  bool measured = false;
  if (fgets(line, sizeof line, f) && fgets(line, sizeof line, f)) measured = strstr(line, ",measured,") != NULL;
  fclose(f);
  if (!skv_gnuplot_available()) {
    fprintf(stderr, "skv run: --plots-only: gnuplot not found (install gnuplot-nox)\n");
    return SKV_EXIT_FAIL;
  }
  if (!skv_plots_make(o->out_dir, (const char(*)[32])suite->plots, suite->nplots, measured, model->read_tbps, err,
                      sizeof err)) {
    fprintf(stderr, "skv run: plots: %s\n", err);
    return SKV_EXIT_FAIL;
  }
  /* The note in meta.json: rewrite its "plots" line. */
  snprintf(path, sizeof path, "%s/meta.json", o->out_dir);
  f = fopen(path, "r");
  if (f) {
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    while (m && fgets(line, sizeof line, f))
      fputs(strstr(line, "\"plots\":") ? "  \"plots\": \"drawn in plots/ (PNG and SVG) by skv run --plots-only\"\n" : line, m);
    fclose(f);
    if (m && fclose(m) == 0 && buf && !skv_write_file_atomic(path, buf, len, err, sizeof err))
      fprintf(stderr, "skv run: %s\n", err);
    free(buf);
  }
  fprintf(stderr, "skv run: plots drawn in %s/plots/\n", o->out_dir);
  return SKV_EXIT_OK;
}

int skv_run_suite(const skv_run_opts *o) {
  char err[2048];
  skv_suite suite;
  if (!skv_suite_load(o->suite_path, &suite, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  char gpus_buf[1024];
  const char *gpus_path = o->gpus_path ? o->gpus_path : default_gpus_path(o->suite_path, gpus_buf, sizeof gpus_buf);
  skv_gpu_model *models = NULL;
  int32_t nmodels = 0;
  if (!skv_gpu_models_load(gpus_path, &models, &nmodels, err, sizeof err) ||
      !skv_suite_check_models(&suite, models, nmodels, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    free(models);
    skv_suite_free(&suite);
    return SKV_EXIT_USAGE;
  }

  if (o->plots_only) {
    const int rc = replot(&suite, o, skv_gpu_model_find(models, nmodels, suite.configs[0].gpu_model));
    free(models);
    skv_suite_free(&suite);
    return rc;
  }

  /* Measured or simulated. */
  skv_gpu_session gpu;
  memset(&gpu, 0, sizeof gpu);
  bool measured = false;
  char mode_text[256];
  if (o->sim_only) {
    snprintf(mode_text, sizeof mode_text, "--sim-only: planner, cost model and CPU reference; nothing measured");
  } else if (!skv_gpu_present()) {
    snprintf(mode_text, sizeof mode_text,
             "no GPU on this host: SIMULATOR ONLY (planner, cost model, CPU reference); nothing measured");
  } else if (!skv_gpu_session_begin(!o->no_cupti, &gpu, err, sizeof err)) {
    fprintf(stderr, "skv run: GPU setup failed: %s\n", err);
    free(models);
    skv_suite_free(&suite);
    return SKV_EXIT_FAIL;
  } else {
    measured = true;
    snprintf(mode_text, sizeof mode_text, "GPU %.100s (%d SMs), kernel times by %s", gpu.info.name, gpu.info.sm_count,
             gpu.use_cupti ? "CUPTI" : "CUDA events");
  }
  fprintf(stderr, "skv run: suite %s (%d configurations): %s\n", suite.name, suite.nconfigs, mode_text);

  /* Validate every configuration before any GPU work: batch, plan, kernel support, memory. */
  int rc = SKV_EXIT_OK;
  for (int32_t i = 0; i < suite.nconfigs && rc == SKV_EXIT_OK; i++) {
    const skv_config *c = &suite.configs[i];
    const skv_gpu_model *m = skv_gpu_model_find(models, nmodels, c->gpu_model);
    const int32_t sms = c->sms ? c->sms : (measured ? gpu.info.sm_count : m->sms);
    skv_batch b;
    skv_plan p;
    bool ok = skv_config_make_batch(c, &b, err, sizeof err);
    if (ok) {
      ok = skv_plan_build(&b, c->policy, &c->opts, sms, &p, err, sizeof err);
      if (ok && measured) {
        if (skv_batch_max_qlen(&b) != 1) {
          snprintf(err, sizeof err, "the GPU kernels run decode only (qlen 1; this configuration has %lld)",
                   (long long)skv_batch_max_qlen(&b));
          ok = false;
        } else if (skv_batch_group(&b) > 16 || (b.page_size & (b.page_size - 1)) != 0) {
          snprintf(err, sizeof err, "the GPU kernels need a GQA group <= 16 and a power-of-two page size");
          ok = false;
        } else {
          const int64_t need = skv_gpu_job_bytes(c, &b, &p, gpu.info.l2_bytes);
          if (need > gpu.free_bytes) {
            snprintf(err, sizeof err, "needs %.2f GiB of GPU memory, %.2f GiB are free", (double)need / (1 << 30),
                     (double)gpu.free_bytes / (1 << 30));
            ok = false;
          }
        }
      }
      if (ok) skv_plan_free(&p);
      skv_batch_free(&b);
    }
    if (!ok) {
      fprintf(stderr, "skv run: %s:%d:%d: configuration '%s': %s\n", suite.path, c->line, c->col, c->name, err);
      rc = SKV_EXIT_USAGE;
    }
  }

  /* The run directory. */
  char run_id[96], dir[1024], started[32];
  run_id[0] = '\0';
  utc_now(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ");
  if (rc == SKV_EXIT_OK) {
    char stamp[32];
    utc_now(stamp, sizeof stamp, "%Y%m%d-%H%M%S");
    snprintf(run_id, sizeof run_id, "%s-%s%s", stamp, skv_version, measured ? "" : "-sim");
    if (o->out_dir) snprintf(dir, sizeof dir, "%s", o->out_dir);
    else if (o->resume && !find_resume_dir(&suite, dir, sizeof dir, err, sizeof err)) rc = SKV_EXIT_USAGE;
    else if (!o->resume) snprintf(dir, sizeof dir, "results/%s/%s", suite.name, run_id);
    if (rc == SKV_EXIT_OK && o->resume) {
      const char *slash = strrchr(dir, '/');
      snprintf(run_id, sizeof run_id, "%.95s", slash ? slash + 1 : dir);
    }
    if (rc != SKV_EXIT_OK) fprintf(stderr, "skv run: %s\n", err);
  }
  skv_results res;
  memset(&res, 0, sizeof res);
  if (rc == SKV_EXIT_OK && (!mkdirs(dir, err, sizeof err) || !skv_results_open(&res, dir, o->resume, err, sizeof err))) {
    fprintf(stderr, "skv run: %s\n", err);
    rc = SKV_EXIT_USAGE;
  }
  if (rc != SKV_EXIT_OK) {
    if (measured) skv_gpu_session_end(&gpu);
    free(models);
    skv_suite_free(&suite);
    return rc;
  }

  const skv_gpu_model *model0 = skv_gpu_model_find(models, nmodels, suite.configs[0].gpu_model);
  run_meta meta = {.o = o, .suite = &suite, .run_id = run_id, .dir = dir, .mode_text = mode_text,
                   .started = started, .measured = measured, .gpu = measured ? &gpu : NULL, .model = model0,
                   .configs_done = res.nlines};
  snprintf(meta.plots_note, sizeof meta.plots_note, "not drawn yet");
  if (!write_meta(&meta, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    rc = SKV_EXIT_FAIL;
  }
  fprintf(stderr, "skv run: results in %s/%s\n", dir, res.nlines ? " (resuming)" : "");

  skv_trace trace = {0};
  skv_progress prog;
  skv_progress_init(&prog, stderr, suite.nconfigs, res.nlines);
  int failed_checks = 0;
  for (int32_t i = 0; i < suite.nconfigs && rc == SKV_EXIT_OK; i++) {
    const skv_config *c = &suite.configs[i];
    if (skv_results_has(&res, c->name)) continue;
    char what[400];
    skv_config_describe(c, what, sizeof what);
    skv_progress_begin(&prog, c->name);
    const skv_gpu_model *m = skv_gpu_model_find(models, nmodels, c->gpu_model);
    const int32_t sms = c->sms ? c->sms : (measured ? gpu.info.sm_count : m->sms);
    skv_batch b;
    skv_plan p;
    skv_workload w;
    memset(&w, 0, sizeof w);
    if (!skv_config_make_batch(c, &b, err, sizeof err)) {
      rc = SKV_EXIT_FAIL;
      break;
    }
    bool ok = skv_plan_build(&b, c->policy, &c->opts, sms, &p, err, sizeof err);
    skv_gpu_params gp;
    model_params(m, sms, &gp);
    skv_prediction pr;
    if (ok) skv_cost_predict(&p, &b, &gp, &pr);
    const double cost = ref_cost(&b);
    const bool cpu_ref = suite.check_reference && cost <= (measured ? SKV_CPU_REF_BUDGET_GPU : SKV_CPU_REF_BUDGET_SIM);
    if (ok) {
      skv_workload_opts wo;
      skv_workload_opts_default(&wo);
      wo.seed = c->seed;
      wo.q_dtype = c->q_dtype;
      wo.quant = c->quant;
      wo.materialize = !measured && (cpu_ref || o->dump_dir);
      ok = skv_workload_make(&b, &wo, &w, err, sizeof err);
    }
    skv_run_row row;
    if (ok) {
      fill_row(&row, &suite, run_id, measured, c, &b, &p, &pr);
      row.batch_invariant_predicted = predicted_invariance(&b, c, sms, &p);
      skv_layout lay;
      ok = skv_run_lse_setup(c, &b, &p, &lay, &row.lse_correct_predicted, err, sizeof err);
    }
    char cdir[1200] = "";
    if (ok && o->dump_dir) {
      snprintf(cdir, sizeof cdir, "%s/%s", o->dump_dir, c->name);
      ok = mkdirs(cdir, err, sizeof err);
    }
    if (ok && measured) {
      const uint64_t t0 = skv_trace_clock_ns();
      skv_nvtx_push(c->name);
      skv_gpu_job job = {.suite = &suite, .cfg = c, .w = &w, .plan = &p, .cpu_reference = cpu_ref,
                         .ext_id = ((uint64_t)(i + 1)) << 24, .trace = o->trace_path ? &trace : NULL,
                         .dump_dir = o->dump_dir ? cdir : NULL};
      ok = skv_gpu_run_job(&gpu, &job, &row, err, sizeof err);
      skv_nvtx_pop();
      if (o->trace_path && ok) ok = skv_trace_add(&trace, "config", c->name, t0, skv_trace_clock_ns(), 0);
    } else if (ok) {
      if (cpu_ref) ok = sim_numerics(&w, &p, &row, err, sizeof err);
      if (ok && cpu_ref && quantized(c)) ok = sim_quant_error(&w, &row, err, sizeof err);
      if (ok && o->dump_dir) {
        /* The simulator's outputs are the reference's: O and LSE of the plan executed in double. */
        const int64_t no = (int64_t)b.num_requests * b.num_q_heads * b.head_dim, nl = (int64_t)b.num_requests * b.num_q_heads;
        double *ro = malloc(sizeof(double) * (size_t)no), *rl = malloc(sizeof(double) * (size_t)nl);
        float *lse = malloc(sizeof(float) * (size_t)nl);
        uint16_t *ob = malloc(sizeof(uint16_t) * (size_t)no);
        ok = ro && rl && lse && ob && skv_ref_execute_plan(&w, &p, false, ro, rl);
        if (ok) {
          const skv_dtype od = c->q_dtype == SKV_FP16 ? SKV_FP16 : SKV_BF16;
          for (int64_t k = 0; k < no; k++) skv_store_from_float(od, ob, k, (float)ro[k]);
          for (int64_t k = 0; k < nl; k++) lse[k] = (float)rl[k];
          const skv_layout L = logical_layout(&b);
          ok = skv_run_dump(cdir, &w, &p, w.k, w.v, ob, od, lse, &L, err, sizeof err);
        }
        free(ro), free(rl), free(lse), free(ob);
      }
    }
    if (ok) {
      const bool bad = (!isnan(row.o_rel_err) && row.o_rel_err > (c->q_dtype == SKV_FP16 ? 2e-3 : 1e-2)) ||
                       row.unwritten > 0 || row.bitwise_repeat == SKV_CHECK_NO ||
                       (row.batch_invariant != SKV_CHECK_NA && row.batch_invariant_predicted != SKV_CHECK_NA &&
                        row.batch_invariant != row.batch_invariant_predicted) ||
                       (row.lse_correct != SKV_CHECK_NA && row.lse_correct != row.lse_correct_predicted);
      failed_checks += bad;
      ok = skv_results_append(&res, &row, err, sizeof err);
      char result[600];
      if (measured)
        snprintf(result, sizeof result, "%s: %.2f us (predicted %.2f), %.3f of the read ceiling, err %.2e%s", c->name,
                 row.total_us, row.predicted_us, row.frac_of_read_ceiling, row.o_rel_err, bad ? "  CHECK FAILED" : "");
      else
        snprintf(result, sizeof result, "%s: predicted %.2f us, %lld CTAs, splits %lld..%lld%s", c->name,
                 row.predicted_us, (long long)row.ctas, (long long)row.num_splits_min, (long long)row.num_splits_max,
                 isnan(row.o_rel_err) ? "" : "; plan vs unsplit reference ok");
      if (ok) skv_progress_end(&prog, result);
      meta.configs_done = res.nlines;
    }
    if (!ok) {
      skv_progress_finish(&prog);
      fprintf(stderr, "skv run: configuration '%s': %s\n", c->name, err);
      rc = SKV_EXIT_FAIL;
    }
    skv_workload_free(&w);
    skv_plan_free(&p);
    skv_batch_free(&b);
  }
  skv_progress_finish(&prog);

  if (rc == SKV_EXIT_OK && o->trace_path && measured && !skv_trace_write(&trace, o->trace_path, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    rc = SKV_EXIT_FAIL;
  }
  if (rc == SKV_EXIT_OK) {
    if (!skv_gnuplot_available()) {
      snprintf(meta.plots_note, sizeof meta.plots_note, "skipped: gnuplot not found (install gnuplot-nox)");
      fprintf(stderr, "skv run: plots skipped: gnuplot not found (install gnuplot-nox; make run does)\n");
    } else if (!skv_plots_make(dir, (const char(*)[32])suite.plots, suite.nplots, measured, model0->read_tbps, err,
                               sizeof err)) {
      fprintf(stderr, "skv run: plots: %s\n", err);
      snprintf(meta.plots_note, sizeof meta.plots_note, "failed: %.200s", err);
      rc = SKV_EXIT_FAIL;
    } else {
      snprintf(meta.plots_note, sizeof meta.plots_note, "drawn in plots/ (PNG and SVG)");
    }
    meta.complete = rc == SKV_EXIT_OK;
  }
  utc_now(meta.ended, sizeof meta.ended, "%Y-%m-%dT%H:%M:%SZ");
  if (!write_meta(&meta, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    rc = SKV_EXIT_FAIL;
  }
  if (rc == SKV_EXIT_OK && failed_checks > 0) {
    fprintf(stderr, "skv run: %d configuration(s) failed a check (see results.csv)\n", failed_checks);
    rc = SKV_EXIT_FAIL;
  }
  if (rc == SKV_EXIT_OK) fprintf(stderr, "skv run: done: %s/results.csv, meta.json, plots/\n", dir);
  skv_trace_free(&trace);
  skv_results_close(&res);
  if (measured) skv_gpu_session_end(&gpu);
  free(models);
  skv_suite_free(&suite);
  return rc;
}
