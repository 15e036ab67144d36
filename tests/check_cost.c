/* check_cost.c — the split-KV cost model and the lab policy that uses it. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "cost_model.h"
#include "plan.h"
#include "suites.h"

static skv_batch decode(int32_t n, int64_t len) {
  skv_batch b;
  ck_assert(skv_batch_alloc(&b, n));
  for (int32_t r = 0; r < n; r++) b.kvlen[r] = len, b.qlen[r] = 1;
  b.num_q_heads = 32, b.num_kv_heads = 8, b.head_dim = 128, b.page_size = 16, b.kv_dtype = SKV_BF16;
  return b;
}

static skv_prediction predict(const skv_batch *b, skv_policy p, int64_t split) {
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  o.split_size = split;
  skv_plan pl;
  char err[256];
  ck_assert_msg(skv_plan_build(b, p, &o, 132, &pl, err, sizeof err), "%s", err);
  skv_gpu_params g;
  skv_gpu_params_h100(&g);
  skv_prediction pr;
  skv_cost_predict(&pl, b, &g, &pr);
  skv_plan_free(&pl);
  return pr;
}

START_TEST(large_batch_is_bandwidth_bound) {
  skv_batch b = decode(128, 8192);
  skv_prediction pr = predict(&b, SKV_POLICY_NONE, 0);
  const double bytes_us = (double)skv_batch_kv_bytes(&b) / (3.06 * 1e6);
  ck_assert_int_eq(pr.kv_bytes, skv_batch_kv_bytes(&b));
  ck_assert(pr.total_us >= bytes_us);
  ck_assert(pr.total_us <= bytes_us * 1.05 + 10.0);
  ck_assert(pr.combine_us == 0.0);
  skv_batch_free(&b);
}
END_TEST

START_TEST(one_long_request_unsplit_is_limited_by_one_cta_per_head) {
  /* 8 CTAs of 16.8 MB each at 41 GB/s: ~410 us, far above bytes / read bandwidth (44 us); 8 CTAs
   * stream 328 GB/s together, far below the knee, so each runs at its own rate. */
  skv_batch b = decode(1, 32768);
  skv_prediction pr = predict(&b, SKV_POLICY_NONE, 0);
  const double cta_us = 2.4 + 32768.0 * 512 / 41e3;
  ck_assert(pr.makespan_us > 8 * pr.bandwidth_us);
  ck_assert_double_eq_tol(pr.makespan_us, cta_us, 1e-3 * cta_us); /* the soft minimum: 1e-4 below 8 x 41 GB/s */
  ck_assert(pr.makespan_us >= cta_us);
  ck_assert_double_eq_tol(pr.decode_us, 3.0 + pr.makespan_us, 1e-9);
  skv_prediction split = predict(&b, SKV_POLICY_FIXED, 1024);
  ck_assert(split.total_us < pr.total_us / 5);
  ck_assert(split.combine_us > 0);
  skv_batch_free(&b);
}
END_TEST

START_TEST(at_the_knee_the_ctas_reach_less_than_either_limit) {
  /* 8 requests x 8 KV heads unsplit = 64 equal CTAs, all resident; with cta_gbps = read_tbps *
   * 1000 / 64 their summed rate equals the read ceiling, where the soft minimum gives 2^(-1/k) of
   * it (2^(-1/4) = 0.84). */
  skv_batch b = decode(8, 32768);
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  skv_plan pl;
  char err[256];
  ck_assert_msg(skv_plan_build(&b, SKV_POLICY_NONE, &o, 132, &pl, err, sizeof err), "%s", err);
  ck_assert_int_eq(pl.num_work, 64);
  skv_gpu_params g;
  skv_gpu_params_h100(&g);
  g.cta_gbps = g.read_tbps * 1000.0 / 64.0;
  skv_prediction pr;
  skv_cost_predict(&pl, &b, &g, &pr);
  const double bytes = (double)pr.kv_bytes, read_bpus = g.read_tbps * 1e6;
  ck_assert_double_eq_tol(pr.makespan_us, g.cta_fixed_us + bytes / (read_bpus * pow(2.0, -1.0 / SKV_COST_KNEE)),
                          1e-6 * pr.makespan_us);
  ck_assert(pr.makespan_us > 1.15 * pr.bandwidth_us); /* a hard minimum of the two limits would be optimistic */
  skv_plan_free(&pl);
  skv_batch_free(&b);
}
END_TEST

START_TEST(combine_is_launch_plus_item_waves_plus_partial_bytes) {
  /* 1 x 32768 in chunks of 1024: 32 chunks x 8 KV heads = 256 CTAs, 8 combine items (one wave of
   * 264 slots); partials 256 rows x 4 q heads x (128 floats + 1 LSE) x 4 bytes = 528384 bytes.
   * By hand: 3.0 + 1.9 * 1 + 528384 / 3.06e6 us. */
  skv_batch b = decode(1, 32768);
  skv_prediction pr = predict(&b, SKV_POLICY_FIXED, 1024);
  ck_assert_double_eq_tol(pr.combine_us, 3.0 + 1.9 + 528384.0 / 3.06e6, 1e-9);
  ck_assert_double_eq_tol(pr.total_us, pr.decode_us + pr.combine_us, 1e-9);
  skv_batch_free(&b);
}
END_TEST

/* bf16 batches of 1, 8 and 32 requests, where the last-wave rule (plan_lab.c) does not fire: lab's plan
 * is then the model's own best uniform chunk. */
START_TEST(lab_policy_is_no_slower_than_any_fixed_chunk_by_its_own_model) {
  static const int32_t ns[] = {1, 8, 32};
  static const int64_t ls[] = {4096, 32768};
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 2; j++) {
      skv_batch b = decode(ns[i], ls[j]);
      const double lab = predict(&b, SKV_POLICY_LAB, 0).total_us;
      for (int64_t c = 64; c <= ls[j]; c *= 2) ck_assert(lab <= predict(&b, SKV_POLICY_FIXED, c).total_us + 1e-9);
      skv_batch_free(&b);
    }
}
END_TEST

START_TEST(lab_fills_a_part_filled_last_wave) {
  /* fp8, 96 x 8192, 132 SMs: the model keeps whole requests (768 CTAs); the slots are 132 x 4 =
   * 528, so the last wave holds 240 CTAs (<= 264, half of them): k = ceil(528 / 480) = 2, and
   * requests 66..95 (their CTAs start at 66 x 8 = 528) get 4096-token chunks: 66 x 8 + 30 x 16 =
   * 1008 CTAs. */
  skv_batch b = decode(96, 8192);
  b.kv_dtype = SKV_FP8_E4M3;
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  skv_plan pl;
  char err[256];
  ck_assert_msg(skv_plan_build(&b, SKV_POLICY_LAB, &o, 132, &pl, err, sizeof err), "%s", err);
  ck_assert_int_eq(pl.num_work, 1008);
  for (int64_t i = 0; i < pl.num_work; i++) {
    const skv_work *w = &pl.work[i];
    ck_assert_int_eq(w->kv_end - w->kv_begin, w->request < 66 ? 8192 : 4096);
  }
  ck_assert(strstr(pl.why, "last wave filled: 30 requests in chunks of 4096 tokens"));
  skv_plan_free(&pl);
  /* bf16 at 2 CTAs per SM: 768 CTAs on 264 slots leave a last wave of 240 (> 132): unchanged. */
  b.kv_dtype = SKV_BF16;
  ck_assert_msg(skv_plan_build(&b, SKV_POLICY_LAB, &o, 132, &pl, err, sizeof err), "%s", err);
  ck_assert_int_eq(pl.num_work, 768);
  ck_assert(!strstr(pl.why, "last wave"));
  skv_plan_free(&pl);
  skv_batch_free(&b);
}
END_TEST

START_TEST(decode_ctas_per_sm_follow_shared_memory) {
  for (int g = 1; g <= 16; g *= 2) {
    ck_assert_int_eq(skv_decode_ctas_per_sm(64, 2, g), 3);
    ck_assert_int_eq(skv_decode_ctas_per_sm(128, 2, g), 2);
    ck_assert_int_eq(skv_decode_ctas_per_sm(256, 2, g), 1);
  }
  ck_assert_int_eq(skv_decode_ctas_per_sm(64, 1, 8), 6);
  ck_assert_int_eq(skv_decode_ctas_per_sm(128, 1, 4), 4);
  ck_assert_int_eq(skv_decode_ctas_per_sm(256, 1, 1), 3);
  ck_assert_int_eq(skv_decode_ctas_per_sm(64, 1, 16), 5);
  ck_assert_int_eq(skv_decode_ctas_per_sm(128, 1, 16), 3);
  ck_assert_int_eq(skv_decode_ctas_per_sm(256, 1, 12), 2);
}
END_TEST

Suite *skv_suite_cost(void) {
  Suite *s = suite_create("cost");
  TCase *tc = tcase_create("model");
  tcase_add_test(tc, large_batch_is_bandwidth_bound);
  tcase_add_test(tc, one_long_request_unsplit_is_limited_by_one_cta_per_head);
  tcase_add_test(tc, at_the_knee_the_ctas_reach_less_than_either_limit);
  tcase_add_test(tc, combine_is_launch_plus_item_waves_plus_partial_bytes);
  tcase_add_test(tc, lab_policy_is_no_slower_than_any_fixed_chunk_by_its_own_model);
  tcase_add_test(tc, lab_fills_a_part_filled_last_wave);
  tcase_add_test(tc, decode_ctas_per_sm_follow_shared_memory);
  suite_add_tcase(s, tc);
  return s;
}
