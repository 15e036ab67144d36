/* check_cost.c — the split-KV cost model and the lab policy that uses it. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cost_model.h"
#include "plan.h"
#include "intmath.h"
#include "rng.h"
#include "suites.h"
#include "gpu_fixture.h"

static skv_batch decode(int32_t n, int64_t len) {
  skv_batch b;
  ck_assert(skv_batch_alloc(&b, n));
  for (int32_t r = 0; r < n; r++) b.kvlen[r] = len, b.qlen[r] = 1;
  b.num_q_heads = 32, b.num_kv_heads = 8, b.head_dim = 128, b.page_size = 16, b.kv_dtype = b.v_dtype = SKV_BF16;
  return b;
}

/* The plan of b under p for GPU g and its prediction there. */
static skv_prediction predict_on(const skv_batch *b, skv_policy p, int64_t split, const skv_gpu *g) {
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  o.split_size = split;
  skv_plan pl;
  char err[256];
  ck_assert_msg(skv_plan_build(b, p, &o, g, &pl, err, sizeof err), "%s", err);
  skv_prediction pr;
  ck_assert(skv_cost_predict(&pl, b, g, &pr));
  skv_plan_free(&pl);
  return pr;
}

/* The test fixture's GPU (gpu_fixture.h: read 3 TB/s, one CTA 40 GB/s, launch 3, per CTA 2, combine item 2). */
static skv_prediction predict(const skv_batch *b, skv_policy p, int64_t split) {
  return predict_on(b, p, split, skv_test_gpu(132));
}

START_TEST(large_batch_is_bandwidth_bound) {
  skv_batch b = decode(128, 8192);
  skv_prediction pr = predict(&b, SKV_POLICY_NONE, 0);
  const int64_t bytes = (int64_t)128 * 8192 * 8 * 128 * 2 * 2; /* tokens x KV heads x d x (K, V) x bf16 */
  const double bytes_us = (double)bytes / (3.0 * 1e6);
  ck_assert_int_eq(pr.kv_bytes, bytes);
  ck_assert(pr.total_us >= bytes_us);
  ck_assert(pr.total_us <= bytes_us * 1.05 + 10.0);
  ck_assert(pr.combine_us == 0.0);
  skv_batch_free(&b);
}
END_TEST

START_TEST(one_long_request_unsplit_is_limited_by_one_cta_per_head) {
  /* 8 CTAs of 16.8 MB each at 40 GB/s: ~420 us, far above bytes / read bandwidth (45 us); 8 CTAs
   * stream 320 GB/s together, far below the knee, so each runs at its own rate. */
  skv_batch b = decode(1, 32768);
  skv_prediction pr = predict(&b, SKV_POLICY_NONE, 0);
  const double cta_us = 2.0 + 32768.0 * 512 / 40e3;
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
  ck_assert_msg(skv_plan_build(&b, SKV_POLICY_NONE, &o, skv_test_gpu(132), &pl, err, sizeof err), "%s", err);
  ck_assert_int_eq(pl.num_work, 64);
  skv_gpu g = *skv_test_gpu(132);
  skv_gpu_stream *s = &g.stream[SKV_STREAM_16BIT];
  skv_test_stream(s, 3.0 * 1000.0 / 64.0, 3.0, 2.0, 0.0);
  skv_prediction pr;
  ck_assert(skv_cost_predict(&pl, &b, &g, &pr));
  const double bytes = (double)pr.kv_bytes, read_bpus = 3.0 * 1e6;
  ck_assert_double_eq_tol(pr.makespan_us, s->fixed_us[1][1] + bytes / (read_bpus * pow(2.0, -1.0 / SKV_COST_KNEE)),
                          1e-6 * pr.makespan_us);
  ck_assert(pr.makespan_us > 1.15 * pr.bandwidth_us); /* a hard minimum of the two limits would be optimistic */
  skv_plan_free(&pl);
  skv_batch_free(&b);
}
END_TEST

START_TEST(combine_is_launch_plus_item_waves_plus_partial_bytes) {
  /* 1 x 32768 in chunks of 1024: 32 chunks x 8 KV heads = 256 CTAs, 8 combine items (one wave of
   * 264 slots); partials 256 rows x 4 q heads x (128 floats + 1 LSE) x 4 bytes = 528384 bytes.
   * By hand: 3.0 + 2.0 * 1 + 528384 / 3.0e6 us. */
  skv_batch b = decode(1, 32768);
  skv_prediction pr = predict(&b, SKV_POLICY_FIXED, 1024);
  ck_assert_double_eq_tol(pr.combine_us, 3.0 + 2.0 + 528384.0 / 3.0e6, 1e-9);
  ck_assert_double_eq_tol(pr.total_us, pr.decode_us + pr.combine_us, 1e-9);
  skv_batch_free(&b);
}
END_TEST

/* The combine's chunk term, by hand: 1 x 32768 in chunks of 1024 is one wave of 8 items of 32
 * chunks, so combine_chunk_us = 0.1 adds 0.1 * 32 us; 40 requests of 2048 in chunks of 1024 are
 * 320 items (2 waves of 264 slots) of 2 chunks: 2 * 0.1 * 2 us. */
START_TEST(the_combine_grows_with_the_largest_items_chunks_per_wave) {
  skv_gpu g = *skv_test_gpu(132);
  skv_batch one = decode(1, 32768), many = decode(40, 2048);
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  o.split_size = 1024;
  char err[256];
  skv_plan p1, p2;
  ck_assert_msg(skv_plan_build(&one, SKV_POLICY_FIXED, &o, &g, &p1, err, sizeof err), "%s", err);
  ck_assert_msg(skv_plan_build(&many, SKV_POLICY_FIXED, &o, &g, &p2, err, sizeof err), "%s", err);
  skv_prediction a1, a2, b1, b2;
  ck_assert(skv_cost_predict(&p1, &one, &g, &a1) && skv_cost_predict(&p2, &many, &g, &a2));
  g.combine_chunk_us = 0.1;
  ck_assert(skv_cost_predict(&p1, &one, &g, &b1) && skv_cost_predict(&p2, &many, &g, &b2));
  ck_assert_double_eq_tol(b1.combine_us - a1.combine_us, 0.1 * 32, 1e-9);
  ck_assert_double_eq_tol(b2.combine_us - a2.combine_us, 2 * 0.1 * 2, 1e-9);
  ck_assert_double_eq_tol(b1.decode_us, a1.decode_us, 1e-12);
  skv_plan_free(&p1);
  skv_plan_free(&p2);
  skv_batch_free(&one);
  skv_batch_free(&many);
}
END_TEST

/* The fixed cost's per-SM part, by hand: fixed_sm_us = 1 adds 1 us per first-wave CTA per SM, so
 * 1 x 4096 in chunks of 128 (256 CTAs, all in the first wave of 264 slots) gains 256 / 132 us,
 * unsplit (8 CTAs) 8 / 132 us, and 64 x 4096 unsplit (512 CTAs, a first wave of 264) 264 / 132 us,
 * each on decode and nowhere else; an fp8 cache uses its own stream's terms, not these. */
START_TEST(the_fixed_cost_grows_with_the_first_waves_ctas_per_sm) {
  static const struct { int32_t n; int64_t split, first; } cases[3] = {{1, 128, 256}, {1, 0, 8}, {64, 0, 264}};
  for (int i = 0; i < 3; i++) {
    skv_gpu g = *skv_test_gpu(132);
    skv_batch b = decode(cases[i].n, 4096);
    skv_policy_opts o;
    skv_policy_opts_default(&o);
    if (cases[i].split) o.split_size = cases[i].split;
    skv_plan pl;
    char err[256];
    ck_assert_msg(skv_plan_build(&b, cases[i].split ? SKV_POLICY_FIXED : SKV_POLICY_NONE, &o, &g, &pl, err, sizeof err),
                  "%s", err);
    skv_prediction a, c;
    ck_assert(skv_cost_predict(&pl, &b, &g, &a));
    g.stream[SKV_STREAM_16BIT].fixed_sm_us = 1.0;
    ck_assert(skv_cost_predict(&pl, &b, &g, &c));
    ck_assert_double_eq_tol(c.decode_us - a.decode_us, (double)cases[i].first / 132.0, 1e-9);
    ck_assert_double_eq_tol(c.combine_us, a.combine_us, 1e-12);
    b.kv_dtype = b.v_dtype = SKV_FP8_E4M3;
    skv_plan_free(&pl);
    ck_assert_msg(skv_plan_build(&b, cases[i].split ? SKV_POLICY_FIXED : SKV_POLICY_NONE, &o, &g, &pl, err, sizeof err),
                  "%s", err);
    ck_assert(skv_cost_predict(&pl, &b, &g, &c));
    g.stream[SKV_STREAM_16BIT].fixed_sm_us = 0.0;
    ck_assert(skv_cost_predict(&pl, &b, &g, &a));
    ck_assert_double_eq_tol(c.decode_us, a.decode_us, 1e-12);
    skv_plan_free(&pl);
    skv_batch_free(&b);
  }
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
  /* taper 0. fp8, 96 x 8192, 132 SMs: the model keeps whole requests (768 CTAs); the slots are 132 x 4 =
   * 528, so the last wave holds 240 CTAs (<= 264, half of them): k = ceil(528 / 480) = 2, and
   * requests 66..95 (their CTAs start at 66 x 8 = 528) get 4096-token chunks: 66 x 8 + 30 x 16 =
   * 1008 CTAs. */
  skv_batch b = decode(96, 8192);
  b.kv_dtype = b.v_dtype = SKV_FP8_E4M3;
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  o.taper = 0;
  skv_plan pl;
  char err[256];
  ck_assert_msg(skv_plan_build(&b, SKV_POLICY_LAB, &o, skv_test_gpu(132), &pl, err, sizeof err), "%s", err);
  ck_assert_int_eq(pl.num_work, 1008);
  for (int64_t i = 0; i < pl.num_work; i++) {
    const skv_work *w = &pl.work[i];
    ck_assert_int_eq(w->kv_end - w->kv_begin, w->request < 66 ? 8192 : 4096);
  }
  ck_assert(strstr(pl.why, "last wave filled: 30 requests in chunks of 4096 tokens"));
  skv_plan_free(&pl);
  /* bf16 at 2 CTAs per SM: 768 CTAs on 264 slots leave a last wave of 240 (> 132): unchanged. */
  b.kv_dtype = b.v_dtype = SKV_BF16;
  ck_assert_msg(skv_plan_build(&b, SKV_POLICY_LAB, &o, skv_test_gpu(132), &pl, err, sizeof err), "%s", err);
  ck_assert_int_eq(pl.num_work, 768);
  ck_assert(!strstr(pl.why, "last wave"));
  skv_plan_free(&pl);
  skv_batch_free(&b);
}
END_TEST

/* The taper (plan_lab.c), worked out by hand. fp8, 96 x 8192, hkv 8, 132 SMs x 4 = 528 slots: the
 * model's chunk is the whole request (768 CTAs > 528, so the rule applies). Request r starts with
 * m = 96 - r requests left, R = m x 8 x 8192 token-heads: k = ceil(8192 d 528 / R) = ceil(66 d / m),
 * at most 8192 / 512 = 16, chunks of ceil(8192 / k) rounded up to 64 tokens.
 *   d = 1: m >= 66 (r <= 30): whole; m 33..65 (r 31..63): k 2, 4096; m 22..32 (r 64..74): k 3,
 *          2731 -> 2752; m 17..21: k 4, 2048; m 14..16: k 5, 1639 -> 1664; m 12, 13: k 6 -> 1408;
 *          m 11: k 6; m 10: k 7, 1171 -> 1216; m 9: k 8, 1024; m 8: k 9, 911 -> 960; m 7: k 10,
 *          820 -> 832; m 6: k 11, 745 -> 768; m 5: k 14, 586 -> 640; m <= 4: k 17 -> 16, 512.
 *   d = 2: k = ceil(132 / m): m = 96 (r = 0): k 2, so every request is cut; m 1: 512. */
START_TEST(lab_tapers_the_tail_of_a_plan_over_one_wave) {
  static const struct {
    int32_t m;
    int64_t chunk;
  } d1[] = {{96, 8192}, {66, 8192}, {65, 4096}, {33, 4096}, {32, 2752}, {22, 2752}, {21, 2048}, {17, 2048},
            {16, 1664}, {14, 1664}, {13, 1408}, {11, 1408}, {10, 1216}, {9, 1024}, {8, 960}, {7, 832},
            {6, 768}, {5, 640}, {4, 512}, {1, 512}};
  skv_batch b = decode(96, 8192);
  b.kv_dtype = b.v_dtype = SKV_FP8_E4M3;
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  ck_assert_int_eq(o.taper, 0); /* the default: the last-wave rule (the taper measured slower, plan_lab.c) */
  o.taper = 1;
  skv_plan pl;
  char err[256];
  ck_assert_msg(skv_plan_build(&b, SKV_POLICY_LAB, &o, skv_test_gpu(132), &pl, err, sizeof err), "%s", err);
  for (size_t i = 0; i < sizeof d1 / sizeof d1[0]; i++) {
    const int32_t r = 96 - d1[i].m;
    const skv_chunk *c = &pl.chunks[pl.chunk_offset[r]];
    ck_assert_msg(c->begin == 0 && c->end == d1[i].chunk, "d 1, request %d: first chunk [%lld, %lld), expected [0, %lld)", r,
                  (long long)c->begin, (long long)c->end, (long long)d1[i].chunk);
  }
  /* every request covered, its chunks in order, the last one clipped */
  for (int32_t r = 0; r < 96; r++) {
    int64_t at = 0;
    for (int64_t k = pl.chunk_offset[r]; k < pl.chunk_offset[r + 1]; k++) {
      ck_assert_int_eq(pl.chunks[k].begin, at);
      at = pl.chunks[k].end;
    }
    ck_assert_int_eq(at, 8192);
  }
  ck_assert(strstr(pl.why, "tail tapered (taper 1): 65 requests in shorter chunks, down to 512 tokens"));
  skv_plan_free(&pl);
  o.taper = 2;
  ck_assert_msg(skv_plan_build(&b, SKV_POLICY_LAB, &o, skv_test_gpu(132), &pl, err, sizeof err), "%s", err);
  ck_assert_int_eq(pl.chunks[pl.chunk_offset[0]].end, 4096);  /* ceil(132 / 96) = 2 */
  ck_assert_int_eq(pl.chunks[pl.chunk_offset[95]].end, 512);
  ck_assert(strstr(pl.why, "tail tapered (taper 2): 96 requests"));
  skv_plan_free(&pl);
  /* One wave or less (bf16 8 x 4096: 256 CTAs on 264 slots): the model's plan, untouched. */
  skv_batch small = decode(8, 4096);
  skv_plan base;
  o.taper = 0;
  ck_assert_msg(skv_plan_build(&small, SKV_POLICY_LAB, &o, skv_test_gpu(132), &base, err, sizeof err), "%s", err);
  o.taper = 1;
  ck_assert_msg(skv_plan_build(&small, SKV_POLICY_LAB, &o, skv_test_gpu(132), &pl, err, sizeof err), "%s", err);
  ck_assert_int_le(pl.num_work, 264);
  ck_assert_int_eq(pl.num_chunks, base.num_chunks);
  for (int64_t k = 0; k < pl.num_chunks; k++) ck_assert_int_eq(pl.chunks[k].end, base.chunks[k].end);
  ck_assert(!strstr(pl.why, "tapered"));
  skv_plan_free(&pl);
  skv_plan_free(&base);
  skv_batch_free(&small);
  skv_batch_free(&b);
}
END_TEST

/* Issue 12: the int8-K + 16-bit-V rows reported two thirds of their bytes (V counted at K's
 * width). Bytes per cache variant, worked out by hand from the layouts (quant.h): 2 requests of
 * 1000 and 24 tokens, 2 KV heads, d 64: 1024 x 2 token-heads of 64 elements each for K and V. */
START_TEST(bytes_count_v_at_its_own_width_and_the_scales_apart) {
  static const struct {
    skv_dtype k, v;
    skv_scale_mode mode;
    int64_t kv, scales;
  } cases[] = {
      {SKV_BF16, SKV_BF16, SKV_SCALE_PER_TENSOR, 2048 * 64 * 4, 0},
      {SKV_FP8_E4M3, SKV_FP8_E4M3, SKV_SCALE_PER_TENSOR, 2048 * 64 * 2, 0},
      {SKV_FP8_E4M3, SKV_FP8_E4M3, SKV_SCALE_PER_TOKEN_HEAD, 2048 * 64 * 2, 2048 * 8},   /* K and V scale */
      {SKV_INT8, SKV_INT8, SKV_SCALE_PER_TENSOR, 2048 * 64 * 2, 2048 * 4 + 2 * 64 * 4},  /* K per token, V per channel */
      {SKV_INT8, SKV_BF16, SKV_SCALE_PER_TENSOR, 2048 * 64 * 3, 2048 * 4},               /* V at 2 bytes */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    skv_batch b;
    ck_assert(skv_batch_alloc(&b, 2));
    b.kvlen[0] = 1000, b.kvlen[1] = 24, b.qlen[0] = b.qlen[1] = 1;
    b.num_q_heads = 8, b.num_kv_heads = 2, b.head_dim = 64, b.page_size = 16;
    b.kv_dtype = cases[i].k, b.v_dtype = cases[i].v, b.kv_scale_mode = cases[i].mode;
    char err[256];
    ck_assert_msg(skv_batch_validate(&b, err, sizeof err), "%s", err);
    const skv_kv_read r = skv_batch_kv_read(&b);
    ck_assert_int_eq(r.kv, cases[i].kv);
    ck_assert_int_eq(r.scales, cases[i].scales);
    /* the cost model reads the same bytes: elements and per-token scales (the per-channel array
     * is read once per CTA, from L2, and not priced) */
    skv_plan pl;
    ck_assert(skv_plan_build(&b, SKV_POLICY_NONE, NULL, skv_test_gpu(132), &pl, err, sizeof err));
    skv_prediction pr;
    ck_assert(skv_cost_predict(&pl, &b, skv_test_gpu(132), &pr));
    ck_assert_int_eq(pr.kv_bytes, cases[i].kv + 2048 * skv_batch_token_scale_bytes(&b));
    skv_plan_free(&pl);
    skv_batch_free(&b);
  }
}
END_TEST

/* More bytes per token never predict less time: int8 K with a bf16 V against int8 K and V. */
START_TEST(a_wider_v_never_predicts_a_faster_decode) {
  skv_batch b = decode(8, 32768);
  b.kv_dtype = b.v_dtype = SKV_INT8;
  const skv_prediction narrow = predict(&b, SKV_POLICY_FIXED, 2048);
  b.v_dtype = SKV_BF16;
  const skv_prediction wide = predict(&b, SKV_POLICY_FIXED, 2048);
  ck_assert(wide.kv_bytes > narrow.kv_bytes);
  ck_assert(wide.total_us > narrow.total_us);
  skv_batch_free(&b);
}
END_TEST

/* ---- the schedule against a CTA-by-CTA simulation ---- */

/* The oracle: every CTA on its own, the next to finish found by a linear scan, the rates from the
 * formula of cost_model.h written out with pow. Returns the schedule's time (no fixed cost). */
static double cta_by_cta(const skv_plan *p, const skv_batch *b, const skv_gpu *g) {
  const double token = (double)(skv_batch_token_kv_bytes(b) + skv_batch_token_scale_bytes(b));
  const int64_t slots = (int64_t)g->sms * skv_gpu_ctas_per_sm(g, b);
  const skv_gpu_rates s = skv_gpu_rates_of(g, b);
  const double cta = s.cta_gbps * 1e3, read = s.stream_tbps * 1e6;
  double *left = malloc(sizeof *left * (size_t)slots); /* bytes each resident CTA has left */
  ck_assert(left != NULL);
  int64_t n = 0, next = 0;
  double t = 0;
  for (;;) {
    while (n < slots && next < p->num_work) {
      left[n++] = token * (double)(p->work[next].kv_end - p->work[next].kv_begin);
      next++;
    }
    if (n == 0) break;
    int64_t m = 0;
    for (int64_t i = 1; i < n; i++)
      if (left[i] < left[m]) m = i;
    const double each = pow(pow((double)n * cta, -4.0) + pow(read, -4.0), -0.25) / (double)n, step = left[m];
    t += step / each;
    for (int64_t i = 0; i < n; i++) left[i] -= step;
    left[m] = left[--n];
  }
  free(left);
  return t;
}

/* A random decode batch: 1..40 requests of 0..30000 tokens (every fifth request of one length),
 * 1..8 KV heads, groups 1..8, d 64/128/256, bf16, fp8 or int8. */
static skv_batch random_batch(skv_rng *rng) {
  skv_batch b;
  const int32_t n = (int32_t)skv_rng_range(rng, 1, 40);
  ck_assert(skv_batch_alloc(&b, n));
  const int64_t common = skv_rng_range(rng, 1, 30000);
  for (int32_t r = 0; r < n; r++) {
    b.kvlen[r] = r % 5 == 0 ? common : skv_rng_range(rng, 0, 30000);
    b.qlen[r] = 1;
  }
  b.num_kv_heads = (int32_t)skv_rng_range(rng, 1, 8);
  b.num_q_heads = b.num_kv_heads * (int32_t)skv_rng_range(rng, 1, 8);
  b.head_dim = 64 << skv_rng_range(rng, 0, 2);
  b.page_size = 16;
  static const skv_dtype kv[3] = {SKV_BF16, SKV_FP8_E4M3, SKV_INT8};
  b.kv_dtype = b.v_dtype = kv[skv_rng_range(rng, 0, 2)];
  b.kv_scale_mode = b.kv_dtype == SKV_INT8 ? SKV_SCALE_PER_TOKEN_HEAD : SKV_SCALE_PER_TENSOR;
  return b;
}

/* Issue 13: the schedule runs on runs of equal CTAs, events that end together and whole rounds at
 * once; it must still be the CTA-by-CTA processor-sharing schedule (relative 1e-9), for every
 * policy's plans of random batches on 132 and 20 SMs. */
START_TEST(the_grouped_schedule_is_the_cta_by_cta_schedule) {
  skv_rng rng;
  skv_rng_seed(&rng, 13);
  static const skv_policy pols[] = {SKV_POLICY_NONE, SKV_POLICY_FIXED, SKV_POLICY_FA2, SKV_POLICY_FLASHINFER,
                                    SKV_POLICY_LAB};
  for (int i = 0; i < 60; i++) {
    skv_batch b = random_batch(&rng);
    const skv_gpu *g = skv_test_gpu(i % 2 ? 20 : 132);
    for (size_t k = 0; k < sizeof pols / sizeof pols[0]; k++) {
      skv_policy_opts o;
      skv_policy_opts_default(&o);
      o.split_size = 64 * skv_rng_range(&rng, 1, 40);
      skv_plan pl;
      char err[256];
      ck_assert_msg(skv_plan_build(&b, pols[k], &o, g, &pl, err, sizeof err), "%s", err);
      skv_prediction pr;
      ck_assert(skv_cost_predict(&pl, &b, g, &pr));
      const double want = skv_gpu_rates_of(g, &b).fixed_us + cta_by_cta(&pl, &b, g);
      ck_assert_msg(fabs(pr.makespan_us - want) <= 1e-9 * want + 1e-9, "batch %d %s: %.12g vs CTA by CTA %.12g", i,
                    skv_policy_name(pols[k]), pr.makespan_us, want);
      skv_plan_free(&pl);
    }
    skv_batch_free(&b);
  }
}
END_TEST

/* skv_cost_predict_chunks, the lab policy's search, predicts the plan `fixed`'s chunks give without
 * building it: the same numbers as skv_cost_predict of that plan; with a bound above the total it
 * gives the total, with a bound below it INFINITY. Every other batch has query lengths up to 300
 * (query tiles of 16, 32 or 64 rows, each reading its chunks up to its last query's bound), with or
 * without the causal mask; some on a GPU with an L2 reread rate and a tensor rate (cost_model.h). */
START_TEST(predicting_from_chunks_equals_predicting_the_plan) {
  skv_rng rng;
  skv_rng_seed(&rng, 7);
  for (int i = 0; i < 60; i++) {
    skv_batch b = random_batch(&rng);
    skv_gpu gpu = *skv_test_gpu(i % 3 ? 132 : 16);
    if (i % 5 >= 3) /* rereads; tiles bound by the MMAs (the GPU's rate, one CTA's) */
      gpu.l2_tbps = 7.5, gpu.mma_tflops = i % 5 == 3 ? 0.5 : 300, gpu.cta_tflops = i % 5 == 3 ? 0.01 : 0;
    const skv_gpu *g = &gpu;
    skv_policy_opts o;
    skv_policy_opts_default(&o);
    o.split_size = 64 * skv_rng_range(&rng, 1, 60);
    if (i % 2) {
      for (int32_t r = 0; r < b.num_requests; r++) {
        const int64_t q = skv_rng_range(&rng, 1, 300);
        b.qlen[r] = q < b.kvlen[r] ? q : (b.kvlen[r] > 0 ? b.kvlen[r] : 1);
      }
      b.mask = i % 4 == 1 ? SKV_MASK_NONE : SKV_MASK_CAUSAL;
      o.tile_rows = 16 << skv_rng_range(&rng, 0, 2);
    }
    skv_plan pl;
    char err[256];
    ck_assert_msg(skv_plan_build(&b, SKV_POLICY_FIXED, &o, g, &pl, err, sizeof err), "%s", err);
    skv_prediction want, got, bounded;
    ck_assert(skv_cost_predict(&pl, &b, g, &want));
    skv_cost_ctx ctx;
    ck_assert(skv_cost_ctx_init(&ctx, &b, g));
    skv_cost_ctx_set_tile(&ctx, pl.tile_rows);
    int64_t *chunks = malloc(sizeof *chunks * (size_t)b.num_requests);
    ck_assert(chunks != NULL);
    for (int32_t r = 0; r < b.num_requests; r++) chunks[r] = o.split_size;
    ck_assert(skv_cost_predict_chunks(&ctx, chunks, INFINITY, &got));
    ck_assert_int_eq(got.kv_bytes, want.kv_bytes);
    ck_assert_int_eq(got.dram_bytes, want.dram_bytes);
    ck_assert_double_eq_tol(got.flops, want.flops, 1e-12 * want.flops);
    ck_assert_double_eq_tol(got.total_us, want.total_us, 1e-9 * want.total_us);
    ck_assert_double_eq_tol(got.combine_us, want.combine_us, 1e-9 * want.total_us);
    ck_assert(skv_cost_lower_bound_chunks(&ctx, chunks) <= got.total_us * (1 + 1e-12));
    ck_assert(skv_cost_predict_chunks(&ctx, chunks, got.total_us * 1.001, &bounded));
    ck_assert_double_eq_tol(bounded.total_us, got.total_us, 1e-9 * got.total_us);
    if (got.total_us > 1.0) {
      ck_assert(skv_cost_predict_chunks(&ctx, chunks, got.total_us * 0.999, &bounded));
      ck_assert(isinf(bounded.total_us));
    }
    free(chunks);
    skv_cost_ctx_free(&ctx);
    skv_plan_free(&pl);
    skv_batch_free(&b);
  }
}
END_TEST

/* The lab policy prunes its search (a lower bound, a bounded schedule, a spread of candidates
 * first); its choice must still be that of predicting every candidate in order (plan_lab.c: one
 * chunk per request, then ceil(max / s) rounded up to 64 tokens for s = 2..128; the least time,
 * ties to the longer chunk), computed here without pruning. */
START_TEST(lab_chooses_what_trying_every_candidate_chooses) {
  skv_rng rng;
  skv_rng_seed(&rng, 21);
  for (int i = 0; i < 40; i++) {
    skv_batch b = random_batch(&rng);
    const skv_gpu *g = skv_test_gpu(i % 2 ? 132 : 66);
    skv_cost_ctx ctx;
    ck_assert(skv_cost_ctx_init(&ctx, &b, g));
    int64_t *chunks = malloc(sizeof *chunks * (size_t)b.num_requests);
    ck_assert(chunks != NULL);
    int64_t max = 1, best_chunk = 0, previous = 0;
    for (int32_t r = 0; r < b.num_requests; r++)
      if (b.kvlen[r] > max) max = b.kvlen[r];
    double best = INFINITY;
    for (int64_t s = 1; s <= 128; s++) {
      const int64_t c = s == 1 ? max : skv_ceil_div(skv_ceil_div(max, s), 64) * 64;
      if (s > 1 && c < 64) break;
      if (c == previous) continue;
      previous = c;
      for (int32_t r = 0; r < b.num_requests; r++) chunks[r] = c;
      skv_prediction pr;
      ck_assert(skv_cost_predict_chunks(&ctx, chunks, INFINITY, &pr));
      if (pr.total_us < best - 1e-9) best = pr.total_us, best_chunk = c;
    }
    skv_plan pl;
    char err[256], want[64];
    ck_assert_msg(skv_plan_build(&b, SKV_POLICY_LAB, NULL, g, &pl, err, sizeof err), "%s", err);
    snprintf(want, sizeof want, "chunks of %lld tokens,", (long long)best_chunk);
    ck_assert_msg(strstr(pl.why, want), "batch %d: exhaustive %s; lab: %s", i, want, pl.why);
    skv_plan_free(&pl);
    free(chunks);
    skv_cost_ctx_free(&ctx);
    skv_batch_free(&b);
  }
}
END_TEST

/* ---- the GPU is an input ---- */

/* Issue 13: lab plans for the GPU it is given. Two GPUs that differ only in the read and stream ceilings
 * (3 and 6 TB/s) plan 16 requests of 8192 tokens differently (128 whole requests are 1 wave of
 * 264 slots; halves fill the faster GPU better), and each GPU's plan is predicted no slower on
 * that GPU than the other's plan. */
START_TEST(lab_plans_for_the_gpu_it_is_given) {
  skv_batch b = decode(16, 8192);
  skv_gpu slow = *skv_test_gpu(132), fast = slow;
  fast.read_tbps = 6.0;
  for (int k = 0; k < SKV_STREAM_COUNT; k++) skv_test_stream(&fast.stream[k], k == SKV_STREAM_16BIT ? 40.0 : 25.0, 6.0, 2.0, 0.0);
  snprintf(fast.name, sizeof fast.name, "fast");
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  skv_plan ps, pf;
  char err[256];
  ck_assert_msg(skv_plan_build(&b, SKV_POLICY_LAB, &o, &slow, &ps, err, sizeof err), "%s", err);
  ck_assert_msg(skv_plan_build(&b, SKV_POLICY_LAB, &o, &fast, &pf, err, sizeof err), "%s", err);
  ck_assert_msg(ps.num_work != pf.num_work, "the same plan for both GPUs: %s", ps.why);
  skv_prediction a, c;
  ck_assert(skv_cost_predict(&ps, &b, &slow, &a) && skv_cost_predict(&pf, &b, &slow, &c));
  ck_assert(a.total_us <= c.total_us + 1e-9);
  ck_assert(skv_cost_predict(&pf, &b, &fast, &a) && skv_cost_predict(&ps, &b, &fast, &c));
  ck_assert(a.total_us <= c.total_us + 1e-9);
  ck_assert(strstr(ps.why, "test-132") && strstr(pf.why, "fast"));
  skv_plan_free(&ps);
  skv_plan_free(&pf);
  skv_batch_free(&b);
}
END_TEST

/* Properties of the model over random plans: a faster read ceiling, a faster CTA or cheaper fixed
 * costs never predict a slower time. (More slots need not: more CTAs resident at once share the
 * ceiling and finish later together, and the model says so.) */
START_TEST(a_faster_gpu_never_predicts_a_slower_plan) {
  skv_rng rng;
  skv_rng_seed(&rng, 3);
  for (int i = 0; i < 40; i++) {
    skv_batch b = random_batch(&rng);
    const skv_gpu *g = skv_test_gpu(132);
    skv_policy_opts o;
    skv_policy_opts_default(&o);
    o.split_size = 64 * skv_rng_range(&rng, 1, 40);
    skv_plan pl;
    char err[256];
    ck_assert_msg(skv_plan_build(&b, SKV_POLICY_FIXED, &o, g, &pl, err, sizeof err), "%s", err);
    skv_prediction base, faster;
    ck_assert(skv_cost_predict(&pl, &b, g, &base));
    for (int k = 0; k < 3; k++) {
      skv_gpu f = *g;
      for (int s = 0; s < SKV_STREAM_COUNT; s++)
        for (int d = 0; d < SKV_GPU_HEAD_DIMS; d++)
          for (int q = 0; q < SKV_GPU_GROUPS; q++) {
            if (k == 0) f.stream[s].stream_tbps[d][q] *= 1.5;
            if (k == 1) f.stream[s].cta_gbps[d][q] *= 1.5;
          }
      if (k == 2) skv_test_scale_streams(&f, 1.0, 0.5);
      if (k == 0) f.read_tbps *= 1.5;
      if (k == 2) f.launch_us /= 2, f.combine_item_us /= 2, f.combine_chunk_us /= 2;
      ck_assert(skv_cost_predict(&pl, &b, &f, &faster));
      ck_assert_msg(faster.total_us <= base.total_us * (1 + 1e-12), "batch %d, change %d: %g > %g", i, k,
                    faster.total_us, base.total_us);
    }
    skv_plan_free(&pl);
    skv_batch_free(&b);
  }
}
END_TEST

Suite *skv_suite_cost(void) {
  Suite *s = suite_create("cost");
  TCase *tc = tcase_create("model");
  tcase_add_test(tc, large_batch_is_bandwidth_bound);
  tcase_add_test(tc, bytes_count_v_at_its_own_width_and_the_scales_apart);
  tcase_add_test(tc, a_wider_v_never_predicts_a_faster_decode);
  tcase_add_test(tc, one_long_request_unsplit_is_limited_by_one_cta_per_head);
  tcase_add_test(tc, at_the_knee_the_ctas_reach_less_than_either_limit);
  tcase_add_test(tc, combine_is_launch_plus_item_waves_plus_partial_bytes);
  tcase_add_test(tc, the_combine_grows_with_the_largest_items_chunks_per_wave);
  tcase_add_test(tc, the_fixed_cost_grows_with_the_first_waves_ctas_per_sm);
  tcase_add_test(tc, lab_policy_is_no_slower_than_any_fixed_chunk_by_its_own_model);
  tcase_add_test(tc, lab_fills_a_part_filled_last_wave);
  tcase_add_test(tc, lab_tapers_the_tail_of_a_plan_over_one_wave);
  tcase_add_test(tc, the_grouped_schedule_is_the_cta_by_cta_schedule);
  tcase_add_test(tc, predicting_from_chunks_equals_predicting_the_plan);
  tcase_add_test(tc, lab_chooses_what_trying_every_candidate_chooses);
  tcase_add_test(tc, lab_plans_for_the_gpu_it_is_given);
  tcase_add_test(tc, a_faster_gpu_never_predicts_a_slower_plan);
  suite_add_tcase(s, tc);
  return s;
}
