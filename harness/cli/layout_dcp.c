/* layout_dcp.c — `skv layout --dcp` (layout_dcp.h). */
#include "cli/layout_dcp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "dcp.h"
#include "dcp_handoff.h"
#include "out/json.h"
#include "reference.h"
#include "runner/run.h"
#include "workload.h"

/* One batch's ranks' states and its reference. */
typedef struct dcp_states {
  int64_t T;
  double *rank_o, *rank_lse, *ref_o;
} dcp_states;

static bool states_make(int64_t T, int32_t hkv, int32_t groups, int32_t W, int32_t I, dcp_states *s, char *err,
                        size_t errlen) {
  /* lengths: long, shorter than one round of W x I (some shards empty), none (every shard empty), then more */
  static const int64_t lens[8] = {1000, 5, 0, 300, 64, 17, 2048, 1};
  skv_batch b;
  if (!skv_batch_alloc(&b, (int32_t)T)) {
    snprintf(err, errlen, "out of memory");
    return false;
  }
  for (int64_t r = 0; r < T; r++) b.kvlen[r] = lens[r % 8] + (r / 8) * 7, b.qlen[r] = 1;
  b.num_q_heads = hkv * groups, b.num_kv_heads = hkv, b.head_dim = 64, b.page_size = 16;
  b.kv_dtype = b.v_dtype = SKV_BF16;
  skv_workload_opts wo;
  skv_workload_opts_default(&wo);
  wo.seed = 43, wo.materialize = false;
  skv_workload w;
  skv_dcp_plan dp;
  skv_gpu gpu = {0};
  snprintf(gpu.name, sizeof gpu.name, "132 SMs");
  gpu.sms = 132;
  const int64_t H = b.num_q_heads, d = b.head_dim;
  s->T = T;
  s->rank_o = malloc(sizeof(double) * (size_t)(W * T * H * d));
  s->rank_lse = malloc(sizeof(double) * (size_t)(W * T * H));
  s->ref_o = malloc(sizeof(double) * (size_t)(T * H * d));
  double *o = malloc(sizeof(double) * (size_t)(T * H * d)), *l = malloc(sizeof(double) * (size_t)(T * H));
  bool ok = s->rank_o && s->rank_lse && s->ref_o && o && l;
  if (!ok) snprintf(err, errlen, "out of memory");
  bool have_w = false, have_p = false;
  ok = ok && (have_w = skv_workload_make(&b, &wo, &w, err, errlen)) &&
       (have_p = skv_dcp_plan_build(&b, W, I, SKV_POLICY_FA2, NULL, &gpu, &dp, err, errlen)) &&
       skv_dcp_cpu_execute_ranks(&w, &dp, SKV_DCP_MERGE_AG_RS, o, l, s->rank_o, s->rank_lse, err, errlen);
  if (ok && !skv_ref_attention(&w, false, s->ref_o, l)) {
    snprintf(err, errlen, "out of memory in the reference");
    ok = false;
  }
  if (have_p) skv_dcp_plan_free(&dp);
  if (have_w) skv_workload_free(&w);
  skv_batch_free(&b);
  free(o), free(l);
  return ok;
}

static void states_free(dcp_states *s) { free(s->rank_o), free(s->rank_lse), free(s->ref_o); }

static void verdict(const skv_dcp_case_result *r, char *buf, size_t len) {
  if (r->shape_error) snprintf(buf, len, "shape error");
  else if (r->correct) snprintf(buf, len, "OK");
  else if (r->nan_outputs) snprintf(buf, len, "NaN x%lld%s", (long long)r->nan_outputs, r->o_rel > 1e-12 ? ", wrong" : "");
  else snprintf(buf, len, "WRONG %.1e", r->o_rel);
}

int skv_layout_dcp_run(int32_t hkv, int32_t groups, int32_t W, int32_t I, bool json) {
  const int32_t H = hkv * groups;
  dcp_states st[2];
  char err[512];
  const int64_t Ts[2] = {H == 4 ? 5 : 4, H};
  for (int k = 0; k < 2; k++)
    if (!states_make(Ts[k], hkv, groups, W, I, &st[k], err, sizeof err)) {
      fprintf(stderr, "skv layout: --dcp: %s\n", err);
      if (k) states_free(&st[0]);
      return SKV_EXIT_FAIL;
    }
  skv_dcp_case_result res[SKV_DCP_CASES][2];
  for (int32_t i = 0; i < SKV_DCP_CASES; i++) {
    skv_dcp_case c;
    skv_dcp_case_of(i, &c);
    for (int k = 0; k < 2; k++)
      skv_dcp_case_eval(&c, W, st[k].T, H, 64, st[k].rank_o, st[k].rank_lse, st[k].ref_o, &res[i][k]);
  }
  if (json) {
    skv_json j;
    skv_json_init(&j, stdout, 2);
    skv_json_object_begin(&j);
    skv_json_kv_string(&j, "command", "layout --dcp");
    skv_json_kv_int(&j, "world", W);
    skv_json_kv_int(&j, "interleave", I);
    skv_json_kv_int(&j, "q_heads", H);
    skv_json_key(&j, "cases");
    skv_json_array_begin(&j);
    for (int32_t i = 0; i < SKV_DCP_CASES; i++) {
      skv_dcp_case c;
      skv_dcp_case_of(i, &c);
      skv_json_object_begin(&j);
      skv_json_kv_string(&j, "returned", skv_dcp_lse_layout_name(c.returned));
      skv_json_kv_bool(&j, "host_transposes", c.host_transposes);
      skv_json_kv_string(&j, "returned_base", c.returned_base2 ? "2" : "e");
      skv_json_kv_string(&j, "merge_base", c.merge_base2 ? "2" : "e");
      skv_json_kv_bool(&j, "guard_empty", c.guard_empty);
      for (int k = 0; k < 2; k++) {
        skv_json_key(&j, k ? "tokens_eq_heads" : "tokens_ne_heads");
        skv_json_object_begin(&j);
        skv_json_kv_int(&j, "tokens", st[k].T);
        skv_json_kv_bool(&j, "shape_error", res[i][k].shape_error);
        skv_json_kv_bool(&j, "correct", res[i][k].correct);
        skv_json_kv_int(&j, "nan_outputs", res[i][k].nan_outputs);
        skv_json_kv_double(&j, "o_rel_error", res[i][k].o_rel);
        skv_json_object_end(&j);
      }
      skv_json_object_end(&j);
    }
    skv_json_array_end(&j);
    skv_json_object_end(&j);
  } else {
    printf("DCP LSE hand-off: each rank's (O, LSE) into vLLM's cp_lse_ag_out_rs, which reads the LSE as [T, H] in\n"
           "natural log (is_lse_base_on_e) unless told base 2. World %d, interleave %d, hq %d; fa2's plan per\n"
           "rank; each batch holds a request of no KV (every shard empty) and one of 5 tokens (some empty).\n"
           "Executed in double against unsplit attention; OK = within 1e-12 and no NaN.\n\n",
           W, I, H);
    printf("%-6s %-10s %-8s %-6s %-6s | %-22s | %-22s\n", "LSE", "host", "its base", "merge", "guard",
           "T != H (shape error?)", "T == H (read silently)");
    for (int32_t i = 0; i < SKV_DCP_CASES; i++) {
      skv_dcp_case c;
      skv_dcp_case_of(i, &c);
      char a[48], b2[48];
      verdict(&res[i][0], a, sizeof a);
      verdict(&res[i][1], b2, sizeof b2);
      printf("%-6s %-10s %-8s %-6s %-6s | %-22s | %-22s\n", skv_dcp_lse_layout_name(c.returned),
             c.host_transposes ? "transpose" : "as is", c.returned_base2 ? "2" : "e", c.merge_base2 ? "2" : "e",
             c.guard_empty ? "yes" : "no", a, b2);
    }
    int right = 0;
    for (int32_t i = 0; i < SKV_DCP_CASES; i++) right += res[i][0].correct && res[i][1].correct;
    printf("\nright at both shapes: %d of %d cases — exactly those whose LSE reaches the merge as [T, H] (FA2's\n"
           "[H, T] transposed, as the seed does; FA3's or FlashInfer's [T, H] as is), in the base the merge\n"
           "assumes, with the empty-shard guard. An [H, T] LSE passed as is fails loudly when T != H and is\n"
           "silently wrong when T == H; a base-2 LSE read as natural log is wrong whenever two shards hold\n"
           "tokens; without the guard a request with no KV merges to NaN.\n",
           right, SKV_DCP_CASES);
  }
  states_free(&st[0]);
  states_free(&st[1]);
  return fflush(stdout) == 0 ? SKV_EXIT_OK : SKV_EXIT_FAIL;
}
