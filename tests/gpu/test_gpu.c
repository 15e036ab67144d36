/* test_gpu.c — GPU tests (make test-gpu): the kernels against the double-precision reference, poisoning,
 * determinism, batch invariance, device data generation, the fp32 GPU reference, and what a GPU run refuses. */
#include <check.h>
#include <jansson.h>
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/args.h"
#include "cost_model.h"
#include "cpu_exec.h"
#include "prof/cta_timeline.h"
#include "invariance.h"
#include "gpu/gpu_exec.h"
#include "gpu/gpu_graph.h"
#include "gpu/gpu_cascade.h"
#include "gpu/gpu_lse_demo.h"
#include "lse_demo.h"
#include "cascade.h"
#include "cascade_cost.h"
#include "graph_bound.h"
#include "lse_layout.h"
#include "check/numerics.h"
#include "plan.h"
#include "reference.h"
#include "rng.h"
#include "runner/meta.h"
#include "runner/run.h"
#include "suite/gpus.h"
#include "skv_kernels.h"
#include "workload.h"
#include "../gpu_fixture.h"
#include "../timeout.h"

/* ---- helpers ---------------------------------------------------------------------------------- */

static skv_batch make_batch(int32_t n, const int64_t *kv, int32_t hq, int32_t hkv, int32_t d, int32_t ps,
                            skv_dtype t) {
  skv_batch b;
  ck_assert(skv_batch_alloc(&b, n));
  for (int32_t r = 0; r < n; r++) b.kvlen[r] = kv[r], b.qlen[r] = 1;
  b.num_q_heads = hq, b.num_kv_heads = hkv, b.head_dim = d, b.page_size = ps, b.kv_dtype = b.v_dtype = t;
  return b;
}

static skv_workload make_workload(const skv_batch *b, uint64_t seed, bool materialize) {
  skv_workload_opts o;
  skv_workload_opts_default(&o);
  o.seed = seed;
  o.q_dtype = b->kv_dtype;
  o.materialize = materialize;
  o.poison_tails = materialize;
  skv_workload w;
  char err[512];
  ck_assert_msg(skv_workload_make(b, &o, &w, err, sizeof err), "%s", err);
  return w;
}

typedef struct result {
  void *o;    /* [B, hq, d] bf16/fp16 bits */
  float *lse; /* as the layout wrote it */
} result;

/* Upload, poison, run, download: the decode kernel with the combine kernel or fused into decode,
 * or (v1) decode v1 with the combine kernel. */
static result run_gpu_with(const skv_workload *w, const skv_plan *pl, const skv_layout *layout, bool fused, bool v1,
                           bool pdl) {
  char err[512];
  skv_gpu_batch g;
  skv_gpu_plan gp;
  ck_assert_msg(skv_gpu_batch_upload(w, layout, &g, err, sizeof err), "%s", err);
  ck_assert_msg(skv_gpu_plan_upload(pl, w->page_indptr, &gp, err, sizeof err), "%s", err);
  gp.dev.fused_combine = fused;
  gp.dev.pdl = pdl;
  ck_assert_msg(skv_gpu_poison(&g, err, sizeof err), "%s", err);
  if (v1) {
    ck_assert_msg(skv_decode_v1_launch(&g.prob, &gp.dev, 0, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(skv_combine_launch(&g.prob, &gp.dev, 0, err, sizeof err) == 0, "%s", err);
  } else {
    ck_assert_msg(skv_gpu_run(&g, &gp, 0, err, sizeof err), "%s", err);
  }
  result r = {malloc((size_t)g.o_elems * 2), malloc((size_t)g.lse_elems * sizeof(float))};
  ck_assert(r.o && r.lse);
  ck_assert_msg(skv_gpu_download(&g, r.o, r.lse, err, sizeof err), "%s", err);
  skv_gpu_plan_free(&gp);
  skv_gpu_batch_free(&g);
  return r;
}

static result run_gpu_mode(const skv_workload *w, const skv_plan *pl, const skv_layout *layout, bool fused) {
  return run_gpu_with(w, pl, layout, fused, false, false);
}

static result run_gpu(const skv_workload *w, const skv_plan *pl, const skv_layout *layout) {
  return run_gpu_with(w, pl, layout, false, false, false);
}

static result run_gpu_v1(const skv_workload *w, const skv_plan *pl) {
  return run_gpu_with(w, pl, NULL, false, true, false);
}

static void free_result(result *r) {
  free(r->o);
  free(r->lse);
}

static double o_value(skv_dtype t, const void *o, int64_t i) { return skv_load_as_double(t, o, i); }

typedef struct errors {
  double rel_l2, max_abs, lse_max_abs;
  int64_t unwritten;
} errors;

/* Compare against the reference; lse read through the logical layout. */
static errors compare(const skv_workload *w, const result *r) {
  const skv_batch *b = &w->batch;
  const int64_t n = b->num_requests, hq = b->num_q_heads, d = b->head_dim;
  double *ro = malloc(sizeof(double) * (size_t)(n * hq * d)), *rl = malloc(sizeof(double) * (size_t)(n * hq));
  ck_assert(ro && rl);
  ck_assert(skv_ref_attention(w, false, ro, rl));
  errors e = {0, 0, 0, 0};
  double num = 0, den = 0;
  for (int64_t i = 0; i < n * hq * d; i++) {
    double v = o_value(b->kv_dtype, r->o, i);
    if (isnan(v)) {
      e.unwritten++;
      continue;
    }
    num += (v - ro[i]) * (v - ro[i]);
    den += ro[i] * ro[i];
    if (fabs(v - ro[i]) > e.max_abs) e.max_abs = fabs(v - ro[i]);
  }
  for (int64_t i = 0; i < n * hq; i++) {
    double v = r->lse[i];
    if (isnan(v)) {
      e.unwritten++;
    } else if (isinf(rl[i]) || isinf(v)) {
      if (v != rl[i]) e.lse_max_abs = INFINITY;
    } else if (fabs(v - rl[i]) > e.lse_max_abs) {
      e.lse_max_abs = fabs(v - rl[i]);
    }
  }
  e.rel_l2 = den > 0 ? sqrt(num / den) : sqrt(num);
  free(ro);
  free(rl);
  return e;
}

static const char *tag(const skv_batch *b, skv_policy p) {
  static char buf[160];
  snprintf(buf, sizeof buf, "%s %s d=%d ps=%d hq=%d hkv=%d B=%d", skv_policy_name(p), skv_dtype_name(b->kv_dtype),
           b->head_dim, b->page_size, b->num_q_heads, b->num_kv_heads, b->num_requests);
  return buf;
}

/* ---- accuracy --------------------------------------------------------------------------------- */

/* One case: plan under policy p, run, compare within the tolerances. */
static void check_case(const skv_batch *b, skv_policy p, const skv_policy_opts *o, uint64_t seed) {
  skv_workload w = make_workload(b, seed, true);
  skv_plan pl;
  char err[512];
  ck_assert_msg(skv_plan_build(b, p, o, skv_test_gpu(132), &pl, err, sizeof err), "%s", err);
  result r = run_gpu(&w, &pl, NULL);
  errors e = compare(&w, &r);
  const double tol = b->kv_dtype == SKV_BF16 ? 1e-2 : 2e-3;
  int64_t smin, smax;
  double smean;
  skv_plan_split_stats(&pl, &smin, &smax, &smean);
  printf("  %-58s splits<=%-3lld rel %.2e max %.2e lse %.2e\n", tag(b, p), (long long)smax, e.rel_l2, e.max_abs,
         e.lse_max_abs);
  ck_assert_msg(e.unwritten == 0, "%s: %lld outputs not written", tag(b, p), (long long)e.unwritten);
  ck_assert_msg(e.rel_l2 <= tol, "%s: rel error %g > %g", tag(b, p), e.rel_l2, tol);
  ck_assert_msg(e.lse_max_abs <= 1e-3, "%s: lse error %g", tag(b, p), e.lse_max_abs);
  /* The fused combine runs the same merge (merge.cuh): the same bits. */
  result f = run_gpu_mode(&w, &pl, NULL, true);
  const int64_t n = (int64_t)b->num_requests * b->num_q_heads;
  ck_assert_msg(memcmp(f.o, r.o, (size_t)(n * b->head_dim * 2)) == 0, "%s: fused O differs", tag(b, p));
  ck_assert_msg(memcmp(f.lse, r.lse, (size_t)n * sizeof(float)) == 0, "%s: fused LSE differs", tag(b, p));
  free_result(&f);
  free_result(&r);
  skv_plan_free(&pl);
  skv_workload_free(&w);
}

START_TEST(decode_matches_reference_across_policies_dims_pages_groups) {
  static const skv_dtype types[] = {SKV_BF16, SKV_FP16};
  static const int32_t dims[] = {64, 128, 256}, pages[] = {16, 32, 64, 1}, groups[] = {1, 4, 8};
  static const int32_t batches[] = {1, 5, 23, 64};
  static const skv_policy pols[] = {SKV_POLICY_FA2, SKV_POLICY_FLASHINFER, SKV_POLICY_FIXED, SKV_POLICY_NONE};
  skv_rng rng;
  skv_rng_seed(&rng, 4242);
  int k = 0;
  for (int ti = 0; ti < 2; ti++)
    for (int di = 0; di < 3; di++)
      for (int pi = 0; pi < 4; pi++)
        for (int gi = 0; gi < 3; gi++, k++) {
          const int32_t n = batches[k % 4];
          int64_t kv[64];
          for (int r = 0; r < n; r++) {
            /* lengths 1, page-unaligned, and mixed in one batch; long ones for the single request */
            int64_t choice = skv_rng_range(&rng, 0, 4);
            kv[r] = choice == 0 ? 1 : (n == 1 ? skv_rng_range(&rng, 3000, 9000) : skv_rng_range(&rng, 2, 1500));
          }
          skv_batch b = make_batch(n, kv, 2 * groups[gi], 2, dims[di], pages[pi], types[ti]);
          skv_policy_opts o;
          skv_policy_opts_default(&o);
          o.split_size = 16 * (int64_t)skv_rng_range(&rng, 3, 40) + skv_rng_range(&rng, 0, 15);
          check_case(&b, pols[k % 4], &o, 1000 + (uint64_t)k);
          skv_batch_free(&b);
        }
}
END_TEST

START_TEST(decode_matches_reference_on_the_benchmark_shape) {
  /* hq 32, hkv 8, d 128, page 16: every policy, mixed lengths, with split counts up to dozens. */
  int64_t kv[9] = {1, 17, 4096, 300, 12000, 64, 2049, 777, 16};
  for (int t = 0; t < 2; t++) {
    skv_batch b = make_batch(9, kv, 32, 8, 128, 16, t ? SKV_FP16 : SKV_BF16);
    for (int p = 0; p < SKV_POLICY_COUNT; p++) check_case(&b, (skv_policy)p, NULL, 77 + (uint64_t)p);
    skv_batch_free(&b);
  }
  int64_t one[1] = {32768};
  skv_batch b = make_batch(1, one, 32, 8, 128, 16, SKV_BF16);
  check_case(&b, SKV_POLICY_FA2, NULL, 5);
  skv_batch_free(&b);
}
END_TEST

START_TEST(empty_kv_gives_minus_inf_and_zero_on_the_gpu) {
  int64_t kv[3] = {0, 40, 0};
  skv_batch b = make_batch(3, kv, 8, 2, 128, 16, SKV_BF16);
  skv_workload w = make_workload(&b, 3, true);
  skv_plan pl;
  char err[512];
  ck_assert(skv_plan_build(&b, SKV_POLICY_FIXED, NULL, skv_test_gpu(132), &pl, err, sizeof err));
  result r = run_gpu(&w, &pl, NULL);
  for (int h = 0; h < 8; h++) {
    ck_assert(isinf(r.lse[h * 3 + 0]) && r.lse[h * 3] < 0);
    ck_assert(isfinite(r.lse[h * 3 + 1]));
    for (int c = 0; c < 128; c++) ck_assert(o_value(SKV_BF16, r.o, (0 * 8 + h) * 128 + c) == 0.0);
  }
  free_result(&r);
  skv_plan_free(&pl);
  skv_workload_free(&w);
  skv_batch_free(&b);
}
END_TEST

START_TEST(smoke_split_and_single_chunk_paths) {
  /* Small and quick (for compute-sanitizer): split + combine, one-chunk, empty, page 1, d 64/256. */
  int64_t kv[4] = {700, 1, 0, 130};
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  o.split_size = 100;
  skv_batch b = make_batch(4, kv, 8, 2, 128, 16, SKV_BF16);
  check_case(&b, SKV_POLICY_FIXED, &o, 1);
  skv_batch_free(&b);
  b = make_batch(4, kv, 4, 4, 64, 1, SKV_FP16);
  check_case(&b, SKV_POLICY_FIXED, &o, 2);
  skv_batch_free(&b);
  b = make_batch(4, kv, 16, 2, 256, 32, SKV_BF16);
  check_case(&b, SKV_POLICY_FLASHINFER, NULL, 3);
  skv_batch_free(&b);
  /* quantized paths too: int8 K (per-token scales) with int8 V (per-channel), group 4 (the column
   * form) and fp8 per-token, group 16 (the row form) */
  for (int qi = 0; qi < 2; qi++) {
    const int32_t group = qi ? 16 : 4;
    b = make_batch(4, kv, 2 * group, 2, qi ? 64 : 128, 16, qi ? SKV_FP8_E4M3 : SKV_INT8);
    skv_workload_opts wo;
    skv_workload_opts_default(&wo);
    wo.seed = 4 + (uint64_t)qi;
    wo.q_dtype = SKV_BF16;
    b.kv_scale_mode = SKV_SCALE_PER_TOKEN_HEAD;
    skv_workload w;
    char err[512];
    ck_assert_msg(skv_workload_make(&b, &wo, &w, err, sizeof err), "%s", err);
    skv_plan pl;
    ck_assert(skv_plan_build(&b, SKV_POLICY_FIXED, &o, skv_test_gpu(132), &pl, err, sizeof err));
    result r = run_gpu(&w, &pl, NULL);
    skv_numerics n;
    const skv_layout L = skv_lse_layout_logical(4, 2, group);
    ck_assert(skv_numerics_vs_reference(&w, SKV_BF16, r.o, r.lse, &L, NULL, 0, &n));
    ck_assert_msg(n.unwritten == 0 && n.o_rel_l2 <= 1e-2 && n.lse_max_abs <= 1e-3, "%s group %d: rel %g lse %g",
                  skv_dtype_name(b.kv_dtype), group, n.o_rel_l2, n.lse_max_abs);
    free_result(&r);
    skv_plan_free(&pl);
    skv_workload_free(&w);
    skv_batch_free(&b);
  }
}
END_TEST


/* ---- query length > 1 (query tiles, masks) ------------------------------------------------------ */

/* One multi-query case: n requests, the first `prefill` of them with query length Q (0: all), the
 * others decode; KV lengths Q + a prefix; a cache type; a policy with a tile size. */
typedef struct mq_case {
  int32_t n, prefill;
  int64_t Q;
  int32_t hkv, group, d, page;
  skv_dtype q, kv, v;
  skv_scale_mode mode;
  skv_mask mask;
  skv_policy policy;
  int32_t tile_rows;
  int64_t split_size;
  bool v1; /* also run decode v1 against the CPU executor */
} mq_case;

static void mq_tag(const mq_case *c, char *buf, size_t len) {
  snprintf(buf, len, "Q=%lld n=%d pf=%d G=%d d=%d p=%d q=%s kv=%s v=%s %s %s %s tile %d", (long long)c->Q, c->n,
           c->prefill, c->group, c->d, c->page, skv_dtype_name(c->q), skv_dtype_name(c->kv), skv_dtype_name(c->v),
           skv_scale_mode_name(c->mode), c->mask == SKV_MASK_NONE ? "no-mask" : "causal", skv_policy_name(c->policy),
           c->tile_rows);
}

static skv_workload mq_workload(const mq_case *c, uint64_t seed) {
  skv_rng rng;
  skv_rng_seed(&rng, seed);
  skv_batch b;
  ck_assert(skv_batch_alloc(&b, c->n));
  for (int32_t r = 0; r < c->n; r++) {
    b.qlen[r] = c->prefill == 0 || r < c->prefill ? c->Q : 1;
    b.kvlen[r] = b.qlen[r] + skv_rng_range(&rng, 0, c->Q >= 512 ? 100 : 3000); /* page-unaligned prefixes */
  }
  b.num_kv_heads = c->hkv, b.num_q_heads = c->hkv * c->group, b.head_dim = c->d, b.page_size = c->page;
  b.kv_dtype = c->kv, b.v_dtype = c->v, b.kv_scale_mode = c->mode, b.mask = c->mask;
  skv_workload_opts o;
  skv_workload_opts_default(&o);
  o.seed = seed;
  o.q_dtype = c->q;
  o.quant.q_scale = 0.75f, o.quant.k_scale = 0.5f, o.quant.v_scale = 0.25f;
  o.materialize = true;
  o.poison_tails = true;
  skv_workload w;
  char err[512];
  ck_assert_msg(skv_workload_make(&b, &o, &w, err, sizeof err), "%s", err);
  skv_batch_free(&b);
  return w;
}

/* Run case c: poisoned outputs fully written, the kernel against the double reference (dequantized
 * values, every scale), the fused combine the same bits as the combine kernel, and (c->v1) decode
 * v1 against the CPU executor. */
static void check_multi(const mq_case *c, uint64_t seed) {
  char err[512], tagb[200];
  mq_tag(c, tagb, sizeof tagb);
  skv_workload w = mq_workload(c, seed);
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  o.split_size = c->split_size;
  o.tile_rows = c->tile_rows;
  skv_plan pl;
  ck_assert_msg(skv_plan_build(&w.batch, c->policy, &o, skv_test_gpu(132), &pl, err, sizeof err), "%s: %s", tagb, err);
  result r = run_gpu(&w, &pl, NULL), f = run_gpu_mode(&w, &pl, NULL, true);
  const int64_t tq = w.cu_seqlens_q[c->n], hq = w.batch.num_q_heads;
  const skv_layout L = skv_lse_layout_logical(tq, c->hkv, c->group);
  const skv_workload correct = skv_workload_view_correct(&w);
  const skv_dtype od = skv_output_dtype(c->q);
  skv_numerics n;
  ck_assert(skv_numerics_vs_reference(&correct, od, r.o, r.lse, &L, NULL, 0, &n));
  const double tol = od == SKV_FP16 ? 2e-3 : 1e-2;
  int64_t smin, smax;
  double smean;
  skv_plan_split_stats(&pl, &smin, &smax, &smean);
  printf("  %-100s splits<=%-3lld ctas %-5lld rel %.2e lse %.2e\n", tagb, (long long)smax, (long long)pl.num_work,
         n.o_rel_l2, n.lse_max_abs);
  ck_assert_msg(n.unwritten == 0, "%s: %lld outputs not written", tagb, (long long)n.unwritten);
  ck_assert_msg(n.o_rel_l2 <= tol, "%s: rel error %g > %g", tagb, n.o_rel_l2, tol);
  ck_assert_msg(n.lse_max_abs <= 1e-3, "%s: lse error %g", tagb, n.lse_max_abs);
  ck_assert_msg(memcmp(f.o, r.o, (size_t)(tq * hq * c->d * 2)) == 0, "%s: fused O differs", tagb);
  ck_assert_msg(memcmp(f.lse, r.lse, (size_t)(tq * hq) * sizeof(float)) == 0, "%s: fused LSE differs", tagb);
  if (c->v1) {
    result v = run_gpu_v1(&w, &pl);
    skv_numerics nv;
    ck_assert(skv_numerics_vs_reference(&correct, od, v.o, v.lse, &L, NULL, 0, &nv));
    printf("    decode v1: rel %.2e lse %.2e\n", nv.o_rel_l2, nv.lse_max_abs);
    ck_assert_msg(nv.unwritten == 0 && nv.o_rel_l2 <= tol && nv.lse_max_abs <= 1e-3, "%s: v1 rel %g lse %g", tagb,
                  nv.o_rel_l2, nv.lse_max_abs);
    free_result(&v);
  }
  free_result(&r);
  free_result(&f);
  skv_plan_free(&pl);
  skv_workload_free(&w);
}

/* Quick cases for compute-sanitizer (the smoke TCase): every tile size, both masks, a mixed batch,
 * an 8-bit cache in both forms. */
START_TEST(smoke_multi_query_tiles) {
  const mq_case cases[] = {
      {3, 0, 4, 2, 4, 128, 16, SKV_BF16, SKV_BF16, SKV_BF16, SKV_SCALE_PER_TENSOR, SKV_MASK_CAUSAL, SKV_POLICY_FIXED, 16, 700, true},
      {2, 1, 37, 1, 8, 64, 1, SKV_FP16, SKV_FP16, SKV_FP16, SKV_SCALE_PER_TENSOR, SKV_MASK_NONE, SKV_POLICY_FIXED, 32, 300, false},
      {2, 0, 70, 2, 1, 256, 32, SKV_BF16, SKV_BF16, SKV_BF16, SKV_SCALE_PER_TENSOR, SKV_MASK_CAUSAL, SKV_POLICY_FIXED, 64, 500, false},
      {2, 0, 2, 2, 4, 128, 16, SKV_BF16, SKV_INT8, SKV_INT8, SKV_SCALE_PER_TOKEN_HEAD, SKV_MASK_CAUSAL, SKV_POLICY_FIXED, 16, 600, false},
      {2, 0, 5, 1, 4, 64, 16, SKV_FP8_E4M3, SKV_FP8_E4M3, SKV_FP8_E4M3, SKV_SCALE_PER_TENSOR, SKV_MASK_CAUSAL, SKV_POLICY_FIXED, 32, 400, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_multi(&cases[i], 60 + i);
}
END_TEST

/* Every query length of the issue (1 .. 2048), groups 1/4/8/16, head dims 64/128/256, tiles of
 * 16/32/64 rows, both masks, mixed batches (decode requests beside a prefill chunk), page sizes
 * 1..64, every cache type, every policy. */
START_TEST(multi_query_matches_the_reference_for_every_q_tile_cache_and_policy) {
  static const int64_t qlens[] = {1, 2, 3, 4, 8, 16, 64, 512, 2048};
  static const int32_t groups[] = {1, 4, 8, 16}, dims[] = {64, 128, 256}, tiles[] = {16, 32, 64}, pages[] = {16, 1, 32, 64};
  static const struct { skv_dtype q, kv, v; skv_scale_mode m; } caches[] = {
      {SKV_BF16, SKV_BF16, SKV_BF16, SKV_SCALE_PER_TENSOR},
      {SKV_FP16, SKV_FP16, SKV_FP16, SKV_SCALE_PER_TENSOR},
      {SKV_BF16, SKV_FP8_E4M3, SKV_FP8_E4M3, SKV_SCALE_PER_TENSOR},
      {SKV_FP8_E4M3, SKV_FP8_E4M3, SKV_FP8_E4M3, SKV_SCALE_PER_TENSOR},
      {SKV_FP16, SKV_FP8_E4M3, SKV_FP8_E4M3, SKV_SCALE_PER_TOKEN_HEAD},
      {SKV_BF16, SKV_INT8, SKV_INT8, SKV_SCALE_PER_TOKEN_HEAD},
      {SKV_FP16, SKV_INT8, SKV_FP16, SKV_SCALE_PER_TOKEN_HEAD},
  };
  int k = 0;
  for (int qi = 0; qi < 9; qi++)
    for (int rep = 0; rep < 4; rep++, k++) {
      const int64_t Q = qlens[qi];
      const int ci = k % 7;
      mq_case c = {.n = Q >= 512 ? 2 : 1 + k % 4, .prefill = rep % 2 ? 1 : 0, .Q = Q, .hkv = Q >= 512 ? 1 : 2,
                   .group = groups[(k + qi) % 4], .d = Q >= 512 ? 64 : dims[k % 3], .page = pages[k % 4],
                   .q = caches[ci].q, .kv = caches[ci].kv, .v = caches[ci].v, .mode = caches[ci].m,
                   .mask = rep == 3 ? SKV_MASK_NONE : SKV_MASK_CAUSAL, .policy = (skv_policy)(k % SKV_POLICY_COUNT),
                   .tile_rows = tiles[(k + rep) % 3], .split_size = 300 + 97 * k, .v1 = k % 5 == 0};
      if (c.Q >= 512 && c.group > 4) c.group = 4; /* keeps the double reference a second or two */
      check_multi(&c, 7000 + (uint64_t)k);
    }
}
END_TEST

/* The last token of a request as decode: a one-request workload whose single query is a's last
 * query token of request 0 (the same q row bytes), over the same pages and pools (borrowed). */
typedef struct decode_view {
  skv_workload w;
  int64_t qlen[1], kvlen[1], cu[2];
} decode_view;

static void last_token_as_decode(const skv_workload *a, decode_view *v) {
  v->w = *a; /* shares a's buffers: never freed through v */
  const skv_batch *b = &a->batch;
  v->qlen[0] = 1, v->kvlen[0] = b->kvlen[0], v->cu[0] = 0, v->cu[1] = 1;
  v->w.batch.num_requests = 1;
  v->w.batch.qlen = v->qlen;
  v->w.batch.kvlen = v->kvlen;
  v->w.cu_seqlens_q = v->cu;
  const int64_t row = (a->cu_seqlens_q[1] - 1) * b->num_q_heads * b->head_dim;
  v->w.q = (unsigned char *)a->q + row * skv_dtype_size(a->opts.q_dtype);
}

/* Bits. (1) The same plan twice. (2) Under fixed, a speculative-verify request (Q = 4) alone and in
 * a batch. (3) Prefill vs decode: the last token of a prefill chunk (Q = 100 over up to 3100 keys) and the
 * same token as a decode step: under fixed with 16-row tiles the simulator predicts the same bits
 * (same chunks, same kernel form) and the GPU confirms; with 64-row tiles the prefill launch runs 4
 * row warps, each over all 64 tokens of a tile, where decode's 4 warps split each tile's tokens: a
 * row's online softmax then folds its keys in another order, predicted different; and under fa2 the
 * chunks differ. Every prediction comes from the plans (sim/invariance.h) before the GPU runs. */
START_TEST(multi_query_bits_repeat_alone_and_prefill_vs_decode) {
  char err[512];
  /* (1) and (2) */
  {
    mq_case c = {4, 0, 4, 8, 4, 128, 16, SKV_BF16, SKV_BF16, SKV_BF16, SKV_SCALE_PER_TENSOR, SKV_MASK_CAUSAL,
                 SKV_POLICY_FIXED, 0, 2048, false};
    skv_workload w = mq_workload(&c, 31);
    skv_policy_opts o;
    skv_policy_opts_default(&o);
    skv_plan pl;
    ck_assert(skv_plan_build(&w.batch, SKV_POLICY_FIXED, &o, skv_test_gpu(132), &pl, err, sizeof err));
    result a = run_gpu(&w, &pl, NULL), b = run_gpu(&w, &pl, NULL);
    const int64_t tq = w.cu_seqlens_q[4], hq = w.batch.num_q_heads;
    ck_assert(memcmp(a.o, b.o, (size_t)(tq * hq * 128 * 2)) == 0 && memcmp(a.lse, b.lse, (size_t)(tq * hq * 4)) == 0);
    skv_workload one;
    ck_assert_msg(skv_workload_extract(&w, 0, &one, err, sizeof err), "%s", err);
    skv_plan p1;
    ck_assert(skv_plan_build(&one.batch, SKV_POLICY_FIXED, &o, skv_test_gpu(132), &p1, err, sizeof err));
    ck_assert_msg(skv_same_row_bits(&pl, &w.batch, 0, &p1, &one.batch, 0), "fixed: alone vs batch predicted to differ");
    result s1 = run_gpu(&one, &p1, NULL);
    bool same = memcmp(s1.o, a.o, (size_t)(4 * hq * 128 * 2)) == 0;
    for (int64_t h = 0; h < hq && same; h++) same = memcmp(&s1.lse[h * 4], &a.lse[h * tq], 4 * sizeof(float)) == 0;
    printf("  Q=4 verify under fixed: alone vs in a batch of 4: predicted same, GPU %s\n", same ? "same" : "DIFFERENT");
    ck_assert(same);
    free_result(&a), free_result(&b), free_result(&s1);
    skv_plan_free(&pl), skv_plan_free(&p1);
    skv_workload_free(&one);
    skv_workload_free(&w);
  }
  /* (3) */
  static const struct { skv_policy p; int32_t tile; skv_dtype kv; bool want_same; } cases[] = {
      {SKV_POLICY_FIXED, 16, SKV_BF16, true},
      {SKV_POLICY_FIXED, 16, SKV_FP16, true},
      {SKV_POLICY_FIXED, 64, SKV_BF16, false},
      {SKV_POLICY_FA2, 16, SKV_BF16, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mq_case c = {1, 0, 100, 8, 4, 128, 16, cases[i].kv, cases[i].kv, cases[i].kv, SKV_SCALE_PER_TENSOR,
                 SKV_MASK_CAUSAL, cases[i].p, cases[i].tile, 512, false};
    skv_workload w = mq_workload(&c, 41 + i);
    decode_view dv;
    last_token_as_decode(&w, &dv);
    skv_policy_opts o;
    skv_policy_opts_default(&o);
    o.split_size = 512;
    o.tile_rows = cases[i].tile;
    skv_plan pa, pd;
    ck_assert(skv_plan_build(&w.batch, cases[i].p, &o, skv_test_gpu(132), &pa, err, sizeof err));
    ck_assert(skv_plan_build(&dv.w.batch, cases[i].p, &o, skv_test_gpu(132), &pd, err, sizeof err));
    const bool predicted = skv_same_row_bits(&pa, &w.batch, 0, &pd, &dv.w.batch, 0);
    result a = run_gpu(&w, &pa, NULL), d = run_gpu(&dv.w, &pd, NULL);
    const int64_t Q = w.batch.qlen[0], hq = w.batch.num_q_heads;
    bool same = memcmp((unsigned char *)a.o + (Q - 1) * hq * 128 * 2, d.o, (size_t)(hq * 128 * 2)) == 0;
    for (int64_t h = 0; h < hq && same; h++) same = memcmp(&a.lse[h * Q + Q - 1], &d.lse[h], sizeof(float)) == 0;
    const skv_kernel_form fa = skv_plan_kernel_form(&pa, &w.batch), fd = skv_plan_kernel_form(&pd, &dv.w.batch);
    printf("  prefill (Q=%lld, KV %lld) last token vs decode, %s %s tile %d (row warps %d vs %d, chunks %lld vs %lld): "
           "predicted %s, GPU %s\n", (long long)Q, (long long)w.batch.kvlen[0], skv_policy_name(cases[i].p),
           skv_dtype_name(cases[i].kv), cases[i].tile, fa.row_warps, fd.row_warps,
           (long long)skv_plan_num_splits(&pa, 0), (long long)skv_plan_num_splits(&pd, 0),
           predicted ? "same" : "different", same ? "same" : "different");
    ck_assert_msg(predicted == cases[i].want_same, "prediction %d", predicted);
    if (predicted) ck_assert_msg(same, "predicted the same bits, the GPU differs");
    free_result(&a), free_result(&d);
    skv_plan_free(&pa), skv_plan_free(&pd);
    skv_workload_free(&w);
  }
}
END_TEST

/* ---- quantized caches ---- */

typedef struct qcase {
  skv_dtype q, kv, v;
  skv_scale_mode mode;
} qcase;

/* Every quantized variant, with the upstream fix's non-unit scales (q 0.75, k 0.5, v 0.25): the
 * kernel matches the reference on the dequantized values, and is far from each reference that
 * drops one scale (so it used every scale); fused and kernel combine give the same bits. */
START_TEST(quantized_variants_match_the_dequantized_reference_and_use_every_scale) {
  static const qcase cases[] = {
      {SKV_BF16, SKV_FP8_E4M3, SKV_DTYPE_COUNT, SKV_SCALE_PER_TENSOR},
      {SKV_FP16, SKV_FP8_E4M3, SKV_DTYPE_COUNT, SKV_SCALE_PER_TENSOR},
      {SKV_FP8_E4M3, SKV_FP8_E4M3, SKV_DTYPE_COUNT, SKV_SCALE_PER_TENSOR},
      {SKV_BF16, SKV_FP8_E4M3, SKV_DTYPE_COUNT, SKV_SCALE_PER_TOKEN_HEAD},
      {SKV_FP16, SKV_FP8_E4M3, SKV_DTYPE_COUNT, SKV_SCALE_PER_TOKEN_HEAD},
      {SKV_BF16, SKV_INT8, SKV_INT8, SKV_SCALE_PER_TOKEN_HEAD},
      {SKV_FP16, SKV_INT8, SKV_INT8, SKV_SCALE_PER_TOKEN_HEAD},
      {SKV_BF16, SKV_INT8, SKV_BF16, SKV_SCALE_PER_TOKEN_HEAD},
      {SKV_FP16, SKV_INT8, SKV_FP16, SKV_SCALE_PER_TOKEN_HEAD},
  };
  /* (head dim, group): groups up to 8 run the column form of 8-bit caches (kernels/warp_cols.cuh;
   * 7 leaves a padding column), 12 the row form (warp_rows.cuh). */
  static const int32_t dims[] = {64, 128, 256, 128}, groups[] = {4, 7, 4, 12};
  int64_t kv[5] = {1, 900, 3000, 77, 2048};
  char err[512];
  for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++)
    for (int di = 0; di < 4; di++) {
      const qcase *qc = &cases[ci];
      const int32_t hq = 4 * groups[di];
      skv_batch b = make_batch(5, kv, hq, 4, dims[di], di == 1 ? 32 : 16, qc->kv);
      b.v_dtype = qc->v == SKV_DTYPE_COUNT ? qc->kv : qc->v;
      b.kv_scale_mode = qc->mode;
      skv_workload_opts o;
      skv_workload_opts_default(&o);
      o.seed = 300 + ci * 3 + (uint64_t)di;
      o.q_dtype = qc->q;
      o.quant.q_scale = 0.75f, o.quant.k_scale = 0.5f, o.quant.v_scale = 0.25f;
      o.q_amp = 8.0f; /* peaked attention: a dropped scale moves the output far */
      o.poison_tails = true;
      skv_workload w;
      ck_assert_msg(skv_workload_make(&b, &o, &w, err, sizeof err), "%s", err);
      skv_policy_opts po;
      skv_policy_opts_default(&po);
      po.split_size = 512;
      skv_plan pl;
      ck_assert(skv_plan_build(&b, (ci + di) % 2 ? SKV_POLICY_FIXED : SKV_POLICY_FA2, &po, skv_test_gpu(132), &pl, err, sizeof err));
      result r = run_gpu(&w, &pl, NULL), f = run_gpu_mode(&w, &pl, NULL, true);
      const skv_dtype od = qc->q == SKV_FP16 ? SKV_FP16 : SKV_BF16;
      skv_numerics n;
      const skv_layout L = skv_lse_layout_logical(5, 4, groups[di]);
      ck_assert(skv_numerics_vs_reference(&w, od, r.o, r.lse, &L, NULL, 0, &n));
      const double tol = qc->q == SKV_FP16 ? 2e-3 : 1e-2;
      double dropped_min = INFINITY;
      const bool has_q = qc->q == SKV_FP8_E4M3, has_kv = qc->kv == SKV_FP8_E4M3 && qc->mode == SKV_SCALE_PER_TENSOR;
      for (int d = 0; d < 3; d++) {
        if ((d == 0 && !has_q) || (d > 0 && !has_kv)) continue; /* per-token scales cannot be "dropped" per tensor */
        skv_workload bad = w;
        bad.opts.quant.drop_q_scale = d == 0, bad.opts.quant.drop_k_scale = d == 1, bad.opts.quant.drop_v_scale = d == 2;
        skv_numerics nb;
        ck_assert(skv_numerics_vs_reference(&bad, od, r.o, r.lse, &L, NULL, 0, &nb));
        if (nb.o_rel_l2 < dropped_min) dropped_min = nb.o_rel_l2;
      }
      printf("  q=%s kv=%s v=%s %s d=%d group %d: rel %.2e lse %.2e; nearest dropped-scale reference %.2e\n",
             skv_dtype_name(qc->q), skv_dtype_name(qc->kv), skv_dtype_name(qc->v == SKV_DTYPE_COUNT ? qc->kv : qc->v),
             skv_scale_mode_name(qc->mode), dims[di], groups[di], n.o_rel_l2, n.lse_max_abs, dropped_min);
      ck_assert_msg(n.unwritten == 0, "unwritten outputs");
      ck_assert_msg(n.o_rel_l2 <= tol, "rel error %g", n.o_rel_l2);
      ck_assert_msg(n.lse_max_abs <= 1e-3, "lse error %g", n.lse_max_abs);
      ck_assert_msg(dropped_min > 10 * tol, "a dropped-scale reference is only %g away", dropped_min);
      ck_assert(memcmp(f.o, r.o, (size_t)5 * hq * dims[di] * 2) == 0 && memcmp(f.lse, r.lse, (size_t)5 * hq * 4) == 0);
      free_result(&r);
      free_result(&f);
      skv_plan_free(&pl);
      skv_workload_free(&w);
      skv_batch_free(&b);
    }
}
END_TEST

/* The benchmark's L2 rotation replicates the pools; replica j's pages are page + j * P, so the
 * per-token scales must be replicated too (each replica a copy of the original), and every replica
 * must run in bounds with every output written. */
START_TEST(rotation_replicates_per_token_scales) {
  static const skv_dtype kvs[] = {SKV_FP8_E4M3, SKV_INT8};
  int64_t kv[3] = {700, 2048, 33};
  char err[512];
  for (int k = 0; k < 2; k++) {
    skv_batch b = make_batch(3, kv, 8, 2, 128, 16, kvs[k]);
    skv_workload_opts o;
    skv_workload_opts_default(&o);
    o.seed = 77 + (uint64_t)k;
    o.q_dtype = SKV_BF16;
    b.kv_scale_mode = SKV_SCALE_PER_TOKEN_HEAD;
    skv_workload w;
    ck_assert_msg(skv_workload_make(&b, &o, &w, err, sizeof err), "%s", err);
    skv_plan pl;
    skv_policy_opts po;
    skv_policy_opts_default(&po);
    ck_assert(skv_plan_build(&b, SKV_POLICY_FA2, &po, skv_test_gpu(132), &pl, err, sizeof err));
    skv_gpu_batch g;
    skv_gpu_plan gp;
    ck_assert_msg(skv_gpu_batch_upload(&w, NULL, &g, err, sizeof err), "%s", err);
    ck_assert_msg(skv_gpu_plan_upload(&pl, w.page_indptr, &gp, err, sizeof err), "%s", err);
    skv_gpu_rotation rot;
    const int64_t pool_bytes = g.pool_elems * 2; /* 8-bit K and V */
    ck_assert_msg(skv_gpu_rotation_make(&g, &w, pool_bytes, &rot, err, sizeof err), "%s", err);
    ck_assert_int_eq(rot.replicas, 4);
    const int64_t tokens = w.num_pages * b.page_size * b.num_kv_heads;
    float *sc = malloc((size_t)(tokens * rot.replicas) * sizeof(float));
    ck_assert(sc);
    const float *want[2] = {w.scales.k_token, w.scales.v_token}, *have[2] = {g.prob.d_k_token_scale, g.prob.d_v_token_scale};
    for (int i = 0; i < 2; i++) {
      if (!want[i]) continue;
      ck_assert(cudaMemcpy(sc, have[i], (size_t)(tokens * rot.replicas) * sizeof(float), cudaMemcpyDeviceToHost) ==
                cudaSuccess);
      for (int32_t j = 0; j < rot.replicas; j++)
        ck_assert_msg(memcmp(sc + j * tokens, want[i], (size_t)tokens * sizeof(float)) == 0,
                      "%s scale replica %d differs", i ? "V" : "K", j);
    }
    result r = {malloc((size_t)g.o_elems * 2), malloc((size_t)g.lse_elems * sizeof(float))};
    ck_assert(r.o && r.lse);
    for (int32_t j = 0; j < rot.replicas; j++) {
      skv_gpu_rotation_use(&g, &rot, j);
      ck_assert_msg(skv_gpu_poison(&g, err, sizeof err), "%s", err);
      ck_assert_msg(skv_gpu_run(&g, &gp, 0, err, sizeof err), "%s", err);
      ck_assert_msg(skv_gpu_download(&g, r.o, r.lse, err, sizeof err), "replica %d: %s", j, err);
      for (int64_t i = 0; i < g.o_elems; i++) ck_assert(isfinite(skv_load_as_double(SKV_BF16, r.o, i)));
      for (int64_t i = 0; i < g.lse_elems; i++) ck_assert(isfinite(r.lse[i]));
    }
    free_result(&r);
    free(sc);
    skv_gpu_rotation_free(&rot);
    skv_gpu_plan_free(&gp);
    skv_gpu_batch_free(&g);
    skv_plan_free(&pl);
    skv_workload_free(&w);
    skv_batch_free(&b);
  }
}
END_TEST

/* ---- version 1 of decode ---- */

/* decode_v1.cu executes the same plans as decode.cu with the algorithm written plainly: against the
 * CPU executor (sim/cpu_exec.h: the plan run in double through its work list, scratch rows and
 * combine list), for every cache type, split and unsplit requests, head dims 64/128/256, groups up
 * to 16 and pages of 1 and 16 tokens; every output written. */
START_TEST(decode_v1_matches_the_cpu_executor) {
  static const qcase cases[] = {
      {SKV_BF16, SKV_BF16, SKV_DTYPE_COUNT, SKV_SCALE_PER_TENSOR},
      {SKV_FP16, SKV_FP16, SKV_DTYPE_COUNT, SKV_SCALE_PER_TENSOR},
      {SKV_FP8_E4M3, SKV_FP8_E4M3, SKV_DTYPE_COUNT, SKV_SCALE_PER_TENSOR},
      {SKV_BF16, SKV_FP8_E4M3, SKV_DTYPE_COUNT, SKV_SCALE_PER_TOKEN_HEAD},
      {SKV_BF16, SKV_INT8, SKV_INT8, SKV_SCALE_PER_TOKEN_HEAD},
      {SKV_FP16, SKV_INT8, SKV_FP16, SKV_SCALE_PER_TOKEN_HEAD},
  };
  static const int32_t dims[] = {64, 128, 256}, groups[] = {1, 4, 16}, pages[] = {16, 1, 16};
  int64_t kv[4] = {1, 700, 0, 2051};
  char err[512];
  int k = 0;
  for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++)
    for (int di = 0; di < 3; di++, k++) {
      const qcase *qc = &cases[ci];
      const int32_t G = groups[(ci + (size_t)di) % 3];
      skv_batch b = make_batch(4, kv, 2 * G, 2, dims[di], pages[di], qc->kv);
      b.v_dtype = qc->v == SKV_DTYPE_COUNT ? qc->kv : qc->v;
      b.kv_scale_mode = qc->mode;
      skv_workload_opts o;
      skv_workload_opts_default(&o);
      o.seed = 900 + (uint64_t)k;
      o.q_dtype = qc->q;
      o.quant.q_scale = 0.75f, o.quant.k_scale = 0.5f, o.quant.v_scale = 0.25f;
      skv_workload w;
      ck_assert_msg(skv_workload_make(&b, &o, &w, err, sizeof err), "%s", err);
      skv_policy_opts po;
      skv_policy_opts_default(&po);
      po.split_size = 300; /* requests 1 and 3 split, 0 and 2 not */
      skv_plan pl;
      ck_assert(skv_plan_build(&b, k % 2 ? SKV_POLICY_FIXED : SKV_POLICY_FA2, &po, skv_test_gpu(132), &pl, err, sizeof err));
      result r = run_gpu_v1(&w, &pl);
      const int64_t nl = (int64_t)b.num_requests * b.num_q_heads, no = nl * b.head_dim; /* decode: a token a request */
      double *eo = malloc(sizeof(double) * (size_t)no), *el = malloc(sizeof(double) * (size_t)nl);
      ck_assert(eo && el);
      const skv_workload correct = skv_workload_view_correct(&w);
      ck_assert(skv_cpu_execute(&correct, &pl, NULL, eo, el));
      double num = 0, den = 0, lmax = 0;
      int64_t unwritten = 0;
      const skv_dtype od = skv_output_dtype(qc->q);
      for (int64_t i = 0; i < no; i++) {
        const double v = skv_load_as_double(od, r.o, i);
        if (isnan(v)) unwritten++;
        else num += (v - eo[i]) * (v - eo[i]), den += eo[i] * eo[i];
      }
      for (int64_t i = 0; i < nl; i++) {
        if (isnan(r.lse[i])) unwritten++;
        else if (isinf(el[i]) || isinf(r.lse[i])) lmax = r.lse[i] == el[i] ? lmax : INFINITY;
        else lmax = fmax(lmax, fabs(r.lse[i] - el[i]));
      }
      const double rel = sqrt(num / den), tol = od == SKV_FP16 ? 2e-3 : 1e-2;
      printf("  decode v1 q=%s kv=%s v=%s %s d=%d group %d %s: rel %.2e lse %.2e\n", skv_dtype_name(qc->q),
             skv_dtype_name(qc->kv), skv_dtype_name(b.v_dtype), skv_scale_mode_name(qc->mode), dims[di], G,
             skv_policy_name(pl.policy), rel, lmax);
      ck_assert_int_eq(unwritten, 0);
      ck_assert_msg(rel <= tol, "rel %g", rel);
      ck_assert_msg(lmax <= 1e-3, "lse %g", lmax);
      free(eo), free(el);
      free_result(&r);
      skv_plan_free(&pl);
      skv_workload_free(&w);
      skv_batch_free(&b);
    }
}
END_TEST

/* ---- layouts ---------------------------------------------------------------------------------- */

START_TEST(lse_is_written_through_the_layout_descriptor) {
  /* A transposed descriptor, (b, h, g) -> (h, b, g) as FA2's split kernel writes it: every LSE must
   * land at the descriptor's offset, for split requests (combine) and single-chunk ones (decode). */
  int64_t kv[5] = {5000, 33, 4096, 1, 900};
  skv_batch b = make_batch(5, kv, 32, 8, 128, 16, SKV_BF16);
  skv_workload w = make_workload(&b, 9, true);
  skv_plan pl;
  char err[512];
  ck_assert(skv_plan_build(&b, SKV_POLICY_FA2, NULL, skv_test_gpu(132), &pl, err, sizeof err));
  skv_layout hbg = {.rank = 3, .shape = {5, 8, 4}, .stride = {4, 5 * 4, 1}};
  result r = run_gpu(&w, &pl, &hbg), ref = run_gpu(&w, &pl, NULL);
  for (int64_t bb = 0; bb < 5; bb++)
    for (int64_t h = 0; h < 8; h++)
      for (int64_t g = 0; g < 4; g++) {
        float got = r.lse[bb * 4 + h * 20 + g], want = ref.lse[(h * 4 + g) * 5 + bb];
        ck_assert_msg(memcmp(&got, &want, 4) == 0, "lse (%lld,%lld,%lld)", (long long)bb, (long long)h,
                      (long long)g);
      }
  free_result(&r);
  free_result(&ref);
  skv_plan_free(&pl);
  skv_workload_free(&w);
  skv_batch_free(&b);
}
END_TEST

/* Where the caller's element (b, h, m) of FA2's internal (batch, heads, seqlen_q) = (B, H, SQ) sits
 * in softmax_lse after the host code, written out by hand from the torch semantics, independently
 * of sim/lse_layout.c (vllm-project/flash-attention PR #87; docs/layout.md):
 *   varlen (unpadded): softmax_lse is {H, B*SQ} contiguous and the caller reads [hq, tokens]
 *     (head = h*SQ + m, token = b);
 *     - reshape(H*SQ, B) is a view: element (head, token) is at head*B + token;
 *     - reshape(H, B, SQ).transpose(1, 2).reshape(H*SQ, B): (h, b, m) of the first view is at
 *       (h*B + b)*SQ + m, and the transpose puts it at row h*SQ + m, column b;
 *     fa2-upstream takes the first, the fork before the fix the second, after the fix the second
 *     only with one split (the split-1 kernel), else the first;
 *   padded: softmax_lse is {B, H, SQ} and reshape(B, H*SQ, 1) is a view: (b, head) at b*H*SQ + head.
 * Returns the caller's flat index in *caller and the softmax_lse offset it reads. */
static int64_t host_reads(bool unpadded, skv_lse_kernel kernel, skv_lse_host host, int64_t B, int64_t H, int64_t SQ,
                          int64_t b, int64_t h, int64_t m, int64_t *caller) {
  const int64_t head = h * SQ + m;
  if (!unpadded) {
    *caller = b * H * SQ + head;
    return b * H * SQ + head;
  }
  *caller = head * B + b;
  const bool transpose = host == SKV_LSE_HOST_FORK_BEFORE || (host == SKV_LSE_HOST_FORK_AFTER && kernel == SKV_LSE_SPLIT1);
  return transpose ? (h * B + b) * SQ + m : head * B + b;
}

/* The GPU writes the LSE through FA2's layout descriptors (sim/lse_layout.h) as the combine kernel
 * (split requests) or the decode kernel (one chunk: FA2's split-1 path); the host path's reshape,
 * applied to the GPU's buffer by the index arithmetic above, must give the caller the reference's
 * logical LSE exactly in the rows `skv layout` calls right and not in the others, and must equal
 * bit for bit what the simulator's model delivers from the same values. */
START_TEST(lse_layouts_on_the_gpu_match_the_simulator_bit_for_bit) {
  int64_t kv[3] = {3000, 700, 2500};
  enum { B = 3, H = 2, SQ = 4, N = B * H * SQ };
  skv_batch b = make_batch(B, kv, H * SQ, H, 128, 16, SKV_BF16);
  skv_workload w = make_workload(&b, 21, true);
  double ref_o[N * 128], ref_lse[N];
  ck_assert(skv_ref_attention(&w, false, ref_o, ref_lse)); /* lse [hq, B] */
  char err[512];
  int rows = 0, wrong = 0;
  for (int kernel = SKV_LSE_SPLIT1; kernel <= SKV_LSE_COMBINE; kernel++) {
    skv_policy_opts o;
    skv_policy_opts_default(&o);
    o.split_size = 512; /* combine: every request split */
    skv_plan pl;
    ck_assert(skv_plan_build(&b, kernel == SKV_LSE_COMBINE ? SKV_POLICY_FIXED : SKV_POLICY_NONE, &o, skv_test_gpu(132), &pl, err,
                             sizeof err));
    result logical = run_gpu(&w, &pl, NULL); /* [hq, B]: (b, h, m) at ((h*SQ + m)*B + b) */
    double internal[N];
    for (int64_t r = 0; r < B; r++)
      for (int64_t h = 0; h < H; h++)
        for (int64_t m = 0; m < SQ; m++) internal[(r * H + h) * SQ + m] = logical.lse[(h * SQ + m) * B + r];
    for (int unpadded = 0; unpadded <= 1; unpadded++)
      for (int host = 0; host < SKV_LSE_HOST_COUNT; host++) {
        skv_lse_case c = {.swapped = true, .unpadded = unpadded, .kernel = (skv_lse_kernel)kernel,
                          .host = (skv_lse_host)host, .batch = B, .kv_heads = H, .groups = SQ, .qlen = 1};
        skv_layout L;
        ck_assert_msg(skv_lse_write_layout(c.kernel, true, unpadded, B, H, SQ, &L, err, sizeof err), "%s", err);
        result r = run_gpu(&w, &pl, &L);
        double got[N], want[N];
        bool all_right = true;
        for (int64_t bb = 0; bb < B; bb++)
          for (int64_t h = 0; h < H; h++)
            for (int64_t m = 0; m < SQ; m++) {
              int64_t ci;
              const int64_t off = host_reads(unpadded, c.kernel, c.host, B, H, SQ, bb, h, m, &ci);
              got[ci] = r.lse[off];
              /* its own value: the GPU's logical LSE of (b, h, m), within rounding of the reference */
              const float own = logical.lse[(h * SQ + m) * B + bb];
              ck_assert(fabs(own - ref_lse[(h * SQ + m) * B + bb]) < 1e-3);
              all_right = all_right && memcmp(&r.lse[off], &own, sizeof own) == 0;
            }
        ck_assert_msg(skv_lse_deliver(&c, internal, want, NULL, err, sizeof err), "%s", err);
        ck_assert_msg(memcmp(got, want, sizeof got) == 0, "kernel %s host %s unpadded %d: the GPU differs from the model",
                      skv_lse_kernel_name(c.kernel), skv_lse_host_name(c.host), unpadded);
        skv_lse_row row;
        ck_assert(skv_lse_evaluate(&c, &row, err, sizeof err));
        ck_assert_msg(row.correct == all_right, "kernel %s host %s unpadded %d: the model says %s, the GPU gives %s",
                      skv_lse_kernel_name(c.kernel), skv_lse_host_name(c.host), unpadded, row.correct ? "right" : "wrong",
                      all_right ? "every caller element its own LSE" : "misplaced LSEs");
        rows++;
        wrong += !all_right;
        free_result(&r);
      }
    free_result(&logical);
    skv_plan_free(&pl);
  }
  printf("  lse layouts: %d GPU rows match the simulator bit for bit (%d of them deliver misplaced LSEs)\n", rows,
         wrong);
  ck_assert_int_eq(rows, 12);
  ck_assert_int_eq(wrong, 2); /* split-1 under fa2-upstream, combine under vllm-fork-before-fix */
  skv_workload_free(&w);
  skv_batch_free(&b);
}
END_TEST

/* ---- determinism ------------------------------------------------------------------------------ */

/* Programmatic dependent launch (skv bench decode --pdl): the combine kernel launched as decode's
 * programmatic dependent gives the plain launch's bits and writes every output, over a 16-bit and an
 * 8-bit cache, for fa2's one-wave split plan and a many-wave one (fixed 256: 2,192 decode CTAs), so
 * the combine's CTAs launch while decode CTAs still run and must wait for all of them. */
START_TEST(pdl_combine_gives_the_plain_launchs_bits) {
  struct cudaDeviceProp prop;
  ck_assert(cudaGetDeviceProperties(&prop, 0) == cudaSuccess);
  if (prop.major < 9) {
    printf("  pdl: SKIPPED (compute capability %d.%d: programmatic dependent launch needs 9.0)\n", prop.major,
           prop.minor);
    return;
  }
  int64_t kv[4] = {70000, 0, 4100, 129};
  const skv_dtype kvt[2] = {SKV_BF16, SKV_FP8_E4M3};
  int checked = 0;
  for (int d = 0; d < 2; d++) {
    skv_batch b = make_batch(4, kv, 32, 8, 128, 16, kvt[d]);
    skv_workload_opts wo; /* bf16 queries over either cache, as the timeline test's */
    skv_workload_opts_default(&wo);
    wo.seed = 31;
    wo.q_dtype = SKV_BF16;
    skv_workload w;
    char werr[512];
    ck_assert_msg(skv_workload_make(&b, &wo, &w, werr, sizeof werr), "%s", werr);
    for (int pol = 0; pol < 2; pol++) {
      skv_policy_opts o;
      skv_policy_opts_default(&o);
      o.split_size = 256;
      skv_plan pl;
      char err[512];
      ck_assert_msg(skv_plan_build(&b, pol ? SKV_POLICY_FIXED : SKV_POLICY_FA2, &o, skv_test_gpu(prop.multiProcessorCount),
                                   &pl, err, sizeof err),
                    "%s", err);
      ck_assert(pl.num_combine > 0);
      result plain = run_gpu_with(&w, &pl, NULL, false, false, false), dep = run_gpu_with(&w, &pl, NULL, false, false, true);
      const int64_t hq = b.num_q_heads, n = b.num_requests, dd = b.head_dim;
      ck_assert_msg(memcmp(plain.o, dep.o, (size_t)(n * hq * dd) * 2) == 0, "%s %s: O bits differ with PDL",
                    skv_dtype_name(kvt[d]), pol ? "fixed" : "fa2");
      ck_assert_msg(memcmp(plain.lse, dep.lse, (size_t)(n * hq) * sizeof(float)) == 0, "LSE bits differ with PDL");
      /* every output written (bf16 O with bf16 queries; the buffers were poisoned with NaN) */
      int64_t unwritten = 0;
      for (int64_t i = 0; i < n * hq * dd; i++) unwritten += isnan(o_value(SKV_BF16, dep.o, i));
      for (int64_t i = 0; i < n * hq; i++) unwritten += isnan(dep.lse[i]);
      ck_assert_int_eq(unwritten, 0);
      /* and right, where compare() reads the output (16-bit caches; the 8-bit ones: the quantized test) */
      const errors e = kvt[d] == SKV_BF16 ? compare(&w, &dep) : (errors){0, 0, 0, 0};
      ck_assert_msg(e.rel_l2 < 1e-2, "rel err %.3g", e.rel_l2);
      printf("  pdl: %s %s, %lld decode CTAs, %lld combine items: the plain launch's bits, all written%s\n",
             skv_dtype_name(kvt[d]), pol ? "fixed 256" : "fa2", (long long)pl.num_work, (long long)pl.num_combine,
             kvt[d] == SKV_BF16 ? ", rel err vs the reference below 1e-2" : "");
      free_result(&plain);
      free_result(&dep);
      skv_plan_free(&pl);
      checked++;
    }
    skv_workload_free(&w);
    skv_batch_free(&b);
  }
  ck_assert_int_eq(checked, 4);
}
END_TEST

/* The persistent grid (skv bench decode --persistent): min(work items, resident CTAs) CTAs taking
 * items from a queue, each prefetching its next item's record and first page ids, gives one CTA per
 * item's bits and writes every output — over a 16-bit, an fp8 and an int8 cache, with the combine
 * kernel and fused, for fa2's one-wave plan, fixed 256 (about 2,200 items: many per CTA, with
 * chunks shorter than the prefetched tiles, one empty request) and page sizes 16 and 1 (the
 * prefetched ids of 1-token pages). Each configuration is launched three times, the outputs poisoned
 * before each: the queue must be re-armed by every launch for the next to run every item. */
static result run_gpu_persistent(const skv_workload *w, const skv_plan *pl, bool fused, int launches) {
  char err[512];
  skv_gpu_batch g;
  skv_gpu_plan gp;
  ck_assert_msg(skv_gpu_batch_upload(w, NULL, &g, err, sizeof err), "%s", err);
  ck_assert_msg(skv_gpu_plan_upload(pl, w->page_indptr, &gp, err, sizeof err), "%s", err);
  gp.dev.fused_combine = fused;
  gp.dev.persistent = true;
  for (int i = 0; i < launches; i++) {
    ck_assert_msg(skv_gpu_poison(&g, err, sizeof err), "%s", err);
    ck_assert_msg(skv_gpu_run(&g, &gp, 0, err, sizeof err), "%s", err);
  }
  result r = {malloc((size_t)g.o_elems * 2), malloc((size_t)g.lse_elems * sizeof(float))};
  ck_assert(r.o && r.lse);
  ck_assert_msg(skv_gpu_download(&g, r.o, r.lse, err, sizeof err), "%s", err);
  skv_gpu_plan_free(&gp);
  skv_gpu_batch_free(&g);
  return r;
}

START_TEST(persistent_grid_gives_one_cta_per_items_bits) {
  struct cudaDeviceProp prop;
  ck_assert(cudaGetDeviceProperties(&prop, 0) == cudaSuccess);
  int64_t kv[4] = {70000, 0, 4100, 129};
  const skv_dtype kvt[3] = {SKV_BF16, SKV_FP8_E4M3, SKV_INT8};
  const int32_t pages[2] = {16, 1};
  int checked = 0;
  for (int d = 0; d < 3; d++)
    for (int pi = 0; pi < 2; pi++) {
      skv_batch b = make_batch(4, kv, 32, 8, 128, pages[pi], kvt[d]);
      skv_workload_opts wo;
      skv_workload_opts_default(&wo);
      wo.seed = 37;
      wo.q_dtype = SKV_BF16;
      skv_workload w;
      char werr[512];
      ck_assert_msg(skv_workload_make(&b, &wo, &w, werr, sizeof werr), "%s", werr);
      for (int pol = 0; pol < 2; pol++) {
        skv_policy_opts o;
        skv_policy_opts_default(&o);
        o.split_size = 256;
        skv_plan pl;
        char err[512];
        ck_assert_msg(skv_plan_build(&b, pol ? SKV_POLICY_FIXED : SKV_POLICY_FA2, &o,
                                     skv_test_gpu(prop.multiProcessorCount), &pl, err, sizeof err),
                      "%s", err);
        for (int fused = 0; fused < 2; fused++) {
          result plain = run_gpu_with(&w, &pl, NULL, fused, false, false), per = run_gpu_persistent(&w, &pl, fused, 3);
          const int64_t hq = b.num_q_heads, n = b.num_requests, dd = b.head_dim;
          ck_assert_msg(memcmp(plain.o, per.o, (size_t)(n * hq * dd) * 2) == 0, "%s page %d %s%s: O bits differ on the persistent grid",
                        skv_dtype_name(kvt[d]), pages[pi], pol ? "fixed" : "fa2", fused ? " fused" : "");
          ck_assert_msg(memcmp(plain.lse, per.lse, (size_t)(n * hq) * sizeof(float)) == 0,
                        "LSE bits differ on the persistent grid");
          int64_t unwritten = 0;
          for (int64_t i = 0; i < n * hq * dd; i++) unwritten += isnan(o_value(SKV_BF16, per.o, i));
          for (int64_t i = 0; i < n * hq; i++) unwritten += isnan(per.lse[i]);
          ck_assert_int_eq(unwritten, 0);
          const errors e = kvt[d] == SKV_BF16 ? compare(&w, &per) : (errors){0, 0, 0, 0};
          ck_assert_msg(e.rel_l2 < 1e-2, "rel err %.3g", e.rel_l2);
          free_result(&plain);
          free_result(&per);
          checked++;
        }
        printf("  persistent: %s page %d %s, %lld work items: one CTA per item's bits (kernel and fused combine), "
               "all written, 3 launches%s\n",
               skv_dtype_name(kvt[d]), pages[pi], pol ? "fixed 256" : "fa2", (long long)pl.num_work,
               kvt[d] == SKV_BF16 ? ", rel err vs the reference below 1e-2" : "");
        skv_plan_free(&pl);
      }
      skv_workload_free(&w);
      skv_batch_free(&b);
    }
  ck_assert_int_eq(checked, 24);
}
END_TEST

/* CTA timelines (bench --timeline): every CTA of a launch records start <= first tile <= loop end <=
 * end on a real SM (an empty range records no first tile), and recording changes no output bit. */
START_TEST(cta_timelines_are_complete_and_leave_outputs_unchanged) {
  int64_t kv[4] = {70000, 0, 4100, 129};
  struct cudaDeviceProp prop;
  ck_assert(cudaGetDeviceProperties(&prop, 0) == cudaSuccess);
  const skv_dtype kvt[2] = {SKV_BF16, SKV_FP8_E4M3};
  for (int d = 0; d < 2; d++) {
    skv_batch b = make_batch(4, kv, 32, 8, 128, 16, kvt[d]);
    skv_workload_opts wo;
    skv_workload_opts_default(&wo);
    wo.seed = 23;
    wo.q_dtype = SKV_BF16;
    skv_workload w;
    char err[512];
    ck_assert_msg(skv_workload_make(&b, &wo, &w, err, sizeof err), "%s", err);
    skv_plan pl;
    ck_assert(skv_plan_build(&b, SKV_POLICY_FA2, NULL, skv_test_gpu(prop.multiProcessorCount), &pl, err, sizeof err));
    ck_assert(pl.num_combine > 0);
    for (int fused = 0; fused < 2; fused++) {
      result plain = run_gpu_mode(&w, &pl, NULL, fused);
      skv_gpu_batch g;
      skv_gpu_plan gp;
      ck_assert_msg(skv_gpu_batch_upload(&w, NULL, &g, err, sizeof err), "%s", err);
      ck_assert_msg(skv_gpu_plan_upload(&pl, w.page_indptr, &gp, err, sizeof err), "%s", err);
      gp.dev.fused_combine = fused;
      ck_assert_msg(skv_gpu_poison(&g, err, sizeof err), "%s", err);
      skv_cta_times *t = calloc((size_t)pl.num_work, sizeof *t);
      ck_assert(t);
      ck_assert_msg(skv_gpu_run_timed_ctas(&g, &gp, t, err, sizeof err), "%s", err);
      ck_assert(gp.dev.d_cta_times == NULL);
      result traced = {malloc((size_t)g.o_elems * 2), malloc((size_t)g.lse_elems * sizeof(float))};
      ck_assert(traced.o && traced.lse);
      ck_assert_msg(skv_gpu_download(&g, traced.o, traced.lse, err, sizeof err), "%s", err);
      ck_assert(memcmp(plain.o, traced.o, (size_t)g.o_elems * 2) == 0);
      ck_assert(memcmp(plain.lse, traced.lse, (size_t)g.lse_elems * sizeof(float)) == 0);
      for (int64_t i = 0; i < pl.num_work; i++) {
        ck_assert_msg(t[i].start_ns != 0 && t[i].end_ns >= t[i].start_ns, "CTA %lld", (long long)i);
        ck_assert_int_lt(t[i].sm, prop.multiProcessorCount);
        const bool empty = pl.work[i].kv_end == pl.work[i].kv_begin;
        ck_assert_msg(empty == (t[i].first_tile_ns == 0), "CTA %lld: first tile %llu for %lld tokens", (long long)i,
                      (unsigned long long)t[i].first_tile_ns, (long long)(pl.work[i].kv_end - pl.work[i].kv_begin));
      }
      skv_cta_timeline_summary sum;
      ck_assert_msg(skv_cta_timeline_summarize(t, pl.work, pl.num_work, 1.0, &sum, err, sizeof err), "%s", err);
      ck_assert_int_eq(sum.ctas, pl.num_work);
      ck_assert(sum.span_us > 0 && sum.prologue_p50_us > 0 && sum.sm_gbps_max >= sum.sm_gbps_min);
      free(t);
      free_result(&plain);
      free_result(&traced);
      skv_gpu_plan_free(&gp);
      skv_gpu_batch_free(&g);
    }
    skv_plan_free(&pl);
    skv_workload_free(&w);
    skv_batch_free(&b);
  }
}
END_TEST

START_TEST(same_plan_twice_gives_the_same_bits) {
  int64_t kv[6] = {70000, 3, 4100, 129, 20000, 1};
  skv_batch b = make_batch(6, kv, 32, 8, 128, 16, SKV_BF16);
  skv_workload w = make_workload(&b, 17, false);
  for (int p = 0; p < SKV_POLICY_COUNT; p++) {
    skv_plan pl;
    char err[512];
    ck_assert(skv_plan_build(&b, (skv_policy)p, NULL, skv_test_gpu(132), &pl, err, sizeof err));
    result a = run_gpu(&w, &pl, NULL), c = run_gpu(&w, &pl, NULL);
    ck_assert(memcmp(a.o, c.o, (size_t)6 * 32 * 128 * 2) == 0);
    ck_assert(memcmp(a.lse, c.lse, (size_t)6 * 32 * 4) == 0);
    free_result(&a);
    free_result(&c);
    skv_plan_free(&pl);
  }
  skv_workload_free(&w);
  skv_batch_free(&b);
}
END_TEST

/* Request 0 alone and inside a batch of 63 others of different lengths: how many of its O and LSE
 * values differ bitwise. */
static int64_t alone_vs_batch_diffs(skv_policy p, bool fused, int64_t *num_splits_alone, int64_t *num_splits_batch,
                                    bool *predicted_same) {
  int64_t kv[64];
  skv_rng rng;
  skv_rng_seed(&rng, 64);
  kv[0] = 20000;
  for (int r = 1; r < 64; r++) kv[r] = skv_rng_range(&rng, 1, 9000);
  skv_batch b = make_batch(64, kv, 32, 8, 128, 16, SKV_BF16);
  skv_workload w = make_workload(&b, 31, false), one;
  char err[512];
  ck_assert(skv_workload_extract(&w, 0, &one, err, sizeof err));
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  skv_plan pb, p1;
  ck_assert(skv_plan_build(&b, p, &o, skv_test_gpu(132), &pb, err, sizeof err));
  ck_assert(skv_plan_build(&one.batch, p, &o, skv_test_gpu(132), &p1, err, sizeof err));
  *num_splits_alone = skv_plan_num_splits(&p1, 0);
  *num_splits_batch = skv_plan_num_splits(&pb, 0);
  ck_assert_msg(skv_predict_alone_vs_batch(&b, &pb, 0, p, &o, skv_test_gpu(132), predicted_same, err, sizeof err), "%s", err);
  result rb = run_gpu_mode(&w, &pb, NULL, fused), r1 = run_gpu_mode(&one, &p1, NULL, fused);
  int64_t diffs = 0;
  const uint16_t *ob = rb.o, *o1 = r1.o;
  for (int i = 0; i < 32 * 128; i++) diffs += ob[i] != o1[i]; /* request 0's rows come first */
  for (int h = 0; h < 32; h++) diffs += memcmp(&rb.lse[h * 64], &r1.lse[h], 4) != 0;
  free_result(&rb);
  free_result(&r1);
  skv_plan_free(&pb);
  skv_plan_free(&p1);
  skv_workload_free(&one);
  skv_workload_free(&w);
  skv_batch_free(&b);
  return diffs;
}

START_TEST(fixed_policy_is_batch_invariant_bitwise) {
  for (int fused = 0; fused <= 1; fused++) {
    int64_t s1, sb;
    bool predicted_same = false;
    int64_t d = alone_vs_batch_diffs(SKV_POLICY_FIXED, fused, &s1, &sb, &predicted_same);
    printf("  fixed (%s combine): request alone %lld splits, in batch %lld splits, %lld of 4128 values differ\n",
           fused ? "fused" : "kernel", (long long)s1, (long long)sb, (long long)d);
    ck_assert_int_eq(s1, sb);
    ck_assert(predicted_same);
    ck_assert_int_eq(d, 0);
  }
}
END_TEST

/* FA2 picks one split count for the whole batch, so the request's chunks change with the batch: the
 * simulator predicts different bits (sim/invariance.h), and the GPU must show them. */
START_TEST(fa2_batch_dependence_is_predicted_and_shown) {
  int64_t s1, sb;
  bool predicted_same = true;
  int64_t d = alone_vs_batch_diffs(SKV_POLICY_FA2, false, &s1, &sb, &predicted_same);
  printf("  fa2: request alone %lld splits, in batch %lld splits, predicted %s, %lld of 4128 values differ bitwise\n",
         (long long)s1, (long long)sb, predicted_same ? "the same bits" : "other bits", (long long)d);
  ck_assert_int_ne(s1, sb);
  ck_assert(!predicted_same);
  ck_assert_int_gt(d, 0);
}
END_TEST

/* ---- data generation and the fp32 reference --------------------------------------------------- */

START_TEST(device_fill_matches_host_generator_bits) {
  int64_t kv[3] = {1000, 77, 4000};
  static const skv_dtype types[] = {SKV_BF16, SKV_FP16};
  for (int t = 0; t < 2; t++) {
    skv_batch b = make_batch(3, kv, 16, 4, 128, 16, types[t]);
    skv_workload dev = make_workload(&b, 123, false), host;
    skv_workload_opts ho;
    skv_workload_opts_default(&ho);
    ho.seed = 123;
    ho.q_dtype = types[t];
    char herr[512];
    ck_assert(skv_workload_make(&b, &ho, &host, herr, sizeof herr)); /* materialized, no poisoned tails */
    char err[512];
    skv_gpu_batch g;
    ck_assert_msg(skv_gpu_batch_upload(&dev, NULL, &g, err, sizeof err), "%s", err);
    const size_t bytes = (size_t)g.pool_elems * 2;
    uint16_t *k = malloc(bytes), *v = malloc(bytes);
    ck_assert(k && v);
    ck_assert(cudaMemcpy(k, g.prob.d_k, bytes, cudaMemcpyDeviceToHost) == cudaSuccess);
    ck_assert(cudaMemcpy(v, g.prob.d_v, bytes, cudaMemcpyDeviceToHost) == cudaSuccess);
    ck_assert(memcmp(k, host.k, bytes) == 0);
    ck_assert(memcmp(v, host.v, bytes) == 0);
    free(k);
    free(v);
    skv_gpu_batch_free(&g);
    skv_workload_free(&host);
    skv_workload_free(&dev);
    skv_batch_free(&b);
  }
}
END_TEST

/* The fp32 GPU reference checks the rows too large for the CPU: it must read every cache the
 * kernels read, dequantized as the CPU reference does (issue 12: 8-bit and fp8-query rows had no
 * reference). Against the double CPU reference on the same device bytes, every variant. */
START_TEST(gpu_fp32_reference_matches_cpu_reference) {
  static const qcase cases[] = {
      {SKV_BF16, SKV_BF16, SKV_DTYPE_COUNT, SKV_SCALE_PER_TENSOR},
      {SKV_FP16, SKV_FP16, SKV_DTYPE_COUNT, SKV_SCALE_PER_TENSOR},
      {SKV_BF16, SKV_FP8_E4M3, SKV_DTYPE_COUNT, SKV_SCALE_PER_TENSOR},
      {SKV_FP8_E4M3, SKV_FP8_E4M3, SKV_DTYPE_COUNT, SKV_SCALE_PER_TENSOR},
      {SKV_FP16, SKV_FP8_E4M3, SKV_DTYPE_COUNT, SKV_SCALE_PER_TOKEN_HEAD},
      {SKV_BF16, SKV_INT8, SKV_INT8, SKV_SCALE_PER_TOKEN_HEAD},
      {SKV_BF16, SKV_INT8, SKV_BF16, SKV_SCALE_PER_TOKEN_HEAD},
      {SKV_FP16, SKV_INT8, SKV_FP16, SKV_SCALE_PER_TOKEN_HEAD},
  };
  int64_t kv[4] = {1, 3000, 257, 0};
  char err[512];
  for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
    const qcase *qc = &cases[ci];
    skv_batch b = make_batch(4, kv, 16, 4, 128, 16, qc->kv);
    b.v_dtype = qc->v == SKV_DTYPE_COUNT ? qc->kv : qc->v;
    b.kv_scale_mode = qc->mode;
    skv_workload_opts o;
    skv_workload_opts_default(&o);
    o.seed = 8 + ci;
    o.q_dtype = qc->q;
    o.quant.q_scale = 0.75f, o.quant.k_scale = 0.5f, o.quant.v_scale = 0.25f;
    skv_workload w;
    ck_assert_msg(skv_workload_make(&b, &o, &w, err, sizeof err), "%s", err);
    skv_gpu_batch g;
    ck_assert_msg(skv_gpu_batch_upload(&w, NULL, &g, err, sizeof err), "%s", err);
    float *d_o, *d_l;
    ck_assert(cudaMalloc((void **)&d_o, (size_t)4 * 16 * 128 * 4) == cudaSuccess);
    ck_assert(cudaMalloc((void **)&d_l, (size_t)4 * 16 * 4) == cudaSuccess);
    ck_assert_msg(skv_ref_fp32_launch(&g.prob, g.d_kvlen, d_o, d_l, 0, err, sizeof err) == 0, "%s",
                  err);
    static float ho[4 * 16 * 128], hl[64];
    ck_assert(cudaMemcpy(ho, d_o, sizeof ho, cudaMemcpyDeviceToHost) == cudaSuccess);
    ck_assert(cudaMemcpy(hl, d_l, sizeof hl, cudaMemcpyDeviceToHost) == cudaSuccess);
    static double ro[4 * 16 * 128], rl[64];
    ck_assert(skv_ref_attention(&w, false, ro, rl));
    double num = 0, den = 0;
    for (int i = 0; i < 4 * 16 * 128; i++) num += (ho[i] - ro[i]) * (ho[i] - ro[i]), den += ro[i] * ro[i];
    printf("  fp32 reference q=%s kv=%s v=%s %s: rel %.2e\n", skv_dtype_name(qc->q), skv_dtype_name(qc->kv),
           skv_dtype_name(b.v_dtype), skv_scale_mode_name(qc->mode), sqrt(num / den));
    ck_assert_msg(sqrt(num / den) < 1e-5, "fp32 reference rel error %g (case %zu)", sqrt(num / den), ci);
    for (int i = 0; i < 64; i++) {
      if (isinf(rl[i])) ck_assert(isinf(hl[i]) && hl[i] < 0);
      else ck_assert_double_eq_tol(hl[i], rl[i], 1e-5);
    }
    cudaFree(d_o);
    cudaFree(d_l);
    skv_gpu_batch_free(&g);
    skv_workload_free(&w);
    skv_batch_free(&b);
  }
}
END_TEST

/* The project's models file (experiments/gpus.yaml; SKV_ROOT names the checkout, else ..). */
static void load_project_gpus(skv_gpus *g) {
  char file[600], err[1024];
  snprintf(file, sizeof file, "%s/experiments/gpus.yaml", getenv("SKV_ROOT") ? getenv("SKV_ROOT") : "..");
  ck_assert_msg(skv_gpus_load(file, g, err, sizeof err), "%s", err);
}

/* The device's model in experiments/gpus.yaml: its resident CTAs per SM are what the occupancy API
 * reports for every instantiation of the decode kernel. */
START_TEST(occupancy_matches_the_cost_model_table) {
  struct cudaDeviceProp prop;
  ck_assert(cudaGetDeviceProperties(&prop, 0) == cudaSuccess);
  skv_gpus gpus;
  load_project_gpus(&gpus);
  const skv_gpu *model = skv_gpus_match(&gpus, prop.name, prop.multiProcessorCount);
  if (!model) {
    printf("  occupancy: SKIPPED: %s (%d SMs) has no entry in experiments/gpus.yaml\n", prop.name,
           prop.multiProcessorCount);
    skv_gpus_free(&gpus);
    return;
  }
  static float dummy;
  /* (K, V, per-token-head scales): 16-bit, fp8 per tensor and per token-head, int8, int8 K + bf16 V */
  static const struct { skv_dtype k, v; bool token; } kv[] = {
      {SKV_BF16, SKV_BF16, false}, {SKV_FP16, SKV_FP16, false}, {SKV_FP8_E4M3, SKV_FP8_E4M3, false},
      {SKV_FP8_E4M3, SKV_FP8_E4M3, true}, {SKV_INT8, SKV_INT8, true}, {SKV_INT8, SKV_BF16, true}};
  int wrong = 0;
  for (int group = 4; group <= 16; group *= 4) /* the column and the row form of 8-bit caches */
  for (int d = 64; d <= 256; d *= 2)
    for (size_t k = 0; k < sizeof kv / sizeof kv[0]; k++) {
      skv_decode_problem p;
      memset(&p, 0, sizeof p);
      p.num_requests = 1, p.total_q = 1, p.num_q_heads = 2 * group, p.num_kv_heads = 2, p.head_dim = d, p.page_size = 16;
      p.k_dtype = kv[k].k, p.v_dtype = kv[k].v;
      p.q_dtype = p.o_dtype = kv[k].k == SKV_FP16 ? SKV_FP16 : SKV_BF16;
      p.per_token_head = kv[k].token;
      p.d_k_token_scale = p.d_v_token_scale = p.d_v_channel_scale = &dummy; /* not read: nothing launches */
      p.softmax_scale = 0.1f;
      p.lse_layout = skv_lse_layout_logical(1, 2, group);
      char err[512];
      int n = 0;
      ck_assert_msg(skv_decode_occupancy(&p, &n, err, sizeof err) == 0, "%s", err);
      int64_t one = 1;
      skv_batch b = make_batch(1, &one, 2 * group, 2, d, 16, kv[k].k);
      b.v_dtype = kv[k].v;
      const int table = skv_gpu_ctas_per_sm(model, &b);
      skv_batch_free(&b);
      printf("  occupancy d=%d k=%s v=%s%s group %d: %d CTAs/SM (model %s: %d)\n", d, skv_dtype_name(kv[k].k),
             skv_dtype_name(kv[k].v), kv[k].token ? " per-token" : "", group, n, model->name, table);
      wrong += n != table;
    }
  skv_gpus_free(&gpus);
  ck_assert_msg(wrong == 0, "%d instantiations differ from the model's table", wrong);
}
END_TEST

START_TEST(unsupported_combinations_are_refused_before_launch) {
  skv_decode_problem p;
  memset(&p, 0, sizeof p);
  p.num_requests = 1, p.total_q = 1, p.num_q_heads = 64, p.num_kv_heads = 2, p.head_dim = 128, p.page_size = 16;
  p.q_dtype = p.k_dtype = p.v_dtype = p.o_dtype = SKV_BF16;
  p.softmax_scale = 0.1f;
  p.lse_layout = skv_lse_layout_logical(1, 2, 32);
  char err[512];
  ck_assert(!skv_decode_supported(&p, err, sizeof err));
  ck_assert(strstr(err, "group"));
  p.num_q_heads = 8;
  p.page_size = 24;
  ck_assert(!skv_decode_supported(&p, err, sizeof err));
  ck_assert(strstr(err, "page size"));
  p.page_size = 16;
  p.head_dim = 96;
  ck_assert(!skv_decode_supported(&p, err, sizeof err));
  p.head_dim = 128;
  p.v_dtype = SKV_FP16;
  ck_assert(!skv_decode_supported(&p, err, sizeof err));
  /* fp8 queries read per-tensor scales only (sim/support.h: a suite refuses this before any GPU work) */
  p.q_dtype = p.k_dtype = p.v_dtype = SKV_FP8_E4M3;
  p.per_token_head = true;
  ck_assert(!skv_decode_supported(&p, err, sizeof err));
  ck_assert_msg(strstr(err, "per_tensor KV scales only"), "%s", err);
}
END_TEST

/* A models file whose one model (or, with other, a second one too) is this device's, by its name
 * and SMs; the numbers are the test fixture's (the runs here check behaviour, not speed). */
static void write_device_gpus(const char *path, bool other) {
  struct cudaDeviceProp prop;
  ck_assert(cudaGetDeviceProperties(&prop, 0) == cudaSuccess);
  skv_gpu g = *skv_test_gpu(prop.multiProcessorCount);
  snprintf(g.name, sizeof g.name, "this-gpu");
  snprintf(g.device, sizeof g.device, "%.63s", prop.name);
  FILE *f = fopen(path, "w");
  ck_assert(f != NULL);
  fprintf(f, "home: this-gpu\nmodels:\n");
  ck_assert(skv_gpus_write_entry(f, &g));
  if (other) {
    snprintf(g.name, sizeof g.name, "other-gpu");
    snprintf(g.device, sizeof g.device, "no such device");
    g.read_tbps *= 2;
    ck_assert(skv_gpus_write_entry(f, &g));
  }
  ck_assert_int_eq(fclose(f), 0);
}

/* skv run on a GPU refuses every configuration the kernels refuse (sim/support.h) with exit 2,
 * before the GPU session begins and before its run directory exists; a simulated run flags the
 * same ones (tests/check_run.c). */
START_TEST(measured_runs_refuse_what_the_kernels_refuse_before_any_work) {
  static const char *const refused[] = {
      "page_size: 24",
      "hq: 34, hkv: 2",
      "qlen: 2, lse_layout: fa2-combine", /* FA2's LSE layouts model a decode step */
      "q_dtype: fp8_e4m3, kv_dtype: fp8_e4m3, kv_scale_mode: per_token_head",
      "q_dtype: bf16, kv_dtype: fp16",
      "q_dtype: bf16, kv_dtype: int8, v_dtype: fp16",
  };
  char dir[] = "/tmp/skv-gpu-refusals-XXXXXX";
  ck_assert(mkdtemp(dir) != NULL);
  char suite[96], gpus[96], out[96];
  snprintf(suite, sizeof suite, "%s/suite.yaml", dir);
  snprintf(gpus, sizeof gpus, "%s/gpus.yaml", dir);
  snprintf(out, sizeof out, "%s/run", dir);
  write_device_gpus(gpus, false);
  FILE *f;
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    f = fopen(suite, "w");
    ck_assert(f != NULL);
    fprintf(f, "name: r\ndescription: x\ndefaults: {%s}\nsweep: {seqlen: 64, policy: none}\n", refused[i]);
    ck_assert_int_eq(fclose(f), 0);
    skv_run_opts o;
    memset(&o, 0, sizeof o);
    o.suite_path = suite, o.gpus_path = gpus, o.out_dir = out, o.no_cupti = true;
    ck_assert_msg(skv_run_suite(&o) == SKV_EXIT_USAGE, "%s", refused[i]);
    struct stat st;
    ck_assert_msg(stat(out, &st) != 0, "%s: the run directory was made", refused[i]);
  }
  ck_assert_int_eq(remove(suite), 0);
  ck_assert_int_eq(remove(gpus), 0);
  ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* On a GPU: a configuration that needs more device memory than is free exits 2 before any GPU work
 * (no run folder); --trace writes a Chrome trace with one range per configuration and the decode
 * kernels inside it; a resume of a run measured on another GPU exits 2 with the run untouched. */
START_TEST(measured_runs_check_memory_trace_and_the_gpu_of_a_resume) {
  char dir[] = "/tmp/skv-gpu-runs-XXXXXX";
  ck_assert(mkdtemp(dir) != NULL);
  char suite[96], big[96], gpus[96], out[96], trace[96], meta[128];
  snprintf(suite, sizeof suite, "%s/suite.yaml", dir);
  snprintf(big, sizeof big, "%s/big.yaml", dir);
  snprintf(gpus, sizeof gpus, "%s/gpus.yaml", dir);
  snprintf(out, sizeof out, "%s/run", dir);
  snprintf(trace, sizeof trace, "%s/trace.json", dir);
  snprintf(meta, sizeof meta, "%s/meta.json", out);
  write_device_gpus(gpus, false);
  FILE *f;
  /* 4096 requests of 2^20 tokens: 2^32 token rows x 8 KV heads x 128 x 2 x 2 bytes, far beyond any GPU */
  f = fopen(big, "w");
  ck_assert(f != NULL);
  fprintf(f, "name: big\ndescription: x\nsweep: {batch: 4096, seqlen: 1048576, policy: none}\n");
  ck_assert_int_eq(fclose(f), 0);
  skv_run_opts o;
  memset(&o, 0, sizeof o);
  o.suite_path = big, o.gpus_path = gpus, o.out_dir = out, o.no_cupti = true;
  ck_assert_int_eq(skv_run_suite(&o), SKV_EXIT_USAGE);
  struct stat st;
  ck_assert_msg(stat(out, &st) != 0, "the run directory was made");
  /* a small measured run with a trace */
  f = fopen(suite, "w");
  ck_assert(f != NULL);
  fprintf(f, "name: t\ndescription: x\ndefaults: {hq: 8, hkv: 2}\nsweep: {batch: [1, 3], seqlen: 700,"
             " policy: [{name: fixed, split_size: 128}]}\nrepeat: 3\nwarmup: 1\n");
  ck_assert_int_eq(fclose(f), 0);
  memset(&o, 0, sizeof o);
  o.suite_path = suite, o.gpus_path = gpus, o.out_dir = out, o.trace_path = trace;
  ck_assert_int_eq(skv_run_suite(&o), SKV_EXIT_OK);
  json_error_t je;
  json_t *t = json_load_file(trace, 0, &je);
  ck_assert_msg(t != NULL, "%s: %s", trace, je.text);
  const json_t *ev = json_object_get(t, "traceEvents");
  ck_assert(json_is_array(ev));
  int ranges = 0, decodes = 0, combines = 0;
  for (size_t i = 0; i < json_array_size(ev); i++) {
    const json_t *e = json_array_get(ev, i);
    const char *cat = json_string_value(json_object_get(e, "cat")), *name = json_string_value(json_object_get(e, "name"));
    if (cat && strcmp(cat, "config") == 0) ranges++;
    if (!cat || strcmp(cat, "kernel") != 0 || !name) continue;
    decodes += strcmp(name, "decode") == 0;
    combines += strcmp(name, "combine") == 0;
  }
  json_decref(t);
  printf("  trace: %d configuration ranges, %d decode and %d combine kernels\n", ranges, decodes, combines);
  ck_assert_int_eq(ranges, 2);
  /* the trace holds the timed runs: 3 per configuration, each a decode and (700 tokens in 6 chunks of
   * 128) a combine launch */
  ck_assert_int_eq(decodes, 2 * 3);
  ck_assert_int_eq(combines, 2 * 3);
  /* the run as if measured on another GPU, and unfinished: a resume refuses it */
  json_t *m = json_load_file(meta, 0, &je);
  ck_assert(m != NULL);
  json_object_set_new(json_object_get(m, "gpu"), "name", json_string("Another GPU"));
  json_object_set_new(m, "complete", json_false());
  ck_assert_int_eq(json_dump_file(m, meta, JSON_INDENT(2)), 0);
  json_decref(m);
  memset(&o, 0, sizeof o);
  o.suite_path = suite, o.gpus_path = gpus, o.out_dir = out, o.resume = true;
  ck_assert_int_eq(skv_run_suite(&o), SKV_EXIT_USAGE);
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Field i of a CSV line without quoted fields (empty fields count), into out. */
static void csv_field(const char *line, int i, char *out, size_t len) {
  for (; i > 0 && line; i--) {
    line = strchr(line, ',');
    if (line) line++;
  }
  const size_t n = line ? strcspn(line, ",\r\n") : 0;
  snprintf(out, len, "%.*s", (int)n, line ? line : "");
}

/* Column col of every row of a results.csv whose fields hold no quotes; the row count. */
static int csv_column(const char *path, const char *col, char values[][64], int max) {
  FILE *f = fopen(path, "r");
  ck_assert(f != NULL);
  char line[8192], field[64];
  int index = -1, rows = 0;
  ck_assert(fgets(line, sizeof line, f) != NULL);
  for (int i = 0; i < 200 && index < 0; i++) {
    csv_field(line, i, field, sizeof field);
    if (strcmp(field, col) == 0) index = i;
  }
  ck_assert_msg(index >= 0, "%s: no column %s", path, col);
  while (rows < max && fgets(line, sizeof line, f)) csv_field(line, index, values[rows++], 64);
  fclose(f);
  return rows;
}

/* Issue 13: on a GPU the device picks its model. A run without gpu_model predicts with the
 * device's entry (meta.json says so, every row's gpu_model and device_model name it); a suite that
 * names another model is refused before any GPU work unless it sets cross_gpu, and then its rows
 * say both; a GPU the models file does not know gets a model calibrated on the spot. */
START_TEST(the_device_picks_its_model) {
  char dir[] = "/tmp/skv-gpu-model-XXXXXX";
  ck_assert(mkdtemp(dir) != NULL);
  char suite[96], gpus[96], out[96], meta[128], csv[128];
  snprintf(suite, sizeof suite, "%s/suite.yaml", dir);
  snprintf(gpus, sizeof gpus, "%s/gpus.yaml", dir);
  write_device_gpus(gpus, true);
  static const char *const heads[] = {"", "defaults: {gpu_model: other-gpu}\n",
                                      "defaults: {gpu_model: other-gpu}\ncross_gpu: true\n", ""};
  for (int k = 0; k < 4; k++) {
    snprintf(out, sizeof out, "%s/run%d", dir, k);
    snprintf(meta, sizeof meta, "%s/meta.json", out);
    snprintf(csv, sizeof csv, "%s/results.csv", out);
    FILE *f = fopen(suite, "w");
    ck_assert(f != NULL);
    fprintf(f, "name: m\ndescription: x\n%ssweep: {batch: [1, 2], seqlen: 700, policy: lab}\nrepeat: 3\nwarmup: 1\n", heads[k]);
    ck_assert_int_eq(fclose(f), 0);
    if (k == 3) { /* a models file without this GPU */
      f = fopen(gpus, "w");
      ck_assert(f != NULL);
      skv_gpu g = *skv_test_gpu(7);
      snprintf(g.name, sizeof g.name, "elsewhere");
      snprintf(g.device, sizeof g.device, "no such device");
      fprintf(f, "home: elsewhere\nmodels:\n");
      ck_assert(skv_gpus_write_entry(f, &g));
      ck_assert_int_eq(fclose(f), 0);
    }
    skv_run_opts o;
    memset(&o, 0, sizeof o);
    o.suite_path = suite, o.gpus_path = gpus, o.out_dir = out, o.no_cupti = true;
    const int rc = skv_run_suite(&o);
    struct stat st;
    if (k == 1) {
      ck_assert_int_eq(rc, SKV_EXIT_USAGE);
      ck_assert_msg(stat(out, &st) != 0, "the run directory was made");
      continue;
    }
    ck_assert_int_eq(rc, SKV_EXIT_OK);
    json_error_t je;
    json_t *m = json_load_file(meta, 0, &je);
    ck_assert_msg(m != NULL, "%s", je.text);
    const json_t *gm = json_object_get(m, "gpu_model");
    const char *name = json_string_value(json_object_get(gm, "name"));
    const char *source = json_string_value(json_object_get(gm, "source"));
    ck_assert(name && source);
    printf("  run %d: model %s (%s)\n", k, name, source);
    char models[4][64], devices[4][64];
    ck_assert_int_eq(csv_column(csv, "gpu_model", models, 4), 2);
    ck_assert_int_eq(csv_column(csv, "device_model", devices, 4), 2);
    if (k < 3) {
      ck_assert_str_eq(name, "this-gpu");
      ck_assert(strstr(source, "entry for this device"));
      ck_assert_str_eq(models[0], k == 2 ? "other-gpu" : "this-gpu");
      ck_assert_str_eq(devices[1], "this-gpu");
    } else {
      ck_assert(strstr(source, "calibrated on the spot"));
      ck_assert_str_eq(models[0], name);
      ck_assert_str_eq(devices[0], name);
      const json_t *fp8 = json_object_get(json_object_get(gm, "streams"), "fp8");
      ck_assert(json_number_value(json_array_get(json_object_get(json_object_get(fp8, "cta_gbps"), "d128"), 1)) > 0);
      ck_assert(json_number_value(json_array_get(json_object_get(json_object_get(fp8, "fixed_us"), "d64"), 3)) >= 0);
      ck_assert(json_number_value(json_object_get(gm, "read_tbps")) > 0);
      ck_assert(strstr(json_string_value(json_object_get(gm, "calibrated")), "skv calibrate"));
      /* its residency is the occupancy API's: the project's entry for this device, where there is one */
      skv_gpus project;
      load_project_gpus(&project);
      struct cudaDeviceProp prop;
      ck_assert(cudaGetDeviceProperties(&prop, 0) == cudaSuccess);
      const skv_gpu *known = skv_gpus_match(&project, prop.name, prop.multiProcessorCount);
      skv_gpu spot;
      ck_assert(skv_meta_gpu_model_read(gm, &spot));
      if (known) ck_assert(memcmp(spot.ctas_per_sm, known->ctas_per_sm, sizeof spot.ctas_per_sm) == 0);
      skv_gpus_free(&project);
    }
    json_decref(m);
  }
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* A graph captured once at a policy's bound (sim/graph_bound.h), then loaded with batches of other
 * lengths and fewer requests by rewriting the device-side plan only: every replay gives the bits
 * of the eager launch of the same plan, all outputs written; a plan past the bound is refused at
 * load with what exceeds it. */
START_TEST(graph_replays_give_the_eager_bits_for_other_batches) {
  int64_t full[6] = {32768, 32768, 32768, 32768, 32768, 32768};
  skv_batch b0 = make_batch(6, full, 32, 8, 128, 16, SKV_BF16);
  skv_workload w0 = make_workload(&b0, 23, false);
  char err[512];
  skv_gpu_batch g0;
  ck_assert_msg(skv_gpu_batch_upload(&w0, NULL, &g0, err, sizeof err), "%s", err);
  static const int64_t lens[3][6] = {{20000, 3, 4100, 129, 32768, 1}, {700, 700, 9000, 31000, 1, 64}, {5000, 17, 2048, 1, 0, 0}};
  static const int32_t counts[3] = {6, 6, 4};
  skv_policy_opts vg, fg, li;
  skv_policy_opts_default(&vg), skv_policy_opts_default(&fg), skv_policy_opts_default(&li);
  vg.cuda_graph = true, vg.max_splits = 16;
  fg.cuda_graph = true;
  static const skv_policy pols[4] = {SKV_POLICY_VLLM, SKV_POLICY_FLASHINFER, SKV_POLICY_LAB_INVARIANT, SKV_POLICY_LAB};
  const skv_policy_opts *opts[4] = {&vg, &fg, &li, NULL};
  int replays = 0;
  for (int pi = 0; pi < 4; pi++) {
    skv_graph_bound bound;
    ck_assert_msg(skv_graph_bound_make(&b0, pols[pi], opts[pi], skv_test_gpu(132), 32768, &bound, err, sizeof err), "%s",
                  err);
    skv_gpu_graph gr;
    ck_assert_msg(skv_gpu_graph_capture(&g0, &bound, &gr, err, sizeof err), "%s", err);
    for (int k = 0; k < 3; k++) {
      skv_batch b = make_batch(counts[k], lens[k], 32, 8, 128, 16, SKV_BF16);
      const int32_t src[6] = {0, 1, 2, 3, 4, 5};
      skv_workload w;
      ck_assert_msg(skv_workload_compose(&w0, &b, src, &w, err, sizeof err), "%s", err);
      skv_plan pl;
      ck_assert_msg(skv_plan_build(&b, pols[pi], opts[pi], skv_test_gpu(132), &pl, err, sizeof err), "%s", err);
      char why[160];
      if (!skv_graph_bound_fits(&bound, &pl, &b, why, sizeof why)) { /* lab's bound is its plan at 32768 */
        ck_assert_int_eq(pols[pi], SKV_POLICY_LAB);
        ck_assert(!skv_gpu_graph_load(&gr, &w, &pl, err, sizeof err));
        ck_assert_msg(strstr(err, "captured"), "%s", err);
      } else {
        const int64_t T = w.cu_seqlens_q[b.num_requests], hq = 32, n = T * hq * 128;
        uint16_t *go = malloc(sizeof(uint16_t) * (size_t)n);
        float *gl = malloc(sizeof(float) * (size_t)(T * hq));
        ck_assert(go && gl);
        ck_assert_msg(skv_gpu_graph_load(&gr, &w, &pl, err, sizeof err), "%s", err);
        ck_assert_msg(skv_gpu_graph_run_once(&gr, go, gl, err, sizeof err), "%s", err);
        /* eager: the same plan on a batch borrowing the same pools */
        skv_gpu_batch ge;
        skv_gpu_plan gp;
        ck_assert_msg(skv_gpu_batch_borrow(&g0, &w, &ge, err, sizeof err), "%s", err);
        ck_assert_msg(skv_gpu_plan_upload(&pl, w.page_indptr, &gp, err, sizeof err), "%s", err);
        ck_assert_msg(skv_gpu_poison(&ge, err, sizeof err) && skv_gpu_run(&ge, &gp, 0, err, sizeof err), "%s", err);
        uint16_t *eo = malloc(sizeof(uint16_t) * (size_t)n);
        float *el = malloc(sizeof(float) * (size_t)(T * hq));
        ck_assert(eo && el);
        ck_assert_msg(skv_gpu_download(&ge, eo, el, err, sizeof err), "%s", err);
        ck_assert_int_eq(skv_count_nan(SKV_BF16, go, n, gl, T * hq), 0);
        ck_assert_msg(memcmp(go, eo, sizeof(uint16_t) * (size_t)n) == 0, "%s batch %d: O differs", skv_policy_name(pols[pi]), k);
        for (int64_t t = 0; t < T; t++)
          for (int64_t h = 0; h < hq; h++)
            ck_assert_msg(memcmp(&gl[t * hq + h], &el[h * T + t], sizeof(float)) == 0, "%s batch %d: LSE (%lld, %lld)",
                          skv_policy_name(pols[pi]), k, (long long)t, (long long)h);
        free(go), free(gl), free(eo), free(el);
        skv_gpu_plan_free(&gp);
        skv_gpu_batch_free(&ge);
        replays++;
      }
      skv_plan_free(&pl);
      skv_workload_free(&w);
      skv_batch_free(&b);
    }
    skv_gpu_graph_free(&gr);
  }
  ck_assert_int_ge(replays, 9);
  /* a plan past the bound: lab-invariant captured at 4 chunks per request, loaded with its 32 */
  skv_policy_opts small;
  skv_policy_opts_default(&small);
  small.max_splits = 4;
  skv_graph_bound bound;
  ck_assert(skv_graph_bound_make(&b0, SKV_POLICY_LAB_INVARIANT, &small, skv_test_gpu(132), 32768, &bound, err, sizeof err));
  skv_gpu_graph gr;
  ck_assert_msg(skv_gpu_graph_capture(&g0, &bound, &gr, err, sizeof err), "%s", err);
  skv_plan pl;
  ck_assert(skv_plan_build(&b0, SKV_POLICY_LAB_INVARIANT, NULL, skv_test_gpu(132), &pl, err, sizeof err));
  ck_assert(!skv_gpu_graph_load(&gr, &w0, &pl, err, sizeof err));
  ck_assert_msg(strstr(err, "CTAs") && strstr(err, "captured"), "%s", err);
  skv_plan_free(&pl);
  skv_gpu_graph_free(&gr);
  skv_gpu_batch_free(&g0);
  skv_workload_free(&w0);
  skv_batch_free(&b0);
}
END_TEST

/* Cascade attention on the GPU (sim/cascade.h, gpu/gpu_cascade.h): the prefix batch (mask none, every
 * member's queries over the shared pages) and the suffix batch through the ordinary kernels, then
 * the cascade merge, against the double reference of unsplit attention; with natural-log and base-2
 * LSEs in the merge; every output written. vLLM's one prefix in decode, nested groups with verify
 * steps, one KV head, GQA 8, fp16. */
/* vLLM PR #87 end to end on the GPU (skv layout --demo --gpu): the CPU demo's cascade run by the
 * lab's kernels, the suffix LSE written through FA2's layout, handed over by each host path, merged
 * by the cascade merge kernel. Per host path the GPU's buffer misplaces exactly the LSEs the
 * simulator predicts; where it misplaces some, the cascaded output's error is large and within 20%
 * of the simulator's (the misplacement, not rounding, sets it); where it misplaces none, the error
 * is bf16 rounding. Batch 8 (FA2 splits the suffix in 3 on 108 SMs: the combine kernel writes the
 * LSE) and batch 24 (one split: split-1). */
START_TEST(pr87_cascade_on_the_gpu_matches_the_simulators_prediction) {
  const int32_t batches[2] = {8, 24};
  int wrong_paths = 0;
  for (int i = 0; i < 2; i++) {
    skv_lse_demo_config c;
    skv_lse_demo_config_default(&c);
    c.batch = batches[i];
    skv_lse_demo_result sim, gpu;
    char err[512];
    ck_assert_msg(skv_lse_demo_run(&c, &sim, err, sizeof err), "%s", err);
    ck_assert_msg(skv_gpu_lse_demo_run(&c, &gpu, err, sizeof err), "%s", err);
    ck_assert_int_eq(gpu.num_splits, sim.num_splits);
    ck_assert_int_eq(gpu.kernel, sim.kernel);
    for (int hp = 0; hp < SKV_LSE_HOST_COUNT; hp++) {
      const skv_lse_demo_host *p = &sim.host[hp], *g = &gpu.host[hp];
      printf("  PR #87 on the GPU: batch %d, %d splits, %-21s misplaced sim %lld GPU %lld; O rel err sim %.2e GPU "
             "%.2e\n",
             c.batch, gpu.num_splits, skv_lse_host_name((skv_lse_host)hp), (long long)p->lse_misplaced,
             (long long)g->lse_misplaced, p->o_rel, g->o_rel);
      ck_assert_int_eq(g->lse_misplaced, p->lse_misplaced);
      if (p->lse_misplaced > 0) {
        wrong_paths++;
        ck_assert_msg(g->o_rel > 0.05 && fabs(g->o_rel - p->o_rel) < 0.2 * p->o_rel, "GPU %.3e vs sim %.3e", g->o_rel,
                      p->o_rel);
      } else {
        ck_assert_msg(g->o_rel < 1e-2 && g->lse_max_abs < 1e-3, "host %s: O err %.3e, LSE err %.3e",
                      skv_lse_host_name((skv_lse_host)hp), g->o_rel, g->lse_max_abs);
      }
    }
  }
  ck_assert_int_ge(wrong_paths, 1); /* the bug shows: vllm-fork-before-fix at batch 8 */
}
END_TEST

START_TEST(cascade_on_the_gpu_matches_the_reference) {
  static const struct { int32_t n, hq, hkv, levels, block[2]; int64_t len[2]; int32_t qmax; skv_dtype t, kv; skv_policy pp, sp; } cs[] = {
      {16, 32, 8, 1, {16, 0}, {512, 0}, 1, SKV_BF16, SKV_BF16, SKV_POLICY_FA2, SKV_POLICY_FA2},
      {12, 32, 8, 2, {12, 4}, {1024, 256}, 4, SKV_BF16, SKV_BF16, SKV_POLICY_LAB, SKV_POLICY_FLASHINFER},
      {8, 8, 1, 1, {8, 0}, {4096, 0}, 1, SKV_BF16, SKV_BF16, SKV_POLICY_FIXED, SKV_POLICY_NONE},
      {24, 64, 8, 2, {8, 2}, {256, 64}, 2, SKV_FP16, SKV_FP16, SKV_POLICY_FA3, SKV_POLICY_LAB},
      {16, 32, 8, 2, {16, 4}, {512, 128}, 4, SKV_BF16, SKV_FP8_E4M3, SKV_POLICY_LAB, SKV_POLICY_LAB},
  };
  /* every case with every choice its sharing offers (cascade_cost.h: with two levels also the outer
   * level alone and each group's whole prefix as one level) */
  for (size_t k = 0; k < 3 * sizeof cs / sizeof cs[0]; k++) {
    const size_t i = k / 3;
    const skv_cascade_choice ch = (skv_cascade_choice)(SKV_CASCADE_ALL + k % 3);
    char err[512];
    skv_share given, sh;
    ck_assert_msg(skv_share_blocks(cs[i].n, cs[i].levels, cs[i].block, cs[i].len, &given, err, sizeof err), "%s", err);
    if (!skv_cascade_choice_offered(&given, ch)) {
      skv_share_free(&given);
      continue;
    }
    ck_assert_msg(skv_cascade_choice_share(&given, ch, &sh, err, sizeof err), "%s", err);
    int64_t kv[32];
    int64_t prefix = 0;
    for (int l = 0; l < cs[i].levels; l++) prefix += cs[i].len[l];
    for (int32_t r = 0; r < cs[i].n; r++) kv[r] = prefix + 1 + 97 * r;
    skv_batch b = make_batch(cs[i].n, kv, cs[i].hq, cs[i].hkv, 128, 16, cs[i].t);
    b.kv_dtype = b.v_dtype = cs[i].kv;
    for (int32_t r = 0; r < cs[i].n; r++) b.qlen[r] = 1 + r % cs[i].qmax;
    for (int32_t r = 0; r < cs[i].n; r++) b.kvlen[r] += b.qlen[r];
    skv_workload_opts o;
    skv_workload_opts_default(&o);
    o.seed = 31 + i;
    o.q_dtype = cs[i].t;
    o.share = &given; /* the pages as the batch holds them; the cascade reads them as the choice shares */
    if (cs[i].kv == SKV_FP8_E4M3) o.quant.k_scale = 0.5f, o.quant.v_scale = 0.25f;
    skv_workload w;
    ck_assert_msg(skv_workload_make(&b, &o, &w, err, sizeof err), "%s", err);
    skv_cascade_plan c;
    ck_assert_msg(skv_cascade_plan_build(&b, &sh, cs[i].pp, NULL, cs[i].sp, NULL, skv_test_gpu(132), &c, err, sizeof err),
                  "%s", err);
    skv_gpu_batch g;
    ck_assert_msg(skv_gpu_batch_upload(&w, NULL, &g, err, sizeof err), "%s", err);
    for (int base2 = 0; base2 < 2; base2++) {
      ck_assert_msg(skv_gpu_poison(&g, err, sizeof err), "%s", err);
      ck_assert_msg(skv_gpu_cascade_run(&g, &w, &c, base2 == 1, err, sizeof err), "%s", err);
      void *ho = malloc((size_t)g.o_elems * 2);
      float *hl = malloc(sizeof(float) * (size_t)g.lse_elems);
      ck_assert(ho && hl);
      ck_assert_msg(skv_gpu_download(&g, ho, hl, err, sizeof err), "%s", err);
      ck_assert_int_eq(skv_count_nan(g.prob.o_dtype, ho, g.o_elems, hl, g.lse_elems), 0);
      skv_numerics num;
      ck_assert(skv_numerics_vs_reference(&w, g.prob.o_dtype, ho, hl, &g.prob.lse_layout, NULL, 0, &num));
      const double tol = cs[i].t == SKV_FP16 ? 2e-3 : 1e-2;
      ck_assert_msg(num.o_rel_l2 < tol && num.lse_max_abs < 1e-3, "case %zu %s%s: rel err %.3g, lse err %.3g", i,
                    skv_cascade_choice_name(ch), base2 ? " (base 2)" : "", num.o_rel_l2, num.lse_max_abs);
      printf("  cascade case %zu %s (%d levels, Q <= %d, kv %s, %s / %s%s): rel err %.2e, lse err %.2e\n", i,
             skv_cascade_choice_name(ch), cs[i].levels, cs[i].qmax, skv_dtype_name(cs[i].kv), skv_policy_name(cs[i].pp),
             skv_policy_name(cs[i].sp), base2 ? ", base 2" : "", num.o_rel_l2, num.lse_max_abs);
      free(ho), free(hl);
    }
    skv_gpu_batch_free(&g);
    skv_cascade_plan_free(&c);
    skv_workload_free(&w);
    skv_batch_free(&b);
    skv_share_free(&sh);
    skv_share_free(&given);
  }
}
END_TEST

int main(void) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    printf("GPU tests: SKIPPED (no CUDA device)\n");
    return 0;
  }
  struct cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) printf("GPU tests on %s (%d SMs)\n", prop.name, prop.multiProcessorCount);
  skv_test_timeout_init();
  Suite *s = suite_create("gpu");
  TCase *smoke = tcase_create("smoke");
  tcase_add_test(smoke, smoke_split_and_single_chunk_paths);
  tcase_add_test(smoke, rotation_replicates_per_token_scales);
  tcase_add_test(smoke, cta_timelines_are_complete_and_leave_outputs_unchanged);
  tcase_add_test(smoke, smoke_multi_query_tiles);
  suite_add_tcase(s, smoke);
  TCase *acc = tcase_create("accuracy");
  tcase_add_test(acc, decode_matches_reference_across_policies_dims_pages_groups);
  tcase_add_test(acc, decode_matches_reference_on_the_benchmark_shape);
  tcase_add_test(acc, empty_kv_gives_minus_inf_and_zero_on_the_gpu);
  tcase_add_test(acc, lse_is_written_through_the_layout_descriptor);
  tcase_add_test(acc, lse_layouts_on_the_gpu_match_the_simulator_bit_for_bit);
  tcase_add_test(acc, quantized_variants_match_the_dequantized_reference_and_use_every_scale);
  tcase_add_test(acc, decode_v1_matches_the_cpu_executor);
  tcase_add_test(acc, multi_query_matches_the_reference_for_every_q_tile_cache_and_policy);
  suite_add_tcase(s, acc);
  TCase *cas = tcase_create("cascade");
  tcase_add_test(cas, cascade_on_the_gpu_matches_the_reference);
  tcase_add_test(cas, pr87_cascade_on_the_gpu_matches_the_simulators_prediction);
  suite_add_tcase(s, cas);
  TCase *det = tcase_create("determinism");
  tcase_add_test(det, same_plan_twice_gives_the_same_bits);
  tcase_add_test(det, pdl_combine_gives_the_plain_launchs_bits);
  tcase_add_test(det, persistent_grid_gives_one_cta_per_items_bits);
  tcase_add_test(det, fixed_policy_is_batch_invariant_bitwise);
  tcase_add_test(det, fa2_batch_dependence_is_predicted_and_shown);
  tcase_add_test(det, multi_query_bits_repeat_alone_and_prefill_vs_decode);
  tcase_add_test(det, graph_replays_give_the_eager_bits_for_other_batches);
  suite_add_tcase(s, det);
  TCase *misc = tcase_create("data+reference");
  tcase_add_test(misc, device_fill_matches_host_generator_bits);
  tcase_add_test(misc, gpu_fp32_reference_matches_cpu_reference);
  tcase_add_test(misc, unsupported_combinations_are_refused_before_launch);
  tcase_add_test(misc, measured_runs_refuse_what_the_kernels_refuse_before_any_work);
  tcase_add_test(misc, measured_runs_check_memory_trace_and_the_gpu_of_a_resume);
  tcase_add_test(misc, occupancy_matches_the_cost_model_table);
  tcase_add_test(misc, the_device_picks_its_model);
  suite_add_tcase(s, misc);
  SRunner *sr = srunner_create(s);
  srunner_set_fork_status(sr, CK_NOFORK); /* one CUDA context for the whole run */
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
