/* check_cascade.c — cascade attention in the simulator: shared prefixes, their pages, the cascade plan executed in double against unsplit attention, vLLM's decision rule. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cascade.h"
#include "cascade_cost.h"
#include "cost_model.h"
#include "plan.h"
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
  /* the sharing as given, then (two levels) the outer level alone and each group's whole prefix */
  for (int ch = SKV_CASCADE_ALL; ch < SKV_CASCADE_CHOICES; ch++) {
  if (levels == 0 && ch != SKV_CASCADE_ALL) continue;
  if (levels > 0 && !skv_cascade_choice_offered(&s, (skv_cascade_choice)ch)) continue;
  skv_share cs;
  if (levels > 0) ck_assert_msg(skv_cascade_choice_share(&s, (skv_cascade_choice)ch, &cs, err, sizeof err), "%s", err);
  else cs = s;
  skv_cascade_plan c;
  ck_assert_msg(skv_cascade_plan_build(&b, &cs, pp, NULL, sp, NULL, skv_test_gpu(132), &c, err, sizeof err), "%s", err);
  ck_assert_msg(skv_plan_check(&c.suffix_plan, &c.suffix, err, sizeof err), "%s", err);
  if (cs.num_groups > 0) ck_assert_msg(skv_plan_check(&c.prefix_plan, &c.prefix, err, sizeof err), "%s", err);
  const int64_t T = w.cu_seqlens_q[n], d = b.head_dim;
  double *o1 = malloc(sizeof(double) * (size_t)(T * hq * d)), *l1 = malloc(sizeof(double) * (size_t)(T * hq));
  double *o2 = malloc(sizeof(double) * (size_t)(T * hq * d)), *l2 = malloc(sizeof(double) * (size_t)(T * hq));
  ck_assert(o1 && l1 && o2 && l2);
  ck_assert_msg(skv_cascade_cpu_execute(&w, &c, o1, l1, err, sizeof err), "%s", err);
  ck_assert(skv_ref_attention(&w, false, o2, l2));
  double worst = 0;
  for (int64_t i = 0; i < T * hq * d; i++) worst = fmax(worst, fabs(o1[i] - o2[i]));
  for (int64_t i = 0; i < T * hq; i++) worst = fmax(worst, fabs(l1[i] - l2[i]));
  ck_assert_msg(worst < 1e-12, "%s / %s, %d levels, %s: |cascade - unsplit| = %.3g", skv_policy_name(pp),
                skv_policy_name(sp), levels, skv_cascade_choice_name((skv_cascade_choice)ch), worst);
  free(o1), free(l1), free(o2), free(l2);
  skv_cascade_plan_free(&c);
  if (levels > 0) skv_share_free(&cs);
  }
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

/* The choices of a two-level sharing, worked by hand: 8 requests share 64 tokens, pairs 32 more.
 * OUTER: one group [0, 64) of all 8; MERGED: four groups [0, 96), one per pair; ALL: as given. The
 * rereads (bf16, d 64, 2 KV heads: 512 bytes a token over the heads): as given 7 x 64 + 4 x 1 x 32
 * tokens; OUTER 7 x 64; MERGED 4 x 1 x 96. */
START_TEST(choices_of_a_two_level_sharing) {
  skv_share s, o, m, a;
  char err[256];
  const int32_t block[2] = {8, 2};
  const int64_t len[2] = {64, 32};
  ck_assert(skv_share_blocks(8, 2, block, len, &s, err, sizeof err));
  ck_assert(skv_cascade_choice_offered(&s, SKV_CASCADE_OUTER) && skv_cascade_choice_offered(&s, SKV_CASCADE_MERGED));
  ck_assert(!skv_cascade_choice_share(&s, SKV_CASCADE_FD, &o, err, sizeof err));
  ck_assert(skv_cascade_choice_share(&s, SKV_CASCADE_OUTER, &o, err, sizeof err));
  ck_assert(skv_cascade_choice_share(&s, SKV_CASCADE_MERGED, &m, err, sizeof err));
  ck_assert(skv_cascade_choice_share(&s, SKV_CASCADE_ALL, &a, err, sizeof err));
  ck_assert(o.levels == 1 && o.num_groups == 1 && o.begin[0] == 0 && o.end[0] == 64);
  ck_assert(m.levels == 1 && m.num_groups == 4);
  for (int32_t r = 0; r < 8; r++) ck_assert(m.group_of[r] == r / 2 && m.begin[r / 2] == 0 && m.end[r / 2] == 96);
  ck_assert(a.levels == 2 && a.num_groups == 5 && a.end[4] == 96 && a.begin[4] == 64);
  int64_t kv[8];
  for (int32_t r = 0; r < 8; r++) kv[r] = 100 + r;
  skv_batch b = batch_of(8, kv, NULL, 8, 2);
  ck_assert(skv_share_check(&o, &b, err, sizeof err) && skv_share_check(&m, &b, err, sizeof err));
  ck_assert_int_eq(skv_share_reread_bytes(&s, &b), (7 * 64 + 4 * 32) * 512);
  ck_assert_int_eq(skv_share_reread_bytes(&o, &b), 7 * 64 * 512);
  ck_assert_int_eq(skv_share_reread_bytes(&m, &b), 4 * 96 * 512);
  /* one level offers FD and ALL only */
  skv_share one;
  ck_assert(skv_share_blocks(8, 1, block, len, &one, err, sizeof err));
  ck_assert(!skv_cascade_choice_offered(&one, SKV_CASCADE_OUTER) && skv_cascade_choice_offered(&one, SKV_CASCADE_ALL));
  skv_share_free(&one);
  skv_share_free(&s), skv_share_free(&o), skv_share_free(&m), skv_share_free(&a);
  skv_batch_free(&b);
}
END_TEST

/* The cost model's reread and tensor terms on a plan worked by hand: 4 requests of 1024 tokens
 * sharing their first 512 (bf16, d 64, 2 KV heads, group 4), one CTA per request and KV head (policy
 * none). The test GPU streams 3 TB/s, fixed 2 us, launch 3 us; with l2 6 TB/s: reads 2 MiB of which
 * 3 x 512 x 512 B are rereads, so fixed + 1310720 / 3e6 + 786432 / 6e6 us; flops 8 CTAs x 4 x 4 rows
 * x 1024 keys x 64 = 8388608: at 1e-3 TFLOP/s (1000 flops/us) 8388.608 us; with one CTA's rate
 * 1e-5 TFLOP/s, a CTA's 1048576 take 104857.6 us: the larger, + fixed, the decode. */
START_TEST(reread_and_tensor_terms_of_a_worked_plan) {
  int64_t kv[4] = {1024, 1024, 1024, 1024};
  skv_batch b = batch_of(4, kv, NULL, 8, 2);
  skv_gpu g = *skv_test_gpu(132);
  g.l2_tbps = 6.0;
  skv_share s;
  char err[256];
  const int32_t block[1] = {4};
  const int64_t len[1] = {512};
  ck_assert(skv_share_blocks(4, 1, block, len, &s, err, sizeof err));
  skv_plan p;
  ck_assert_msg(skv_plan_build(&b, SKV_POLICY_NONE, NULL, &g, &p, err, sizeof err), "%s", err);
  skv_prediction pr, alone;
  ck_assert(skv_fd_predict_shared(&p, &b, &s, &g, &pr));
  ck_assert_int_eq(pr.kv_bytes, 2097152);
  ck_assert_int_eq(pr.dram_bytes, 2097152 - 786432);
  ck_assert_double_eq_tol(pr.bandwidth_us, 2.0 + 1310720 / 3e6 + 786432 / 6e6, 1e-9);
  ck_assert_double_eq_tol(pr.flops, 8388608.0, 1e-6);
  ck_assert(pr.compute_us == 0); /* mma_tflops 0: not modelled */
  ck_assert(skv_cost_predict(&p, &b, &g, &alone)); /* no sharing: every byte from HBM */
  ck_assert_double_eq_tol(alone.bandwidth_us, 2.0 + 2097152 / 3e6, 1e-9);
  g.mma_tflops = 1e-3;
  ck_assert(skv_fd_predict_shared(&p, &b, &s, &g, &pr));
  ck_assert_double_eq_tol(pr.compute_us, 2.0 + 8388.608, 1e-6);
  ck_assert_double_eq_tol(pr.decode_us, 3.0 + 2.0 + 8388.608, 1e-6);
  g.cta_tflops = 1e-5;
  ck_assert(skv_fd_predict_shared(&p, &b, &s, &g, &pr));
  ck_assert_double_eq_tol(pr.compute_us, 2.0 + 104857.6, 1e-6);
  skv_plan_free(&p);
  skv_share_free(&s);
  skv_batch_free(&b);
}
END_TEST

/* vLLM's choice: over the prefix every request shares (#44397's 64 x 512: yes), the outer level
 * alone with two levels; no common prefix (two groups at level 0): flash decoding. The oracle and
 * the regrets on times worked by hand. */
START_TEST(vllm_choice_oracle_and_regret) {
  skv_share s;
  char err[256];
  int64_t kv[64];
  for (int i = 0; i < 64; i++) kv[i] = 768;
  skv_batch b = batch_of(64, kv, NULL, 32, 8);
  const int32_t one[1] = {64}, two[2] = {64, 8}, halves[1] = {32};
  const int64_t l1[1] = {512}, l2[2] = {512, 128};
  ck_assert(skv_share_blocks(64, 1, one, l1, &s, err, sizeof err));
  ck_assert_int_eq(skv_cascade_vllm_choice(&s, &b, 132), SKV_CASCADE_ALL);
  skv_share_free(&s);
  ck_assert(skv_share_blocks(64, 2, two, l2, &s, err, sizeof err));
  ck_assert_int_eq(skv_cascade_vllm_choice(&s, &b, 132), SKV_CASCADE_OUTER);
  skv_share_free(&s);
  ck_assert(skv_share_blocks(64, 1, halves, l1, &s, err, sizeof err));
  ck_assert_int_eq(skv_cascade_vllm_choice(&s, &b, 132), SKV_CASCADE_FD);
  skv_share_free(&s);
  skv_batch_free(&b);
  const double t[SKV_CASCADE_CHOICES] = {100, 80, NAN, 64};
  ck_assert_int_eq(skv_cascade_oracle(t), SKV_CASCADE_MERGED);
  ck_assert_double_eq_tol(skv_cascade_regret(t, SKV_CASCADE_FD), 36.0 / 64, 1e-12);
  ck_assert_double_eq_tol(skv_cascade_regret(t, SKV_CASCADE_ALL), 16.0 / 64, 1e-12);
  ck_assert(skv_cascade_regret(t, SKV_CASCADE_MERGED) == 0);
  ck_assert(isnan(skv_cascade_regret(t, SKV_CASCADE_OUTER)));
}
END_TEST

/* The lab's decision takes the least of its predictions, and its prediction of ALL is that of the
 * cascade plan built for it (both passes under the same policies). */
START_TEST(lab_decision_takes_the_least_prediction) {
  int64_t kv[32];
  for (int i = 0; i < 32; i++) kv[i] = 2048 + 64 + 16 * i;
  skv_batch b = batch_of(32, kv, NULL, 32, 8);
  skv_gpu g = *skv_test_gpu(132);
  g.l2_tbps = 8, g.mma_tflops = 200;
  skv_share s;
  char err[256];
  const int32_t block[2] = {32, 8};
  const int64_t len[2] = {1024, 1024};
  ck_assert(skv_share_blocks(32, 2, block, len, &s, err, sizeof err));
  skv_plan fd;
  ck_assert(skv_plan_build(&b, SKV_POLICY_LAB, NULL, &g, &fd, err, sizeof err));
  skv_cascade_choice ch;
  double pred[SKV_CASCADE_CHOICES];
  skv_cascade_prediction all;
  ck_assert_msg(skv_cascade_lab_decides(&b, &s, &fd, SKV_POLICY_LAB, NULL, SKV_POLICY_LAB, NULL, &g, &ch, pred, &all,
                                        err, sizeof err), "%s", err);
  for (int k = 0; k < SKV_CASCADE_CHOICES; k++) ck_assert(isfinite(pred[k]) && pred[ch] <= pred[k]);
  skv_cascade_plan c;
  skv_cascade_prediction again;
  ck_assert(skv_cascade_plan_build(&b, &s, SKV_POLICY_LAB, NULL, SKV_POLICY_LAB, NULL, &g, &c, err, sizeof err));
  ck_assert(skv_cascade_predict(&c, &b, &g, &again));
  ck_assert_double_eq_tol(again.total_us, pred[SKV_CASCADE_ALL], 1e-9);
  ck_assert_double_eq_tol(all.total_us, pred[SKV_CASCADE_ALL], 1e-9);
  ck_assert(again.total_us > again.prefix.total_us + again.suffix.total_us);
  ck_assert(again.bytes_bound_us > 0 && again.flops_bound_us == 0); /* the test GPU has no peak */
  skv_cascade_plan_free(&c);
  skv_plan_free(&fd);
  skv_share_free(&s);
  skv_batch_free(&b);
}
END_TEST

/* The decision regrets on a table worked by hand. Rows (fd, cascade, outer, merged; vllm; lab):
 * r1 10, 20; yes; fd — never 0, always 1.0, vllm 1.0, lab 0;
 * r2 30, 10; no; cascade — never 2.0, always 0, vllm 2.0, lab 0;
 * r3 8, 4, 6, 2; yes (outer: 6); merged — never 3.0, always 1.0, vllm 2.0, lab 0;
 * r4 5, (none) — left out. Medians (nearest rank of 3): never 2.0, always 1.0, vllm 2.0, lab 0. */
START_TEST(cascade_regrets_of_a_worked_table) {
  static const char csv[] = "config,total_us,cascade_us,cascade_outer_us,cascade_merged_us,cascade_vllm,cascade_lab,"
                            "fd_distinct_us,predicted_us,cascade_predicted_us\n"
                            "r1,10,20,,,yes,fd,12,11,18\nr2,30,10,,,no,cascade,,27,11\nr3,8,4,6,2,yes,merged,16,8,5\n"
                            "r4,5,,,,,,,,\n";
  skv_csv_table t;
  char err[256];
  ck_assert_msg(skv_csv_parse(csv, strlen(csv), "t.csv", &t, err, sizeof err), "%s", err);
  char *md = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&md, &len);
  ck_assert_msg(skv_cascade_table_write(f, &t, err, sizeof err), "%s", err);
  fclose(f);
  ck_assert_msg(strstr(md, "over the 3 rows with"), "%s", md);
  ck_assert_msg(strstr(md, "| never (flash decoding, shared pages) | 3 | 200.0% | 300.0% | 300.0% | r3 | 1 |"), "%s", md);
  ck_assert_msg(strstr(md, "| always (every level cascaded) | 3 | 100.0% | 100.0% | 100.0% | r1 | 1 |"), "%s", md);
  ck_assert_msg(strstr(md, "| vllm (use_cascade_attention) | 3 | 200.0% | 200.0% | 200.0% | r2 | 0 |"), "%s", md);
  ck_assert_msg(strstr(md, "| lab (the calibrated cost model) | 3 | 0.0% | 0.0% | 0.0% | — | 3 |"), "%s", md);
  ck_assert_msg(strstr(md, "| oracle (the fastest measured) | 3 | 0.0% | 0.0% | 0.0% | — | 3 |"), "%s", md);
  /* model errors: fd 10%, -10%, 0% -> median 10%, largest 10% (r1); cascade -10%, 10%, 25% -> 10%, 25% (r3) */
  ck_assert_msg(strstr(md, "| flash decoding, shared pages | 3 | 10.0% | 10.0% | r1 |"), "%s", md);
  ck_assert_msg(strstr(md, "| cascade (every level) | 3 | 10.0% | 25.0% | r3 |"), "%s", md);
  ck_assert_msg(strstr(md, "| r1 | 0.50 | 0.61 | 0.60 | yes | fd | fd |") && strstr(md, "| r2 | 3.00 | 2.45 | — | no | cascade | cascade |") &&
                    strstr(md, "| r3 | 2.00 | 1.60 | 4.00 | yes | merged | merged |"),
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
  tcase_add_test(t, choices_of_a_two_level_sharing);
  tcase_add_test(t, reread_and_tensor_terms_of_a_worked_plan);
  tcase_add_test(t, vllm_choice_oracle_and_regret);
  tcase_add_test(t, lab_decision_takes_the_least_prediction);
  tcase_add_test(t, cascade_regrets_of_a_worked_table);
  suite_add_tcase(s, t);
  return s;
}
