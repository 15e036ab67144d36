/* check_cascade.c — cascade attention in the simulator: shared prefixes, their pages, the cascade plan executed in double against unsplit attention, vLLM's decision rule. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cascade.h"
#include "gpu_fixture.h"
#include "out/cascade_table.h"
#include "out/csv.h"
#include "reference.h"
#include "share.h"
#include "suites.h"
#include "workload.h"

static skv_batch batch_of(int32_t n, const int64_t *kv, const int64_t *q, int32_t hq, int32_t hkv) {
  skv_batch b;
  ck_assert(skv_batch_alloc(&b, n));
  for (int32_t r = 0; r < n; r++) b.kvlen[r] = kv[r], b.qlen[r] = q ? q[r] : 1;
  b.num_q_heads = hq, b.num_kv_heads = hkv, b.head_dim = 64, b.page_size = 16, b.kv_dtype = b.v_dtype = SKV_BF16;
  return b;
}

/* Blocks of 6 then 2 requests over 7: groups {0..5}, {6} at level 0 and {0,1}, {2,3}, {4,5}, {6} at
 * level 1, ranges [0, 64) then [64, 96). */
START_TEST(share_blocks_nest_and_check) {
  skv_share s;
  char err[256];
  const int32_t block[2] = {6, 2};
  const int64_t len[2] = {64, 32};
  ck_assert_msg(skv_share_blocks(7, 2, block, len, &s, err, sizeof err), "%s", err);
  ck_assert_int_eq(s.num_groups, 2 + 4);
  ck_assert_int_eq(s.group_of[0 * 7 + 5], 0);
  ck_assert_int_eq(s.group_of[0 * 7 + 6], 1);
  ck_assert_int_eq(s.group_of[1 * 7 + 3], 2 + 1);
  ck_assert_int_eq(s.group_of[1 * 7 + 6], 2 + 3);
  ck_assert(s.begin[3] == 64 && s.end[3] == 96 && s.level[3] == 1);
  ck_assert_int_eq(skv_share_prefix_end(&s, 4), 96);
  int64_t kv[7] = {200, 97, 300, 100, 97, 150, 120};
  skv_batch b = batch_of(7, kv, NULL, 8, 2);
  ck_assert_msg(skv_share_check(&s, &b, err, sizeof err), "%s", err);
  b.qlen[1] = 2; /* query positions 95, 96: 95 is inside the shared [64, 96) */
  ck_assert(!skv_share_check(&s, &b, err, sizeof err));
  ck_assert_msg(strstr(err, "request 1 shares 96 tokens, past its first query position 95"), "%s", err);
  skv_share_free(&s);
  skv_batch_free(&b);
  const int32_t bad[2] = {4, 3};
  ck_assert(!skv_share_blocks(7, 2, bad, len, &s, err, sizeof err));
  ck_assert_msg(strstr(err, "do not divide"), "%s", err);
  const int64_t odd[1] = {40};
  ck_assert(skv_share_blocks(7, 1, block, odd, &s, err, sizeof err));
  skv_batch c = batch_of(7, kv, NULL, 8, 2);
  ck_assert(!skv_share_check(&s, &c, err, sizeof err));
  ck_assert_msg(strstr(err, "whole pages of 16 tokens"), "%s", err);
  skv_share_free(&s);
  skv_batch_free(&c);
}
END_TEST

/* A workload made with the sharing gives a group's members the same pages over its range, and
 * different pages elsewhere. */
START_TEST(shared_groups_hold_the_same_pages) {
  skv_share s;
  char err[256];
  const int32_t block[2] = {4, 2};
  const int64_t len[2] = {48, 32};
  ck_assert(skv_share_blocks(6, 2, block, len, &s, err, sizeof err));
  int64_t kv[6] = {100, 90, 81, 200, 96, 130};
  skv_batch b = batch_of(6, kv, NULL, 8, 2);
  skv_workload_opts o;
  skv_workload_opts_default(&o);
  o.share = &s;
  skv_workload w;
  ck_assert_msg(skv_workload_make(&b, &o, &w, err, sizeof err), "%s", err);
  for (int32_t r = 0; r < 6; r++)
    for (int32_t q = 0; q < 6; q++)
      for (int64_t p = 0; p < 5; p++) {
        const int32_t a = w.page_table[w.page_indptr[r] + p], c = w.page_table[w.page_indptr[q] + p];
        const bool same_group = p < 3 ? r / 4 == q / 4 : r / 2 == q / 2;
        ck_assert_msg((a == c) == (same_group || r == q), "requests %d, %d page %lld", r, q, (long long)p);
      }
  /* past the shared 80 tokens every page is the request's own */
  for (int32_t r = 0; r < 6; r++)
    for (int64_t p = 5; p < w.page_indptr[r + 1] - w.page_indptr[r]; p++)
      for (int32_t q = 0; q < 6; q++)
        for (int64_t k = 0; k < w.page_indptr[q + 1] - w.page_indptr[q]; k++)
          if (!(q == r && k == p)) ck_assert(w.page_table[w.page_indptr[r] + p] != w.page_table[w.page_indptr[q] + k]);
  skv_workload_free(&w);
  o.shared_prefix = 16;
  ck_assert(!skv_workload_make(&b, &o, &w, err, sizeof err));
  ck_assert_msg(strstr(err, "not both"), "%s", err);
  skv_batch_free(&b);
  skv_share_free(&s);
}
END_TEST

/* The cascade plan executed in double (prefix batch, suffix batch, merge) equals unsplit attention
 * over each request's whole KV, for vLLM's one prefix, nested groups, verify steps, one KV head and
 * GQA 8, under several policies. */
static void check_cascade(int32_t n, const int64_t *kv, const int64_t *q, int32_t hq, int32_t hkv, int32_t levels,
                          const int32_t *block, const int64_t *len, skv_policy pp, skv_policy sp, uint64_t seed) {
  skv_share s;
  char err[256];
  ck_assert_msg(skv_share_blocks(n, levels, block, len, &s, err, sizeof err), "%s", err);
  skv_batch b = batch_of(n, kv, q, hq, hkv);
  skv_workload_opts o;
  skv_workload_opts_default(&o);
  o.seed = seed;
  o.share = &s;
  skv_workload w;
  ck_assert_msg(skv_workload_make(&b, &o, &w, err, sizeof err), "%s", err);
  skv_cascade_plan c;
  ck_assert_msg(skv_cascade_plan_build(&b, &s, pp, NULL, sp, NULL, skv_test_gpu(132), &c, err, sizeof err), "%s", err);
  ck_assert_msg(skv_plan_check(&c.suffix_plan, &c.suffix, err, sizeof err), "%s", err);
  if (s.num_groups > 0) ck_assert_msg(skv_plan_check(&c.prefix_plan, &c.prefix, err, sizeof err), "%s", err);
  const int64_t T = w.cu_seqlens_q[n], d = b.head_dim;
  double *o1 = malloc(sizeof(double) * (size_t)(T * hq * d)), *l1 = malloc(sizeof(double) * (size_t)(T * hq));
  double *o2 = malloc(sizeof(double) * (size_t)(T * hq * d)), *l2 = malloc(sizeof(double) * (size_t)(T * hq));
  ck_assert(o1 && l1 && o2 && l2);
  ck_assert_msg(skv_cascade_cpu_execute(&w, &c, o1, l1, err, sizeof err), "%s", err);
  ck_assert(skv_ref_attention(&w, false, o2, l2));
  double worst = 0;
  for (int64_t i = 0; i < T * hq * d; i++) worst = fmax(worst, fabs(o1[i] - o2[i]));
  for (int64_t i = 0; i < T * hq; i++) worst = fmax(worst, fabs(l1[i] - l2[i]));
  ck_assert_msg(worst < 1e-12, "%s / %s, %d levels: |cascade - unsplit| = %.3g", skv_policy_name(pp),
                skv_policy_name(sp), levels, worst);
  free(o1), free(l1), free(o2), free(l2);
  skv_cascade_plan_free(&c);
  skv_workload_free(&w);
  skv_batch_free(&b);
  skv_share_free(&s);
}

START_TEST(cascade_equals_unsplit_attention) {
  int64_t kv[16], q[16];
  for (int32_t r = 0; r < 16; r++) kv[r] = 520 + 37 * r, q[r] = 1;
  const int32_t all[1] = {16};
  const int64_t p512[1] = {512};
  check_cascade(16, kv, q, 32, 8, 1, all, p512, SKV_POLICY_FA2, SKV_POLICY_FA2, 1);       /* vLLM's case */
  check_cascade(16, kv, q, 32, 8, 1, all, p512, SKV_POLICY_LAB, SKV_POLICY_FLASHINFER, 2);
  check_cascade(16, kv, q, 8, 1, 1, all, p512, SKV_POLICY_FIXED, SKV_POLICY_NONE, 3);     /* one KV head */
  const int32_t nest[2] = {8, 4};
  const int64_t l2[2] = {256, 128};
  check_cascade(16, kv, q, 64, 8, 2, nest, l2, SKV_POLICY_FA3, SKV_POLICY_LAB, 4);        /* nested, GQA 8 */
  for (int32_t r = 0; r < 16; r++) q[r] = 1 + r % 4;                                       /* verify steps */
  check_cascade(16, kv, q, 32, 8, 2, nest, l2, SKV_POLICY_FLASHINFER, SKV_POLICY_FA2, 5);
  const int32_t none[1] = {1};
  check_cascade(16, kv, q, 32, 8, 0, none, p512, SKV_POLICY_FA2, SKV_POLICY_LAB, 6);      /* nothing shared */
}
END_TEST

/* vLLM's use_cascade_attention, worked by hand from its rule (cascade.h). */
START_TEST(vllm_cascade_decision_follows_its_rule) {
  int64_t q[300];
  for (int i = 0; i < 300; i++) q[i] = 1;
  /* thresholds */
  ck_assert(!skv_cascade_vllm_decides(255, q, 64, 32, 8, 132, false, false, false, 1));
  ck_assert(!skv_cascade_vllm_decides(512, q, 7, 32, 8, 132, false, false, false, 1));
  ck_assert(!skv_cascade_vllm_decides(512, q, 64, 32, 8, 132, true, false, false, 1));
  ck_assert(!skv_cascade_vllm_decides(512, q, 64, 32, 8, 132, false, false, false, 2));
  /* no FlashDecoding (a query longer than 1, or no GQA): cascade */
  q[3] = 2;
  ck_assert(skv_cascade_vllm_decides(512, q, 8, 32, 8, 132, false, false, false, 1));
  q[3] = 1;
  ck_assert(skv_cascade_vllm_decides(256, q, 8, 32, 32, 132, false, false, false, 1));
  /* the model, #44397's setting (prefix 512, 132 SMs, hq 32, hkv 8): 4 prefix tiles; cascade
   * ceil(32 * 1 / 132) * 4 = 4 against flash decoding ceil(64 * 8 * 1 * 4 / 132) = 16: cascade */
  ck_assert(skv_cascade_vllm_decides(512, q, 64, 32, 8, 132, false, false, false, 1));
  ck_assert(skv_cascade_vllm_decides(512, q, 256, 32, 8, 132, false, false, false, 1));
  /* 8 requests, prefix 256: cascade 1 * 2 = 2 against ceil(8 * 8 * 2 / 132) = 1: no cascade */
  ck_assert(!skv_cascade_vllm_decides(256, q, 8, 32, 8, 132, false, false, false, 1));
  /* 16 requests, prefix 4096 (32 tiles), hkv 1, hq 8: cascade ceil(8 / 132) * 32 = 32 against
   * ceil(16 * 1 * 1 * 32 / 132) = 4: no cascade */
  ck_assert(!skv_cascade_vllm_decides(4096, q, 16, 8, 1, 132, false, false, false, 1));
}
END_TEST

/* The decision regrets on a table worked by hand: never 0, 2.0, 1.0 (median 1.0); always 1.0, 0, 0;
 * vllm (rows 1 and 2 only: row 3 has nested groups) 1.0 and 2.0; the oracle 0. */
START_TEST(cascade_regrets_of_a_worked_table) {
  static const char csv[] = "config,total_us,cascade_us,cascade_vllm,fd_distinct_us\n"
                            "r1,10,20,yes,12\nr2,30,10,no,\nr3,8,4,,16\nr4,5,,,\n";
  skv_csv_table t;
  char err[256];
  ck_assert_msg(skv_csv_parse(csv, strlen(csv), "t.csv", &t, err, sizeof err), "%s", err);
  char *md = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&md, &len);
  ck_assert_msg(skv_cascade_table_write(f, &t, err, sizeof err), "%s", err);
  fclose(f);
  ck_assert_msg(strstr(md, "over the 3 rows with both"), "%s", md);
  ck_assert_msg(strstr(md, "| never (flash decoding, shared pages) | 3 | 100.0% | 200.0% | r2 |"), "%s", md);
  ck_assert_msg(strstr(md, "| always (cascade) | 3 | 0.0% | 100.0% | r1 |"), "%s", md);
  ck_assert_msg(strstr(md, "| vllm (use_cascade_attention) | 2 | 150.0% | 200.0% | r2 |"), "%s", md);
  ck_assert_msg(strstr(md, "| oracle (the faster) | 3 | 0.0% | 0.0% | — |"), "%s", md);
  ck_assert_msg(strstr(md, "| r1 | 0.50 | 0.60 | yes |") && strstr(md, "| r2 | 3.00 | — | no |") &&
                    strstr(md, "| r3 | 2.00 | 4.00 | — (nested groups) |"),
                "%s", md);
  free(md);
  skv_csv_free(&t);
  static const char none[] = "config,total_us,cascade_us,cascade_vllm\nr1,10,,\n";
  ck_assert(skv_csv_parse(none, strlen(none), "t.csv", &t, err, sizeof err));
  f = open_memstream(&md, &len);
  ck_assert(!skv_cascade_table_write(f, &t, err, sizeof err));
  fclose(f);
  free(md);
  ck_assert_msg(strstr(err, "no row has a cascade time"), "%s", err);
  skv_csv_free(&t);
}
END_TEST

Suite *skv_suite_cascade(void) {
  Suite *s = suite_create("cascade");
  TCase *t = tcase_create("cascade");
  tcase_add_test(t, share_blocks_nest_and_check);
  tcase_add_test(t, shared_groups_hold_the_same_pages);
  tcase_add_test(t, cascade_equals_unsplit_attention);
  tcase_add_test(t, vllm_cascade_decision_follows_its_rule);
  tcase_add_test(t, cascade_regrets_of_a_worked_table);
  suite_add_tcase(s, t);
  return s;
}
