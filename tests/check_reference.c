/* check_reference.c — the double-precision reference and merge_states. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_exec.h"
#include "merge.h"
#include "plan.h"
#include "reference.h"
#include "rng.h"
#include "suites.h"
#include "workload.h"
#include "gpu_fixture.h"

/* Naive attention of one query row: scores for every visible key (every key without a mask, the
 * first L - Q + i + 1 under the causal one), explicit max subtraction, sum, and weighted V;
 * independent of skv_ref_states. */
static double naive_attend(const skv_workload *w, int32_t r, int64_t qi, int32_t h, double *o) {
  const skv_batch *b = &w->batch;
  const int32_t d = b->head_dim, g = skv_batch_group(b), kvh = h / g;
  const int64_t L = b->kvlen[r], Q = b->qlen[r];
  const int64_t visible = b->mask == SKV_MASK_NONE ? L : (L - Q + qi + 1 < 0 ? 0 : L - Q + qi + 1);
  double *q = malloc(sizeof(double) * (size_t)d), *k = malloc(sizeof(double) * (size_t)d);
  double *s = malloc(sizeof(double) * (size_t)(visible > 0 ? visible : 1));
  skv_workload_q_row(w, r, qi, h, q);
  double m = -INFINITY;
  for (int64_t t = 0; t < visible; t++) {
    skv_workload_kv_row(w, false, r, t, kvh, k);
    double acc = 0;
    for (int c = 0; c < d; c++) acc += q[c] * k[c];
    s[t] = acc * w->softmax_scale;
    if (s[t] > m) m = s[t];
  }
  double sum = 0;
  memset(o, 0, sizeof(double) * (size_t)d);
  for (int64_t t = 0; t < visible; t++) {
    double p = exp(s[t] - m);
    sum += p;
    skv_workload_kv_row(w, true, r, t, kvh, k);
    for (int c = 0; c < d; c++) o[c] += p * k[c];
  }
  for (int c = 0; c < d && sum > 0; c++) o[c] /= sum;
  free(q), free(k), free(s);
  return visible > 0 ? m + log(sum) : -INFINITY;
}

static skv_workload make_workload(const int64_t *kv, const int64_t *ql, int32_t n, int32_t hq, int32_t hkv,
                                  int32_t d, int32_t ps, uint64_t seed) {
  skv_batch b;
  ck_assert(skv_batch_alloc(&b, n));
  for (int32_t r = 0; r < n; r++) b.kvlen[r] = kv[r], b.qlen[r] = ql ? ql[r] : 1;
  b.num_q_heads = hq, b.num_kv_heads = hkv, b.head_dim = d, b.page_size = ps, b.kv_dtype = b.v_dtype = SKV_BF16;
  skv_workload_opts o;
  skv_workload_opts_default(&o);
  o.seed = seed;
  o.poison_tails = true;
  skv_workload w;
  char err[256];
  ck_assert_msg(skv_workload_make(&b, &o, &w, err, sizeof err), "%s", err);
  skv_batch_free(&b);
  return w;
}

typedef struct outputs {
  double *o, *lse;
} outputs;

static outputs alloc_out(const skv_workload *w) {
  int64_t tq = w->cu_seqlens_q[w->batch.num_requests];
  outputs x = {calloc((size_t)(tq * w->batch.num_q_heads * w->batch.head_dim), sizeof(double)),
               calloc((size_t)(tq * w->batch.num_q_heads), sizeof(double))};
  ck_assert(x.o && x.lse);
  return x;
}

START_TEST(reference_matches_naive_attention_with_causal_mask) {
  int64_t kv[4] = {37, 1, 130, 9}, ql[4] = {3, 1, 7, 9}; /* request 3: 9 queries over 9 keys: query 0 sees one */
  skv_workload w = make_workload(kv, ql, 4, 8, 2, 64, 16, 11);
  outputs x = alloc_out(&w);
  ck_assert(skv_ref_attention(&w, false, x.o, x.lse));
  const int64_t tq = w.cu_seqlens_q[4];
  double o[64];
  int empty = 0;
  for (int32_t r = 0; r < 4; r++)
    for (int64_t i = 0; i < ql[r]; i++)
      for (int32_t h = 0; h < 8; h++) {
        double lse = naive_attend(&w, r, i, h, o);
        int64_t tok = w.cu_seqlens_q[r] + i;
        if (isinf(lse)) {
          empty++;
          ck_assert(isinf(x.lse[h * tq + tok]) && x.lse[h * tq + tok] < 0);
        } else {
          ck_assert_double_eq_tol(x.lse[h * tq + tok], lse, 1e-12);
        }
        for (int c = 0; c < 64; c++) ck_assert_double_eq_tol(x.o[(tok * 8 + h) * 64 + c], o[c], 1e-12);
      }
  ck_assert_int_eq(empty, 0); /* every query sees its own position at least */
  free(x.o), free(x.lse);
  skv_workload_free(&w);
}
END_TEST

START_TEST(causal_mask_hides_future_keys) {
  /* Query 0 of a request with L = 10, Q = 4 sees keys < 7: changing key 7's
   * value must not change it, but must change query 1 (which sees key 7). */
  int64_t kv[1] = {10}, ql[1] = {4};
  skv_workload w = make_workload(kv, ql, 1, 1, 1, 64, 4, 3);
  double o0[64], o1[64], p0[64], p1[64];
  double l0 = naive_attend(&w, 0, 0, 0, o0), l1 = naive_attend(&w, 0, 1, 0, o1);
  int64_t page = skv_workload_page(&w, 0, 7);
  uint16_t *k = w.k;
  for (int c = 0; c < 64; c++) k[(page * 4 + 3) * 64 + c] ^= 0x4000; /* perturb key 7 */
  ck_assert_double_eq(naive_attend(&w, 0, 0, 0, p0), l0);
  ck_assert(naive_attend(&w, 0, 1, 0, p1) != l1);
  double so[4 * 64], sl[4];
  ck_assert(skv_ref_states(&w, 0, 0, 0, 10, so, sl));
  ck_assert_double_eq_tol(sl[0], l0, 1e-12);
  for (int c = 0; c < 64; c++) ck_assert_double_eq_tol(so[c], o0[c], 1e-12);
  skv_workload_free(&w);
}
END_TEST

START_TEST(empty_kv_gives_minus_inf_and_zero) {
  int64_t kv[2] = {0, 20};
  skv_workload w = make_workload(kv, NULL, 2, 4, 4, 128, 16, 1);
  outputs x = alloc_out(&w);
  ck_assert(skv_ref_attention(&w, false, x.o, x.lse));
  for (int h = 0; h < 4; h++) {
    ck_assert(isinf(x.lse[h * 2 + 0]) && x.lse[h * 2] < 0);
    ck_assert(isfinite(x.lse[h * 2 + 1]));
    for (int c = 0; c < 128; c++) ck_assert(x.o[h * 128 + c] == 0.0);
  }
  free(x.o), free(x.lse);
  skv_workload_free(&w);
}
END_TEST

START_TEST(base2_lse_is_natural_over_ln2) {
  int64_t kv[2] = {300, 17};
  skv_workload w = make_workload(kv, NULL, 2, 8, 2, 128, 16, 9);
  outputs a = alloc_out(&w), b2 = alloc_out(&w);
  ck_assert(skv_ref_attention(&w, false, a.o, a.lse));
  ck_assert(skv_ref_attention(&w, true, b2.o, b2.lse));
  for (int i = 0; i < 16; i++) ck_assert_double_eq_tol(b2.lse[i], a.lse[i] / M_LN2, 1e-12);
  free(a.o), free(a.lse), free(b2.o), free(b2.lse);
  skv_workload_free(&w);
}
END_TEST

/* The central claim of the simulator: any plan's chunks, merged in order,
 * reproduce the unsplit attention. */
START_TEST(merging_any_plans_chunks_reproduces_unsplit_attention) {
  skv_rng rng;
  skv_rng_seed(&rng, 77);
  for (int iter = 0; iter < 12; iter++) {
    int32_t n = (int32_t)skv_rng_range(&rng, 1, 5);
    int64_t kv[5], ql[5];
    bool decode = iter % 3 != 0;
    for (int r = 0; r < n; r++) {
      kv[r] = skv_rng_range(&rng, 0, 1500);
      ql[r] = decode ? 1 : skv_rng_range(&rng, 1, 6);
    }
    static const int32_t ps[] = {1, 16, 64};
    skv_workload w = make_workload(kv, ql, n, 8, (iter & 1) ? 2 : 8, iter % 2 ? 64 : 128, ps[iter % 3], 100 + iter);
    outputs ref = alloc_out(&w), got = alloc_out(&w);
    ck_assert(skv_ref_attention(&w, false, ref.o, ref.lse));
    for (int p = 0; p < SKV_POLICY_COUNT; p++) {
      skv_policy_opts o;
      skv_policy_opts_default(&o);
      o.split_size = 100 + iter * 37; /* fixed: page-unaligned chunks */
      o.fixed_split_pages = p == SKV_POLICY_FLASHINFER && iter % 2 ? 3 : 0;
      skv_plan pl;
      char err[256];
      ck_assert(skv_plan_build(&w.batch, (skv_policy)p, &o, skv_test_gpu(20), &pl, err, sizeof err));
      ck_assert(skv_cpu_execute(&w, &pl, NULL, got.o, got.lse));
      const int64_t tq = w.cu_seqlens_q[n];
      for (int64_t i = 0; i < tq * 8; i++) {
        if (isinf(ref.lse[i])) ck_assert(got.lse[i] == ref.lse[i]);
        else ck_assert_double_eq_tol(got.lse[i], ref.lse[i], 1e-12);
      }
      for (int64_t i = 0; i < tq * 8 * w.batch.head_dim; i++) ck_assert_double_eq_tol(got.o[i], ref.o[i], 1e-12);
      skv_plan_free(&pl);
    }
    free(ref.o), free(ref.lse), free(got.o), free(got.lse);
    skv_workload_free(&w);
  }
}
END_TEST


/* Query tiles (sim/plan.h): for query lengths 1..2048, GQA groups 1..16, tiles of 16/32/64 rows,
 * causal and unmasked, mixed batches (decode requests beside a prefill chunk over a KV prefix) and
 * page-unaligned lengths, every policy's plan run through its work and combine lists equals the
 * unsplit reference; and the unsplit reference equals naive attention under each mask. */
START_TEST(query_tiles_reproduce_unsplit_attention) {
  static const int64_t qlens[] = {2, 3, 4, 8, 16, 64, 512, 2048};
  static const int32_t groups[] = {1, 4, 8, 16}, tiles[] = {16, 32, 64};
  skv_rng rng;
  skv_rng_seed(&rng, 2048);
  for (int iter = 0; iter < 16; iter++) {
    const int64_t Q = iter == 15 ? 128 : qlens[iter % 8]; /* 2048 once: ~20 s under the sanitizers */
    /* long queries: one head of 64 dims, so the double references stay cheap under the sanitizers */
    const int32_t G = Q >= 512 ? 1 : groups[iter % 4], hkv = Q >= 16 ? 1 : 2;
    const int32_t d = Q >= 512 ? 64 : (iter % 3 == 0 ? 128 : 64);
    const bool mixed = iter % 2 == 1, unmasked = iter % 4 == 3;
    int32_t n = Q >= 512 ? 2 : (int32_t)skv_rng_range(&rng, 1, 4);
    int64_t kv[4], ql[4];
    for (int32_t r = 0; r < n; r++) {
      const bool prefill = !mixed || r == 0;
      ql[r] = prefill ? Q : 1;
      kv[r] = ql[r] + (Q >= 512 ? skv_rng_range(&rng, 0, 64) : skv_rng_range(&rng, 0, 400)); /* a KV prefix */
    }
    static const int32_t ps[] = {16, 1, 64};
    skv_batch b;
    ck_assert(skv_batch_alloc(&b, n));
    for (int32_t r = 0; r < n; r++) b.kvlen[r] = kv[r], b.qlen[r] = ql[r];
    b.num_q_heads = G * hkv, b.num_kv_heads = hkv, b.head_dim = d, b.page_size = ps[iter % 3];
    b.kv_dtype = b.v_dtype = SKV_BF16;
    b.mask = unmasked ? SKV_MASK_NONE : SKV_MASK_CAUSAL;
    skv_workload_opts wo;
    skv_workload_opts_default(&wo);
    wo.seed = 500 + (uint64_t)iter;
    wo.materialize = true; /* rows read from memory, not regenerated per read */
    wo.poison_tails = true;
    skv_workload w;
    char err[256];
    ck_assert_msg(skv_workload_make(&b, &wo, &w, err, sizeof err), "%s", err);
    skv_batch_free(&b);
    outputs ref = alloc_out(&w), got = alloc_out(&w);
    ck_assert(skv_ref_attention(&w, false, ref.o, ref.lse));
    const int64_t tq = w.cu_seqlens_q[n], hq = w.batch.num_q_heads;
    /* the reference against naive attention on a few rows of each request */
    if (Q < 512) {
      double o[128];
      for (int32_t r = 0; r < n; r++)
        for (int64_t i = 0; i < w.batch.qlen[r]; i += 3) {
          const int32_t h = (int32_t)((r + i) % hq);
          const double lse = naive_attend(&w, r, i, h, o);
          const int64_t tok = w.cu_seqlens_q[r] + i;
          ck_assert_double_eq_tol(ref.lse[h * tq + tok], lse, 1e-12);
          for (int c = 0; c < d; c++) ck_assert_double_eq_tol(ref.o[(tok * hq + h) * d + c], o[c], 1e-12);
        }
    }
    for (int p = 0; p < SKV_POLICY_COUNT; p++) {
      skv_policy_opts o;
      skv_policy_opts_default(&o);
      o.split_size = Q >= 512 ? 160 + iter : 60 + iter * 17; /* fixed: page-unaligned chunks */
      o.tile_rows = tiles[(iter + p) % 3];
      skv_plan pl;
      ck_assert_msg(skv_plan_build(&w.batch, (skv_policy)p, &o, skv_test_gpu(20), &pl, err, sizeof err), "%s", err);
      ck_assert_msg(skv_plan_check(&pl, &w.batch, err, sizeof err), "%s: %s", skv_policy_name((skv_policy)p), err);
      for (int64_t i = 0; i < tq * hq; i++) got.lse[i] = NAN;
      ck_assert(skv_cpu_execute(&w, &pl, NULL, got.o, got.lse));
      for (int64_t i = 0; i < tq * hq; i++) {
        if (isinf(ref.lse[i])) ck_assert(got.lse[i] == ref.lse[i]);
        else ck_assert_msg(fabs(got.lse[i] - ref.lse[i]) < 1e-12, "iter %d %s lse %lld: %g vs %g", iter,
                           skv_policy_name((skv_policy)p), (long long)i, got.lse[i], ref.lse[i]);
      }
      for (int64_t i = 0; i < tq * hq * d; i++) ck_assert_double_eq_tol(got.o[i], ref.o[i], 1e-12);
      skv_plan_free(&pl);
    }
    free(ref.o), free(ref.lse), free(got.o), free(got.lse);
    skv_workload_free(&w);
  }
}
END_TEST

/* Without a mask every query sees every key: the last query's state and the first's differ, and
 * the first equals the causal last query's (both see all L keys). */
START_TEST(unmasked_queries_see_every_key) {
  int64_t kv[1] = {300}, ql[1] = {5};
  skv_workload w = make_workload(kv, ql, 1, 4, 1, 64, 16, 9);
  outputs causal = alloc_out(&w), none = alloc_out(&w);
  ck_assert(skv_ref_attention(&w, false, causal.o, causal.lse));
  w.batch.mask = SKV_MASK_NONE;
  ck_assert(skv_ref_attention(&w, false, none.o, none.lse));
  for (int32_t h = 0; h < 4; h++) {
    ck_assert(fabs(none.lse[h * 5 + 0] - causal.lse[h * 5 + 0]) > 1e-6); /* query 0 now sees 4 more keys */
    ck_assert_double_eq_tol(none.lse[h * 5 + 4], causal.lse[h * 5 + 4], 1e-15); /* the last saw them all */
  }
  free(causal.o), free(causal.lse), free(none.o), free(none.lse);
  skv_workload_free(&w);
}
END_TEST

/* The CPU executor follows the plan's work list, scratch rows and combine list, as the GPU does:
 * a plan whose combine item reads another scratch row, or whose work item writes the wrong
 * range, gives wrong outputs on the CPU too (an executor that walked each request's chunks
 * itself would not see it). */
START_TEST(cpu_executor_follows_the_work_and_combine_lists) {
  int64_t kv[2] = {700, 900};
  skv_workload w = make_workload(kv, NULL, 2, 8, 2, 64, 16, 5);
  outputs ref = alloc_out(&w), got = alloc_out(&w);
  ck_assert(skv_ref_attention(&w, false, ref.o, ref.lse));
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  o.split_size = 256;
  skv_plan pl;
  char err[256];
  ck_assert(skv_plan_build(&w.batch, SKV_POLICY_FIXED, &o, skv_test_gpu(132), &pl, err, sizeof err));
  ck_assert(skv_cpu_execute(&w, &pl, NULL, got.o, got.lse));
  double worst = 0;
  for (int64_t i = 0; i < 2 * 8; i++) worst = fmax(worst, fabs(got.lse[i] - ref.lse[i]));
  ck_assert(worst < 1e-12);
  /* the second combine item reads the first's scratch rows: request 0's state lands on request 0 head 1 */
  pl.combine[1].first_partial = pl.combine[0].first_partial;
  ck_assert(skv_cpu_execute(&w, &pl, NULL, got.o, got.lse));
  worst = 0;
  for (int64_t i = 0; i < 2 * 8; i++) worst = fmax(worst, fabs(got.lse[i] - ref.lse[i]));
  ck_assert_msg(worst > 1e-3, "a wrong scratch row went unseen (%g)", worst);
  /* a sample: only (request 1, KV head 0) runs; the other outputs stay as they were */
  ck_assert(skv_plan_check(&pl, &w.batch, err, sizeof err) == false);
  skv_plan_free(&pl);
  ck_assert(skv_plan_build(&w.batch, SKV_POLICY_FIXED, &o, skv_test_gpu(132), &pl, err, sizeof err));
  const bool keep[4] = {false, false, true, false};
  for (int64_t i = 0; i < 2 * 8; i++) got.lse[i] = 12345.0;
  ck_assert(skv_cpu_execute(&w, &pl, keep, got.o, got.lse));
  for (int32_t h = 0; h < 8; h++)
    for (int32_t r = 0; r < 2; r++) {
      const int64_t i = (int64_t)h * 2 + r; /* lse [hq, tokens] */
      if (r == 1 && h < 4) ck_assert_double_eq_tol(got.lse[i], ref.lse[i], 1e-12);
      else ck_assert(got.lse[i] == 12345.0);
    }
  skv_plan_free(&pl);
  free(ref.o), free(ref.lse), free(got.o), free(got.lse);
  skv_workload_free(&w);
}
END_TEST

/* A shape-only workload (a simulated run that reads no data) holds the batch and its offsets and
 * nothing else: no page table, scales or q, whatever the batch's size (64 x 131072 tokens of int8
 * here, whose per-token scales alone would be 268 MB). */
START_TEST(a_shape_only_workload_holds_no_data) {
  skv_batch b;
  ck_assert(skv_batch_alloc(&b, 64));
  for (int32_t r = 0; r < 64; r++) b.kvlen[r] = 131072, b.qlen[r] = 1;
  b.num_q_heads = 32, b.num_kv_heads = 8, b.head_dim = 128, b.page_size = 16;
  b.kv_dtype = b.v_dtype = SKV_INT8, b.kv_scale_mode = SKV_SCALE_PER_TOKEN_HEAD;
  skv_workload_opts wo;
  skv_workload_opts_default(&wo);
  wo.materialize = false, wo.shape_only = true;
  skv_workload w;
  char err[256];
  ck_assert_msg(skv_workload_make(&b, &wo, &w, err, sizeof err), "%s", err);
  ck_assert_int_eq(w.batch.num_requests, 64);
  ck_assert_int_eq(w.page_indptr[64], 64 * 8192);
  ck_assert_int_eq(w.cu_seqlens_q[64], 64);
  ck_assert(w.page_table == NULL && w.q == NULL && w.k == NULL && w.scales.k_token == NULL && w.scales.v_token == NULL);
  skv_workload_free(&w);
  skv_batch_free(&b);
}
END_TEST

START_TEST(merge_of_two_empty_states_is_empty_not_nan) {
  double a[4] = {0, 0, 0, 0}, b[4] = {0, 0, 0, 0}, o[4], lse;
  skv_merge_states(4, a, -INFINITY, b, -INFINITY, o, &lse, false);
  ck_assert(isinf(lse) && lse < 0);
  for (int i = 0; i < 4; i++) ck_assert(o[i] == 0.0);
}
END_TEST

START_TEST(merge_with_an_empty_state_returns_the_other_unchanged) {
  double a[3] = {0.1, -2.5, 3.75}, z[3] = {0, 0, 0}, o[3], lse;
  skv_merge_states(3, a, 1.2345, z, -INFINITY, o, &lse, false);
  ck_assert(memcmp(o, a, sizeof a) == 0 && lse == 1.2345);
  skv_merge_states(3, z, -INFINITY, a, -7.5, o, &lse, false);
  ck_assert(memcmp(o, a, sizeof a) == 0 && lse == -7.5);
  skv_merge_states(3, z, -INFINITY, a, -7.5, o, &lse, true);
  ck_assert(memcmp(o, a, sizeof a) == 0 && lse == -7.5);
}
END_TEST

START_TEST(merge_weights_by_exp_lse) {
  /* Two single-key states with scores s1, s2: merged lse = log(e^s1 + e^s2). */
  double a[1] = {1.0}, b[1] = {3.0}, o[1], lse;
  skv_merge_states(1, a, 0.5, b, 2.0, o, &lse, false);
  double w1 = exp(0.5), w2 = exp(2.0);
  ck_assert_double_eq_tol(lse, log(w1 + w2), 1e-15);
  ck_assert_double_eq_tol(o[0], (w1 * 1.0 + w2 * 3.0) / (w1 + w2), 1e-15);
  /* base 2: the same numbers in log2 */
  skv_merge_states(1, a, 0.5 / M_LN2, b, 2.0 / M_LN2, o, &lse, true);
  ck_assert_double_eq_tol(lse, log(w1 + w2) / M_LN2, 1e-14);
  /* huge LSEs do not overflow */
  skv_merge_states(1, a, 1000.0, b, 1000.0, o, &lse, false);
  ck_assert_double_eq_tol(lse, 1000.0 + log(2.0), 1e-12);
  ck_assert_double_eq_tol(o[0], 2.0, 1e-15);
}
END_TEST

Suite *skv_suite_reference(void) {
  Suite *s = suite_create("reference");
  TCase *tc = tcase_create("attention");
  tcase_add_test(tc, reference_matches_naive_attention_with_causal_mask);
  tcase_add_test(tc, causal_mask_hides_future_keys);
  tcase_add_test(tc, empty_kv_gives_minus_inf_and_zero);
  tcase_add_test(tc, base2_lse_is_natural_over_ln2);
  tcase_add_test(tc, merging_any_plans_chunks_reproduces_unsplit_attention);
  tcase_add_test(tc, cpu_executor_follows_the_work_and_combine_lists);
  tcase_add_test(tc, query_tiles_reproduce_unsplit_attention);
  tcase_add_test(tc, unmasked_queries_see_every_key);
  suite_add_tcase(s, tc);
  TCase *m = tcase_create("merge");
  tcase_add_test(m, merge_of_two_empty_states_is_empty_not_nan);
  tcase_add_test(m, a_shape_only_workload_holds_no_data);
  tcase_add_test(m, merge_with_an_empty_state_returns_the_other_unchanged);
  tcase_add_test(m, merge_weights_by_exp_lse);
  suite_add_tcase(s, m);
  return s;
}
