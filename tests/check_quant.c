/* check_quant.c — FP8 (e4m3) and INT8 conversions and scale modes; the reference catches any dropped scale. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant.h"
#include "reference.h"
#include "rng.h"
#include "suites.h"
#include "workload.h"

START_TEST(every_e4m3_code_round_trips) {
  for (int c = 0; c < 256; c++) {
    const float v = skv_e4m3_to_f32((uint8_t)c);
    if ((c & 0x7F) == 0x7F) {
      ck_assert(isnan(v));
      ck_assert_uint_eq(skv_f32_to_e4m3(v), 0x7F); /* NaN stays NaN (canonical) */
      continue;
    }
    ck_assert_uint_eq(skv_f32_to_e4m3(v), (uint8_t)c);
  }
  ck_assert(skv_e4m3_to_f32(0x7E) == 448.0f && skv_e4m3_to_f32(0x01) == 0x1.0p-9f && skv_e4m3_to_f32(0x08) == 0x1.0p-6f);
}
END_TEST

START_TEST(e4m3_rounds_to_nearest_even_and_saturates) {
  ck_assert_uint_eq(skv_f32_to_e4m3(1e9f), 0x7E);
  ck_assert_uint_eq(skv_f32_to_e4m3(-INFINITY), 0xFE);
  ck_assert_uint_eq(skv_f32_to_e4m3(464.0f), 0x7E);          /* past the last finite tie: saturates */
  ck_assert_uint_eq(skv_f32_to_e4m3(1.0625f), 0x38);         /* halfway 1 and 1.125: even (1) */
  ck_assert_uint_eq(skv_f32_to_e4m3(1.1875f), 0x3A);         /* halfway 1.125 and 1.25: even (1.25) */
  ck_assert_uint_eq(skv_f32_to_e4m3(0x1.0p-10f), 0x00);      /* half the smallest subnormal: even (0) */
  ck_assert_uint_eq(skv_f32_to_e4m3(0x1.8p-9f), 0x02);       /* 1.5 subnormal steps: even (2) */
  /* Brute force on random floats: the result is a nearest code, ties to an even code. */
  skv_rng r;
  skv_rng_seed(&r, 11);
  for (int i = 0; i < 100000; i++) {
    const float x = (float)((skv_rng_uniform(&r) * 2 - 1) * ldexp(1.0, (int)skv_rng_range(&r, -12, 8)));
    const uint8_t c = skv_f32_to_e4m3(x);
    const double got = fabs(x - skv_e4m3_to_f32(c));
    for (int k = 0; k < 256; k++) {
      if ((k & 0x7F) == 0x7F) continue;
      const double d = fabs(x - skv_e4m3_to_f32((uint8_t)k));
      ck_assert(got <= d);
      if (d == got && k != c && skv_e4m3_to_f32((uint8_t)k) != skv_e4m3_to_f32(c)) ck_assert((c & 1) == 0);
    }
  }
}
END_TEST

START_TEST(int8_rounds_to_nearest_even_and_clamps) {
  ck_assert_int_eq(skv_f32_to_int8(2.5f, 1.0f), 2);
  ck_assert_int_eq(skv_f32_to_int8(3.5f, 1.0f), 4);
  ck_assert_int_eq(skv_f32_to_int8(-2.5f, 1.0f), -2);
  ck_assert_int_eq(skv_f32_to_int8(1000.0f, 1.0f), 127);
  ck_assert_int_eq(skv_f32_to_int8(-1000.0f, 1.0f), -127);
  ck_assert_int_eq(skv_f32_to_int8(NAN, 1.0f), 0);
  ck_assert_int_eq(skv_f32_to_int8(0.3f, 0.1f), 3);
}
END_TEST

static skv_workload quant_workload(skv_dtype q, skv_dtype kv, skv_scale_mode mode, skv_dtype v, uint64_t seed) {
  skv_batch b;
  ck_assert(skv_batch_alloc(&b, 3));
  const int64_t kvlen[3] = {500, 37, 1200};
  for (int r = 0; r < 3; r++) b.kvlen[r] = kvlen[r], b.qlen[r] = 1;
  b.num_q_heads = 8, b.num_kv_heads = 2, b.head_dim = 64, b.page_size = 16, b.kv_dtype = kv;
  b.v_dtype = v == SKV_DTYPE_COUNT ? kv : v;
  b.kv_scale_mode = mode;
  skv_workload_opts o;
  skv_workload_opts_default(&o);
  o.seed = seed;
  o.q_dtype = q;
  o.quant.q_scale = 0.75f, o.quant.k_scale = 0.5f, o.quant.v_scale = 0.25f; /* the upstream fix's test values */
  skv_workload w;
  char err[256];
  ck_assert_msg(skv_workload_make(&b, &o, &w, err, sizeof err), "%s", err);
  skv_batch_free(&b);
  return w;
}

static double rel_err(const skv_workload *a, const skv_workload *b) {
  const int64_t n = 3 * 8 * 64;
  double *oa = malloc(sizeof(double) * (size_t)n), *ob = malloc(sizeof(double) * (size_t)n), la[24], lb[24];
  ck_assert(skv_ref_attention(a, false, oa, la) && skv_ref_attention(b, false, ob, lb));
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; i++) num += (oa[i] - ob[i]) * (oa[i] - ob[i]), den += ob[i] * ob[i];
  free(oa), free(ob);
  return sqrt(num / den);
}

/* A kernel that ignored one scale computes what the reference computes with that scale dropped:
 * its error against the correct reference must be far above the 1e-2 tolerance, for each scale. */
START_TEST(dropping_any_one_scale_is_far_above_tolerance) {
  skv_workload w = quant_workload(SKV_FP8_E4M3, SKV_FP8_E4M3, SKV_SCALE_PER_TENSOR, SKV_DTYPE_COUNT, 21);
  const skv_workload ok = skv_workload_view_correct(&w);
  for (int which = 0; which < 3; which++) {
    skv_workload bad = ok;
    bad.opts.quant.drop_q_scale = which == 0;
    bad.opts.quant.drop_k_scale = which == 1;
    bad.opts.quant.drop_v_scale = which == 2;
    const double e = rel_err(&bad, &ok);
    ck_assert_msg(e > 0.2, "dropping scale %d gives only %g", which, e);
  }
  /* and the dequantized reference is close to the unquantized truth (the quantization error) */
  const skv_workload truth = skv_workload_view_unquantized(&w);
  const double qe = rel_err(&ok, &truth);
  ck_assert_msg(qe > 1e-4 && qe < 0.1, "fp8 quantization error %g", qe);
  skv_workload_free(&w);
}
END_TEST

START_TEST(per_token_and_per_channel_scales_track_the_data) {
  /* int8 K per token-head, V per channel; fp8 per token-head: stored code * scale is the true value
   * to within the format's rounding, and the scale arrays hold what the generator says. */
  skv_workload w = quant_workload(SKV_BF16, SKV_INT8, SKV_SCALE_PER_TOKEN_HEAD, SKV_INT8, 5);
  ck_assert(w.scales.k_token && w.scales.v_channel && !w.scales.v_token);
  skv_workload truth = skv_workload_view_unquantized(&w);
  double row[64], t[64];
  for (int64_t tok = 0; tok < 500; tok += 37) {
    skv_workload_kv_row(&w, false, 0, tok, 1, row);
    skv_workload_kv_row(&truth, false, 0, tok, 1, t);
    const int64_t page = skv_workload_page(&w, 0, tok);
    const float s = w.scales.k_token[(page * 16 + tok % 16) * 2 + 1];
    for (int c = 0; c < 64; c++) ck_assert(fabs(row[c] - t[c]) <= 0.5 * s + 1e-7);
  }
  const double e = rel_err(&w, &truth);
  ck_assert_msg(e > 1e-5 && e < 0.05, "int8 quantization error %g", e);
  skv_workload_free(&w);
  skv_workload f = quant_workload(SKV_FP16, SKV_FP8_E4M3, SKV_SCALE_PER_TOKEN_HEAD, SKV_DTYPE_COUNT, 6);
  ck_assert(f.scales.k_token && f.scales.v_token);
  skv_workload ft = skv_workload_view_unquantized(&f);
  const double fe = rel_err(&f, &ft);
  ck_assert_msg(fe > 1e-4 && fe < 0.1, "fp8 per-token quantization error %g", fe);
  skv_workload_free(&f);
}
END_TEST

START_TEST(int8_k_with_16_bit_v_keeps_v_exact) {
  skv_workload w = quant_workload(SKV_BF16, SKV_INT8, SKV_SCALE_PER_TOKEN_HEAD, SKV_BF16, 8);
  ck_assert(w.scales.k_token && !w.scales.v_channel);
  skv_workload truth = skv_workload_view_unquantized(&w);
  double v[64], vt[64];
  skv_workload_kv_row(&w, true, 2, 999, 0, v);
  skv_workload_kv_row(&truth, true, 2, 999, 0, vt);
  for (int c = 0; c < 64; c++) ck_assert(v[c] == (double)skv_bf16_to_f32(skv_f32_to_bf16((float)vt[c])));
  skv_workload_free(&w);
}
END_TEST

Suite *skv_suite_quant(void) {
  Suite *s = suite_create("quant");
  TCase *tc = tcase_create("conversions");
  tcase_add_test(tc, every_e4m3_code_round_trips);
  tcase_add_test(tc, e4m3_rounds_to_nearest_even_and_saturates);
  tcase_add_test(tc, int8_rounds_to_nearest_even_and_clamps);
  suite_add_tcase(s, tc);
  TCase *sc = tcase_create("scales");
  tcase_add_test(sc, dropping_any_one_scale_is_far_above_tolerance);
  tcase_add_test(sc, per_token_and_per_channel_scales_track_the_data);
  tcase_add_test(sc, int8_k_with_16_bit_v_keeps_v_exact);
  suite_add_tcase(s, sc);
  return s;
}
