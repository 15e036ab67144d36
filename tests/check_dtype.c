/* check_dtype.c — bf16/fp16 conversions, the seeded generators and the workload's layout. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datagen.h"
#include "dtype.h"
#include "rng.h"
#include "suites.h"
#include "workload.h"

static float bits_to_f(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

START_TEST(bf16_round_trip_is_exact_for_every_bf16) {
  for (uint32_t h = 0; h < 65536; h++) {
    float f = skv_bf16_to_f32((uint16_t)h);
    if (isnan(f)) {
      ck_assert(isnan(skv_bf16_to_f32(skv_f32_to_bf16(f))));
      continue;
    }
    ck_assert_uint_eq(skv_f32_to_bf16(f), h);
  }
}
END_TEST

START_TEST(bf16_rounds_to_nearest_even) {
  /* 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1). */
  ck_assert_uint_eq(skv_f32_to_bf16(1.0f + 0x1.0p-8f), 0x3F80);
  /* 1 + 3 * 2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6: up. */
  ck_assert_uint_eq(skv_f32_to_bf16(1.0f + 3 * 0x1.0p-8f), 0x3F82);
  ck_assert_uint_eq(skv_f32_to_bf16(1.0f + 0x1.0p-8f + 0x1.0p-20f), 0x3F81);
  ck_assert_uint_eq(skv_f32_to_bf16(INFINITY), 0x7F80);
  ck_assert_uint_eq(skv_f32_to_bf16(bits_to_f(0x7F7FFFFF)), 0x7F80); /* FLT_MAX rounds to inf */
}
END_TEST

START_TEST(fp16_round_trip_is_exact_for_every_fp16) {
  for (uint32_t h = 0; h < 65536; h++) {
    float f = skv_fp16_to_f32((uint16_t)h);
    if (isnan(f)) continue;
    ck_assert_uint_eq(skv_f32_to_fp16(f), h);
  }
}
END_TEST

START_TEST(fp16_rounding_matches_double_arithmetic) {
  /* For random floats in the fp16 range, the result is the nearest fp16
   * (ties to even), found by brute force over the two neighbours. */
  skv_rng r;
  skv_rng_seed(&r, 7);
  for (int i = 0; i < 200000; i++) {
    float x = (float)((skv_rng_uniform(&r) * 2 - 1) * ldexp(1.0, (int)skv_rng_range(&r, -26, 16)));
    uint16_t h = skv_f32_to_fp16(x);
    double v = skv_fp16_to_f32(h);
    if (isinf(v)) {
      ck_assert(fabs(x) >= 65520.0);
      continue;
    }
    /* neighbours of h in magnitude */
    uint16_t mag = h & 0x7FFF, sgn = h & 0x8000;
    double lo = mag > 0 ? skv_fp16_to_f32((uint16_t)(sgn | (mag - 1))) : -v;
    double hi = skv_fp16_to_f32((uint16_t)(sgn | (mag + 1)));
    double err = fabs(v - x);
    ck_assert(err <= fabs(lo - x) + 0.0);
    ck_assert(err <= fabs(hi - x) + 0.0);
    if (err == fabs(hi - x) || (mag > 0 && err == fabs(lo - x))) ck_assert((h & 1) == 0); /* tie: even */
  }
}
END_TEST

START_TEST(fp16_subnormals_and_overflow) {
  ck_assert_uint_eq(skv_f32_to_fp16(0x1.0p-24f), 0x0001);
  ck_assert_uint_eq(skv_f32_to_fp16(0x1.0p-25f), 0x0000);             /* tie to even: 0 */
  ck_assert_uint_eq(skv_f32_to_fp16(0x1.8p-25f), 0x0001);             /* above the tie */
  ck_assert_uint_eq(skv_f32_to_fp16(0x1.8p-24f), 0x0002);             /* 1.5 ulp: tie to even 2 */
  ck_assert_uint_eq(skv_f32_to_fp16(65504.0f), 0x7BFF);
  ck_assert_uint_eq(skv_f32_to_fp16(65519.0f), 0x7BFF);
  ck_assert_uint_eq(skv_f32_to_fp16(65520.0f), 0x7C00);
  ck_assert_uint_eq(skv_f32_to_fp16(-1e9f), 0xFC00);
  ck_assert(isnan(skv_fp16_to_f32(skv_f32_to_fp16(NAN))));
}
END_TEST

START_TEST(gen_uniform_is_in_range_exact_and_not_constant) {
  double sum = 0, sumsq = 0;
  int zeros = 0;
  for (uint64_t i = 0; i < 100000; i++) {
    float x = skv_gen_uniform(42, SKV_TENSOR_K, i);
    ck_assert(x >= -1.0f && x < 1.0f);
    /* 24 random bits times 2^-23 minus 1: a multiple of 2^-23 */
    ck_assert(ldexpf(x + 1.0f, 23) == floorf(ldexpf(x + 1.0f, 23)));
    zeros += x == 0.0f;
    sum += x;
    sumsq += (double)x * x;
  }
  ck_assert(fabs(sum / 100000) < 0.01);
  ck_assert(fabs(sumsq / 100000 - 1.0 / 3.0) < 0.01);
  ck_assert_int_lt(zeros, 5);
  ck_assert(skv_gen_uniform(42, SKV_TENSOR_K, 5) != skv_gen_uniform(43, SKV_TENSOR_K, 5));
  ck_assert(skv_gen_uniform(42, SKV_TENSOR_K, 5) != skv_gen_uniform(42, SKV_TENSOR_V, 5));
}
END_TEST

START_TEST(rng_is_reproducible_and_range_is_inclusive) {
  skv_rng a, b;
  skv_rng_seed(&a, 99);
  skv_rng_seed(&b, 99);
  bool saw_lo = false, saw_hi = false;
  for (int i = 0; i < 10000; i++) {
    int64_t x = skv_rng_range(&a, 3, 7);
    ck_assert_int_eq(x, skv_rng_range(&b, 3, 7));
    ck_assert(x >= 3 && x <= 7);
    saw_lo |= x == 3;
    saw_hi |= x == 7;
  }
  ck_assert(saw_lo && saw_hi);
}
END_TEST

static skv_batch small_batch(int32_t n, const int64_t *kv, int32_t hq, int32_t hkv, int32_t d, int32_t ps) {
  skv_batch b;
  ck_assert(skv_batch_alloc(&b, n));
  for (int32_t r = 0; r < n; r++) b.kvlen[r] = kv[r], b.qlen[r] = 1;
  b.num_q_heads = hq, b.num_kv_heads = hkv, b.head_dim = d, b.page_size = ps, b.kv_dtype = b.v_dtype = SKV_BF16;
  return b;
}

START_TEST(workload_pages_are_a_permutation_with_a_shared_prefix) {
  int64_t kv[3] = {64, 100, 48};
  skv_batch b = small_batch(3, kv, 4, 2, 64, 16);
  skv_workload_opts o;
  skv_workload_opts_default(&o);
  o.shared_prefix = 32;
  skv_workload w;
  char err[256];
  ck_assert_msg(skv_workload_make(&b, &o, &w, err, sizeof err), "%s", err);
  /* pages: 4 + 7 + 3 = 14, 2 of them shared -> pool of 2 + 2 + 5 + 1 = 10 */
  ck_assert_int_eq(w.num_pages, 10);
  int used[10] = {0};
  for (int32_t r = 0; r < 3; r++) {
    ck_assert_int_eq(w.page_table[w.page_indptr[r]], w.page_table[0]);
    ck_assert_int_eq(w.page_table[w.page_indptr[r] + 1], w.page_table[1]);
    for (int64_t p = w.page_indptr[r]; p < w.page_indptr[r + 1]; p++) used[w.page_table[p]]++;
  }
  for (int i = 0; i < 10; i++) ck_assert_int_ge(used[i], 1);
  /* a virtual pool gives the same bits as the materialized one */
  skv_workload v;
  o.materialize = false;
  ck_assert(skv_workload_make(&b, &o, &v, err, sizeof err));
  for (int64_t i = 0; i < skv_workload_pool_elems(&w); i += 7) {
    ck_assert_uint_eq(skv_workload_kv_bits(&w, false, i), skv_workload_kv_bits(&v, false, i));
    ck_assert_uint_eq(skv_workload_kv_bits(&w, true, i), skv_workload_kv_bits(&v, true, i));
  }
  skv_workload_free(&w);
  skv_workload_free(&v);
  skv_batch_free(&b);
}
END_TEST

START_TEST(workload_rejects_bad_prefix_and_dtypes) {
  int64_t kv[2] = {64, 16};
  skv_batch b = small_batch(2, kv, 4, 2, 64, 16);
  skv_workload_opts o;
  skv_workload_opts_default(&o);
  skv_workload w;
  char err[256];
  o.shared_prefix = 24;
  ck_assert(!skv_workload_make(&b, &o, &w, err, sizeof err));
  ck_assert(strstr(err, "multiple of the page size"));
  o.shared_prefix = 32;
  ck_assert(!skv_workload_make(&b, &o, &w, err, sizeof err));
  ck_assert(strstr(err, "longer than request 1"));
  o.shared_prefix = 0;
  o.q_dtype = SKV_FP8_E4M3;
  ck_assert(!skv_workload_make(&b, &o, &w, err, sizeof err));
  ck_assert(strstr(err, "fp8_e4m3 queries need"));
  skv_batch_free(&b);
}
END_TEST

Suite *skv_suite_dtype(void) {
  Suite *s = suite_create("dtype+data");
  TCase *tc = tcase_create("conversions");
  tcase_add_test(tc, bf16_round_trip_is_exact_for_every_bf16);
  tcase_add_test(tc, bf16_rounds_to_nearest_even);
  tcase_add_test(tc, fp16_round_trip_is_exact_for_every_fp16);
  tcase_add_test(tc, fp16_rounding_matches_double_arithmetic);
  tcase_add_test(tc, fp16_subnormals_and_overflow);
  suite_add_tcase(s, tc);
  TCase *td = tcase_create("data");
  tcase_add_test(td, gen_uniform_is_in_range_exact_and_not_constant);
  tcase_add_test(td, rng_is_reproducible_and_range_is_inclusive);
  tcase_add_test(td, workload_pages_are_a_permutation_with_a_shared_prefix);
  tcase_add_test(td, workload_rejects_bad_prefix_and_dtypes);
  suite_add_tcase(s, td);
  return s;
}
