/* run.c — `skv run`: validate a suite, then plan, predict, execute (GPU or simulator), check and record each configuration. */
#include "runner/run.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/args.h"
#include "out/atomic_file.h"
#include "suite/gpus.h"
#include "invariance.h"
#include "out/json.h"
#include "lse_layout.h"
#include "cli/plan_print.h"
#include "out/plots.h"
#include "check/numerics.h"
#include "runner/progress.h"
#include "reference.h"
#include "runner/run_dir.h"
#include "cli/version.h"


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

/* A path the run will write, checked before the run directory exists: a file (--trace: written
 * as PATH.tmp and renamed, so its directory must exist and take new files) or a directory
 * (--dump: made with its parents, so it, or the nearest existing directory above it, must take new
 * entries). */
static bool check_output_path(const char *flag, const char *path, bool is_dir, char *err, size_t errlen) {
  if (path[0] == '\0') {
    snprintf(err, errlen, "--%s: an empty path", flag);
    return false;
  }
  struct stat st;
  const bool here = stat(path, &st) == 0;
  if ((here && !S_ISDIR(st.st_mode) != !is_dir) || (!here && errno != ENOENT)) {
    snprintf(err, errlen, "--%s: %s: %s", flag, path,
             here ? (is_dir ? "is not a directory" : "is a directory") : strerror(errno));
    return false;
  }
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", path);
  for (bool found = here && is_dir; !found;) {
    char *slash = strrchr(dir, '/');
    while (slash && slash > dir && slash[1] == '\0') { /* "a/b/": the parent of b */
      *slash = '\0';
      slash = strrchr(dir, '/');
    }
    if (!slash) snprintf(dir, sizeof dir, ".");
    else slash[slash == dir] = '\0'; /* "/x": the root */
    found = stat(dir, &st) == 0;
    if ((found && !S_ISDIR(st.st_mode)) ||
        (!found && (errno != ENOENT || !is_dir || !slash || strcmp(dir, "/") == 0))) {
      snprintf(err, errlen, "--%s: %s: %s: %s", flag, path, dir, found ? "is not a directory" : strerror(errno));
      return false;
    }
  }
  /* access() cannot tell (root passes it on a read-only or a virtual file system): make an entry
   * there and remove it. */
  char probe[1100];
  snprintf(probe, sizeof probe, "%s/.skv-write-probe-%ld", dir, (long)getpid());
  if (mkdir(probe, 0700) != 0 || rmdir(probe) != 0) {
    snprintf(err, errlen, "--%s: %s: cannot write in %s: %s", flag, path, dir, strerror(errno));
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
  snprintf(row->v_dtype, sizeof row->v_dtype, "%s", skv_dtype_name(b->v_dtype));
  snprintf(row->kv_scale_mode, sizeof row->kv_scale_mode, "%s", skv_scale_mode_name(c->kv_scale_mode));
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
  const skv_kv_read read = skv_batch_kv_read(b);
  row->kv_bytes = read.kv;
  row->scale_bytes = read.scales;
  row->predicted_decode_us = pr->decode_us;
  row->predicted_combine_us = pr->combine_us;
  row->predicted_us = pr->total_us;
  snprintf(row->combine, sizeof row->combine, "%s", p->num_combine > 0 ? "kernel" : "-");
}

/* Request 0 alone: does the plan give it the same chunks as inside the batch? (sim/invariance.h) */
static skv_check predicted_invariance(const skv_batch *b, const skv_config *c, int32_t sms, const skv_plan *p) {
  bool same;
  char err[256];
  if (b->num_requests < 2 || !skv_predict_alone_vs_batch(b, p, 0, c->policy, &c->opts, sms, &same, err, sizeof err))
    return SKV_CHECK_NA;
  return same ? SKV_CHECK_YES : SKV_CHECK_NO;
}

/* The simulator's numerics: the plan executed in double against the unsplit reference, which
 * checks that the plan partitions each request and merges its chunks correctly. Every request and
 * KV head when that fits the budget (reference "plan-cpu"); else a sample (reference
 * "plan-cpu-sample"): the first and last request with all their KV heads, or only their first and
 * last KV head when that is still over the budget. */
static bool sim_numerics(const skv_workload *w, const skv_plan *p, double budget, skv_run_row *row, char *err,
                         size_t errlen) {
  const skv_batch *b = &w->batch;
  const int32_t B = b->num_requests, H = b->num_kv_heads, d = b->head_dim;
  int32_t reqs[2] = {0, B - 1}, heads[2] = {0, H - 1};
  int32_t nr = B > 1 ? 2 : 1, nh = H;
  bool sample = ref_cost(b) > budget;
  if (sample) {
    double c = 0;
    for (int32_t i = 0; i < nr; i++) c += (double)b->kvlen[reqs[i]] * (double)b->qlen[reqs[i]];
    if (2 * c * b->num_q_heads * d > budget) nh = H > 1 ? 2 : 1;
  } else {
    nr = B;
  }
  const int64_t rows = skv_batch_max_qlen(b) * skv_batch_group(b);
  double *ro = malloc(sizeof(double) * (size_t)(rows * d)), *rl = malloc(sizeof(double) * (size_t)rows);
  double *po = malloc(sizeof(double) * (size_t)(rows * d)), *pl = malloc(sizeof(double) * (size_t)rows);
  bool ok = ro && rl && po && pl;
  double num = 0, den = 0, mx = 0, lmx = 0;
  for (int32_t i = 0; i < nr && ok; i++)
    for (int32_t j = 0; j < nh && ok; j++) {
      const int32_t r = sample ? reqs[i] : i, h = nh == H ? j : heads[j];
      ok = skv_ref_states(w, r, h, 0, b->kvlen[r], ro, rl) && skv_ref_plan_states(w, p, r, h, po, pl);
      const int64_t n = b->qlen[r] * skv_batch_group(b);
      for (int64_t x = 0; x < n * d && ok; x++) {
        const double e = fabs(po[x] - ro[x]);
        num += e * e, den += ro[x] * ro[x];
        if (e > mx) mx = e;
      }
      for (int64_t x = 0; x < n && ok; x++)
        if (!(isinf(rl[x]) && pl[x] == rl[x]) && fabs(pl[x] - rl[x]) > lmx) lmx = fabs(pl[x] - rl[x]);
    }
  if (ok) {
    row->o_rel_err = den > 0 ? sqrt(num / den) : sqrt(num);
    row->o_max_abs = mx;
    row->lse_max_abs = lmx;
    snprintf(row->reference, sizeof row->reference, "%s", sample ? "plan-cpu-sample" : "plan-cpu");
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

/* A new run's meta.json: its identity (suite file and hash, run id, commit, command, start), the
 * mode and the device with its in-run ceilings, the GPU model, the column kinds. Progress fields
 * (complete, configurations_done, end_utc, plots) are set by meta_progress. */
static json_t *meta_new(const skv_run_opts *o, const skv_suite *s, const char *run_id, const char *mode_text,
                        const skv_gpu_session *gpu, const skv_gpu_model *model, const char *started) {
  json_t *m = json_object();
  char hash[32], host[256] = "";
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)s->file_hash);
  gethostname(host, sizeof host - 1);
  json_object_set_new(m, "suite", json_string(s->name));
  json_object_set_new(m, "suite_file", json_string(s->path));
  json_object_set_new(m, "suite_hash_fnv1a64", json_string(hash));
  json_object_set_new(m, "run_id", json_string(run_id));
  json_object_set_new(m, "skv_commit", json_string(skv_version));
  json_object_set_new(m, "command", json_string(o->command ? o->command : ""));
  json_object_set_new(m, "mode", json_string(gpu ? "measured" : "sim"));
  json_object_set_new(m, "mode_reason", json_string(mode_text));
  json_object_set_new(m, "start_utc", json_string(started));
  json_object_set_new(m, "end_utc", json_string(""));
  json_object_set_new(m, "complete", json_false());
  json_object_set_new(m, "configurations", json_integer(s->nconfigs));
  json_object_set_new(m, "configurations_done", json_integer(0));
  json_object_set_new(m, "repeat", json_integer(s->repeat));
  json_object_set_new(m, "warmup", json_integer(s->warmup));
  json_object_set_new(m, "host", json_string(host));
  if (gpu) {
    const skv_gpu_info *g = &gpu->info;
    char cc[16];
    snprintf(cc, sizeof cc, "%d.%d", g->cc_major, g->cc_minor);
    json_t *j = json_object();
    json_object_set_new(j, "name", json_string(g->name));
    json_object_set_new(j, "sm_count", json_integer(g->sm_count));
    json_object_set_new(j, "compute_capability", json_string(cc));
    json_object_set_new(j, "l2_bytes", json_integer(g->l2_bytes));
    json_object_set_new(j, "memory_bytes", json_integer(g->mem_bytes));
    json_object_set_new(j, "sm_clock_max_mhz", json_integer(g->sm_clock_mhz));
    json_object_set_new(j, "memory_clock_max_mhz", json_integer(g->mem_clock_mhz));
    json_object_set_new(j, "memory_bus_bits", json_integer(g->mem_bus_bits));
    json_object_set_new(j, "driver_version", json_integer(g->driver_version));
    json_object_set_new(j, "cuda_runtime_version", json_integer(g->runtime_version));
    json_object_set_new(j, "cupti_version", json_integer(g->cupti_version));
    json_object_set_new(j, "cupti_timing", json_boolean(gpu->use_cupti));
    json_object_set_new(j, "read_ceiling_tbps", json_real(gpu->read_tbps));
    json_object_set_new(j, "copy_ceiling_tbps", json_real(gpu->copy_tbps));
    json_object_set_new(m, "gpu", j);
  } else {
    json_object_set_new(m, "gpu", json_null());
  }
  if (model) {
    json_t *j = json_object();
    json_object_set_new(j, "name", json_string(model->name));
    json_object_set_new(j, "sms", json_integer(model->sms));
    json_object_set_new(j, "read_tbps", json_real(model->read_tbps));
    json_object_set_new(m, "gpu_model", j);
  }
  json_t *measured = json_array(), *predicted = json_array();
  for (int i = 0; skv_results_measured[i]; i++) json_array_append_new(measured, json_string(skv_results_measured[i]));
  for (int i = 0; skv_results_predicted[i]; i++) json_array_append_new(predicted, json_string(skv_results_predicted[i]));
  json_object_set_new(m, "measured_columns", measured);
  json_object_set_new(m, "predicted_columns", predicted);
  json_object_set_new(m, "resumes", json_array());
  json_object_set_new(m, "plots", json_string("not drawn yet"));
  return m;
}

static void meta_progress(json_t *m, int64_t done, bool complete, const char *plots_note) {
  char ended[32];
  utc_now(ended, sizeof ended, "%Y-%m-%dT%H:%M:%SZ");
  json_object_set_new(m, "configurations_done", json_integer(done));
  json_object_set_new(m, "complete", json_boolean(complete));
  json_object_set_new(m, "end_utc", json_string(ended));
  if (plots_note) json_object_set_new(m, "plots", json_string(plots_note));
}

/* A resume may continue only the run it continues: the same suite file (bytes), mode, skv build
 * and, measured, the same GPU. Returns false with err (the caller exits 2). */
static bool meta_same_run(const json_t *m, const skv_suite *s, const skv_gpu_session *gpu, const char *dir, char *err,
                          size_t errlen) {
  char hash[32];
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)s->file_hash);
  const char *mode = gpu ? "measured" : "sim";
  const json_t *g = json_object_get(m, "gpu");
  const char *gname = json_is_object(g) ? skv_meta_string(g, "name") : "";
  if (strcmp(skv_meta_string(m, "suite_hash_fnv1a64"), hash) != 0)
    snprintf(err, errlen, "--resume: %s was made by another suite file or another version of it (%s, hash %s; %s has hash %s)",
             dir, skv_meta_string(m, "suite_file"), skv_meta_string(m, "suite_hash_fnv1a64"), s->path, hash);
  else if (strcmp(skv_meta_string(m, "mode"), mode) != 0)
    snprintf(err, errlen, "--resume: %s is a %s run; this one would be %s", dir, skv_meta_string(m, "mode"), mode);
  else if (strcmp(skv_meta_string(m, "skv_commit"), skv_version) != 0)
    snprintf(err, errlen, "--resume: %s was made by skv %s; this is skv %s (rows of two builds would mix)", dir,
             skv_meta_string(m, "skv_commit"), skv_version);
  else if (gpu && strcmp(gname, gpu->info.name) != 0)
    snprintf(err, errlen, "--resume: %s was measured on %s; this GPU is %s", dir, gname, gpu->info.name);
  else return true;
  return false;
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

/* SIGINT / SIGTERM: the first one stops the run after the configuration in progress (its row is
 * written whole, meta.json says where it stopped, --resume continues it); a second one ends the
 * process at once. */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig) {
  interrupted = sig;
  signal(sig, SIG_DFL);
}

static void catch_interrupts(bool on) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on ? on_interrupt : SIG_DFL;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  interrupted = 0;
}

/* What is checked before the GPU is touched, beyond the suite itself: the paths the run writes
 * besides its directory (and --trace needs kernels to trace: a simulated run has none, and would
 * write nothing without a word); then the GPU kernels' rules (sim/support.h; the suite has refused
 * what nothing runs), naming every configuration only the simulator takes: an error for a GPU
 * run, a warning in a simulated one (its gpu_supported column says no). False after an error. */
static bool check_before_gpu(const skv_run_opts *o, const skv_suite *suite, bool simulated) {
  char err[2048];
  bool ok = (!o->trace_path || check_output_path("trace", o->trace_path, false, err, sizeof err)) &&
            (!o->dump_dir || check_output_path("dump", o->dump_dir, true, err, sizeof err));
  if (ok && o->trace_path && simulated) {
    snprintf(err, sizeof err, "--trace: %s, so there is nothing to trace (the trace holds GPU kernels)",
             o->sim_only ? "--sim-only runs no kernels" : "this host has no GPU");
    ok = false;
  }
  if (!ok) {
    fprintf(stderr, "skv run: %s\n", err);
    return false;
  }
  for (int32_t i = 0; i < suite->nconfigs; i++) {
    const skv_config *c = &suite->configs[i];
    if (skv_config_validate(c, err, sizeof err) == SKV_SUPPORT_GPU) continue;
    fprintf(stderr, "skv run: %s:%d:%d: %sconfiguration '%s': %s%s\n", suite->path, suite->sweep_line,
            suite->sweep_col, simulated ? "warning: " : "", c->name, err,
            simulated ? " (simulated only; its gpu_supported column says no)" : "");
    ok = ok && simulated;
  }
  return ok;
}

/* --plots-only: draw the suite's plots from an existing run's results.csv (for a run made where
 * gnuplot was missing); the run must be this suite file's, and meta.json's plots note is updated. */
static int replot(const skv_suite *suite, const skv_run_opts *o, const skv_gpu_model *model) {
  char err[2048];
  if (!o->out_dir) {
    fprintf(stderr, "skv run: --plots-only: give the run directory with --out\n");
    return SKV_EXIT_USAGE;
  }
  skv_run_dir d;
  bool busy;
  char path[1100];
  snprintf(path, sizeof path, "%s/meta.json", o->out_dir);
  if (!file_exists(path)) {
    fprintf(stderr, "skv run: --plots-only: %s: no such run (no meta.json)\n", o->out_dir);
    return SKV_EXIT_USAGE;
  }
  if (!skv_run_dir_open(&d, o->out_dir, &busy, err, sizeof err) || !skv_run_dir_read_meta(&d, err, sizeof err)) {
    fprintf(stderr, "skv run: --plots-only: %s\n", err);
    skv_run_dir_close(&d);
    return SKV_EXIT_USAGE;
  }
  char hash[32];
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)suite->file_hash);
  if (strcmp(skv_meta_string(d.meta, "suite_hash_fnv1a64"), hash) != 0) {
    fprintf(stderr, "skv run: --plots-only: %s holds a run of %s (hash %s), not of %s (hash %s)\n", o->out_dir,
            skv_meta_string(d.meta, "suite_file"), skv_meta_string(d.meta, "suite_hash_fnv1a64"), suite->path, hash);
    skv_run_dir_close(&d);
    return SKV_EXIT_USAGE;
  }
  const bool measured = strcmp(skv_meta_string(d.meta, "mode"), "measured") == 0;
  int rc = SKV_EXIT_OK;
  if (!skv_gnuplot_available()) {
    fprintf(stderr, "skv run: --plots-only: gnuplot not found (install gnuplot-nox)\n");
    rc = SKV_EXIT_FAIL;
  } else if (!skv_plots_make(o->out_dir, (const char(*)[32])suite->plots, suite->nplots, measured, model->read_tbps,
                             err, sizeof err)) {
    fprintf(stderr, "skv run: plots: %s\n", err);
    rc = SKV_EXIT_FAIL;
  } else {
    json_object_set_new(d.meta, "plots", json_string("drawn in plots/ (PNG and SVG) by skv run --plots-only"));
    if (!skv_run_dir_write_meta(&d, err, sizeof err)) {
      fprintf(stderr, "skv run: %s\n", err);
      rc = SKV_EXIT_FAIL;
    } else {
      fprintf(stderr, "skv run: plots drawn in %s/plots/\n", o->out_dir);
    }
  }
  skv_run_dir_close(&d);
  return rc;
}

/* The rows already in a resumed results.csv belong to this run: each one a configuration of the
 * suite, with the run's id. */
static bool rows_belong(const skv_results *res, const skv_suite *s, const char *run_id, char *err, size_t errlen) {
  for (int64_t i = 0; i < res->nrows; i++) {
    bool known = false;
    for (int32_t c = 0; c < s->nconfigs && !known; c++) known = strcmp(s->configs[c].name, res->configs[i]) == 0;
    if (!known) {
      snprintf(err, errlen, "--resume: %s row %lld: configuration '%s' is not in %s", res->path, (long long)i + 1,
               res->configs[i], s->path);
      return false;
    }
    if (strcmp(res->run_ids[i], run_id) != 0) {
      snprintf(err, errlen, "--resume: %s row %lld: run id '%s', the run's is '%s'", res->path, (long long)i + 1,
               res->run_ids[i], run_id);
      return false;
    }
    for (int64_t j = 0; j < i; j++)
      if (strcmp(res->configs[j], res->configs[i]) == 0) {
        snprintf(err, errlen, "--resume: %s rows %lld and %lld are both configuration '%s'", res->path,
                 (long long)j + 1, (long long)i + 1, res->configs[i]);
        return false;
      }
  }
  return true;
}

/* Everything one `skv run` holds while it runs. */
typedef struct run_ctx {
  const skv_run_opts *o;
  skv_suite suite;
  skv_gpu_model *models;
  int32_t nmodels;
  bool measured;
  skv_gpu_session gpu;
  char mode_text[256];
  char run_id[96];
  skv_run_dir dir;
  skv_results res;
  skv_trace trace;
  int failed_checks;
} run_ctx;

/* Every configuration before any GPU work: batch, plan, kernel support, memory. */
static int validate(run_ctx *r) {
  char err[2048];
  int rc = SKV_EXIT_OK;
  /* Validate every configuration before any GPU work: batch, plan, kernel support, memory. */
  for (int32_t i = 0; i < r->suite.nconfigs && rc == SKV_EXIT_OK; i++) {
    const skv_config *c = &r->suite.configs[i];
    const skv_gpu_model *m = skv_gpu_model_find(r->models, r->nmodels, c->gpu_model);
    const int32_t sms = c->sms ? c->sms : (r->measured ? r->gpu.info.sm_count : m->sms);
    skv_batch b;
    skv_plan p;
    bool ok = skv_config_make_batch(c, &b, err, sizeof err);
    if (ok) {
      ok = skv_plan_build(&b, c->policy, &c->opts, sms, &p, err, sizeof err);
      if (ok && r->measured) {
        const int64_t need = skv_gpu_job_bytes(&b, &p, r->gpu.info.l2_bytes);
        if (need > r->gpu.free_bytes) {
          snprintf(err, sizeof err, "needs %.2f GiB of GPU memory, %.2f GiB are free", (double)need / (1 << 30),
                   (double)r->gpu.free_bytes / (1 << 30));
          ok = false;
        }
      }
      if (ok) skv_plan_free(&p);
      skv_batch_free(&b);
    }
    if (!ok) {
      fprintf(stderr, "skv run: %s:%d:%d: configuration '%s': %s\n", r->suite.path, c->line, c->col, c->name, err);
      rc = SKV_EXIT_USAGE;
    }
  }

  return rc;
}

/* The run directory, locked; meta.json made (a new run) or read and checked (a resume);
 * results.csv opened. Exit code 2 for every refusal: nothing was run yet. */
static int open_run(run_ctx *r) {
  const skv_run_opts *o = r->o;
  char err[2048], dir[1024], started[32], stamp[32];
  utc_now(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ");
  utc_now(stamp, sizeof stamp, "%Y%m%d-%H%M%S");
  snprintf(r->run_id, sizeof r->run_id, "%s-%s%s", stamp, skv_version, r->measured ? "" : "-sim");
  char hash[32], base[600];
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)r->suite.file_hash);
  snprintf(base, sizeof base, "results/%s", r->suite.name);
  if (o->out_dir) {
    snprintf(dir, sizeof dir, "%s", o->out_dir);
  } else if (o->resume) {
    if (!skv_run_dir_find_unfinished(base, hash, dir, sizeof dir, err, sizeof err)) {
      fprintf(stderr, "skv run: %s\n", err);
      return SKV_EXIT_USAGE;
    }
  } else {
    snprintf(dir, sizeof dir, "%s/%s", base, r->run_id);
  }
  bool busy;
  if (!skv_run_dir_open(&r->dir, dir, &busy, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  char meta_path[1100];
  snprintf(meta_path, sizeof meta_path, "%s/meta.json", dir);
  const bool resuming = o->resume && file_exists(meta_path);
  const skv_gpu_model *model0 = skv_gpu_model_find(r->models, r->nmodels, r->suite.configs[0].gpu_model);
  if (resuming) {
    if (!skv_run_dir_read_meta(&r->dir, err, sizeof err) ||
        !meta_same_run(r->dir.meta, &r->suite, r->measured ? &r->gpu : NULL, dir, err, sizeof err)) {
      fprintf(stderr, "skv run: %s\n", err);
      return SKV_EXIT_USAGE;
    }
    snprintf(r->run_id, sizeof r->run_id, "%s", skv_meta_string(r->dir.meta, "run_id"));
    json_t *entry = json_object(), *resumes = json_object_get(r->dir.meta, "resumes");
    if (!json_is_array(resumes)) json_object_set_new(r->dir.meta, "resumes", resumes = json_array());
    json_object_set_new(entry, "start_utc", json_string(started));
    json_object_set_new(entry, "command", json_string(o->command ? o->command : ""));
    json_object_set_new(entry, "configurations_done_before", json_integer(skv_meta_int(r->dir.meta, "configurations_done")));
    json_t *stop = json_object_get(r->dir.meta, "interrupted");
    if (stop) {
      json_object_set(entry, "after_interruption", stop);
      json_object_del(r->dir.meta, "interrupted");
    }
    if (r->measured) {
      json_object_set_new(entry, "read_ceiling_tbps", json_real(r->gpu.read_tbps));
      json_object_set_new(entry, "copy_ceiling_tbps", json_real(r->gpu.copy_tbps));
    }
    json_array_append_new(resumes, entry);
  } else {
    char csv[1100];
    snprintf(csv, sizeof csv, "%s/results.csv", dir);
    if (file_exists(meta_path) || file_exists(csv)) {
      fprintf(stderr, "skv run: %s holds a run: --resume to continue it, or another --out\n", dir);
      return SKV_EXIT_USAGE;
    }
    r->dir.meta = meta_new(o, &r->suite, r->run_id, r->mode_text, r->measured ? &r->gpu : NULL, model0, started);
  }
  char note[256];
  if (!skv_results_open(&r->res, dir, resuming, note, sizeof note, err, sizeof err) ||
      !rows_belong(&r->res, &r->suite, r->run_id, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  if (note[0]) fprintf(stderr, "skv run: %s: %s\n", r->res.path, note);
  if (resuming && json_is_true(json_object_get(r->dir.meta, "complete"))) {
    fprintf(stderr, "skv run: %s is complete: nothing to resume\n", dir);
    return -1;
  }
  meta_progress(r->dir.meta, r->res.nrows, false, NULL);
  if (!skv_run_dir_write_meta(&r->dir, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    return SKV_EXIT_FAIL;
  }
  fprintf(stderr, "skv run: results in %s/%s\n", dir, r->res.nrows ? " (resuming)" : "");
  return SKV_EXIT_OK;
}

/* A row fails when a check failed or when a check the suite asked for did not run. */
static bool row_failed(const run_ctx *r, const skv_config *c, const skv_batch *b, const skv_run_row *row) {
  const skv_suite *s = &r->suite;
  const bool not_run = (s->check_reference && strcmp(row->reference, "none") == 0) ||
                       (r->measured && s->check_bitwise_repeat && row->bitwise_repeat == SKV_CHECK_NA) ||
                       (r->measured && s->check_batch_invariance && b->num_requests > 1 &&
                        row->batch_invariant == SKV_CHECK_NA) ||
                       (r->measured && row->lse_correct_predicted != SKV_CHECK_NA && row->lse_correct == SKV_CHECK_NA);
  return not_run || (!isnan(row->o_rel_err) && row->o_rel_err > (c->q_dtype == SKV_FP16 ? 2e-3 : 1e-2)) ||
         row->unwritten > 0 || row->bitwise_repeat == SKV_CHECK_NO ||
         (row->batch_invariant != SKV_CHECK_NA && row->batch_invariant_predicted != SKV_CHECK_NA &&
          row->batch_invariant != row->batch_invariant_predicted) ||
         (row->lse_correct != SKV_CHECK_NA && row->lse_correct != row->lse_correct_predicted);
}

/* One configuration: plan, predict, execute (GPU or simulator), check; its row in *row. */
static bool run_config(run_ctx *r, int32_t i, skv_run_row *row, bool *bad, char *err, size_t errlen) {
  const skv_run_opts *o = r->o;
  const skv_config *c = &r->suite.configs[i];
  const bool measured = r->measured;
  const skv_gpu_model *m = skv_gpu_model_find(r->models, r->nmodels, c->gpu_model);
  const int32_t sms = c->sms ? c->sms : (measured ? r->gpu.info.sm_count : m->sms);
  skv_batch b;
  skv_plan p;
  skv_workload w;
  memset(&w, 0, sizeof w);
  memset(&p, 0, sizeof p);
  if (!skv_config_make_batch(c, &b, err, errlen)) return false;
  bool ok = skv_plan_build(&b, c->policy, &c->opts, sms, &p, err, errlen);
  skv_gpu_params gp;
  model_params(m, sms, &gp);
  skv_prediction pr;
  if (ok) skv_cost_predict(&p, &b, &gp, &pr);
  const double cost = ref_cost(&b);
  const bool cpu_ref = r->suite.check_reference && cost <= (measured ? SKV_CPU_REF_BUDGET_GPU : SKV_CPU_REF_BUDGET_SIM);
  if (ok) {
    skv_workload_opts wo;
    skv_workload_opts_default(&wo);
    wo.seed = c->seed;
    wo.q_dtype = c->q_dtype;
    wo.quant = c->quant;
    wo.materialize = !measured && (cpu_ref || o->dump_dir);
    ok = skv_workload_make(&b, &wo, &w, err, errlen);
  }
  if (ok) {
    fill_row(row, &r->suite, r->run_id, measured, c, &b, &p, &pr);
    char why[256];
    row->gpu_supported = skv_config_validate(c, why, sizeof why) == SKV_SUPPORT_GPU ? SKV_CHECK_YES : SKV_CHECK_NO;
    row->batch_invariant_predicted = predicted_invariance(&b, c, sms, &p);
    skv_layout lay;
    ok = skv_run_lse_setup(c, &b, &p, &lay, &row->lse_correct_predicted, err, errlen);
  }
  char cdir[1200] = "";
  if (ok && o->dump_dir) {
    snprintf(cdir, sizeof cdir, "%s/%s", o->dump_dir, c->name);
    ok = skv_mkdirs(cdir, err, errlen);
  }
  if (ok && measured) {
    const uint64_t t0 = skv_trace_clock_ns();
    skv_nvtx_push(c->name);
    skv_gpu_job job = {.suite = &r->suite, .cfg = c, .w = &w, .plan = &p, .cpu_reference = cpu_ref,
                       .ext_id = ((uint64_t)(i + 1)) << 24, .trace = o->trace_path ? &r->trace : NULL,
                       .dump_dir = o->dump_dir ? cdir : NULL};
    ok = skv_gpu_run_job(&r->gpu, &job, row, err, errlen);
    skv_nvtx_pop();
    if (o->trace_path && ok) ok = skv_trace_add(&r->trace, "config", c->name, t0, skv_trace_clock_ns(), 0);
  } else if (ok) {
    if (r->suite.check_reference) ok = sim_numerics(&w, &p, SKV_CPU_REF_BUDGET_SIM, row, err, errlen);
    if (ok && cpu_ref && quantized(c)) ok = sim_quant_error(&w, row, err, errlen);
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
        ok = skv_run_dump(cdir, &w, &p, w.k, w.v, ob, od, lse, &L, err, errlen);
      } else if (!ro || !rl || !lse || !ob) {
        snprintf(err, errlen, "dump: out of memory");
      }
      free(ro), free(rl), free(lse), free(ob);
    }
  }
  if (ok) *bad = row_failed(r, c, &b, row);
  skv_workload_free(&w);
  skv_plan_free(&p);
  skv_batch_free(&b);
  return ok;
}

/* After the loop: the trace, the plots, meta.json's last word, the verdict. */
static int finish_run(run_ctx *r, int rc) {
  char err[2048], note[300] = "";
  const char *dir = r->dir.path;
  const bool stopped = interrupted != 0;
  if (rc == SKV_EXIT_OK && !stopped && r->o->trace_path && r->measured &&
      !skv_trace_write(&r->trace, r->o->trace_path, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    rc = SKV_EXIT_FAIL;
  }
  bool complete = false;
  if (rc == SKV_EXIT_OK && !stopped) {
    const skv_gpu_model *model0 = skv_gpu_model_find(r->models, r->nmodels, r->suite.configs[0].gpu_model);
    if (!skv_gnuplot_available()) {
      snprintf(note, sizeof note, "skipped: gnuplot not found (install gnuplot-nox)");
      fprintf(stderr, "skv run: plots skipped: gnuplot not found (install gnuplot-nox; make run does)\n");
    } else if (!skv_plots_make(dir, (const char(*)[32])r->suite.plots, r->suite.nplots, r->measured,
                               model0->read_tbps, err, sizeof err)) {
      fprintf(stderr, "skv run: plots: %s\n", err);
      snprintf(note, sizeof note, "failed: %.200s", err);
      rc = SKV_EXIT_FAIL;
    } else {
      snprintf(note, sizeof note, "drawn in plots/ (PNG and SVG)");
    }
    complete = rc == SKV_EXIT_OK;
  }
  if (stopped) {
    char what[128];
    snprintf(what, sizeof what, "signal %d after %lld of %d configurations", (int)interrupted,
             (long long)r->res.nrows, r->suite.nconfigs);
    json_object_set_new(r->dir.meta, "interrupted", json_string(what));
    fprintf(stderr, "skv run: interrupted (%s); continue with: skv run %s --resume --out %s\n", what, r->suite.path,
            dir);
    rc = 128 + (int)interrupted;
  }
  meta_progress(r->dir.meta, r->res.nrows, complete, note[0] ? note : NULL);
  if (!skv_run_dir_write_meta(&r->dir, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    if (rc == SKV_EXIT_OK) rc = SKV_EXIT_FAIL;
  }
  if (rc == SKV_EXIT_OK && r->failed_checks > 0) {
    fprintf(stderr, "skv run: %d configuration(s) failed a check (see results.csv)\n", r->failed_checks);
    rc = SKV_EXIT_FAIL;
  }
  if (rc == SKV_EXIT_OK) fprintf(stderr, "skv run: done: %s/results.csv, meta.json, plots/\n", dir);
  return rc;
}

/* Seconds on the monotonic clock. */
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int run_loop(run_ctx *r) {
  char err[2048];
  int rc = SKV_EXIT_OK;
  /* A testing hook: raise SIGINT after this many configurations of this process (the real signal
   * path, at a chosen point). */
  const char *stop_env = getenv("SKV_TEST_INTERRUPT_AFTER");
  const long stop_after = stop_env ? strtol(stop_env, NULL, 10) : -1;
  long ran = 0;
  skv_progress prog;
  skv_progress_init(&prog, stderr, r->suite.nconfigs, r->res.nrows);
  double last_meta = now_s();
  for (int32_t i = 0; i < r->suite.nconfigs && rc == SKV_EXIT_OK && !interrupted; i++) {
    const skv_config *c = &r->suite.configs[i];
    if (skv_results_has(&r->res, c->name)) continue;
    skv_progress_begin(&prog, c->name);
    skv_run_row row;
    bool bad = false;
    bool ok = run_config(r, i, &row, &bad, err, sizeof err) && skv_results_append(&r->res, &row, err, sizeof err);
    if (ok) {
      r->failed_checks += bad;
      char result[600];
      if (r->measured)
        snprintf(result, sizeof result, "%s: %.2f us (predicted %.2f), %.3f of the read ceiling, err %.2e%s", c->name,
                 row.total_us, row.predicted_us, row.frac_of_read_ceiling, row.o_rel_err, bad ? "  CHECK FAILED" : "");
      else
        snprintf(result, sizeof result, "%s: predicted %.2f us, %lld CTAs, splits %lld..%lld%s%s", c->name,
                 row.predicted_us, (long long)row.ctas, (long long)row.num_splits_min, (long long)row.num_splits_max,
                 isnan(row.o_rel_err) ? "" : "; plan vs unsplit reference ok", bad ? "  CHECK FAILED" : "");
      skv_progress_end(&prog, result);
      /* meta.json's progress, at most once a second (and always at the end). */
      if (now_s() - last_meta >= 1.0) {
        meta_progress(r->dir.meta, r->res.nrows, false, NULL);
        ok = skv_run_dir_write_meta(&r->dir, err, sizeof err);
        last_meta = now_s();
      }
      if (++ran == stop_after) raise(SIGINT);
    }
    if (!ok) {
      skv_progress_finish(&prog);
      fprintf(stderr, "skv run: configuration '%s': %s\n", c->name, err);
      rc = SKV_EXIT_FAIL;
    }
    if (interrupted && i + 1 < r->suite.nconfigs) {
      skv_progress_finish(&prog);
      fprintf(stderr, "skv run: interrupt: stopping after '%s' (its row is written)\n", c->name);
    }
  }
  skv_progress_finish(&prog);
  return rc;
}

static void run_free(run_ctx *r) {
  skv_trace_free(&r->trace);
  skv_results_close(&r->res);
  skv_run_dir_close(&r->dir);
  if (r->measured) skv_gpu_session_end(&r->gpu);
  free(r->models);
  skv_suite_free(&r->suite);
}

int skv_run_suite(const skv_run_opts *o) {
  char err[2048];
  run_ctx *r = calloc(1, sizeof *r);
  if (!r) {
    fprintf(stderr, "skv run: out of memory\n");
    return SKV_EXIT_FAIL;
  }
  r->o = o;
  r->dir.lock_fd = -1;
  r->res.fd = -1;
  if (!skv_suite_load(o->suite_path, &r->suite, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    free(r);
    return SKV_EXIT_USAGE;
  }
  char gpus_buf[1024];
  const char *gpus_path = o->gpus_path ? o->gpus_path : default_gpus_path(o->suite_path, gpus_buf, sizeof gpus_buf);
  int rc = SKV_EXIT_OK;
  if (!skv_gpu_models_load(gpus_path, &r->models, &r->nmodels, err, sizeof err) ||
      !skv_suite_check_models(&r->suite, r->models, r->nmodels, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    rc = SKV_EXIT_USAGE;
  } else if (o->plots_only) {
    rc = replot(&r->suite, o, skv_gpu_model_find(r->models, r->nmodels, r->suite.configs[0].gpu_model));
  } else if (!check_before_gpu(o, &r->suite, o->sim_only || !skv_gpu_present())) {
    rc = SKV_EXIT_USAGE;
  } else if (o->sim_only) {
    snprintf(r->mode_text, sizeof r->mode_text, "--sim-only: planner, cost model and CPU reference; nothing measured");
  } else if (!skv_gpu_present()) {
    snprintf(r->mode_text, sizeof r->mode_text,
             "no GPU on this host: SIMULATOR ONLY (planner, cost model, CPU reference); nothing measured");
  } else if (!skv_gpu_session_begin(!o->no_cupti, &r->gpu, err, sizeof err)) {
    fprintf(stderr, "skv run: GPU setup failed: %s\n", err);
    rc = SKV_EXIT_FAIL;
  } else {
    r->measured = true;
    snprintf(r->mode_text, sizeof r->mode_text, "GPU %.100s (%d SMs), kernel times by %s", r->gpu.info.name,
             r->gpu.info.sm_count, r->gpu.use_cupti ? "CUPTI" : "CUDA events");
  }
  if (rc == SKV_EXIT_OK && !o->plots_only) {
    fprintf(stderr, "skv run: suite %s (%d configurations): %s\n", r->suite.name, r->suite.nconfigs, r->mode_text);
    rc = validate(r);
    if (rc == SKV_EXIT_OK) rc = open_run(r);
    if (rc == SKV_EXIT_OK) {
      catch_interrupts(true);
      rc = run_loop(r);
      rc = finish_run(r, rc);
      catch_interrupts(false);
    } else if (rc < 0) {
      rc = SKV_EXIT_OK; /* a resume of a complete run: nothing to do */
    }
  }
  run_free(r);
  free(r);
  return rc;
}
