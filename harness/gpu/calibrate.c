/* calibrate.c — `skv calibrate`: the cost model's numbers for the GPU at hand, measured and fitted.
 *
 * The model (sim/cost_model.h) prices a plan, s the GPU's stream of the batch's cache, as
 *   decode  = launch + s.fixed + s.fixed_sm * first-wave CTAs / SMs + max(bytes / s.stream, schedule)
 *   combine = launch + waves * (combine_item + combine_chunk * chunks) + partial bytes / read
 * and the schedule of n resident CTAs shares agg(n) = ((n s.cta)^-k + s.stream^-k)^(-1/k).
 * What is measured, and what each measurement gives (q bf16, 32 q heads, 8 KV heads, d 128,
 * page 16; CUPTI kernel times, median of the repeats, the KV never in L2):
 *   read          the in-run read-stream ceiling (gpu_ceiling.h), as `skv bench` measures it;
 *   ctas_per_sm   the occupancy API for each kernel form and head dim (skv_decode_occupancy);
 *   combine       the combine kernel of requests split in chunks of 64 tokens: 2 chunks at 1, 2
 *                 and 4 waves of items, 16 and 64 chunks at one wave; least squares over the five
 *                 (sim/cost_fit.h) gives launch, combine_item and combine_chunk;
 *   streams       for each cache kind (bf16, fp8, int8, int8 K with bf16 V), eight decode plans:
 *                 one request of 64 and one of 131072 tokens under policy none (8 CTAs on 8 SMs,
 *                 differing only in the bytes each streams: the slope of time over bytes per CTA is
 *                 1 / r, r each CTA's rate, so cta solves agg(8) / 8 = r), then 1 x 4096 in chunks
 *                 of 128 (256 CTAs), 1 x 32768 in chunks of 2048 (128), 8 x 4096 in chunks of 512
 *                 (512), 1 x 16384 in chunks of 256 (512), 32 x 4096 and 64 x 8192 unsplit (256 and
 *                 512 CTAs of 1 and 2 MB); stream, fixed and fixed_sm minimize the squared relative
 *                 errors of the model's decode times over all eight (skv_fit_stream);
 *   cta_us        128 x 2048 bf16 unsplit (1024 CTAs, 4 waves) and in chunks of 256 (8192 CTAs, 31
 *                 waves): the same bytes, so the decode time the fitted model leaves unexplained in
 *                 the second over the first, per CTA-slot past the first wave;
 *   l2_tbps       96 requests sharing 3072 tokens of pages (+ 32 their own) under lab: the rate of
 *                 the rereads that makes the model's decode time the measured one (fit_l2);
 *   cta_tflops    one request of 64 queries over 8192 keys, no mask, unsplit (32 CTAs of 64-row
 *                 tiles, one per SM): one CTA's tensor rate that makes it the measured (fit_mma);
 *   mma_tflops    one request of 512 queries over 4096 keys, no mask, unsplit (a prefix pass of
 *                 256 such CTAs, compute-bound): the GPU's tensor rate likewise (fit_mma);
 *   merge, prefix cascades of 32 and 256 requests sharing 1024 tokens: the merge kernel's time
 *                 less its launch and bytes, a line in the (token, q head) pairs; the prefix pass's
 *                 excess over the model, their mean (fit_merge).
 * The residuals are the fitted model's predictions of every measured point, and of check points
 * the fit never saw (each kind at 8 x 4096 under lab, 32 x 16384 under fa2, 128 x 8192 under none,
 * decode and combine together). The held-out validation of the model over shapes the fit never
 * saw (group sizes, head dims, pages, length mixes) is experiments/model_heldout.yaml. */
#include "gpu/calibrate.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check/numerics.h"
#include "cost_fit.h"
#include "cascade_cost.h"
#include "gpu/gpu_cascade.h"
#include "cost_model.h"
#include "gpu/gpu_ceiling.h"
#include "gpu/gpu_cupti.h"
#include "gpu/gpu_exec.h"
#include "gpu/gpu_info.h"
#include "gpu/gpu_timing.h"
#include "lse_layout.h"
#include "plan.h"
#include "workload.h"

/* The calibration's shape: decode with q bf16, 32 q heads over 8 KV heads, head dim 128, page 16. */
enum { CAL_HQ = 32, CAL_HKV = 8, CAL_D = 128, CAL_PAGE = 16 };
/* The shape's slots of the per-variant tables (head dim 128, group 4). */
enum { CAL_DSLOT = 1, CAL_GSLOT = 1 };

typedef struct cal_ctx {
  const skv_calibrate_opts *o;
  skv_gpu_info info;
  uint64_t ext;
  FILE *log;
} cal_ctx;

/* The calibration batch of a stream kind: bf16 / bf16, fp8 / fp8 (per-tensor scales), int8 / int8
 * and int8 K with a bf16 V (per-token-head scales). */
static bool make_batch(int32_t n, int64_t len, skv_stream_kind kind, int32_t hq, int32_t d, skv_batch *b, char *err,
                       size_t errlen) {
  if (!skv_batch_alloc(b, n)) {
    snprintf(err, errlen, "out of memory");
    return false;
  }
  for (int32_t r = 0; r < n; r++) b->kvlen[r] = len, b->qlen[r] = 1;
  b->num_q_heads = hq, b->num_kv_heads = CAL_HKV, b->head_dim = d, b->page_size = CAL_PAGE;
  static const skv_dtype k[SKV_STREAM_COUNT] = {SKV_BF16, SKV_FP8_E4M3, SKV_INT8, SKV_INT8};
  static const skv_dtype v[SKV_STREAM_COUNT] = {SKV_BF16, SKV_FP8_E4M3, SKV_INT8, SKV_BF16};
  b->kv_dtype = k[kind], b->v_dtype = v[kind];
  b->kv_scale_mode = b->kv_dtype == SKV_INT8 ? SKV_SCALE_PER_TOKEN_HEAD : SKV_SCALE_PER_TENSOR;
  return true;
}

/* Plan b under policy p for model g, run it once with poisoned outputs (every output must be
 * written), then time it (decode and combine kernels apart: the combine is never fused here). */
static bool measure_shared(cal_ctx *c, const skv_batch *b, const skv_share *share, skv_policy p,
                           const skv_policy_opts *po, const skv_gpu *g, skv_plan *pl, skv_timing *t, char *err,
                           size_t errlen) {
  skv_workload_opts wo;
  skv_workload_opts_default(&wo);
  wo.share = share;
  wo.seed = 7000 + c->ext;
  wo.q_dtype = SKV_BF16;
  if (b->kv_dtype == SKV_FP8_E4M3) wo.quant.k_scale = 0.5f, wo.quant.v_scale = 0.25f;
  wo.materialize = false;
  skv_workload w;
  skv_gpu_batch gb;
  skv_gpu_rotation rot;
  skv_gpu_plan gp;
  bool have_w = false, have_b = false, have_r = false, have_p = false, have_gp = false;
  void *o = NULL;
  float *lse = NULL;
  bool ok = (have_w = skv_workload_make(b, &wo, &w, err, errlen)) &&
            (have_b = skv_gpu_batch_upload(&w, NULL, &gb, err, errlen)) &&
            (have_r = skv_gpu_rotation_make(&gb, &w, c->info.l2_bytes, &rot, err, errlen)) &&
            (have_p = skv_plan_build(b, p, po, g, pl, err, errlen)) &&
            (have_gp = skv_gpu_plan_upload(pl, w.page_indptr, &gp, err, errlen));
  if (ok) {
    o = malloc((size_t)gb.o_elems * 2);
    lse = malloc((size_t)gb.lse_elems * sizeof *lse);
    if (!o || !lse) {
      snprintf(err, errlen, "out of memory");
      ok = false;
    }
  }
  if (ok) {
    gp.dev.fused_combine = false;
    ok = skv_gpu_poison(&gb, err, errlen) && skv_gpu_run(&gb, &gp, 0, err, errlen) &&
         skv_gpu_download(&gb, o, lse, err, errlen);
    const int64_t nan = ok ? skv_count_nan(gb.prob.o_dtype, o, gb.o_elems, lse, gb.lse_elems) : 0;
    if (ok && nan > 0) {
      snprintf(err, errlen, "%lld outputs unwritten", (long long)nan);
      ok = false;
    }
  }
  if (ok)
    ok = skv_gpu_time(&gb, &gp, &rot, c->o->warmup, c->o->repeat, c->o->use_cupti,
                      SKV_CALIBRATE_EXT_BASE + (c->ext << 20), NULL, t, err, errlen);
  c->ext++;
  free(o);
  free(lse);
  if (have_gp) skv_gpu_plan_free(&gp);
  if (have_r) skv_gpu_rotation_free(&rot);
  if (have_b) skv_gpu_batch_free(&gb);
  if (have_w) skv_workload_free(&w);
  if (!ok && have_p) skv_plan_free(pl);
  return ok;
}

static bool measure(cal_ctx *c, const skv_batch *b, skv_policy p, const skv_policy_opts *po, const skv_gpu *g,
                    skv_plan *pl, skv_timing *t, char *err, size_t errlen) {
  return measure_shared(c, b, NULL, p, po, g, pl, t, err, errlen);
}

/* A measured point kept for the residuals: its batch, plan and time. */
typedef struct cal_point {
  char what[96];
  bool fitted;
  skv_batch b;
  skv_plan p;
  double us; /* decode, or combine for the combine points, or the total for the check points */
  bool combine_only;
  int64_t shared_bytes; /* rereads of pages shared by requests (skv_cost_predict_shared) */
} cal_point;

static bool point_shape(cal_ctx *c, cal_point *pt, const char *what, bool fitted, int32_t n, int64_t len,
                        skv_stream_kind kind, int32_t hq, int32_t d, skv_policy p, const skv_policy_opts *po,
                        const skv_gpu *g, bool combine_only, char *err, size_t errlen) {
  memset(pt, 0, sizeof *pt);
  snprintf(pt->what, sizeof pt->what, "%s", what);
  pt->fitted = fitted;
  pt->combine_only = combine_only;
  skv_timing t;
  if (!make_batch(n, len, kind, hq, d, &pt->b, err, errlen)) return false;
  if (!measure(c, &pt->b, p, po, g, &pt->p, &t, err, errlen)) {
    skv_batch_free(&pt->b);
    return false;
  }
  pt->us = combine_only ? t.combine_us : (fitted ? t.decode_us : t.total_us);
  if (c->log) {
    fprintf(c->log, "  %-44s decode %9.2f us, combine %7.2f us\n", what, t.decode_us, t.combine_us);
    fflush(c->log);
  }
  return true;
}

/* A point of the calibration's own shape (CAL_HQ, CAL_D). */
static bool point(cal_ctx *c, cal_point *pt, const char *what, bool fitted, int32_t n, int64_t len, skv_stream_kind kind,
                  skv_policy p, const skv_policy_opts *po, const skv_gpu *g, bool combine_only, char *err,
                  size_t errlen) {
  return point_shape(c, pt, what, fitted, n, len, kind, CAL_HQ, CAL_D, p, po, g, combine_only, err, errlen);
}

static void default_name(const char *device, char *out, size_t len) {
  const char *s = strncmp(device, "NVIDIA ", 7) == 0 ? device + 7 : device;
  size_t k = 0;
  for (; *s && k + 1 < len; s++) {
    const char ch = *s;
    if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_') out[k++] = ch;
    else if (ch >= 'A' && ch <= 'Z') out[k++] = (char)(ch - 'A' + 'a');
    else if (k > 0 && out[k - 1] != '-') out[k++] = '-';
  }
  while (k > 0 && out[k - 1] == '-') k--;
  out[k] = '\0';
  if (k == 0) snprintf(out, len, "gpu");
}

/* Resident decode CTAs per SM of every form and head dim, from the occupancy API. */
static bool occupancy(skv_gpu *g, char *err, size_t errlen) {
  static float dummy;
  static const struct { skv_dtype k, v; int group; bool token; } form[SKV_FORM_COUNT] = {
      [SKV_FORM_16BIT] = {SKV_BF16, SKV_BF16, 4, false},
      [SKV_FORM_8BIT_COLS] = {SKV_FP8_E4M3, SKV_FP8_E4M3, 4, false},
      [SKV_FORM_8BIT_ROWS] = {SKV_FP8_E4M3, SKV_FP8_E4M3, 16, false},
      [SKV_FORM_INT8K_16V] = {SKV_INT8, SKV_BF16, 4, true},
  };
  for (int f = 0; f < SKV_FORM_COUNT; f++)
    for (int di = 0; di < SKV_GPU_HEAD_DIMS; di++) {
      skv_decode_problem p;
      memset(&p, 0, sizeof p);
      p.num_requests = 1, p.total_q = 1, p.num_q_heads = 2 * form[f].group, p.num_kv_heads = 2, p.head_dim = 64 << di;
      p.page_size = 16, p.k_dtype = form[f].k, p.v_dtype = form[f].v, p.q_dtype = p.o_dtype = SKV_BF16;
      p.per_token_head = form[f].token;
      p.d_k_token_scale = p.d_v_token_scale = p.d_v_channel_scale = &dummy; /* not read: nothing launches */
      p.softmax_scale = 0.1f;
      p.lse_layout = skv_lse_layout_logical(1, 2, form[f].group);
      int n = 0;
      if (skv_decode_occupancy(&p, &n, err, errlen) != 0) return false;
      g->ctas_per_sm[f][di] = n;
    }
  return true;
}

/* The value of *term in [lo, hi] at which the model's decode time of point pt equals its measured
 * time (the time falls as the term rises); the bound reached when none does. */
static bool solve_term(const cal_point *pt, skv_gpu *g, double *term, double lo, double hi, char *err,
                       size_t errlen) {
  for (int it = 0; it < 60; it++) {
    *term = sqrt(lo * hi);
    skv_prediction pr;
    if (!skv_cost_predict_shared(&pt->p, &pt->b, g, pt->shared_bytes, &pr)) {
      snprintf(err, errlen, "out of memory");
      return false;
    }
    if (pr.decode_us > pt->us) lo = *term;
    else hi = *term;
  }
  *term = sqrt(lo * hi);
  return true;
}

/* l2_tbps: flash decoding of 96 requests whose first 3072 tokens are the same pages, 32 tokens of
 * their own, bf16, lab's plan: 95 of every 96 reads of the prefix are rereads. */
static bool fit_l2(cal_ctx *c, cal_point *pts, int *np, skv_gpu *g, char *err, size_t errlen) {
  cal_point *pt = &pts[*np];
  memset(pt, 0, sizeof *pt);
  snprintf(pt->what, sizeof pt->what, "bf16 96x(3072 shared + 32) lab (l2)");
  pt->fitted = true;
  if (!make_batch(96, 3072 + 32, SKV_STREAM_16BIT, CAL_HQ, CAL_D, &pt->b, err, errlen)) return false;
  skv_share sh;
  const int32_t block = 96;
  const int64_t len = 3072;
  skv_policy_opts po;
  skv_policy_opts_default(&po);
  skv_timing t;
  g->l2_tbps = 0;
  bool ok = skv_share_blocks(96, 1, &block, &len, &sh, err, errlen);
  if (ok) {
    ok = measure_shared(c, &pt->b, &sh, SKV_POLICY_LAB, &po, g, &pt->p, &t, err, errlen);
    if (ok) pt->shared_bytes = skv_share_reread_bytes(&sh, &pt->b);
    skv_share_free(&sh);
  }
  if (!ok) {
    skv_batch_free(&pt->b);
    return false;
  }
  pt->us = t.decode_us;
  (*np)++;
  ok = solve_term(pt, g, &g->l2_tbps, 0.5 * g->read_tbps, 200.0, err, errlen);
  if (ok && c->log)
    fprintf(c->log, "  %-44s decode %9.2f us\n  fit: l2 %.3f TB/s for rereads\n", pt->what, t.decode_us, g->l2_tbps);
  return ok;
}

/* mma_tflops: one request of 512 queries over 4096 keys with no mask (a cascade's prefix pass:
 * 2048 packed rows per KV head in tiles of 64), bf16, unsplit: 256 CTAs, 34 GFLOP. */
static bool fit_mma(cal_ctx *c, cal_point *pts, int *np, skv_gpu *g, char *err, size_t errlen) {
  /* first one CTA's rate: 64 queries (256 packed rows: 4 tiles of 64 per KV head, 32 CTAs, one per
   * SM) over 8192 keys; then the GPU's: 512 queries over 4096 keys (256 CTAs) */
  static const struct { int64_t q, keys; const char *what; } shape[2] = {
      {64, 8192, "bf16 1x8192 q64 no mask none (cta mma)"}, {512, 4096, "bf16 1x4096 q512 no mask none (mma)"}};
  g->mma_tflops = 1e9, g->cta_tflops = 0; /* neither binds until fitted */
  for (int k = 0; k < 2; k++) {
    cal_point *pt = &pts[*np];
    memset(pt, 0, sizeof *pt);
    snprintf(pt->what, sizeof pt->what, "%s", shape[k].what);
    pt->fitted = true;
    if (!make_batch(1, shape[k].keys, SKV_STREAM_16BIT, CAL_HQ, CAL_D, &pt->b, err, errlen)) return false;
    pt->b.qlen[0] = shape[k].q;
    pt->b.mask = SKV_MASK_NONE;
    skv_policy_opts po;
    skv_policy_opts_default(&po);
    skv_timing t;
    if (!measure(c, &pt->b, SKV_POLICY_NONE, &po, g, &pt->p, &t, err, errlen)) {
      skv_batch_free(&pt->b);
      return false;
    }
    pt->us = t.decode_us;
    (*np)++;
    const bool ok = solve_term(pt, g, k == 0 ? &g->cta_tflops : &g->mma_tflops, k == 0 ? 0.01 : 1.0, 5000.0, err, errlen);
    if (!ok) return false;
    if (c->log)
      fprintf(c->log, "  %-44s decode %9.2f us\n  fit: %s %.2f TFLOP/s\n", pt->what, t.decode_us,
              k == 0 ? "one CTA's mma" : "mma", k == 0 ? g->cta_tflops : g->mma_tflops);
  }
  return true;
}

/* merge_us, merge_pair_us and prefix_us: cascades of n requests sharing 1024 tokens (+ 16 their own), bf16,
 * both passes under lab, n = 32 and 256 (1024 and 8192 merged pairs); the merge kernel's time in
 * each (its CUPTI records apart) less its launch and bytes, a line through the two; the prefix
 * pass's measured time less the model's, averaged over the two. The passes' times are logged beside
 * their predictions. */
static bool fit_merge(cal_ctx *c, skv_gpu *g, char *err, size_t errlen) {
  static const int32_t ns[2] = {32, 256};
  double extra[2], pairs[2], excess[2];
  g->merge_us = g->merge_pair_us = g->prefix_us = 0;
  for (int k = 0; k < 2; k++) {
    skv_batch b;
    skv_share sh;
    const int64_t len = 1024;
    if (!make_batch(ns[k], 1024 + 16, SKV_STREAM_16BIT, CAL_HQ, CAL_D, &b, err, errlen)) return false;
    if (!skv_share_blocks(ns[k], 1, &ns[k], &len, &sh, err, errlen)) {
      skv_batch_free(&b);
      return false;
    }
    skv_workload_opts wo;
    skv_workload_opts_default(&wo);
    wo.seed = 7000 + c->ext, wo.q_dtype = SKV_BF16, wo.materialize = false, wo.share = &sh;
    skv_workload w;
    skv_gpu_batch gb;
    skv_gpu_rotation rot;
    skv_cascade_plan cp;
    bool have_w = false, have_b = false, have_r = false, have_c = false;
    double us = 0, parts[3] = {0, 0, 0};
    skv_cascade_prediction pr;
    bool ok = (have_w = skv_workload_make(&b, &wo, &w, err, errlen)) &&
              (have_b = skv_gpu_batch_upload(&w, NULL, &gb, err, errlen)) &&
              (have_r = skv_gpu_rotation_make(&gb, &w, c->info.l2_bytes, &rot, err, errlen)) &&
              (have_c = skv_cascade_plan_build(&b, &sh, SKV_POLICY_LAB, NULL, SKV_POLICY_LAB, NULL, g, &cp, err, errlen)) &&
              skv_gpu_cascade_time(&gb, &w, &cp, &rot, c->o->warmup, c->o->repeat, c->o->use_cupti,
                                   SKV_CALIBRATE_EXT_BASE + (c->ext << 20), &us, parts, err, errlen);
    c->ext++;
    if (ok && !c->o->use_cupti) {
      snprintf(err, errlen, "the merge's time needs CUPTI (each kernel apart): calibrate without --no-cupti");
      ok = false;
    }
    if (ok && !skv_cascade_predict(&cp, &b, g, &pr)) {
      snprintf(err, errlen, "out of memory");
      ok = false;
    }
    if (ok) {
      pairs[k] = (double)ns[k] * CAL_HQ;
      extra[k] = parts[2] - pr.merge_us; /* the merge terms are 0 here: less its launch and bytes */
      excess[k] = parts[0] - pr.prefix.total_us;
      if (c->log)
        fprintf(c->log, "  cascade %dx(1024 shared + 16) lab: prefix %.2f us (model %.2f), suffix %.2f (model %.2f), "
                        "merge %.2f\n", ns[k], parts[0], pr.prefix.total_us, parts[1], pr.suffix.total_us, parts[2]);
    }
    if (have_c) skv_cascade_plan_free(&cp);
    if (have_r) skv_gpu_rotation_free(&rot);
    if (have_b) skv_gpu_batch_free(&gb);
    if (have_w) skv_workload_free(&w);
    skv_share_free(&sh);
    skv_batch_free(&b);
    if (!ok) return false;
  }
  const double slope = (extra[1] - extra[0]) / (pairs[1] - pairs[0]);
  g->merge_pair_us = slope > 0 ? slope : 0;
  const double fixed = extra[0] - g->merge_pair_us * pairs[0];
  g->merge_us = fixed > 0 ? fixed : 0;
  g->prefix_us = (excess[0] + excess[1]) / 2 > 0 ? (excess[0] + excess[1]) / 2 : 0;
  if (c->log)
    fprintf(c->log, "  fit: merge %.3f us + %.3g us per (token, q head); prefix pass +%.2f us (excess %.2f, %.2f)\n",
            g->merge_us, g->merge_pair_us, g->prefix_us, excess[0], excess[1]);
  return true;
}

static bool calibrate(const skv_calibrate_opts *o, skv_calibration *out, FILE *log, char *err, size_t errlen);

bool skv_calibrate(const skv_calibrate_opts *o, skv_calibration *out, FILE *log, char *err, size_t errlen) {
  if (o->use_cupti && o->start_cupti && !skv_cupti_start(err, errlen)) {
    const size_t k = strlen(err);
    snprintf(err + k, errlen - k, " (CUPTI; run with --no-cupti beside ncu or compute-sanitizer)");
    return false;
  }
  const bool ok = calibrate(o, out, log, err, errlen);
  if (o->use_cupti && o->start_cupti) skv_cupti_stop();
  return ok;
}

static bool calibrate(const skv_calibrate_opts *o, skv_calibration *out, FILE *log, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  cal_ctx c = {.o = o, .ext = 0, .log = log};
  if (!skv_gpu_info_get(&c.info, err, errlen)) return false;
  skv_gpu *g = &out->gpu;
  snprintf(out->device_name, sizeof out->device_name, "%s", c.info.name);
  if (o->name[0]) snprintf(g->name, sizeof g->name, "%s", o->name);
  else default_name(c.info.name, g->name, sizeof g->name);
  snprintf(g->device, sizeof g->device, "%.63s", strncmp(c.info.name, "NVIDIA ", 7) == 0 ? c.info.name + 7 : c.info.name);
  snprintf(g->arch, sizeof g->arch, "%s", c.info.cc_major >= 9 ? "sm_90" : "sm_80");
  g->sms = c.info.sm_count;
  skv_ceilings ceilings;
  if (!skv_gpu_measure_ceilings(o->ceiling_bytes, 10, o->use_cupti, &ceilings, err, errlen)) return false;
  g->read_tbps = ceilings.read_tbps;
  out->copy_tbps = ceilings.copy_tbps;
  if (log)
    fprintf(log, "  read-stream ceiling %.3f TB/s, device copy %.3f TB/s\n", ceilings.read_tbps, ceilings.copy_tbps);
  if (!occupancy(g, err, errlen)) return false;
  /* Provisional terms so that planning works (only SMs and residency matter to none and fixed). */
  for (int k = 0; k < SKV_STREAM_COUNT; k++)
    for (int d = 0; d < SKV_GPU_HEAD_DIMS; d++)
      for (int q = 0; q < SKV_GPU_GROUPS; q++) g->stream[k].cta_gbps[d][q] = 1, g->stream[k].stream_tbps[d][q] = g->read_tbps;
  cal_point *pts = calloc(SKV_CALIBRATION_MAX_POINTS, sizeof *pts);
  if (!pts) {
    snprintf(err, errlen, "out of memory");
    return false;
  }
  int np = 0;
  bool ok = true;
  /* The combine: requests split in chunks of 64 tokens, 2 chunks at 1, 2 and 4 waves of items, then
   * 16 and 64 chunks at one wave. */
  {
    static const struct { int32_t waves, chunks; } cp[5] = {{1, 2}, {2, 2}, {4, 2}, {1, 16}, {1, 64}};
    skv_policy_opts chunk64;
    skv_policy_opts_default(&chunk64);
    chunk64.split_size = 64;
    const int64_t slots = (int64_t)g->sms * g->ctas_per_sm[SKV_FORM_16BIT][skv_gpu_head_dim_slot(CAL_D)];
    double us[5], part[5], waves[5], chunks[5];
    for (int i = 0; ok && i < 5; i++) {
      const int32_t n = (int32_t)((int64_t)cp[i].waves * slots / CAL_HKV);
      char w[96];
      snprintf(w, sizeof w, "bf16 %dx%d fixed 64 (%d chunks, %d waves)", n, 64 * cp[i].chunks, cp[i].chunks,
               cp[i].waves);
      ok = point(&c, &pts[np], w, true, n, 64 * cp[i].chunks, SKV_STREAM_16BIT, SKV_POLICY_FIXED, &chunk64, g, true,
                 err, errlen);
      if (!ok) break;
      const skv_plan *pl = &pts[np].p;
      us[i] = pts[np].us;
      part[i] = (double)(pl->scratch_o_bytes + pl->scratch_lse_bytes);
      waves[i] = ceil((double)pl->num_combine / (double)slots);
      chunks[i] = cp[i].chunks;
      np++;
    }
    if (ok && !skv_fit_combine(us, part, waves, chunks, 5, g->read_tbps, &g->launch_us, &g->combine_item_us,
                               &g->combine_chunk_us)) {
      snprintf(err, errlen, "the combine fit is singular");
      ok = false;
    }
    if (ok && log)
      fprintf(log, "  fit: launch %.3f us, combine item %.4f us and chunk %.4f us per wave\n", g->launch_us,
              g->combine_item_us, g->combine_chunk_us);
  }
  /* Each stream kind: two unsplit requests give the rate of one CTA; eight plans from 8 to 512
   * CTAs, one to four CTAs per SM and 2 MB to 1 GB give the stream ceiling and the fixed costs. */
  enum { KIND_POINTS = 8 };
  static const struct { int32_t n; int64_t len; skv_policy p; int64_t split; } kp[KIND_POINTS] = {
      {1, 64, SKV_POLICY_NONE, 0},       {1, 131072, SKV_POLICY_NONE, 0}, {1, 4096, SKV_POLICY_FIXED, 128},
      {1, 32768, SKV_POLICY_FIXED, 2048}, {8, 4096, SKV_POLICY_FIXED, 512}, {1, 16384, SKV_POLICY_FIXED, 256},
      {32, 4096, SKV_POLICY_NONE, 0},     {64, 8192, SKV_POLICY_NONE, 0}};
  for (int k = 0; ok && k < SKV_STREAM_COUNT; k++) {
    const int first = np;
    for (int i = 0; ok && i < KIND_POINTS; i++) {
      skv_policy_opts po;
      skv_policy_opts_default(&po);
      if (kp[i].split) po.split_size = kp[i].split;
      char w[96];
      if (kp[i].split)
        snprintf(w, sizeof w, "%s %dx%lld fixed %lld", skv_stream_kind_name((skv_stream_kind)k), kp[i].n,
                 (long long)kp[i].len, (long long)kp[i].split);
      else
        snprintf(w, sizeof w, "%s %dx%lld none", skv_stream_kind_name((skv_stream_kind)k), kp[i].n,
                 (long long)kp[i].len);
      ok = point(&c, &pts[np], w, true, kp[i].n, kp[i].len, (skv_stream_kind)k, kp[i].p, &po, g, false, err, errlen);
      if (ok) np++;
    }
    if (!ok) break;
    const cal_point *a = &pts[first], *b = &pts[first + 1];
    const skv_fit_point pair[2] = {{&a->b, &a->p, a->us}, {&b->b, &b->p, b->us}};
    const double slope = skv_fit_lone_slope(pair); /* us per byte */
    if (!(slope > 0)) {
      snprintf(err, errlen, "%s: the long request did not take longer (%.2f vs %.2f us)",
               skv_stream_kind_name((skv_stream_kind)k), b->us, a->us);
      ok = false;
      break;
    }
    skv_gpu_stream *st = &g->stream[k];
    st->cta_gbps[CAL_DSLOT][CAL_GSLOT] = skv_fit_cta_gbps(slope, CAL_HKV, g->read_tbps);
    skv_fit_point fp[KIND_POINTS];
    for (int i = 0; i < KIND_POINTS; i++) fp[i] = (skv_fit_point){&pts[first + i].b, &pts[first + i].p, pts[first + i].us};
    double rms = 0;
    if (!skv_fit_stream(g, (skv_stream_kind)k, CAL_DSLOT, CAL_GSLOT, fp, KIND_POINTS, &rms)) {
      snprintf(err, errlen, "out of memory");
      ok = false;
      break;
    }
    if (log)
      fprintf(log, "  fit %s: cta %.2f GB/s, stream %.3f TB/s, fixed %.3f us + %.3f us per CTA per SM (rms %.2f%%)\n",
              skv_stream_kind_name((skv_stream_kind)k), st->cta_gbps[CAL_DSLOT][CAL_GSLOT],
              st->stream_tbps[CAL_DSLOT][CAL_GSLOT], st->fixed_us[CAL_DSLOT][CAL_GSLOT], st->fixed_sm_us, 100 * rms);
    /* the other variants start from this one's fixed cost */
    for (int d = 0; d < SKV_GPU_HEAD_DIMS; d++)
      for (int q = 0; q < SKV_GPU_GROUPS; q++) st->fixed_us[d][q] = st->fixed_us[CAL_DSLOT][CAL_GSLOT];
    /* Every other head dim and group: one CTA's rate and the stream ceiling, the fixed costs kept. */
    for (int d = 0; ok && d < SKV_GPU_HEAD_DIMS; d++)
      for (int q = 0; ok && q < SKV_GPU_GROUPS; q++) {
        if (d == CAL_DSLOT && q == CAL_GSLOT) continue;
        const int32_t hq = CAL_HKV * skv_gpu_group_of_slot(q), dim = 64 << d, vfirst = np;
        static const struct { int32_t n; int64_t len; } vp[3] = {{1, 64}, {1, 131072}, {64, 8192}};
        skv_policy_opts none;
        skv_policy_opts_default(&none);
        for (int i = 0; ok && i < 3; i++) {
          char w[96];
          snprintf(w, sizeof w, "%s d%d g%d %dx%lld none", skv_stream_kind_name((skv_stream_kind)k), dim,
                   skv_gpu_group_of_slot(q), vp[i].n, (long long)vp[i].len);
          ok = point_shape(&c, &pts[np], w, true, vp[i].n, vp[i].len, (skv_stream_kind)k, hq, dim, SKV_POLICY_NONE,
                           &none, g, false, err, errlen);
          if (ok) np++;
        }
        if (!ok) break;
        const skv_fit_point lone[2] = {{&pts[vfirst].b, &pts[vfirst].p, pts[vfirst].us},
                                       {&pts[vfirst + 1].b, &pts[vfirst + 1].p, pts[vfirst + 1].us}};
        const skv_fit_point large = {&pts[vfirst + 2].b, &pts[vfirst + 2].p, pts[vfirst + 2].us};
        if (!skv_fit_variant(g, (skv_stream_kind)k, d, q, lone, CAL_HKV, &large)) {
          snprintf(err, errlen, "%s d%d g%d: the long request did not take longer, or out of memory",
                   skv_stream_kind_name((skv_stream_kind)k), dim, skv_gpu_group_of_slot(q));
          ok = false;
          break;
        }
        if (log)
          fprintf(log, "  fit %s d%d g%d: cta %.2f GB/s, stream %.3f TB/s, fixed %.3f us\n",
                  skv_stream_kind_name((skv_stream_kind)k), dim, skv_gpu_group_of_slot(q), st->cta_gbps[d][q],
                  st->stream_tbps[d][q], st->fixed_us[d][q]);
      }
  }
  /* cta_us: 128 x 2048 bf16 unsplit (1024 CTAs) and in chunks of 256 (8192 CTAs), the same bytes;
   * the decode time the fitted model (cta_us 0) leaves unexplained in the second over the first,
   * per CTA-slot of CTAs past the first wave (cost_model.h). */
  if (ok) {
    g->cta_us = 0;
    skv_policy_opts whole, c256;
    skv_policy_opts_default(&whole), skv_policy_opts_default(&c256);
    c256.split_size = 256;
    const int first = np;
    ok = point(&c, &pts[np], "bf16 128x2048 none (later waves)", true, 128, 2048, SKV_STREAM_16BIT, SKV_POLICY_NONE,
               &whole, g, false, err, errlen);
    if (ok) np++;
    if (ok)
      ok = point(&c, &pts[np], "bf16 128x2048 fixed 256 (later waves)", true, 128, 2048, SKV_STREAM_16BIT,
                 SKV_POLICY_FIXED, &c256, g, false, err, errlen);
    if (ok) np++;
    skv_prediction pa, pb;
    if (ok && (!skv_cost_predict(&pts[first].p, &pts[first].b, g, &pa) ||
               !skv_cost_predict(&pts[first + 1].p, &pts[first + 1].b, g, &pb))) {
      snprintf(err, errlen, "out of memory");
      ok = false;
    }
    if (ok) {
      const int64_t slots = skv_gpu_slots(g, &pts[first].b);
      const double ea = pts[first].p.num_work > slots ? (double)(pts[first].p.num_work - slots) / (double)slots : 0;
      const double eb = (double)(pts[first + 1].p.num_work - slots) / (double)slots;
      const double h = ((pts[first + 1].us - pb.decode_us) - (pts[first].us - pa.decode_us)) / (eb - ea);
      g->cta_us = h > 0 ? h : 0;
      if (log) fprintf(log, "  fit: %.3f us per CTA past the first wave\n", g->cta_us);
    }
  }
  /* l2_tbps and mma_tflops (cost_model.h): each solved by bisection so that the model's decode time
   * equals the measured one, the other terms fitted above (the decode time falls as either rises). */
  if (ok) ok = fit_l2(&c, pts, &np, g, err, errlen);
  if (ok) ok = fit_mma(&c, pts, &np, g, err, errlen);
  /* The merge's time is one kernel's among three: only CUPTI times it apart. Without CUPTI (beside
   * ncu or compute-sanitizer, or an on-the-spot model of a --no-cupti run) the cascade terms stay 0
   * and the cascade model leaves them out. */
  if (ok && o->use_cupti) {
    ok = fit_merge(&c, g, err, errlen);
  } else if (ok) {
    g->merge_us = g->merge_pair_us = g->prefix_us = 0;
    if (log) fprintf(log, "  merge and prefix-pass terms not fitted without CUPTI: left 0 (the cascade model omits them)\n");
  }
  if (ok) ok = skv_gpu_check(g, err, errlen);
  /* Check points: planned with the fitted model. */
  if (ok && o->checks) {
    static const struct { int32_t n; int64_t len; skv_policy p; } chk[3] = {
        {8, 4096, SKV_POLICY_LAB}, {32, 16384, SKV_POLICY_FA2}, {128, 8192, SKV_POLICY_NONE}};
    skv_policy_opts none;
    skv_policy_opts_default(&none);
    for (int k = 0; ok && k < SKV_STREAM_COUNT; k++)
      for (int i = 0; ok && i < 3 && np < SKV_CALIBRATION_MAX_POINTS; i++) {
        char w[96];
        snprintf(w, sizeof w, "%s %dx%lld %s (check)", skv_stream_kind_name((skv_stream_kind)k), chk[i].n,
                 (long long)chk[i].len, skv_policy_name(chk[i].p));
        ok = point(&c, &pts[np], w, false, chk[i].n, chk[i].len, (skv_stream_kind)k, chk[i].p, &none, g, false, err,
                   errlen);
        if (ok) np++;
      }
  }
  /* Residuals: the fitted model's prediction of every point. */
  for (int i = 0; i < np; i++) {
    skv_prediction pr;
    const bool pred = ok && skv_cost_predict_shared(&pts[i].p, &pts[i].b, g, pts[i].shared_bytes, &pr);
    if (ok && !pred) {
      snprintf(err, errlen, "out of memory");
      ok = false;
    }
    if (ok) {
      skv_calibration_point *q = &out->points[out->npoints++];
      snprintf(q->what, sizeof q->what, "%s", pts[i].what);
      q->fitted = pts[i].fitted;
      q->measured_us = pts[i].us;
      q->predicted_us = pts[i].combine_only ? pr.combine_us : (pts[i].fitted ? pr.decode_us : pr.total_us);
    }
    skv_plan_free(&pts[i].p);
    skv_batch_free(&pts[i].b);
  }
  if (ok) {
    char date[16];
    const time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y-%m-%d", &tm);
    snprintf(g->calibrated, sizeof g->calibrated, "skv calibrate %.40s %.10s on %.60s, CUDA driver API %d.%d%s", o->version,
             date, c.info.name, c.info.driver_version / 1000, c.info.driver_version % 1000 / 10,
             o->use_cupti ? "" : " (CUDA events)");
  }
  free(pts);
  return ok;
}
