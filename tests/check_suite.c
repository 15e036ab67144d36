/* check_suite.c — the YAML suite parser: expansion order, values, distributions, and every error at its line:col. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cost_model.h"
#include "suite/gpus.h"
#include "suite/suite.h"
#include "suites.h"

/* ---- A temporary directory per test ---- */

static char dir[64], path[96], gpus_path[96];

static void make_dir(void) {
  snprintf(dir, sizeof dir, "/tmp/skv_suite_XXXXXX");
  ck_assert(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/suite.yaml", dir);
  snprintf(gpus_path, sizeof gpus_path, "%s/gpus.yaml", dir);
}

static void remove_dir(void) {
  remove(path);
  remove(gpus_path);
  rmdir(dir);
}

static void write_file(const char *p, const char *text, size_t n) {
  FILE *f = fopen(p, "wb");
  ck_assert(f != NULL);
  ck_assert_uint_eq(fwrite(text, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
}

static void load_ok(const char *yaml, skv_suite *s) {
  char err[512];
  write_file(path, yaml, strlen(yaml));
  ck_assert_msg(skv_suite_load(path, s, err, sizeof err), "%s", err);
}

/* The message after "PATH:" starts with want ("LINE:COL: message"). */
static void assert_error_at(const char *err, const char *file, const char *want) {
  const size_t n = strlen(file);
  ck_assert_msg(strncmp(err, file, n) == 0 && err[n] == ':' && strncmp(err + n + 1, want, strlen(want)) == 0,
                "got '%s', want '%s:%s'", err, file, want);
}

/* Loading the file fails with want, and the suite is left zeroed (nothing
 * allocated: ASan's leak check sees the rest). */
static void expect_file_error(const char *want) {
  skv_suite s, zero;
  char err[512];
  memset(&s, 0xab, sizeof s);
  memset(&zero, 0, sizeof zero);
  ck_assert_msg(!skv_suite_load(path, &s, err, sizeof err), "loaded; wanted '%s'", want);
  assert_error_at(err, path, want);
  ck_assert(memcmp(&s, &zero, sizeof s) == 0);
}

static void expect_error(const char *yaml, const char *want) {
  write_file(path, yaml, strlen(yaml));
  expect_file_error(want);
}

#define HEAD "name: t\ndescription: a test\n"

/* ---- Expansion and values ---- */

/* The example of experiments/README.md, comments left out. */
static const char example[] = "name: decode_grid\n"
                              "description: \"FA2 against fixed splits over batch and length\"\n"
                              "defaults:\n"
                              "  hq: 32\n"
                              "  hkv: 8\n"
                              "  head_dim: 128\n"
                              "  page_size: 16\n"
                              "  dtype: bf16\n"
                              "  gpu_model: h100-sxm\n"
                              "sweep:\n"
                              "  batch: [1, 8, 32]\n"
                              "  seqlen: [4096, 32768]\n"
                              "  policy:\n"
                              "    - fa2\n"
                              "    - {name: fixed, split_size: 2048}\n"
                              "    - {name: fa2, num_splits: {range: [1, 64]}}\n"
                              "repeat: 50\n"
                              "warmup: 5\n"
                              "checks:\n"
                              "  reference: true\n"
                              "  bitwise_repeat: false\n"
                              "  batch_invariance: false\n"
                              "plots: [latency_vs_seqlen, bandwidth_fraction, predicted_vs_measured, error]\n";

START_TEST(documented_example_gives_3_x_2_x_66_configurations) {
  skv_suite s;
  load_ok(example, &s);
  ck_assert_str_eq(s.name, "decode_grid");
  ck_assert_str_eq(s.description, "FA2 against fixed splits over batch and length");
  ck_assert_str_eq(s.path, path);
  ck_assert_int_eq(s.repeat, 50);
  ck_assert_int_eq(s.warmup, 5);
  ck_assert(s.check_reference && !s.check_bitwise_repeat && !s.check_batch_invariance);
  ck_assert_int_eq(s.nplots, 4);
  ck_assert_str_eq(s.plots[2], "predicted_vs_measured");
  uint64_t h = 0xcbf29ce484222325ull;
  for (const char *c = example; *c; c++) h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
  ck_assert(s.file_hash == h);

  ck_assert_int_eq(s.nconfigs, 3 * 2 * 66);
  const skv_config *c = s.configs;
  ck_assert_str_eq(c[0].name, "b1-L4096-fa2");
  ck_assert_str_eq(c[1].name, "b1-L4096-fixed-ss2048");
  ck_assert_int_eq(c[1].policy, SKV_POLICY_FIXED);
  ck_assert_int_eq(c[1].opts.split_size, 2048);
  ck_assert_str_eq(c[2].name, "b1-L4096-fa2-ns1");
  ck_assert_int_eq(c[2].opts.num_splits, 1);
  ck_assert_str_eq(c[65].name, "b1-L4096-fa2-ns64");
  ck_assert_int_eq(c[65].opts.num_splits, 64);
  ck_assert_str_eq(c[66].name, "b1-L32768-fa2");
  ck_assert_str_eq(c[395].name, "b32-L32768-fa2-ns64");
  ck_assert_int_eq(c[395].batch, 32);
  ck_assert_int_eq(c[395].seqlen.kind, SKV_SEQLEN_FIXED);
  ck_assert_int_eq(c[395].seqlen.value, 32768);
  for (int32_t i = 0; i < s.nconfigs; i++) {
    ck_assert_int_eq(c[i].index, i);
    ck_assert_int_eq(c[i].hq, 32);
    ck_assert_int_eq(c[i].hkv, 8);
    ck_assert_int_eq(c[i].head_dim, 128);
    ck_assert_int_eq(c[i].page_size, 16);
    ck_assert_int_eq(c[i].qlen, 1);
    ck_assert_int_eq(c[i].q_dtype, SKV_BF16);
    ck_assert_int_eq(c[i].kv_dtype, SKV_BF16);
    ck_assert_int_eq(c[i].v_dtype, SKV_DTYPE_COUNT);
    ck_assert_str_eq(c[i].gpu_model, "h100-sxm");
    ck_assert_int_eq(c[i].sms, 0);
    ck_assert(c[i].seed == 1);
    ck_assert_str_eq(c[i].lse_layout, "logical");
    ck_assert_str_eq(c[i].host_path, "none");
    ck_assert(c[i].quant.q_scale == 1.0f && c[i].quant.k_scale == 1.0f && c[i].quant.v_scale == 1.0f);
    ck_assert(!c[i].quant.drop_q_scale && !c[i].quant.drop_k_scale && !c[i].quant.drop_v_scale);
  }
  skv_suite_free(&s);
}
END_TEST

START_TEST(omitted_suite_keys_take_their_defaults) {
  skv_suite s;
  load_ok(HEAD "sweep: {seqlen: 100, policy: none}\n", &s);
  ck_assert_int_eq(s.repeat, 50);
  ck_assert_int_eq(s.warmup, 5);
  ck_assert(s.check_reference && !s.check_bitwise_repeat && !s.check_batch_invariance);
  ck_assert_int_eq(s.nplots, 4);
  ck_assert_str_eq(s.plots[0], "latency_vs_seqlen");
  ck_assert_str_eq(s.plots[3], "error");
  ck_assert_int_eq(s.nconfigs, 1);
  ck_assert_str_eq(s.configs[0].name, "b1-L100-none");
  ck_assert_int_eq(s.configs[0].batch, 1);
  skv_suite_free(&s);
}
END_TEST

START_TEST(sweep_is_cartesian_with_the_first_key_outermost) {
  skv_suite s;
  load_ok(HEAD "sweep:\n"
               "  hq: [8, 16]\n"
               "  seqlen: [1, 2, 3]\n"
               "  policy: fa2\n"
               "  hkv: [1, 2]\n",
          &s);
  ck_assert_int_eq(s.nconfigs, 12);
  for (int32_t i = 0; i < 12; i++) {
    ck_assert_int_eq(s.configs[i].hq, i / 6 == 0 ? 8 : 16);
    ck_assert_int_eq(s.configs[i].seqlen.value, 1 + (i / 2) % 3);
    ck_assert_int_eq(s.configs[i].hkv, 1 + i % 2);
  }
  /* b, L and the policy lead; the other sweep keys follow in the order written. */
  ck_assert_str_eq(s.configs[0].name, "b1-L1-fa2-hq8-hkv1");
  ck_assert_str_eq(s.configs[11].name, "b1-L3-fa2-hq16-hkv2");
  skv_suite_free(&s);
}
END_TEST

START_TEST(sweep_overrides_defaults_and_defaults_override_builtins) {
  skv_suite s;
  load_ok(HEAD "defaults:\n"
               "  q_dtype: fp8_e4m3\n"
               "  kv_dtype: fp8_e4m3\n"
               "  kv_scale_mode: per_token_head\n"
               "  k_scale: 0.5\n"
               "  drop_scale: k\n"
               "  hq: 64\n"
               "  seed: 18446744073709551615\n"
               "  sms: 108\n"
               "  qlen: 4\n"
               "  prefill_requests: 1\n"
               "  mask: none\n"
               "  host_path: vllm-fork-before-fix\n"
               "sweep:\n"
               "  seqlen: 10\n"
               "  policy: fa3\n"
               "  dtype: [fp16]\n"
               "  hq: 16\n",
          &s);
  const skv_config *c = &s.configs[0];
  ck_assert_int_eq(c->q_dtype, SKV_FP16); /* dtype under sweep sets both */
  ck_assert_int_eq(c->kv_dtype, SKV_FP16);
  ck_assert_int_eq(c->hq, 16);
  ck_assert_int_eq(c->kv_scale_mode, SKV_SCALE_PER_TOKEN_HEAD);
  ck_assert(c->quant.k_scale == 0.5f && c->quant.q_scale == 1.0f);
  ck_assert(c->quant.drop_k_scale && !c->quant.drop_q_scale && !c->quant.drop_v_scale);
  ck_assert(c->seed == UINT64_MAX);
  ck_assert_int_eq(c->sms, 108);
  ck_assert_int_eq(c->qlen, 4);
  ck_assert_int_eq(c->prefill_requests, 1);
  ck_assert_int_eq(c->mask, SKV_MASK_NONE);
  ck_assert_str_eq(c->lse_layout, "logical");
  ck_assert_str_eq(c->host_path, "vllm-fork-before-fix");
  ck_assert_str_eq(c->name, "b1-L10-fa3-dtype=fp16-hq16");
  skv_suite_free(&s);
}
END_TEST

/* Query length > 1 in a suite: prefill_requests K gives the first K requests qlen and the others
 * qlen 1 (a chunked-prefill batch), and may not exceed the batch; FA2's LSE layouts are a decode
 * step's. */
START_TEST(prefill_requests_and_mask_make_mixed_batches) {
  skv_suite s;
  load_ok(HEAD "sweep: {seqlen: 100, policy: fixed, batch: 4, qlen: 30, prefill_requests: 1, mask: [causal, none]}\n", &s);
  ck_assert_int_eq(s.nconfigs, 2);
  skv_batch b;
  char err[256];
  ck_assert_msg(skv_config_make_batch(&s.configs[1], &b, err, sizeof err), "%s", err);
  ck_assert_int_eq(b.qlen[0], 30);
  for (int32_t r = 1; r < 4; r++) ck_assert_int_eq(b.qlen[r], 1);
  ck_assert_int_eq(b.mask, SKV_MASK_NONE);
  ck_assert_msg(strstr(s.configs[1].name, "mask=none"), "%s", s.configs[1].name);
  skv_batch_free(&b);
  skv_suite_free(&s);
  expect_error(HEAD "sweep: {seqlen: 100, policy: fixed, batch: 2, qlen: 3, prefill_requests: 3}\n",
               "3:8: configuration 'b2-L100-fixed-qlen3-pf3': prefill_requests 3 exceeds the batch (2 requests)");
  expect_error(HEAD "sweep: {seqlen: 100, policy: fixed, qlen: 3, lse_layout: fa2-combine}\n",
               "3:8: configuration 'b1-L100-fixed-qlen3-lse=fa2-combine': lse_layout fa2-combine models FA2's decode "
               "step: it needs qlen 1 (got 3)");
  /* shared prefixes (sim/share.h): the keys, the share they make, and what is refused */
  load_ok(HEAD "cascade: true\nsweep: {seqlen: 1000, policy: fa2, batch: 8, shared_prefix: 512, group_size: 4, "
               "group_prefix: 128}\n", &s);
  ck_assert(s.cascade);
  ck_assert_str_eq(s.configs[0].name, "b8-L1000-fa2-sp512-gs4-gp128");
  skv_share sh;
  ck_assert_msg(skv_config_share(&s.configs[0], &sh, err, sizeof err), "%s", err);
  ck_assert(sh.levels == 2 && sh.num_groups == 3 && sh.end[0] == 512 && sh.begin[1] == 512 && sh.end[2] == 640);
  skv_share_free(&sh);
  skv_suite_free(&s);
  expect_error(HEAD "sweep: {seqlen: 1000, policy: fa2, shared_prefix: 500}\n",
               "3:8: configuration 'b1-L1000-fa2-sp500': shared_prefix 500 and group_prefix 0 must be multiples of "
               "page_size 16");
  expect_error(HEAD "sweep: {seqlen: 1000, policy: fa2, group_size: 2}\n",
               "3:8: configuration 'b1-L1000-fa2-gs2': group_size 2 and group_prefix 0: set both or neither");
  expect_error(HEAD "sweep: {seqlen: 1000, policy: fa2, batch: 6, shared_prefix: 16, group_size: 4, group_prefix: 16}\n",
               "3:8: configuration 'b6-L1000-fa2-sp16-gs4-gp16': group_size 4 must divide the batch (6)");
  expect_error(HEAD "sweep: {seqlen: 1000, policy: fa2, shared_prefix: 1008}\n",
               "3:8: configuration 'b1-L1000-fa2-sp1008': shared_prefix 1008 + group_prefix 0 reach past the first "
               "query position");
}
END_TEST

START_TEST(int8_kv_may_keep_v_in_bf16) {
  skv_suite s;
  load_ok(HEAD "sweep: {seqlen: 10, policy: fa2, kv_dtype: int8, v_dtype: [same, bf16, fp16]}\n", &s);
  ck_assert_int_eq(s.nconfigs, 3);
  ck_assert_int_eq(s.configs[0].v_dtype, SKV_DTYPE_COUNT);
  ck_assert_int_eq(s.configs[1].v_dtype, SKV_BF16);
  ck_assert_int_eq(s.configs[1].v_dtype, SKV_BF16);
  ck_assert_int_eq(s.configs[2].v_dtype, SKV_FP16);
  ck_assert_str_eq(s.configs[1].name, "b1-L10-fa2-kv=int8-v=bf16");
  skv_suite_free(&s);
}
END_TEST

START_TEST(policy_options_expand_in_the_order_written) {
  skv_suite s;
  load_ok(HEAD "sweep:\n"
               "  seqlen: 100\n"
               "  policy:\n"
               "    - {name: flashinfer, fixed_split_pages: [0, 64], cuda_graph: [true, false]}\n"
               "    - {name: fixed, split_size: {range: [1024, 4096, 1024]}}\n"
               "    - {name: vllm, cuda_graph: true}\n",
          &s);
  ck_assert_int_eq(s.nconfigs, 4 + 4 + 1);
  const skv_config *c = s.configs;
  ck_assert_str_eq(c[0].name, "b1-L100-flashinfer-fsp0-graph1");
  ck_assert_str_eq(c[1].name, "b1-L100-flashinfer-fsp0-graph0");
  ck_assert_str_eq(c[2].name, "b1-L100-flashinfer-fsp64-graph1");
  ck_assert_int_eq(c[2].opts.fixed_split_pages, 64);
  ck_assert(c[2].opts.cuda_graph);
  ck_assert(!c[3].opts.cuda_graph);
  for (int32_t i = 0; i < 4; i++) ck_assert_int_eq(c[4 + i].opts.split_size, 1024 * (i + 1));
  ck_assert_str_eq(c[7].name, "b1-L100-fixed-ss4096");
  /* Options not written keep skv_policy_opts_default's values. */
  ck_assert_int_eq(c[8].policy, SKV_POLICY_VLLM);
  ck_assert(c[8].opts.cuda_graph);
  ck_assert_int_eq(c[8].opts.max_splits, 32);
  ck_assert_int_eq(c[8].opts.blocks_per_sm, 2);
  ck_assert_int_eq(c[8].opts.split_size, 2048);
  skv_suite_free(&s);
}
END_TEST

START_TEST(range_is_inclusive_and_steps) {
  skv_suite s;
  load_ok(HEAD "sweep: {batch: {range: [1, 10, 4]}, seqlen: {range: [7, 7]}, policy: fa2}\n", &s);
  ck_assert_int_eq(s.nconfigs, 3);
  ck_assert_int_eq(s.configs[0].batch, 1);
  ck_assert_int_eq(s.configs[1].batch, 5);
  ck_assert_int_eq(s.configs[2].batch, 9);
  ck_assert_int_eq(s.configs[2].seqlen.value, 7);
  skv_suite_free(&s);
}
END_TEST

START_TEST(aliases_resolve_to_the_anchored_value) {
  skv_suite s;
  load_ok(HEAD "sweep:\n"
               "  seqlen: &lengths [1, 2]\n"
               "  hkv: *lengths\n"
               "  policy: fa2\n",
          &s);
  ck_assert_int_eq(s.nconfigs, 4);
  ck_assert_int_eq(s.configs[3].seqlen.value, 2);
  ck_assert_int_eq(s.configs[3].hkv, 2);
  skv_suite_free(&s);
}
END_TEST

/* ---- Seqlen distributions and batches ---- */

static void make_batch(const skv_config *c, skv_batch *b) {
  char err[256];
  ck_assert_msg(skv_config_make_batch(c, b, err, sizeof err), "%s", err);
}

START_TEST(uniform_lengths_lie_in_lo_hi_and_repeat_with_the_seed) {
  skv_suite s;
  load_ok(HEAD "sweep:\n"
               "  batch: 2000\n"
               "  seqlen: [{dist: uniform, lo: 100, hi: 8000, seed: 3}, {dist: uniform, lo: 100, hi: 8000, seed: 4}]\n"
               "  policy: fa2\n",
          &s);
  ck_assert_str_eq(s.configs[0].name, "b2000-Luniform(100,8000,seed=3)-fa2");
  ck_assert(s.configs[0].seqlen.seed == 3);
  skv_batch a, again, other;
  make_batch(&s.configs[0], &a);
  make_batch(&s.configs[0], &again);
  make_batch(&s.configs[1], &other);
  int64_t lo = INT64_MAX, hi = 0, differ = 0;
  for (int32_t r = 0; r < 2000; r++) {
    ck_assert(a.kvlen[r] >= 100 && a.kvlen[r] <= 8000);
    ck_assert_int_eq(a.kvlen[r], again.kvlen[r]);
    ck_assert_int_eq(a.qlen[r], 1);
    differ += a.kvlen[r] != other.kvlen[r];
    if (a.kvlen[r] < lo) lo = a.kvlen[r];
    if (a.kvlen[r] > hi) hi = a.kvlen[r];
  }
  /* 2000 draws over 7901 values: both ends are approached within 1%. */
  ck_assert_int_lt(lo, 180);
  ck_assert_int_gt(hi, 7920);
  ck_assert_int_gt(differ, 1900);
  skv_batch_free(&a);
  skv_batch_free(&again);
  skv_batch_free(&other);
  skv_suite_free(&s);
}
END_TEST

START_TEST(uniform_without_a_seed_takes_the_configuration_seed) {
  skv_suite s;
  load_ok(HEAD "sweep:\n"
               "  seqlen: {dist: uniform, lo: 0, hi: 1000000}\n"
               "  batch: 8\n"
               "  policy: fa2\n"
               "  seed: [7, 8]\n",
          &s);
  ck_assert_str_eq(s.configs[0].name, "b8-Luniform(0,1000000)-fa2-seed7");
  ck_assert(s.configs[0].seqlen.seed == 7);
  ck_assert(s.configs[1].seqlen.seed == 8);
  skv_batch a, b;
  make_batch(&s.configs[0], &a);
  make_batch(&s.configs[1], &b);
  ck_assert(memcmp(a.kvlen, b.kvlen, 8 * sizeof *a.kvlen) != 0);
  skv_batch_free(&a);
  skv_batch_free(&b);
  skv_suite_free(&s);
}
END_TEST

START_TEST(list_lengths_are_cycled_over_the_batch) {
  skv_suite s;
  load_ok(HEAD "defaults: {hq: 16, hkv: 2, head_dim: 64, page_size: 32, kv_dtype: fp16, qlen: 2}\n"
               "sweep:\n"
               "  batch: 5\n"
               "  seqlen: [{dist: list, values: [100, 200, 4000]}, {dist: fixed, value: 9}]\n"
               "  policy: fa2\n",
          &s);
  const skv_config *c = &s.configs[0];
  ck_assert_str_eq(c->name, "b5-Llist(100,200,4000)-fa2");
  ck_assert_int_eq(c->seqlen.kind, SKV_SEQLEN_LIST);
  ck_assert_int_eq(c->seqlen.nvalues, 3);
  skv_batch b;
  make_batch(c, &b);
  const int64_t want[5] = {100, 200, 4000, 100, 200};
  for (int32_t r = 0; r < 5; r++) {
    ck_assert_int_eq(b.kvlen[r], want[r]);
    ck_assert_int_eq(b.qlen[r], 2);
  }
  ck_assert_int_eq(b.num_requests, 5);
  ck_assert_int_eq(b.num_q_heads, 16);
  ck_assert_int_eq(b.num_kv_heads, 2);
  ck_assert_int_eq(b.head_dim, 64);
  ck_assert_int_eq(b.page_size, 32);
  ck_assert_int_eq(b.kv_dtype, SKV_FP16);
  skv_batch_free(&b);
  ck_assert_str_eq(s.configs[1].name, "b5-L9-fa2");
  skv_suite_free(&s);
}
END_TEST

START_TEST(long_list_is_named_by_its_count_and_hash) {
  skv_suite s;
  load_ok(HEAD "sweep:\n"
               "  seqlen: [{dist: list, values: {range: [1000, 100000, 1000]}},"
               " {dist: list, values: {range: [1000, 100000, 500]}}]\n"
               "  policy: fa2\n",
          &s);
  ck_assert_int_eq(s.configs[0].seqlen.nvalues, 100);
  ck_assert_int_eq(s.configs[1].seqlen.values[1], 1500);
  ck_assert(strncmp(s.configs[0].name, "b1-Llist(n=100,h=", 17) == 0);
  ck_assert(strncmp(s.configs[1].name, "b1-Llist(n=199,h=", 17) == 0);
  skv_suite_free(&s);
}
END_TEST

START_TEST(names_are_unique_and_use_only_name_characters) {
  skv_suite s;
  load_ok(HEAD "sweep:\n"
               "  batch: [1, 3]\n"
               "  seqlen: [0, {dist: uniform, lo: 1, hi: 9}, {dist: list, values: [5, 6]}]\n"
               "  policy: [none, lab, {name: vllm, batch_invariant: [yes, no], max_splits: 7}]\n"
               "  q_scale: [0.1, 3e20]\n"
               "  gpu_model: [h100-sxm, a100-sxm]\n"
               "  kv_scale_mode: [per_tensor, per_token_head]\n"
               "  lse_layout: [logical, fa2-padded]\n",
          &s);
  ck_assert_int_eq(s.nconfigs, 2 * 3 * 4 * 2 * 2 * 2 * 2);
  for (int32_t i = 0; i < s.nconfigs; i++) {
    const char *n = s.configs[i].name;
    ck_assert_msg(strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.,()=-") == strlen(n), "%s",
                  n);
    for (int32_t j = 0; j < i; j++) ck_assert_str_ne(n, s.configs[j].name);
  }
  ck_assert_str_eq(s.configs[s.nconfigs - 1].name,
                   "b3-Llist(5,6)-vllm-bi0-ms7-qs=3e20-gpu=a100-sxm-scales=per_token_head-lse=fa2-padded");
  ck_assert_str_eq(s.configs[0].name, "b1-L0-none-qs=0.1-gpu=h100-sxm-scales=per_tensor-lse=logical");
  skv_suite_free(&s);
}
END_TEST

START_TEST(describe_gives_the_name_and_the_values) {
  skv_suite s;
  char line[512];
  load_ok(HEAD "sweep: {batch: 8, seqlen: {dist: uniform, lo: 5, hi: 9, seed: 2}, policy: fa2, sms: 108}\n", &s);
  skv_config_describe(&s.configs[0], line, sizeof line);
  ck_assert_msg(strstr(line, "b8-Luniform(5,9,seed=2)-fa2-sms108: batch 8, seqlen uniform 5..9 seed 2") == line, "%s",
                line);
  ck_assert_msg(strstr(line, "policy fa2, the run's GPU (108 SMs)"), "%s", line);
  skv_suite_free(&s);
}
END_TEST

/* ---- Errors: each class at its line:col ---- */

START_TEST(unknown_key_is_an_error_at_the_key) {
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2}\nplot: [error]\n",
               "4:1: unknown key 'plot' in the suite (did you mean 'plots'?)");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2}\nfoo: 1\n", "4:1: unknown key 'foo' in the suite (allowed: name,");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2}\nchecks: {reference: true, bitwise: true}\n",
               "4:27: unknown key 'bitwise' in checks");
  expect_error(HEAD "sweep: {seqlen: [{dist: uniform, low: 1, hi: 2}], policy: fa2}\n",
               "3:34: unknown key 'low' in a seqlen distribution (did you mean 'lo'?)");
  expect_error(HEAD "sweep: {seqlen: 1, policy: {name: fa2, splits: 2}}\n",
               "3:40: unknown key 'splits' in a policy");
  /* YAML merge keys are not part of the format */
  expect_error(HEAD "defaults: &d {hq: 8}\nsweep: {<<: *d, seqlen: 1, policy: fa2}\n",
               "4:9: unknown key '<<' in sweep");
}
END_TEST

START_TEST(typo_in_defaults_is_an_error_not_a_default) {
  expect_error(HEAD "defaults:\n  hq: 32\n  page_sise: 32\nsweep: {seqlen: 1, policy: fa2}\n",
               "5:3: unknown key 'page_sise' in defaults (did you mean 'page_size'?)");
  expect_error(HEAD "defaults:\n  batch: 8\nsweep: {seqlen: 1, policy: fa2}\n",
               "4:3: 'batch' is set under sweep, not defaults");
  expect_error(HEAD "defaults:\n  hq: [8, 16]\nsweep: {seqlen: 1, policy: fa2}\n",
               "4:7: hq: defaults take one value (a list belongs under sweep)");
}
END_TEST

START_TEST(wrong_type_is_an_error_at_the_value) {
  expect_error(HEAD "defaults:\n  hq: \"32\"\nsweep: {seqlen: 1, policy: fa2}\n",
               "4:7: hq: expected an integer 1..4096, got the string '32'");
  expect_error(HEAD "defaults:\n  head_dim: abc\nsweep: {seqlen: 1, policy: fa2}\n",
               "4:13: head_dim: expected an integer 64..256, got the string 'abc'");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2, gpu_model: {a: 1}}\n",
               "3:44: gpu_model: expected a string, got a mapping");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2}\nplots: {error: true}\n",
               "4:8: plots: expected a list, got a mapping");
  expect_error(HEAD "sweep: [seqlen, policy]\n", "3:8: sweep: expected a mapping, got a list");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2, dtype: fp8}\n",
               "3:40: unknown dtype 'fp8' (allowed: bf16, fp16)");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2, hq: }\n", "3:37: hq: expected an integer 1..4096, got null");
  expect_error("name: 12\ndescription: d\nsweep: {seqlen: 1, policy: fa2}\n",
               "1:7: name: expected a string, got the integer 12 (quote it to mean the text)");
}
END_TEST

START_TEST(bool_for_an_integer_is_an_error) {
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2, batch: [1, true]}\n",
               "3:44: batch: expected an integer 1..1048576, got the bool 'true'");
  expect_error(HEAD "sweep: {seqlen: 1, policy: {name: fa2, num_splits: no}}\n",
               "3:52: num_splits: expected an integer 0..128, got the bool 'no'");
}
END_TEST

START_TEST(float_for_an_integer_is_an_error) {
  expect_error(HEAD "sweep:\n  seqlen: [4096, 4096.0]\n  policy: fa2\n",
               "4:18: seqlen: expected an integer 0..1099511627776, got the float 4096.0");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2, sms: 1e2}\n",
               "3:38: sms: expected an integer 0..4096, got the float 1e2");
}
END_TEST

START_TEST(yes_and_no_are_bools_only_for_bool_keys) {
  skv_suite s;
  load_ok(HEAD "sweep: {seqlen: 1, policy: fa2}\nchecks: {reference: no, bitwise_repeat: Yes, batch_invariance: TRUE}\n",
          &s);
  ck_assert(!s.check_reference && s.check_bitwise_repeat && s.check_batch_invariance);
  skv_suite_free(&s);
  expect_error("name: t\ndescription: yes\nsweep: {seqlen: 1, policy: fa2}\n",
               "2:14: description: expected a string, got the bool 'yes' (quote it to mean the text)");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2}\nchecks: {reference: on}\n",
               "4:21: reference: expected a bool (true, false, yes, no), got the bool 'on'");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2}\nchecks: {reference: 1}\n",
               "4:21: reference: expected a bool (true, false, yes, no), got the integer 1");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2}\nchecks: {reference: \"true\"}\n",
               "4:21: reference: expected a bool (true, false, yes, no), got the string 'true'");
  /* the study's keys: an integer, a bool, and a key that needs another */
  load_ok(HEAD "sweep: {seqlen: 1, policy: fa2}\nchecks: {invariance_pairs: 12}\ngraph: true\ngraph_max_seqlen: 4096\n", &s);
  ck_assert_int_eq(s.invariance_pairs, 12);
  ck_assert(s.graph);
  ck_assert_int_eq(s.graph_max_seqlen, 4096);
  skv_suite_free(&s);
  load_ok(HEAD "sweep: {seqlen: 1, policy: fa2}\n", &s);
  ck_assert(s.invariance_pairs == 0 && !s.graph && s.graph_max_seqlen == 131072);
  skv_suite_free(&s);
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2}\nchecks: {invariance_pairs: 5000}\n", "4:28: invariance_pairs:");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2}\nchecks: {invariance_pairs: true}\n", "4:28: invariance_pairs:");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2}\ngraph: 1\n", "4:8: graph: expected a bool");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2}\ngraph_max_seqlen: 4096\n",
               "4:1: graph_max_seqlen: set only with graph: true");
}
END_TEST

START_TEST(empty_list_is_an_error) {
  expect_error(HEAD "sweep:\n  seqlen: 1\n  policy: []\n", "5:11: policy: empty list (give at least one value)");
  expect_error(HEAD "sweep: {seqlen: [{dist: list, values: []}], policy: fa2}\n",
               "3:39: seqlen: empty list (give at least one value)");
  expect_error(HEAD "sweep: {seqlen: 1, policy: {name: fa2, num_splits: []}}\n",
               "3:52: num_splits: empty list (give at least one value)");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2}\nplots: []\n", "4:8: plots: empty list (give at least one value)");
}
END_TEST

START_TEST(out_of_range_value_is_an_error) {
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2, head_dim: [64, 96]}\n",
               "3:48: head_dim: 96 is not supported (allowed: 64, 128, 256)");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2, page_size: 512}\n",
               "3:44: page_size: 512 is out of range (allowed: 1..256)");
  expect_error(HEAD "sweep: {seqlen: -1, policy: fa2}\n",
               "3:17: seqlen: -1 is out of range (allowed: 0..1099511627776)");
  expect_error(HEAD "sweep: {seqlen: 1, policy: {name: fa3, num_splits: 129}}\n",
               "3:52: num_splits: 129 is out of range (allowed: 0..128)");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2, seed: 18446744073709551616}\n",
               "3:39: seed: 18446744073709551616 is out of range (allowed: 0..18446744073709551615)");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2, batch: 99999999999999999999}\n",
               "3:40: batch: 99999999999999999999 is out of range (allowed: 1..1048576)");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2, q_scale: 0}\n",
               "3:42: q_scale: 0 is out of range (allowed: a finite number > 0)");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2, v_scale: .inf}\n",
               "3:42: v_scale: .inf is out of range (allowed: a finite number > 0)");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2, k_scale: 1e39}\n",
               "3:42: k_scale: 1e+39 is out of range for a 32-bit float scale");
  expect_error(HEAD "sweep: {seqlen: {range: [9, 3]}, policy: fa2}\n",
               "3:29: range: hi 3 is below lo 9 (the range would be empty)");
  expect_error(HEAD "sweep: {seqlen: [{dist: uniform, lo: 9, hi: 3}], policy: fa2}\n", "3:45: hi: 3 is below lo 9");
  expect_error(HEAD "sweep: {seqlen: {range: [1, 2, 0]}, policy: fa2}\n",
               "3:32: range step: 0 is out of range (allowed: >= 1)");
  expect_error(HEAD "sweep: {seqlen: {range: [1]}, policy: fa2}\n",
               "3:25: range: expected [lo, hi] or [lo, hi, step], got a list of another length");
  expect_error("name: results/x\ndescription: d\nsweep: {seqlen: 1, policy: fa2}\n",
               "1:7: name: 1..64 of [A-Za-z0-9_-] (it names results/<name>/)");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2, gpu_model: \"h100 sxm\"}\n",
               "3:44: gpu_model: not a GPU model name");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2}\nrepeat: 0\n",
               "4:9: repeat: 0 is out of range (allowed: 1..1000000)");
}
END_TEST

START_TEST(duplicate_key_is_an_error_naming_the_first) {
  expect_error(HEAD "sweep:\n  seqlen: 1\n  policy: fa2\n  seqlen: 2\n",
               "6:3: duplicate key 'seqlen' in sweep (first at 4:3)");
  expect_error("name: a\nname: b\ndescription: d\nsweep: {seqlen: 1, policy: fa2}\n",
               "2:1: duplicate key 'name' in the suite (first at 1:1)");
  expect_error(HEAD "sweep: {seqlen: 1, policy: {name: fa2, name: fa3}}\n",
               "3:40: duplicate key 'name' in a policy (first at 3:29)");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2}\nplots: [error, quant_error, error]\n",
               "4:29: plot 'error' is listed twice");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2, dtype: bf16, kv_dtype: fp16}\n",
               "3:33: dtype sets q_dtype and kv_dtype at once: give either dtype or q_dtype/kv_dtype in sweep");
}
END_TEST

START_TEST(missing_key_points_at_the_enclosing_mapping) {
  expect_error("description: d\nsweep: {seqlen: 1, policy: fa2}\n", "1:1: missing key 'name' in the suite");
  expect_error(HEAD "sweep:\n  seqlen: 1\n", "4:3: missing key 'policy' in sweep");
  expect_error(HEAD "sweep: {seqlen: [{lo: 1, hi: 2}], policy: fa2}\n",
               "3:18: missing key 'dist' in a seqlen distribution");
  expect_error(HEAD "sweep: {seqlen: [{dist: uniform, hi: 2}], policy: fa2}\n",
               "3:18: missing key 'lo' in dist uniform");
  expect_error(HEAD "sweep: {seqlen: 1, policy: {num_splits: 2}}\n", "3:28: missing key 'name' in a policy");
}
END_TEST

START_TEST(impossible_configuration_is_named_at_the_sweep) {
  expect_error(HEAD "defaults:\n  hkv: 8\nsweep:\n  seqlen: 1\n  policy: fa2\n  hq: [32, 30]\n",
               "6:3: configuration 'b1-L1-fa2-hq30': hq 30 is not a multiple of hkv 8");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2, q_dtype: fp8_e4m3}\n",
               "3:8: configuration 'b1-L1-fa2-q=fp8_e4m3': q_dtype fp8_e4m3 needs kv_dtype fp8_e4m3 (got bf16)");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2, kv_dtype: fp8_e4m3, v_dtype: bf16}\n",
               "3:8: configuration 'b1-L1-fa2-kv=fp8_e4m3-v=bf16': v_dtype bf16 with kv_dtype fp8_e4m3 is not "
               "supported (only int8 K may keep V in bf16/fp16)");
  expect_error(HEAD "sweep: {seqlen: [{dist: fixed, value: 8}, 8], policy: fa2}\n",
               "3:8: configurations 0 and 1 are both 'b1-L8-fa2': a sweep list repeats a value");
  /* A request's query tokens are its last qlen KV positions: every length the seqlen gives holds them. */
  expect_error(HEAD "defaults: {qlen: 5000}\nsweep: {seqlen: 100, policy: fa2}\n",
               "4:8: configuration 'b1-L100-fa2': qlen 5000 is longer than the shortest KV (100 tokens): a request's "
               "query tokens are its last qlen KV positions");
  expect_error(HEAD "defaults: {qlen: 4}\nsweep: {seqlen: [{dist: uniform, lo: 3, hi: 90}], policy: fa2}\n",
               "4:8: configuration 'b1-Luniform(3,90)-fa2': qlen 4 is longer than the shortest KV (3 tokens)");
  expect_error(HEAD "defaults: {qlen: 4}\nsweep: {seqlen: [{dist: list, values: [9, 2, 7]}], policy: fa2}\n",
               "4:8: configuration 'b1-Llist(9,2,7)-fa2': qlen 4 is longer than the shortest KV (2 tokens)");
  /* The documented maximum length is a valid key value, but its pages outrun 32-bit page ids. */
  expect_error(HEAD "sweep: {seqlen: 1099511627776, policy: none}\n",
               "3:8: configuration 'b1-L1099511627776-none': the batch needs up to 68719476736 KV pages of 16 "
               "tokens, more than the 2147483647 that 32-bit page ids can name");
  expect_error(HEAD "sweep:\n  seqlen: 1\n  policy: fa2\n  gpu_model: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
                    "  host_path: vllm-fork-before-fix\n  kv_scale_mode: per_token_head\n  lse_layout: fa2-combine\n"
                    "  seed: 18446744073709551615\n  drop_scale: none\n  v_dtype: same\n  hq: 32\n  hkv: 8\n",
               "4:3: configuration 'b1-L1-fa2-gpu=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-host=vllm-fork...': "
               "its name would have 161 characters, more than 159 (sweep fewer keys)");
}
END_TEST

/* Configurations only the GPU kernels refuse load (a simulated run takes them); the rules of
 * sim/support.h say why, and name the field a command line would blame. */
START_TEST(every_gpu_refusal_loads_and_names_its_rule) {
  static const struct {
    const char *keys, *reason;
    skv_field field;
  } refused[] = {
      {"hq: 34, hkv: 2", "the GPU kernels take a GQA group (hq/hkv) of at most 16 (got 34/2 = 17)", SKV_FIELD_HQ},
      {"page_size: 24", "the GPU kernels take a power-of-two page size (got page_size 24)", SKV_FIELD_PAGE_SIZE},
      {"q_dtype: bf16, kv_dtype: fp16", "the GPU kernels read a fp16 cache with fp16 queries only (got q_dtype bf16)",
       SKV_FIELD_Q_DTYPE},
      {"q_dtype: fp8_e4m3, kv_dtype: fp8_e4m3, kv_scale_mode: per_token_head",
       "the GPU kernels take fp8_e4m3 queries with per_tensor KV scales only (got kv_scale_mode per_token_head)",
       SKV_FIELD_KV_SCALE_MODE},
      {"q_dtype: bf16, kv_dtype: int8, v_dtype: fp16",
       "the GPU kernels keep an int8 K cache's 16-bit V in the queries' type (q_dtype bf16, v_dtype fp16)",
       SKV_FIELD_V_DTYPE},
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    char yaml[512], err[512];
    snprintf(yaml, sizeof yaml, HEAD "defaults: {%s}\nsweep: {seqlen: 64, policy: fa2}\n", refused[i].keys);
    skv_suite s;
    load_ok(yaml, &s);
    ck_assert_int_eq(skv_config_validate(&s.configs[0], err, sizeof err), SKV_SUPPORT_SIM);
    ck_assert_str_eq(err, refused[i].reason);
    skv_shape shape;
    skv_config_shape(&s.configs[0], &shape);
    skv_field field;
    ck_assert_int_eq(skv_support_check(&shape, &field, err, sizeof err), SKV_SUPPORT_SIM);
    ck_assert_int_eq(field, refused[i].field);
    skv_suite_free(&s);
  }
  /* What the harness runs on the GPU passes; an output type other than the kernels' is the host
   * check's own refusal (no suite key sets it). */
  skv_suite s;
  char err[512];
  load_ok(HEAD "defaults: {q_dtype: fp8_e4m3, kv_dtype: fp8_e4m3}\nsweep: {seqlen: 64, policy: fa2}\n", &s);
  ck_assert_int_eq(skv_config_validate(&s.configs[0], err, sizeof err), SKV_SUPPORT_GPU);
  skv_shape shape;
  skv_config_shape(&s.configs[0], &shape);
  ck_assert_int_eq(shape.o_dtype, SKV_BF16);
  shape.o_dtype = SKV_FP16;
  skv_field field;
  ck_assert_int_eq(skv_support_check(&shape, &field, err, sizeof err), SKV_SUPPORT_SIM);
  ck_assert_int_eq(field, SKV_FIELD_O_DTYPE);
  skv_suite_free(&s);
}
END_TEST

START_TEST(unknown_policy_and_inapplicable_option_are_errors) {
  expect_error(HEAD "sweep:\n  seqlen: 1\n  policy: [fa2, fa4]\n",
               "5:17: unknown policy 'fa4' (allowed: none, fixed, fa2, fa3, flashinfer, vllm");
  expect_error(HEAD "sweep: {seqlen: 1, policy: {name: fa2, split_size: 4096}}\n",
               "3:40: option 'split_size' does not apply to policy fa2 (it reads: num_splits, blocks_per_sm, tile_rows)");
  expect_error(HEAD "sweep: {seqlen: [{dist: fixed, value: 5, seed: 3}], policy: fa2}\n",
               "3:42: key 'seed' does not apply to dist fixed (it takes: value)");
}
END_TEST

/* The streams of a models-file entry in flow style. */
#define ROW(v) "[" v ", " v ", " v ", " v "]"
#define TABLE(v) "{d64: " ROW(v) ", d128: " ROW(v) ", d256: " ROW(v) "}"
#define STREAM(name, cta) name ": {fixed_us: " TABLE("2") ", fixed_sm_us: 0.5, cta_gbps: " TABLE(cta) ", stream_tbps: " TABLE("3") "}"
#define STREAMS "streams: {" STREAM("16bit", "35") ", " STREAM("fp8", "18") ", " STREAM("int8", "18") ", " \
  STREAM("int8k_16v", "18") "}"

/* One models-file entry in flow style, with a name, SMs and read ceiling; the rest fixed. */
#define MODEL(name, sms, read)                                                                                        \
  "  - {name: " name ", device: X" name ", arch: sm_90, sms: " sms ", read_tbps: " read ", launch_us: 2.5,"           \
  " combine_item_us: 1.5, combine_chunk_us: 0.05, " STREAMS ", ctas_per_sm: {16bit: [3, 2, 1],"                      \
  " 8bit_cols: [6, 4, 3], 8bit_rows: [5, 3, 2], int8k_16v: [4, 2, 2]}}\n"

START_TEST(unknown_gpu_model_points_where_it_was_set) {
  static const char models[] = "home: h100-sxm\nmodels:\n" MODEL("h100-sxm", "132", "3.04") MODEL("a100-sxm", "108", "1.9");
  write_file(gpus_path, models, strlen(models));
  skv_gpus g;
  char err[512];
  ck_assert_msg(skv_gpus_load(gpus_path, &g, err, sizeof err), "%s", err);
  ck_assert_int_eq(g.n, 2);
  ck_assert_str_eq(g.home->name, "h100-sxm");
  skv_suite s;
  load_ok(HEAD "sweep:\n  seqlen: 1\n  policy: fa2\n  gpu_model: [a100-sxm, b200]\n", &s);
  ck_assert(!skv_suite_check_models(&s, &g, err, sizeof err));
  assert_error_at(err, path, "6:25: unknown gpu_model 'b200' (known: h100-sxm, a100-sxm)");
  skv_suite_free(&s);
  load_ok(HEAD "defaults:\n  gpu_model: a100\nsweep: {seqlen: 1, policy: fa2}\n", &s);
  ck_assert(!skv_suite_check_models(&s, &g, err, sizeof err));
  assert_error_at(err, path, "4:14: unknown gpu_model 'a100'");
  skv_suite_free(&s);
  load_ok(HEAD "sweep: {seqlen: 1, policy: fa2, gpu_model: [h100-sxm, a100-sxm]}\n", &s);
  ck_assert_msg(skv_suite_check_models(&s, &g, err, sizeof err), "%s", err);
  skv_suite_free(&s);
  /* Without gpu_model a configuration takes the run's GPU: no name to check. */
  load_ok(HEAD "sweep: {seqlen: 1, policy: fa2}\n", &s);
  ck_assert_str_eq(s.configs[0].gpu_model, "");
  ck_assert_msg(skv_suite_check_models(&s, &g, err, sizeof err), "%s", err);
  skv_suite_free(&s);
  /* The device is found by a part of its name and its SMs. */
  ck_assert_ptr_eq(skv_gpus_match(&g, "NVIDIA Xh100-sxm 80GB", 132), &g.models[0]);
  ck_assert_ptr_null(skv_gpus_match(&g, "NVIDIA Xh100-sxm 80GB", 114));
  ck_assert_ptr_null(skv_gpus_match(&g, "NVIDIA B200", 132));
  skv_gpus_free(&g);
}
END_TEST

START_TEST(too_many_configurations_is_an_error) {
  expect_error(HEAD "sweep:\n  batch: {range: [1, 1000]}\n  seqlen: {range: [1, 101]}\n  policy: fa2\n",
               "5:11: the sweep gives more than 100000 configurations");
  expect_error(HEAD "sweep:\n  seqlen: {range: [1, 1000]}\n  policy: [fa2, {name: fa3, num_splits: {range: [0, 99]}}]\n",
               "5:41: the sweep gives more than 100000 configurations");
  expect_error(HEAD "sweep: {seqlen: {range: [0, 1099511627776]}, policy: fa2}\n",
               "3:17: the sweep gives more than 100000 configurations");
  /* exactly the cap is allowed */
  skv_suite s;
  load_ok(HEAD "sweep: {batch: {range: [1, 1000]}, seqlen: {range: [1, 100]}, policy: fa2}\n", &s);
  ck_assert_int_eq(s.nconfigs, 100000);
  ck_assert_str_eq(s.configs[99999].name, "b1000-L100-fa2");
  skv_suite_free(&s);
}
END_TEST

START_TEST(malformed_yaml_is_an_error_at_its_position) {
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2\n", "4:1: YAML syntax error: did not find expected ',' or '}'");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2}\n---\nname: u\n",
               "4:1: a second YAML document starts here; the file must hold exactly one");
  expect_error("", "1:1: no YAML document in the file");
  expect_error(HEAD "sweep: {seqlen: *nowhere, policy: fa2}\n", "3:17: YAML syntax error: found undefined alias");
  expect_error("name: t\ndescription: \"\xff\"\n", "2:15: not readable as YAML text");
  expect_error("name: t\ndescription: \"a\\0b\"\nsweep: {seqlen: 1, policy: fa2}\n",
               "2:14: description: the string holds a NUL character");
  expect_error("[1, 2]\n", "1:1: the suite: expected a mapping, got a list");
  expect_error(HEAD "sweep: {seqlen: 1, policy: fa2, hq: !!float 8}\n",
               "3:37: tag 'tag:yaml.org,2002:float': tags are not part of this format");
}
END_TEST

/* A suite whose seqlen is `lists` nested lists: the k-th '[' is at 3:(29 + k)
 * and, inside the suite and sweep mappings, opens level k + 2. */
static void expect_nested_seqlen_error(size_t lists, const char *want) {
  const size_t head = strlen(HEAD "sweep: {policy: fa2, seqlen: ");
  char *deep = malloc(head + 2 * lists + 3);
  ck_assert(deep != NULL);
  memcpy(deep, HEAD "sweep: {policy: fa2, seqlen: ", head);
  memset(deep + head, '[', lists);
  memset(deep + head + lists, ']', lists);
  memcpy(deep + head + 2 * lists, "}\n", 3);
  expect_error(deep, want);
  free(deep);
}

START_TEST(deep_nesting_cycles_and_huge_input_give_errors) {
  /* 64 levels load (the value list's first item, the second '[', is the wrong type); level 65, the 63rd
   * '[', is refused before libyaml's loader, quadratic in the depth, builds a node: 100000 levels too */
  expect_nested_seqlen_error(62, "3:31: seqlen: expected an integer 0..1099511627776, got a list");
  expect_nested_seqlen_error(63, "3:92: lists and mappings nested deeper than 64 levels");
  expect_nested_seqlen_error(100000, "3:92: lists and mappings nested deeper than 64 levels");
  /* an alias inside its own anchor: a cyclic graph */
  expect_error(HEAD "sweep: {policy: fa2, seqlen: &x [1, *x]}\n",
               "3:30: seqlen: expected an integer 0..1099511627776, got a list");
  /* a quadratic alias blow-up stays linear: the product cap stops it */
  expect_error(HEAD "sweep:\n  batch: &a {range: [1, 1000]}\n  hq: *a\n  policy: fa2\n  seqlen: 1\n",
               "4:10: the sweep gives more than 100000 configurations");
  /* more than SKV_YDOC_MAX_BYTES */
  const size_t big = (size_t)2 << 20;
  char *huge = malloc(big);
  ck_assert(huge != NULL);
  memset(huge, '#', big);
  write_file(path, huge, big);
  free(huge);
  expect_file_error("");
  char err[512];
  skv_suite s;
  ck_assert(!skv_suite_load(path, &s, err, sizeof err));
  ck_assert(strstr(err, "larger than 1048576 bytes"));
  ck_assert(!skv_suite_load("/nonexistent/suite.yaml", &s, err, sizeof err));
  ck_assert_str_eq(err, "/nonexistent/suite.yaml: cannot open: No such file or directory");
}
END_TEST

/* ---- experiments/gpus.yaml ---- */

/* The project's models file loads, its home is one of its models, every model passes the range
 * checks and predicts every point of the decode grid as a finite positive time (the numbers
 * themselves are measurements, checked by make test-occupancy and skv calibrate, not here). */
START_TEST(project_gpu_models_load_and_predict_sensibly) {
  char file[512], err[512];
  snprintf(file, sizeof file, "%s/experiments/gpus.yaml", getenv("SKV_ROOT") ? getenv("SKV_ROOT") : "..");
  skv_gpus g;
  ck_assert_msg(skv_gpus_load(file, &g, err, sizeof err), "%s", err);
  ck_assert_int_gt(g.n, 0);
  ck_assert(g.home != NULL);
  static const int32_t bs[] = {1, 8, 32, 128};
  static const int64_t ls[] = {4096, 32768, 2048};
  for (int32_t i = 0; i < g.n; i++) {
    ck_assert_msg(skv_gpu_check(&g.models[i], err, sizeof err), "%s", err);
    for (int bi = 0; bi < 4; bi++)
      for (int li = 0; li < 3; li++) {
        skv_batch b;
        ck_assert(skv_batch_alloc(&b, bs[bi]));
        for (int32_t r = 0; r < bs[bi]; r++) b.kvlen[r] = ls[li], b.qlen[r] = 1;
        b.num_q_heads = 32, b.num_kv_heads = 8, b.head_dim = 128, b.page_size = 16;
        b.kv_dtype = b.v_dtype = SKV_BF16;
        skv_plan pl;
        ck_assert_msg(skv_plan_build(&b, SKV_POLICY_LAB, NULL, &g.models[i], &pl, err, sizeof err), "%s", err);
        skv_prediction pr;
        ck_assert(skv_cost_predict(&pl, &b, &g.models[i], &pr));
        ck_assert_msg(isfinite(pr.total_us) && pr.total_us > 0, "%s %dx%lld: %g", g.models[i].name, bs[bi],
                      (long long)ls[li], pr.total_us);
        skv_plan_free(&pl);
        skv_batch_free(&b);
      }
  }
  skv_gpus_free(&g);
}
END_TEST

/* skv calibrate's entry reads back as the same description. */
START_TEST(a_written_entry_loads_as_the_same_model) {
  skv_gpu m;
  memset(&m, 0, sizeof m);
  snprintf(m.name, sizeof m.name, "h200-spot");
  snprintf(m.device, sizeof m.device, "H200 \"quoted\" \\ name");
  snprintf(m.arch, sizeof m.arch, "sm_90");
  snprintf(m.calibrated, sizeof m.calibrated, "skv calibrate abc1234 2026-11-28 on NVIDIA H200");
  m.sms = 132, m.read_tbps = 4.447, m.launch_us = 2.875, m.combine_item_us = 1.25, m.combine_chunk_us = 0.0625;
  for (int k = 0; k < SKV_STREAM_COUNT; k++) {
    m.stream[k].fixed_sm_us = 0.125 * k;
    for (int d = 0; d < SKV_GPU_HEAD_DIMS; d++)
      for (int q = 0; q < SKV_GPU_GROUPS; q++)
        m.stream[k].cta_gbps[d][q] = 44 - k - d - 0.5 * q, m.stream[k].stream_tbps[d][q] = 4.5 - 0.25 * k - 0.125 * q,
        m.stream[k].fixed_us[d][q] = 1.5 + k + 0.25 * d + q;
  }
  for (int f = 0; f < SKV_FORM_COUNT; f++)
    for (int d = 0; d < SKV_GPU_HEAD_DIMS; d++) m.ctas_per_sm[f][d] = 1 + f + d;
  FILE *f = fopen(gpus_path, "w");
  ck_assert(f != NULL);
  fprintf(f, "home: h200-spot\nmodels:\n");
  ck_assert(skv_gpus_write_entry(f, &m));
  ck_assert_int_eq(fclose(f), 0);
  skv_gpus g;
  char err[512];
  ck_assert_msg(skv_gpus_load(gpus_path, &g, err, sizeof err), "%s", err);
  ck_assert_int_eq(g.n, 1);
  const skv_gpu *r = &g.models[0];
  ck_assert_str_eq(r->name, m.name);
  ck_assert_str_eq(r->device, m.device);
  ck_assert_str_eq(r->arch, m.arch);
  ck_assert_str_eq(r->calibrated, m.calibrated);
  ck_assert_int_eq(r->sms, m.sms);
  ck_assert(r->read_tbps == m.read_tbps && r->launch_us == m.launch_us && r->combine_item_us == m.combine_item_us &&
            r->combine_chunk_us == m.combine_chunk_us);
  for (int k = 0; k < SKV_STREAM_COUNT; k++)
    ck_assert_msg(memcmp(&r->stream[k], &m.stream[k], sizeof m.stream[k]) == 0, "stream %d", k);
  ck_assert(memcmp(r->ctas_per_sm, m.ctas_per_sm, sizeof m.ctas_per_sm) == 0);
  skv_gpus_free(&g);
}
END_TEST

/* A file's contents as a string (static buffer). */
static const char *read_back(const char *p) {
  static char buf[1 << 14];
  FILE *f = fopen(p, "r");
  ck_assert(f != NULL);
  const size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* skv calibrate --update: the entry of the same name is replaced in place (the comment before the
 * next entry and the head of the file stay), a new name is appended, and a file that does not
 * load is refused and left as it was. */
START_TEST(an_update_replaces_the_entry_of_its_name_and_keeps_the_rest) {
  static const char head[] = "# my models\nhome: a\nmodels:\n";
  static const char before[] = "# my models\nhome: a\nmodels:\n" MODEL("a", "132", "3") "  # about b\n" MODEL("b", "108", "2");
  write_file(gpus_path, before, strlen(before));
  skv_gpus g;
  char err[1024];
  ck_assert_msg(skv_gpus_load(gpus_path, &g, err, sizeof err), "%s", err);
  skv_gpu a = *skv_gpus_find(&g, "a");
  skv_gpus_free(&g);
  a.read_tbps = 4.5, a.sms = 100, a.stream[SKV_STREAM_FP8].fixed_sm_us = 1.25;
  snprintf(a.calibrated, sizeof a.calibrated, "skv calibrate test");
  bool replaced = false;
  ck_assert_msg(skv_gpus_update(gpus_path, &a, &replaced, err, sizeof err), "%s", err);
  ck_assert(replaced);
  const char *text = read_back(gpus_path);
  ck_assert_msg(strncmp(text, head, strlen(head)) == 0, "%s", text);
  ck_assert_msg(strstr(text, "  # about b\n" MODEL("b", "108", "2")), "%s", text);
  ck_assert_msg(strstr(text, "  - name: a\n"), "%s", text);
  ck_assert_msg(!strstr(text, "{name: a,"), "%s", text);
  ck_assert_msg(skv_gpus_load(gpus_path, &g, err, sizeof err), "%s", err);
  ck_assert_int_eq(g.n, 2);
  ck_assert_str_eq(g.models[0].name, "a");
  ck_assert_int_eq(g.models[0].sms, 100);
  ck_assert(g.models[0].read_tbps == 4.5 && g.models[0].stream[SKV_STREAM_FP8].fixed_sm_us == 1.25);
  ck_assert_str_eq(g.models[0].calibrated, "skv calibrate test");
  ck_assert_int_eq(g.models[1].sms, 108);
  skv_gpus_free(&g);
  /* a new name: appended after b */
  snprintf(a.name, sizeof a.name, "c");
  ck_assert_msg(skv_gpus_update(gpus_path, &a, &replaced, err, sizeof err), "%s", err);
  ck_assert(!replaced);
  ck_assert_msg(skv_gpus_load(gpus_path, &g, err, sizeof err), "%s", err);
  ck_assert_int_eq(g.n, 3);
  ck_assert_str_eq(g.models[2].name, "c");
  skv_gpus_free(&g);
  /* a file that does not load: refused, unchanged */
  static const char bad[] = "home: a\nmodels: []\n";
  write_file(gpus_path, bad, strlen(bad));
  ck_assert(!skv_gpus_update(gpus_path, &a, &replaced, err, sizeof err));
  ck_assert_str_eq(read_back(gpus_path), bad);
}
END_TEST

static void expect_models_error(const char *yaml, const char *want) {
  skv_gpus g;
  memset(&g, 0xff, sizeof g);
  char err[512];
  write_file(gpus_path, yaml, strlen(yaml));
  ck_assert_msg(!skv_gpus_load(gpus_path, &g, err, sizeof err), "loaded; wanted '%s'", want);
  assert_error_at(err, gpus_path, want);
  ck_assert(g.models == NULL && g.n == 0 && g.home == NULL);
}

START_TEST(gpu_model_errors_name_their_position) {
  expect_models_error("home: x\nmodels:\n  - name: x\n    sms: 10\n", "3:5: missing key 'device' in a GPU model");
  expect_models_error("home: x\nmodels:\n" MODEL("x", "1", "1") MODEL("x", "1", "1"),
                      "4:5: duplicate GPU model 'x' (first at 3:5)");
  expect_models_error("home: x\nmodels:\n" MODEL("x", "1", "0"),
                      "3:59: read_tbps: 0 is out of range (allowed: a finite number > 0)");
  expect_models_error("home: y\nmodels:\n" MODEL("x", "1", "1"), "1:7: home: no model 'y' in the file (models: x)");
  expect_models_error("models:\n" MODEL("x", "1", "1"), "1:1: missing key 'home' in the GPU models file");
  expect_models_error("home: x\ngpus: []\n", "2:1: unknown key 'gpus' in the GPU models file");
  expect_models_error("home: x\nmodels: []\n", "2:9: models: empty list");
  expect_models_error("home: x\nmodels:\n  - {name: x, device: X, arch: sm_75, sms: 1, read_tbps: 1, launch_us: 0,"
                      " combine_item_us: 0, combine_chunk_us: 0, " STREAMS ", ctas_per_sm: {}}\n",
                      "3:32: unknown arch 'sm_75' (allowed: sm_90, sm_80)");
  expect_models_error("home: x\nmodels:\n  - {name: x, device: X, arch: sm_90, sms: 1, read_tbps: 1, launch_us: 0,"
                      " combine_item_us: 0, combine_chunk_us: 0, " STREAMS ", ctas_per_sm: {16bit: [1, 2],"
                      " 8bit_cols: [1, 1, 1], 8bit_rows: [1, 1, 1], int8k_16v: [1, 1, 1]}}\n",
                      "3:1169: ctas_per_sm 16bit: expected 3 entries (head dims 64, 128, 256), got 2");
  expect_models_error("home: x\nmodels:\n  - {name: x, device: X, arch: sm_90, sms: 1, read_tbps: 1, launch_us: 0,"
                      " combine_item_us: 0, combine_chunk_us: 0, " STREAMS ", ctas_per_sm: {16bit: [1, 2, 3],"
                      " 8bit_cols: [1, 1, 1], 8bit_rows: [1, 1, 1]}}\n",
                      "3:1161: missing key 'int8k_16v' in ctas_per_sm");
  expect_models_error("home: x\nmodels:\n  - {name: x, device: X, arch: sm_90, sms: 1, read_tbps: 1, launch_us: 0,"
                      " combine_item_us: 0, combine_chunk_us: 0, streams: {16bit: {fixed_us: {d64: [0, 0, 0, 0], d128: [0, 0, 0, 0], d256: [0, 0, 0, 0]}, fixed_sm_us: 0,"
                      " cta_gbps: {d64: [1, 1, 1], d128: [1, 1, 1, 1], d256: [1, 1, 1, 1]}, stream_tbps: {}}},"
                      " ctas_per_sm: {}}\n",
                      "3:237: streams 16bit cta_gbps d64: expected 4 entries (GQA groups 1, 4, 8, 16), got 3");
#define OK_STREAM "{fixed_us: {d64: [0, 0, 0, 0], d128: [0, 0, 0, 0], d256: [0, 0, 0, 0]}, fixed_sm_us: 0, cta_gbps: {d64: [1, 1, 1, 1], d128: [1, 1, 1, 1], d256: [1, 1, 1, 1]}," \
  " stream_tbps: {d64: [1, 1, 1, 1], d128: [1, 1, 1, 1], d256: [1, 1, 1, 1]}}"
#define FULL_STREAM "{fixed_us: {d64: [0, 0, 0, 0], d128: [0, 0, 0, 0], d256: [0, 0, 0, 0]}, fixed_sm_us: 0, cta_gbps: {d64: [1, 1, 1, 1], d128: [1, 1, 1, 1], d256: [1, 1, 1, 1]}," \
  " stream_tbps: {d64: [1, 1, 1, 1], d128: [1, 1, 0, 1], d256: [1, 1, 1, 1]}}"
  expect_models_error("home: x\nmodels:\n  - {name: x, device: X, arch: sm_90, sms: 1, read_tbps: 1, launch_us: 0,"
                      " combine_item_us: 0, combine_chunk_us: 0, streams: {16bit: " FULL_STREAM "}, ctas_per_sm: {}}\n",
                      "3:338: streams 16bit stream_tbps d128: 0 is out of range (allowed: a finite number > 0)");
  expect_models_error("home: x\nmodels:\n  - {name: x, device: X, arch: sm_90, sms: 1, read_tbps: 1, launch_us: 0,"
                      " combine_item_us: 0, combine_chunk_us: 0, streams: {16bit: " OK_STREAM "}, ctas_per_sm: {}}\n",
                      "3:125: missing key 'fp8' in streams");
#undef FULL_STREAM
#undef OK_STREAM
}
END_TEST

Suite *skv_suite_suite(void) {
  Suite *s = suite_create("suite");
  TCase *ok = tcase_create("expansion");
  tcase_add_checked_fixture(ok, make_dir, remove_dir);
  tcase_add_test(ok, prefill_requests_and_mask_make_mixed_batches);
  tcase_add_test(ok, documented_example_gives_3_x_2_x_66_configurations);
  tcase_add_test(ok, omitted_suite_keys_take_their_defaults);
  tcase_add_test(ok, sweep_is_cartesian_with_the_first_key_outermost);
  tcase_add_test(ok, sweep_overrides_defaults_and_defaults_override_builtins);
  tcase_add_test(ok, int8_kv_may_keep_v_in_bf16);
  tcase_add_test(ok, policy_options_expand_in_the_order_written);
  tcase_add_test(ok, range_is_inclusive_and_steps);
  tcase_add_test(ok, aliases_resolve_to_the_anchored_value);
  tcase_add_test(ok, uniform_lengths_lie_in_lo_hi_and_repeat_with_the_seed);
  tcase_add_test(ok, uniform_without_a_seed_takes_the_configuration_seed);
  tcase_add_test(ok, list_lengths_are_cycled_over_the_batch);
  tcase_add_test(ok, long_list_is_named_by_its_count_and_hash);
  tcase_add_test(ok, names_are_unique_and_use_only_name_characters);
  tcase_add_test(ok, describe_gives_the_name_and_the_values);
  suite_add_tcase(s, ok);
  TCase *bad = tcase_create("errors");
  tcase_add_checked_fixture(bad, make_dir, remove_dir);
  tcase_add_test(bad, unknown_key_is_an_error_at_the_key);
  tcase_add_test(bad, typo_in_defaults_is_an_error_not_a_default);
  tcase_add_test(bad, wrong_type_is_an_error_at_the_value);
  tcase_add_test(bad, bool_for_an_integer_is_an_error);
  tcase_add_test(bad, float_for_an_integer_is_an_error);
  tcase_add_test(bad, yes_and_no_are_bools_only_for_bool_keys);
  tcase_add_test(bad, empty_list_is_an_error);
  tcase_add_test(bad, out_of_range_value_is_an_error);
  tcase_add_test(bad, duplicate_key_is_an_error_naming_the_first);
  tcase_add_test(bad, missing_key_points_at_the_enclosing_mapping);
  tcase_add_test(bad, impossible_configuration_is_named_at_the_sweep);
  tcase_add_test(bad, every_gpu_refusal_loads_and_names_its_rule);
  tcase_add_test(bad, unknown_policy_and_inapplicable_option_are_errors);
  tcase_add_test(bad, unknown_gpu_model_points_where_it_was_set);
  tcase_add_test(bad, too_many_configurations_is_an_error);
  tcase_add_test(bad, malformed_yaml_is_an_error_at_its_position);
  tcase_add_test(bad, deep_nesting_cycles_and_huge_input_give_errors);
  suite_add_tcase(s, bad);
  TCase *gpus = tcase_create("gpus");
  tcase_add_checked_fixture(gpus, make_dir, remove_dir);
  tcase_add_test(gpus, project_gpu_models_load_and_predict_sensibly);
  tcase_add_test(gpus, gpu_model_errors_name_their_position);
  tcase_add_test(gpus, a_written_entry_loads_as_the_same_model);
  tcase_add_test(gpus, an_update_replaces_the_entry_of_its_name_and_keeps_the_rest);
  suite_add_tcase(s, gpus);
  return s;
}
