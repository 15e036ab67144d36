/* check_dcp.c — decode context parallelism in the simulator (sim/dcp.h): the shard rule against a walk over the
 * tokens, every rank's plan executed in double and merged both ways against unsplit attention, empty shards. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcp.h"
#include "dcp_handoff.h"
#include "gpu_fixture.h"
#include "reference.h"
#include "skv_cmd.h"
#include "suites.h"
#include "workload.h"

/* The rule read literally: tokens dealt to ranks in blocks of I, round-robin; each rank's tokens keep their order.
 * The closed forms (rank, local position, its inverse, local lengths) must agree with the walk at every token. */
START_TEST(shard_rule_matches_a_walk_over_the_tokens) {
  static const int32_t worlds[4] = {1, 2, 3, 4}, inter[4] = {1, 5, 16, 64};
  for (int a = 0; a < 4; a++)
    for (int c = 0; c < 4; c++) {
      const int32_t W = worlds[a], I = inter[c];
      const int64_t L = 1000;
      int64_t next[SKV_DCP_MAX_WORLD] = {0};
      for (int64_t p = 0; p < L; p++) {
        const int32_t w = (int32_t)((p / I) % W); /* the block p falls in, dealt round-robin */
        ck_assert_int_eq(skv_dcp_rank_of(p, W, I), w);
        ck_assert_int_eq(skv_dcp_local_pos(p, W, I), next[w]);
        ck_assert_int_eq(skv_dcp_global_pos(next[w], w, W, I), p);
        next[w]++;
        for (int32_t v = 0; v < W; v++) ck_assert_int_eq(skv_dcp_local_len(p + 1, v, W, I), next[v]);
      }
    }
  /* vLLM's example reading of the rule: W 2, I 1 gives rank 0 the even tokens; I 16 gives it 0..15, 32..47, ... */
  ck_assert_int_eq(skv_dcp_local_len(4096, 0, 2, 1), 2048);
  ck_assert_int_eq(skv_dcp_local_len(40, 0, 2, 16), 24); /* 0..15 and 32..39 */
  ck_assert_int_eq(skv_dcp_local_len(40, 1, 2, 16), 16); /* 16..31 */
  ck_assert_int_eq(skv_dcp_global_pos(16, 0, 2, 16), 32);
}
END_TEST

static skv_batch decode_batch(int32_t n, const int64_t *kv, int32_t hq, int32_t hkv) {
  skv_batch b;
  ck_assert(skv_batch_alloc(&b, n));
  for (int32_t r = 0; r < n; r++) b.kvlen[r] = kv[r], b.qlen[r] = 1;
  b.num_q_heads = hq, b.num_kv_heads = hkv, b.head_dim = 64, b.page_size = 16, b.kv_dtype = b.v_dtype = SKV_BF16;
  return b;
}

/* Every (W, I, policy, merge): the DCP plan executed in double equals unsplit attention over the whole KV within
 * rounding (1e-12), O and LSE, including a request too short for every rank to hold a token (lengths 3 and 0 with
 * W 4: empty shards, LSE -inf, merged away) and GQA 1 and 4. The ranks' LSEs, merged by logsumexp, give the
 * reference LSE too. */
START_TEST(dcp_plan_executed_in_double_equals_unsplit_attention) {
  const int64_t kv[5] = {1000, 3, 0, 257, 4096};
  static const int32_t worlds[3] = {1, 2, 4}, inter[3] = {1, 16, 64};
  static const struct { int32_t hq, hkv; } shapes[2] = {{8, 2}, {4, 4}};
  static const skv_policy pols[2] = {SKV_POLICY_FA2, SKV_POLICY_FIXED};
  int runs = 0;
  for (int s = 0; s < 2; s++) {
    skv_batch b = decode_batch(5, kv, shapes[s].hq, shapes[s].hkv);
    skv_workload_opts wo;
    skv_workload_opts_default(&wo);
    wo.seed = 41;
    wo.materialize = false;
    skv_workload w;
    char err[256];
    ck_assert_msg(skv_workload_make(&b, &wo, &w, err, sizeof err), "%s", err);
    const int64_t hq = b.num_q_heads, d = b.head_dim, n = b.num_requests;
    double *ro = malloc(sizeof(double) * (size_t)(n * hq * d)), *rl = malloc(sizeof(double) * (size_t)(n * hq));
    double *o = malloc(sizeof(double) * (size_t)(n * hq * d)), *l = malloc(sizeof(double) * (size_t)(n * hq));
    double *rk = malloc(sizeof(double) * (size_t)(4 * n * hq));
    ck_assert(ro && rl && o && l && rk);
    ck_assert(skv_ref_attention(&w, false, ro, rl));
    for (int a = 0; a < 3; a++)
      for (int c = 0; c < 3; c++)
        for (int p = 0; p < 2; p++)
          for (int m = 0; m < SKV_DCP_MERGE_COUNT; m++) {
            skv_policy_opts po;
            skv_policy_opts_default(&po);
            po.split_size = 96;
            skv_dcp_plan dp;
            ck_assert_msg(skv_dcp_plan_build(&b, worlds[a], inter[c], pols[p], &po, skv_test_gpu(132), &dp, err,
                                             sizeof err),
                          "%s", err);
            ck_assert_msg(skv_dcp_cpu_execute(&w, &dp, (skv_dcp_merge)m, o, l, rk, err, sizeof err), "%s", err);
            for (int64_t i = 0; i < n * hq * d; i++)
              ck_assert_msg(fabs(o[i] - ro[i]) < 1e-12, "W %d I %d %s %s: O[%lld] %.17g vs %.17g", worlds[a],
                            inter[c], skv_policy_name(pols[p]), skv_dcp_merge_name((skv_dcp_merge)m), (long long)i,
                            o[i], ro[i]);
            for (int64_t i = 0; i < n * hq; i++) {
              if (isinf(rl[i])) {
                ck_assert(isinf(l[i]) && l[i] < 0); /* an empty request stays empty */
                continue;
              }
              ck_assert_msg(fabs(l[i] - rl[i]) < 1e-12, "LSE[%lld] %.17g vs %.17g", (long long)i, l[i], rl[i]);
              double mx = -INFINITY, sum = 0; /* the ranks' LSEs: their logsumexp is the whole LSE */
              for (int32_t v = 0; v < worlds[a]; v++) mx = fmax(mx, rk[(size_t)v * n * hq + i]);
              for (int32_t v = 0; v < worlds[a]; v++) sum += exp(rk[(size_t)v * n * hq + i] - mx);
              ck_assert(fabs(mx + log(sum) - rl[i]) < 1e-12);
            }
            /* the request of 3 tokens on 4 ranks (I >= 1): rank 3 holds nothing, its LSE is -inf */
            if (worlds[a] == 4) ck_assert(isinf(rk[((size_t)3 * hq + 0) * n + 1]));
            skv_dcp_plan_free(&dp);
            runs++;
          }
    free(ro), free(rl), free(o), free(l), free(rk);
    skv_workload_free(&w);
    skv_batch_free(&b);
  }
  ck_assert_int_eq(runs, 2 * 3 * 3 * 2 * SKV_DCP_MERGE_COUNT);
}
END_TEST

/* The two merges on a worked case: ranks with LSE 0, log 3 and -inf (empty) and outputs 1, 2, 7 give weights 1/4,
 * 3/4, 0: O 1.75, LSE log 4, both ways; every rank empty gives -inf and 0, never NaN. */
START_TEST(cross_rank_merges_of_a_worked_case) {
  const double o[3] = {1, 2, 7}, lse[3] = {0, log(3.0), -INFINITY};
  for (int m = 0; m < SKV_DCP_MERGE_COUNT; m++) {
    double out, l;
    skv_dcp_merge_states((skv_dcp_merge)m, 3, 1, o, lse, &out, &l);
    ck_assert_msg(fabs(out - 1.75) < 1e-15 && fabs(l - log(4.0)) < 1e-15, "%s: %.17g %.17g",
                  skv_dcp_merge_name((skv_dcp_merge)m), out, l);
    const double none[2] = {-INFINITY, -INFINITY}, zo[2] = {0, 0};
    skv_dcp_merge_states((skv_dcp_merge)m, 2, 1, zo, none, &out, &l);
    ck_assert(out == 0 && isinf(l) && l < 0);
  }
}
END_TEST

START_TEST(dcp_plan_refuses_what_it_does_not_model) {
  const int64_t kv[2] = {100, 50};
  skv_batch b = decode_batch(2, kv, 8, 2);
  skv_dcp_plan dp;
  char err[256];
  ck_assert(!skv_dcp_plan_build(&b, 0, 16, SKV_POLICY_FA2, NULL, skv_test_gpu(132), &dp, err, sizeof err));
  ck_assert_msg(strstr(err, "world size 0"), "%s", err);
  ck_assert(!skv_dcp_plan_build(&b, 2, 0, SKV_POLICY_FA2, NULL, skv_test_gpu(132), &dp, err, sizeof err));
  ck_assert_msg(strstr(err, "interleave 0"), "%s", err);
  b.qlen[1] = 4;
  ck_assert(!skv_dcp_plan_build(&b, 2, 16, SKV_POLICY_FA2, NULL, skv_test_gpu(132), &dp, err, sizeof err));
  ck_assert_msg(strstr(err, "query length 4"), "%s", err);
  skv_batch_free(&b);
}
END_TEST

/* The hand-off table (skv layout --dcp): each case executed in double (the ranks' real states of a DCP plan, the
 * LSE made as the case says and merged as cp_lse_ag_out_rs does) against the rule that predicts it: right exactly
 * when the LSE ends [T, H], in the merge's base, with the empty-shard guard (the batch has a request of no KV);
 * a shape error exactly when it does not end [T, H] and T != H; NaN outputs exactly without the guard. */
START_TEST(dcp_handoff_cases_follow_the_rule) {
  const int64_t kvs[2][8] = {{1000, 5, 0, 300}, {1000, 5, 0, 300, 64, 17, 2048, 1}};
  const int64_t Ts[2] = {4, 8};
  int right = 0;
  for (int k = 0; k < 2; k++) {
    skv_batch b = decode_batch((int32_t)Ts[k], kvs[k], 8, 2);
    skv_workload_opts wo;
    skv_workload_opts_default(&wo);
    wo.seed = 43;
    wo.materialize = false;
    skv_workload w;
    char err[256];
    ck_assert_msg(skv_workload_make(&b, &wo, &w, err, sizeof err), "%s", err);
    const int32_t W = 4, H = 8, D = 64;
    const int64_t T = Ts[k];
    double *ro = malloc(sizeof(double) * (size_t)(W * T * H * D)), *rl = malloc(sizeof(double) * (size_t)(W * T * H));
    double *o = malloc(sizeof(double) * (size_t)(T * H * D)), *l = malloc(sizeof(double) * (size_t)(T * H));
    double *ref = malloc(sizeof(double) * (size_t)(T * H * D));
    ck_assert(ro && rl && o && l && ref);
    skv_dcp_plan dp;
    ck_assert_msg(skv_dcp_plan_build(&b, W, 16, SKV_POLICY_FA2, NULL, skv_test_gpu(132), &dp, err, sizeof err), "%s",
                  err);
    ck_assert_msg(skv_dcp_cpu_execute_ranks(&w, &dp, SKV_DCP_MERGE_AG_RS, o, l, ro, rl, err, sizeof err), "%s", err);
    ck_assert(skv_ref_attention(&w, false, ref, l));
    for (int32_t i = 0; i < SKV_DCP_CASES; i++) {
      skv_dcp_case c;
      skv_dcp_case_of(i, &c);
      skv_dcp_case_result r;
      skv_dcp_case_eval(&c, W, T, H, D, ro, rl, ref, &r);
      const bool ends_th = (c.returned == SKV_DCP_LSE_TOKENS_HEADS) != c.host_transposes;
      const bool base = c.returned_base2 == c.merge_base2;
      ck_assert_msg(r.shape_error == (!ends_th && T != H), "case %d", i);
      ck_assert_msg(r.correct == (ends_th && base && c.guard_empty), "case %d: correct %d (err %.3g, NaN %lld)", i,
                    r.correct, r.o_rel, (long long)r.nan_outputs);
      if (!r.shape_error) ck_assert_msg((r.nan_outputs > 0) == !c.guard_empty, "case %d", i);
      if (!r.shape_error && c.guard_empty && (!ends_th || !base)) ck_assert_msg(r.o_rel > 1e-3, "case %d", i);
      right += r.correct;
    }
    skv_dcp_plan_free(&dp);
    free(ro), free(rl), free(o), free(l), free(ref);
    skv_workload_free(&w);
    skv_batch_free(&b);
  }
  ck_assert_int_eq(right, 2 * 4);
}
END_TEST

/* skv layout --dcp: its flags' refusals (exit 2, naming the flag) and its table's summary line, as the rule says. */
START_TEST(layout_dcp_command) {
  skv_test_usage_error("layout --dcp --demo", "--dcp: not with --demo");
  skv_test_usage_error("layout --world 3", "--world: only with --dcp");
  skv_test_usage_error("layout --dcp --world 1", "--world");
  char out[1 << 15], err[4096];
  ck_assert_int_eq(skv_test_run("layout --dcp --world 2 --interleave 1", out, sizeof out, err, sizeof err), 0);
  ck_assert_msg(strstr(out, "right at both shapes: 4 of 32 cases"), "%s", out);
  ck_assert_msg(strstr(out, "World 2, interleave 1, hq 8"), "%s", out);
}
END_TEST

Suite *skv_suite_dcp(void) {
  Suite *s = suite_create("dcp");
  TCase *tc = tcase_create("dcp");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, shard_rule_matches_a_walk_over_the_tokens);
  tcase_add_test(tc, dcp_plan_executed_in_double_equals_unsplit_attention);
  tcase_add_test(tc, cross_rank_merges_of_a_worked_case);
  tcase_add_test(tc, dcp_plan_refuses_what_it_does_not_model);
  tcase_add_test(tc, dcp_handoff_cases_follow_the_rule);
  tcase_add_test(tc, layout_dcp_command);
  suite_add_tcase(s, tc);
  return s;
}
