/* check_determinism.c — issue 17's simulator parts: lab-invariant's chunks, the invariance pairs' variants and predictions, the composed workloads, the study's table. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_fixture.h"
#include "graph_bound.h"
#include "invariance.h"
#include "out/csv.h"
#include "out/determinism.h"
#include "plan.h"
#include "rng.h"
#include "suites.h"
#include "workload.h"

static skv_batch shaped(int32_t n) {
  skv_batch b;
  ck_assert(skv_batch_alloc(&b, n));
  for (int32_t r = 0; r < n; r++) b.kvlen[r] = 4096, b.qlen[r] = 1;
  b.num_q_heads = 32, b.num_kv_heads = 8, b.head_dim = 128, b.page_size = 16, b.kv_dtype = b.v_dtype = SKV_BF16;
  return b;
}

static void plan_ok(const skv_batch *b, skv_policy p, const skv_policy_opts *o, skv_plan *pl) {
  char err[256];
  ck_assert_msg(skv_plan_build(b, p, o, skv_test_gpu(132), pl, err, sizeof err), "%s", err);
  ck_assert_msg(skv_plan_check(pl, b, err, sizeof err), "%s", err);
}

/* Worked by hand from the rule: the least 2^k * (4 + i) / 4 >= L, at least 64. */
START_TEST(lab_invariant_buckets_lengths_in_quarter_octaves) {
  static const int64_t in[][2] = {{0, 64},      {1, 64},       {64, 64},       {65, 80},         {100, 112},
                                  {128, 128},   {129, 160},    {4096, 4096},   {4097, 5120},     {6000, 6144},
                                  {7169, 8192}, {100000, 114688}, {131072, 131072}, {131073, 163840}};
  for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
    ck_assert_msg(skv_lab_invariant_bucket(in[i][0]) == in[i][1], "L %lld: %lld, want %lld", (long long)in[i][0],
                  (long long)skv_lab_invariant_bucket(in[i][0]), (long long)in[i][1]);
}
END_TEST

/* The request's chunks are the same alone and in batches of any size, position and mix of lengths:
 * the policy's promise, which lab (the batch-dependent one) does not keep on the same batches. */
START_TEST(lab_invariant_chunks_depend_on_the_request_alone) {
  static const int64_t probe_lengths[] = {700, 4096, 32768, 131072};
  skv_rng g;
  skv_rng_seed(&g, 41);
  int lab_differs = 0;
  for (size_t pi = 0; pi < sizeof probe_lengths / sizeof probe_lengths[0]; pi++) {
    skv_batch one = shaped(1);
    one.kvlen[0] = probe_lengths[pi];
    skv_plan alone;
    plan_ok(&one, SKV_POLICY_LAB_INVARIANT, NULL, &alone);
    skv_plan lab_alone;
    plan_ok(&one, SKV_POLICY_LAB, NULL, &lab_alone);
    static const int32_t sizes[] = {2, 7, 64, 256};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
      skv_batch b = shaped(sizes[si]);
      const int32_t at = (int32_t)skv_rng_range(&g, 0, sizes[si] - 1);
      for (int32_t r = 0; r < b.num_requests; r++) b.kvlen[r] = r == at ? probe_lengths[pi] : skv_rng_range(&g, 1, 140000);
      skv_plan pl, lab;
      plan_ok(&b, SKV_POLICY_LAB_INVARIANT, NULL, &pl);
      ck_assert_msg(skv_same_chunks(&alone, 0, &pl, at), "L %lld in a batch of %d", (long long)probe_lengths[pi],
                    sizes[si]);
      ck_assert(skv_same_row_bits(&alone, &one, 0, &pl, &b, at));
      plan_ok(&b, SKV_POLICY_LAB, NULL, &lab);
      lab_differs += !skv_same_chunks(&lab_alone, 0, &lab, at);
      skv_plan_free(&pl);
      skv_plan_free(&lab);
      skv_batch_free(&b);
    }
    skv_plan_free(&alone);
    skv_plan_free(&lab_alone);
    skv_batch_free(&one);
  }
  ck_assert_msg(lab_differs > 0, "lab kept every probe's chunks: the comparison shows nothing");
}
END_TEST

/* Chunks start at multiples of the chunk length (absolute positions), a power of two times 64 or
 * the whole bucket; never more than max_splits of them; a lone long request is split. */
START_TEST(lab_invariant_chunks_are_absolute_and_bounded) {
  static const int32_t bounds[] = {4, 32};
  for (size_t bi = 0; bi < 2; bi++) {
    skv_policy_opts o;
    skv_policy_opts_default(&o);
    o.max_splits = bounds[bi];
    for (int64_t L = 1; L <= (1 << 20); L = L * 3 + 1) {
      skv_batch b = shaped(1);
      b.kvlen[0] = L;
      skv_plan pl;
      plan_ok(&b, SKV_POLICY_LAB_INVARIANT, &o, &pl);
      const int64_t n = skv_plan_num_splits(&pl, 0);
      ck_assert_msg(n >= 1 && n <= o.max_splits, "L %lld: %lld splits over the bound %d", (long long)L, (long long)n,
                    o.max_splits);
      const skv_chunk *c = skv_plan_chunks(&pl, 0);
      const int64_t len = c[0].end - c[0].begin;
      if (n > 1) {
        ck_assert_msg(len >= 64 && (len & (len - 1)) == 0, "L %lld: chunk %lld", (long long)L, (long long)len);
        for (int64_t k = 0; k < n; k++) ck_assert(c[k].begin == k * len);
      }
      skv_plan_free(&pl);
      skv_batch_free(&b);
    }
  }
  skv_batch b = shaped(1);
  b.kvlen[0] = 131072;
  skv_plan pl;
  plan_ok(&b, SKV_POLICY_LAB_INVARIANT, NULL, &pl);
  ck_assert_int_ge(skv_plan_num_splits(&pl, 0), 8); /* 8 KV heads alone fill 8 of 132 SMs */
  skv_plan_free(&pl);
  skv_batch_free(&b);
}
END_TEST

/* The variants follow their rule: k = 0 alone; the probe keeps its lengths; neighbours are
 * prefixes of base requests; batch sizes within 1..256 and spread; the same (seed, k) the same. */
START_TEST(variants_follow_their_rule_and_repeat) {
  skv_batch base = shaped(5);
  for (int32_t r = 0; r < 5; r++) base.kvlen[r] = 1000 * (r + 1), base.qlen[r] = r == 2 ? 4 : 1;
  base.qlen[0] = 2;
  char err[256];
  int32_t smallest = 1000, largest = 0, moved = 0, multi = 0;
  for (int32_t k = 0; k < 60; k++) {
    skv_variant v, w;
    ck_assert_msg(skv_variant_make(&base, 0, 99, k, 256, &v, err, sizeof err), "%s", err);
    ck_assert_msg(skv_variant_make(&base, 0, 99, k, 256, &w, err, sizeof err), "%s", err);
    const int32_t B = v.batch.num_requests;
    ck_assert(B >= 1 && B <= 256);
    if (k == 0) ck_assert_int_eq(B, 1);
    ck_assert(B == w.batch.num_requests && v.probe == w.probe);
    ck_assert(memcmp(v.batch.kvlen, w.batch.kvlen, sizeof(int64_t) * (size_t)B) == 0);
    ck_assert(memcmp(v.source, w.source, sizeof(int32_t) * (size_t)B) == 0);
    ck_assert(v.probe >= 0 && v.probe < B && v.source[v.probe] == 0);
    ck_assert(v.batch.kvlen[v.probe] == 1000 && v.batch.qlen[v.probe] == 2);
    for (int32_t i = 0; i < B; i++) {
      const int32_t j = v.source[i];
      ck_assert(j >= 0 && j < 5);
      ck_assert(v.batch.kvlen[i] >= 1 && v.batch.kvlen[i] <= base.kvlen[j]);
      ck_assert(v.batch.qlen[i] >= 1 && v.batch.qlen[i] <= base.qlen[j] && v.batch.qlen[i] <= v.batch.kvlen[i]);
      multi += i != v.probe && v.batch.qlen[i] > 1;
    }
    ck_assert_msg(skv_batch_validate(&v.batch, err, sizeof err), "%s", err);
    smallest = B < smallest ? B : smallest;
    largest = B > largest ? B : largest;
    moved += v.probe > 0;
    skv_variant_free(&v);
    skv_variant_free(&w);
  }
  ck_assert_int_eq(smallest, 1);
  ck_assert_int_ge(largest, 100);
  ck_assert_int_gt(moved, 10);
  ck_assert_int_gt(multi, 0);
  skv_batch_free(&base);
}
END_TEST

/* The pair prediction: fixed keeps a decode probe's chunks everywhere, yet a neighbour with a long
 * query changes the launch's kernel form (32-row tiles: 2 row warps) and so the probe's bits; lab
 * moves the probe's chunks with the batch. */
START_TEST(pair_prediction_sees_chunks_and_kernel_form) {
  skv_batch base = shaped(2);
  base.kvlen[0] = 32768, base.kvlen[1] = 8192, base.qlen[1] = 8; /* 8 x group 4 = 32 rows */
  char err[256];
  skv_plan pl;
  plan_ok(&base, SKV_POLICY_FIXED, NULL, &pl);
  skv_variant v;
  ck_assert(skv_variant_make(&base, 0, 5, 0, 256, &v, err, sizeof err)); /* alone: 16-row tiles */
  skv_plan vp;
  bool same = true;
  ck_assert_msg(skv_variant_predict(&pl, &base, 0, &v, SKV_POLICY_FIXED, NULL, skv_test_gpu(132), &vp, &same, err,
                                    sizeof err), "%s", err);
  ck_assert(skv_same_chunks(&pl, 0, &vp, v.probe));
  ck_assert_msg(!same, "the kernel form differs (2 row warps against 1): the bits may differ");
  skv_plan_free(&vp);
  skv_plan_free(&pl);
  skv_variant_free(&v);
  /* decode only: fixed predicts every pair equal, lab not */
  base.qlen[1] = 1;
  int fixed_same = 0, lab_same = 0;
  for (int pi = 0; pi < 2; pi++) {
    const skv_policy p = pi == 0 ? SKV_POLICY_FIXED : SKV_POLICY_LAB;
    plan_ok(&base, p, NULL, &pl);
    for (int32_t k = 0; k < 12; k++) {
      ck_assert(skv_variant_make(&base, 0, 5, k, 256, &v, err, sizeof err));
      ck_assert_msg(skv_variant_predict(&pl, &base, 0, &v, p, NULL, skv_test_gpu(132), &vp, &same, err, sizeof err),
                    "%s", err);
      *(pi == 0 ? &fixed_same : &lab_same) += same;
      skv_plan_free(&vp);
      skv_variant_free(&v);
    }
    skv_plan_free(&pl);
  }
  ck_assert_int_eq(fixed_same, 12);
  ck_assert_int_lt(lab_same, 12);
  skv_batch_free(&base);
}
END_TEST

/* A composed workload reads its sources' bytes: the same q rows, the same pages, the same K/V rows. */
START_TEST(composed_workload_reads_its_sources_bytes) {
  skv_batch base = shaped(3);
  base.kvlen[0] = 100, base.kvlen[1] = 700, base.kvlen[2] = 33;
  base.qlen[1] = 3;
  skv_workload_opts wo;
  skv_workload_opts_default(&wo);
  wo.seed = 7;
  skv_workload w;
  char err[256];
  ck_assert_msg(skv_workload_make(&base, &wo, &w, err, sizeof err), "%s", err);
  skv_batch nb = shaped(4);
  const int32_t src[4] = {1, 0, 1, 2};
  const int64_t kv[4] = {650, 100, 17, 33}, q[4] = {3, 1, 1, 1};
  for (int32_t i = 0; i < 4; i++) nb.kvlen[i] = kv[i], nb.qlen[i] = q[i];
  skv_workload c;
  ck_assert_msg(skv_workload_compose(&w, &nb, src, &c, err, sizeof err), "%s", err);
  const int32_t d = base.head_dim;
  double *x = malloc(sizeof(double) * (size_t)d), *y = malloc(sizeof(double) * (size_t)d);
  for (int32_t i = 0; i < 4; i++) {
    for (int64_t t = 0; t < kv[i]; t += 7)
      for (int32_t h = 0; h < base.num_kv_heads; h += 3)
        for (int vi = 0; vi < 2; vi++) {
          skv_workload_kv_row(&c, vi == 1, i, t, h, x);
          skv_workload_kv_row(&w, vi == 1, src[i], t, h, y);
          ck_assert(memcmp(x, y, sizeof(double) * (size_t)d) == 0);
        }
    for (int64_t t = 0; t < q[i]; t++) {
      skv_workload_q_row(&c, i, t, 5, x);
      skv_workload_q_row(&w, src[i], t, 5, y);
      ck_assert(memcmp(x, y, sizeof(double) * (size_t)d) == 0);
    }
  }
  free(x), free(y);
  skv_workload_free(&c);
  /* a request longer than its source is refused */
  nb.kvlen[2] = 701;
  ck_assert(!skv_workload_compose(&w, &nb, src, &c, err, sizeof err));
  ck_assert_msg(strstr(err, "request 2 cannot take its data from request 1"), "%s", err);
  skv_batch_free(&nb);
  skv_workload_free(&w);
  skv_batch_free(&base);
}
END_TEST

/* The study on a table worked by hand: two shapes; A non-invariant (the baseline), B and C
 * invariant. B: 12/10, 30/20 -> geomean sqrt(1.2 * 1.5), worst 1.5; C: 10/10, 40/20 -> sqrt(2). */
START_TEST(determinism_study_of_a_worked_table) {
  static const char csv[] =
      "config,batch,seqlen,policy,policy_options,total_us,predicted_us,inv_pairs,inv_same_measured,inv_same_predicted\n"
      "s1-A,1,100,lab,,10,1,4,2,2\n"
      "s1-B,1,100,fixed,split_size=64,12,1,4,4,4\n"
      "s1-C,1,100,none,,10,1,4,4,4\n"
      "s2-A,8,100,lab,,20,1,4,1,1\n"
      "s2-B,8,100,fixed,split_size=64,30,1,4,4,4\n"
      "s2-C,8,100,none,,40,1,4,4,4\n";
  skv_csv_table t;
  char err[256];
  ck_assert_msg(skv_csv_parse(csv, strlen(csv), "t.csv", &t, err, sizeof err), "%s", err);
  skv_det_study s;
  ck_assert_msg(skv_det_study_make(&t, true, &s, err, sizeof err), "%s", err);
  ck_assert_int_eq(s.n, 3);
  ck_assert_int_eq(s.shapes, 2);
  const skv_det_policy *a = &s.p[0], *b = &s.p[1], *c = &s.p[2];
  ck_assert_str_eq(b->label, "fixed (split_size=64)");
  ck_assert(!a->invariant && b->invariant && c->invariant);
  ck_assert_int_eq(a->pairs, 8);
  ck_assert_int_eq(a->same, 3);
  ck_assert(fabs(a->geomean - 1) < 1e-12);
  ck_assert(fabs(b->geomean - sqrt(1.2 * 1.5)) < 1e-12 && fabs(b->worst - 1.5) < 1e-12);
  ck_assert_str_eq(b->worst_shape, "s2-B");
  ck_assert(fabs(c->geomean - sqrt(2.0)) < 1e-12 && fabs(c->worst - 2) < 1e-12);
  char *md = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&md, &len);
  skv_det_study_write_md(f, &s);
  fclose(f);
  ck_assert_msg(strstr(md, "| fixed (split_size=64) | 1.342 | 1.500 | s2-B | 8 | 8 | yes |"), "%s", md);
  ck_assert_msg(strstr(md, "| lab | 1.000 | 1.000 |"), "%s", md);
  free(md);
  skv_det_study_free(&s);
  skv_csv_free(&t);
  /* no pairs: refused, with why */
  static const char none[] = "config,batch,seqlen,policy,policy_options,total_us,predicted_us,inv_pairs,inv_same_measured,"
                             "inv_same_predicted\ns1-A,1,100,lab,,10,1,,,\n";
  ck_assert(skv_csv_parse(none, strlen(none), "t.csv", &t, err, sizeof err));
  ck_assert(!skv_det_study_make(&t, true, &s, err, sizeof err));
  ck_assert_msg(strstr(err, "no row has invariance pairs"), "%s", err);
  skv_csv_free(&t);
}
END_TEST

/* The bounds of the graph modes, worked from their rules for 8 decode requests (hq 32, hkv 8) on
 * 132 SMs: vLLM max_num_splits 16: 8 x 8 x 16 CTAs, 8 x 32 x 16 state rows, 64 items of at most 16
 * chunks; FlashInfer: max(2 x 132 / 8, 8) = 33 items per KV head, 264 CTAs of 4 rows. Every runtime
 * batch of at most 8 requests up to the captured length fits them. */
START_TEST(graph_bounds_follow_each_policys_graph_mode) {
  skv_batch b = shaped(8);
  skv_policy_opts v, f;
  skv_policy_opts_default(&v), skv_policy_opts_default(&f);
  v.cuda_graph = true, v.max_splits = 16;
  f.cuda_graph = true;
  char err[256], why[160];
  skv_graph_bound gv, gf;
  ck_assert_msg(skv_graph_bound_make(&b, SKV_POLICY_VLLM, &v, skv_test_gpu(132), 131072, &gv, err, sizeof err), "%s", err);
  ck_assert_int_eq(gv.ctas, 1024);
  ck_assert_int_eq(gv.partials, 4096);
  ck_assert_int_eq(gv.combine, 64);
  ck_assert_int_eq(gv.max_chunks, 16);
  ck_assert_int_eq(gv.pages, 8 * 8192);
  ck_assert_int_eq(gv.tile_rows, 4);
  ck_assert_msg(skv_graph_bound_make(&b, SKV_POLICY_FLASHINFER, &f, skv_test_gpu(132), 131072, &gf, err, sizeof err), "%s",
                err);
  ck_assert_int_eq(gf.ctas, 264);
  ck_assert_int_eq(gf.partials, 1056);
  ck_assert_int_eq(gf.max_chunks, 33);
  skv_rng g;
  skv_rng_seed(&g, 3);
  for (int k = 0; k < 40; k++) {
    skv_batch r = shaped((int32_t)skv_rng_range(&g, 1, 8));
    for (int32_t i = 0; i < r.num_requests; i++) r.kvlen[i] = skv_rng_range(&g, 0, 131072);
    skv_plan pv, pf;
    plan_ok(&r, SKV_POLICY_VLLM, &v, &pv);
    plan_ok(&r, SKV_POLICY_FLASHINFER, &f, &pf);
    ck_assert_msg(skv_graph_bound_fits(&gv, &pv, &r, why, sizeof why), "vllm: %s", why);
    ck_assert_msg(skv_graph_bound_fits(&gf, &pf, &r, why, sizeof why), "flashinfer: %s", why);
    skv_plan_free(&pv);
    skv_plan_free(&pf);
    skv_batch_free(&r);
  }
  /* more requests than captured, or a longer KV than captured: named */
  skv_batch big = shaped(9);
  skv_plan pl;
  plan_ok(&big, SKV_POLICY_VLLM, &v, &pl);
  ck_assert(!skv_graph_bound_fits(&gv, &pl, &big, why, sizeof why));
  ck_assert_str_eq(why, "requests 9 > 8 captured");
  skv_plan_free(&pl);
  skv_batch_free(&big);
  skv_batch longer = shaped(8); /* one request past max_seqlen fits the pages of all eight; eight do not */
  for (int32_t i = 0; i < 8; i++) longer.kvlen[i] = 200000;
  plan_ok(&longer, SKV_POLICY_VLLM, &v, &pl);
  ck_assert(!skv_graph_bound_fits(&gv, &pl, &longer, why, sizeof why));
  ck_assert_str_eq(why, "pages 100000 > 65536 captured");
  skv_plan_free(&pl);
  skv_batch_free(&longer);
  skv_batch_free(&b);
}
END_TEST

/* A policy without a graph mode is captured at its plan of the longest batch; FA2's heuristic gives
 * a short batch more splits than that (vLLM #20301: the runtime split count past the captured one),
 * so its plan does not fit and the message says what exceeds. lab-invariant always fits its own. */
START_TEST(graph_bound_of_a_policy_without_graph_mode_is_exceeded) {
  skv_batch b = shaped(1);
  skv_graph_bound g;
  char err[256], why[160];
  ck_assert(skv_graph_bound_make(&b, SKV_POLICY_FA2, NULL, skv_test_gpu(132), 131072, &g, err, sizeof err));
  ck_assert_msg(strstr(g.source, "no graph mode"), "%s", g.source);
  int exceeded = 0;
  for (int64_t L = 1024; L <= 131072; L *= 2) {
    b.kvlen[0] = L;
    skv_plan pl;
    plan_ok(&b, SKV_POLICY_FA2, NULL, &pl);
    if (!skv_graph_bound_fits(&g, &pl, &b, why, sizeof why)) {
      exceeded++;
      ck_assert_msg(strstr(why, "CTAs") == why && strstr(why, "captured"), "%s", why);
    }
    skv_plan_free(&pl);
  }
  ck_assert_int_gt(exceeded, 0);
  skv_graph_bound gi;
  ck_assert(skv_graph_bound_make(&b, SKV_POLICY_LAB_INVARIANT, NULL, skv_test_gpu(132), 131072, &gi, err, sizeof err));
  for (int64_t L = 1; L <= 131072; L = L * 5 + 3) {
    b.kvlen[0] = L;
    skv_plan pl;
    plan_ok(&b, SKV_POLICY_LAB_INVARIANT, NULL, &pl);
    ck_assert_msg(skv_graph_bound_fits(&gi, &pl, &b, why, sizeof why), "L %lld: %s", (long long)L, why);
    skv_plan_free(&pl);
  }
  skv_batch_free(&b);
}
END_TEST

Suite *skv_suite_determinism(void) {
  Suite *s = suite_create("determinism");
  TCase *t = tcase_create("determinism");
  tcase_add_test(t, lab_invariant_buckets_lengths_in_quarter_octaves);
  tcase_add_test(t, lab_invariant_chunks_depend_on_the_request_alone);
  tcase_add_test(t, lab_invariant_chunks_are_absolute_and_bounded);
  tcase_add_test(t, variants_follow_their_rule_and_repeat);
  tcase_add_test(t, pair_prediction_sees_chunks_and_kernel_form);
  tcase_add_test(t, composed_workload_reads_its_sources_bytes);
  tcase_add_test(t, determinism_study_of_a_worked_table);
  tcase_add_test(t, graph_bounds_follow_each_policys_graph_mode);
  tcase_add_test(t, graph_bound_of_a_policy_without_graph_mode_is_exceeded);
  suite_add_tcase(s, t);
  return s;
}
