/* check_layout.c — the layout algebra, FA2's LSE layout table (every row), the demo, `skv layout` errors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "lse_demo.h"
#include "lse_layout.h"
#include "rng.h"
#include "skv_cmd.h"
#include "suites.h"

/* ---------------------------------------------------------------- algebra */

START_TEST(colex_and_row_major_indices_round_trip) {
  const int64_t shape[3] = {3, 4, 5};
  const skv_layout rm = skv_layout_row_major(3, shape), cm = skv_layout_col_major(3, shape);
  int64_t c[3];
  for (int64_t i = 0; i < 60; i++) {
    skv_layout_coord_colex(&cm, i, c);
    ck_assert_int_eq(skv_layout_index_colex(&cm, c), i);
    ck_assert_int_eq(skv_layout_offset(&cm, c), i); /* CuTe's make_layout is the colex identity */
    skv_layout_coord_row_major(&rm, i, c);
    ck_assert_int_eq(skv_layout_index_row_major(&rm, c), i);
    ck_assert_int_eq(skv_layout_offset(&rm, c), i); /* torch.empty is the row-major identity */
  }
  /* 7 in (3,4,5): colex (7%3, 7/3%4, 0) = (1,2,0); row-major (0, 7/5, 7%5) = (0,1,2). */
  skv_layout_coord_colex(&cm, 7, c);
  ck_assert(c[0] == 1 && c[1] == 2 && c[2] == 0);
  skv_layout_coord_row_major(&rm, 7, c);
  ck_assert(c[0] == 0 && c[1] == 1 && c[2] == 2);
  ck_assert_int_eq(skv_layout_size(&rm), 60);
  ck_assert_int_eq(skv_layout_cosize(&cm), 60);
}
END_TEST

START_TEST(cute_make_layout_sq_h_b_is_torch_order_b_h_sq) {
  const int64_t qhb[3] = {4, 2, 3}, bhq[3] = {3, 2, 4};
  const skv_layout cute = skv_layout_col_major(3, qhb), torch = skv_layout_row_major(3, bhq);
  for (int k = 0; k < 3; k++) ck_assert_int_eq(cute.stride[k], torch.stride[2 - k]);
  char s[64];
  skv_layout_format(&cute, s, sizeof s);
  ck_assert_str_eq(s, "(4,2,3):(1,4,8)");
  skv_layout_format(&torch, s, sizeof s);
  ck_assert_str_eq(s, "(3,2,4):(8,4,1)");
}
END_TEST

START_TEST(coalesce_merges_contiguous_modes_and_drops_size_one) {
  skv_layout a = skv_layout3(2, 3, 4, 1, 2, 6), r = skv_layout_coalesce(&a);
  char s[64];
  skv_layout_format(&r, s, sizeof s);
  ck_assert_str_eq(s, "(24):(1)");
  a = skv_layout3(2, 1, 3, 3, 9, 1);
  r = skv_layout_coalesce(&a);
  skv_layout_format(&r, s, sizeof s);
  ck_assert_str_eq(s, "(2,3):(3,1)");
  for (int64_t i = 0; i < 6; i++) ck_assert_int_eq(skv_layout_at(&r, i), skv_layout_at(&a, i));
}
END_TEST

/* R = A o B must satisfy R(i) = A(B(i)) for every i < size(B). */
static void assert_composes(const skv_layout *a, const skv_layout *b, const skv_layout *r) {
  for (int64_t i = 0; i < skv_layout_size(b); i++)
    ck_assert_msg(skv_layout_at(r, i) == skv_layout_at(a, skv_layout_at(b, i)), "i=%lld", (long long)i);
}

START_TEST(compose_known_examples) {
  char err[200], s[96];
  skv_layout r;
  /* CuTe docs (02_layout_algebra): (6,2):(8,2) o (4,3):(3,1) = ((2,2),3):((24,2),8), here flat. */
  const int64_t as[2] = {6, 2}, ad[2] = {8, 2}, bs[2] = {4, 3}, bd[2] = {3, 1};
  skv_layout a = skv_layout_strided(2, as, ad), b = skv_layout_strided(2, bs, bd);
  ck_assert_msg(skv_layout_compose(&a, &b, &r, err, sizeof err), "%s", err);
  skv_layout_format(&r, s, sizeof s);
  ck_assert_str_eq(s, "(2,2,3):(24,2,8)");
  assert_composes(&a, &b, &r);
  /* Row-major 4x2 seen colex, every other element: (4,2):(2,1) o (4):(2) = (2,2):(4,1). */
  const int64_t s2[2] = {4, 2}, d2[2] = {2, 1}, n4 = 4, two = 2;
  a = skv_layout_strided(2, s2, d2);
  b = skv_layout_strided(1, &n4, &two);
  ck_assert(skv_layout_compose(&a, &b, &r, err, sizeof err));
  skv_layout_format(&r, s, sizeof s);
  ck_assert_str_eq(s, "(2,2):(4,1)");
  assert_composes(&a, &b, &r);
  /* Composing with the identity of the same size gives A back (as a function). */
  const int64_t n24 = 24, one = 1;
  a = skv_layout3(2, 3, 4, 12, 1, 3);
  b = skv_layout_strided(1, &n24, &one);
  ck_assert(skv_layout_compose(&a, &b, &r, err, sizeof err));
  assert_composes(&a, &b, &r);
}
END_TEST

START_TEST(compose_of_random_layouts_is_function_composition) {
  skv_rng rng;
  skv_rng_seed(&rng, 7);
  int ok = 0;
  for (int iter = 0; iter < 6000; iter++) {
    int64_t as[3], ad[3], bs[3], bd[3];
    const int32_t ra = (int32_t)skv_rng_range(&rng, 1, 3), rb = (int32_t)skv_rng_range(&rng, 1, 3);
    for (int k = 0; k < 3; k++) {
      as[k] = skv_rng_range(&rng, 1, 4), ad[k] = skv_rng_range(&rng, 0, 12);
      bs[k] = skv_rng_range(&rng, 1, 4), bd[k] = skv_rng_range(&rng, 0, 6);
    }
    const skv_layout a = skv_layout_strided(ra, as, ad), b = skv_layout_strided(rb, bs, bd);
    skv_layout r;
    char err[200];
    if (!skv_layout_compose(&a, &b, &r, err, sizeof err)) {
      ck_assert_msg(strstr(err, "not a layout") || strstr(err, "past size(A)") || strstr(err, "rank"), "%s", err);
      continue;
    }
    ok++;
    assert_composes(&a, &b, &r);
  }
  ck_assert_int_gt(ok, 1000);
}
END_TEST

START_TEST(compose_fails_when_not_divisible) {
  char err[200];
  skv_layout r;
  const skv_layout a = skv_layout3(3, 4, 1, 4, 1, 0); /* 3 does not divide stride 2, nor 2 it */
  const int64_t two = 2, four = 4, one = 1;
  skv_layout b = skv_layout_strided(1, &two, &two);
  ck_assert(!skv_layout_compose(&a, &b, &r, err, sizeof err));
  ck_assert_msg(strstr(err, "stride 2") && strstr(err, "not a layout"), "%s", err);
  b = skv_layout_strided(1, &four, &one); /* 4 elements over a mode of 3: ragged */
  ck_assert(!skv_layout_compose(&a, &b, &r, err, sizeof err));
  ck_assert_msg(strstr(err, "shape 4") && strstr(err, "not a layout"), "%s", err);
  /* Both modes of B step by 2 inside A's first mode of 4: their sum carries. */
  const int64_t s44[2] = {4, 4}, d34[2] = {3, 4}, s22[2] = {2, 2}, d22[2] = {2, 2};
  const skv_layout a2 = skv_layout_strided(2, s44, d34);
  b = skv_layout_strided(2, s22, d22);
  ck_assert(!skv_layout_compose(&a2, &b, &r, err, sizeof err));
  ck_assert_msg(strstr(err, "carries"), "%s", err);
  /* B past the end of A. */
  const int64_t n9 = 9; /* offsets up to 16 */
  b = skv_layout_strided(1, &n9, &two);
  ck_assert(!skv_layout_compose(&a2, &b, &r, err, sizeof err));
  ck_assert_msg(strstr(err, "past size(A)"), "%s", err);
}
END_TEST

/* FA2 combine_attn_seqk_parallel: final_layout = remapped o (orig o flat),
 * orig = make_layout((sq, h, b)), remapped = (sq, h, b):transposed_stride.
 * Thread index i = (b*h + h)*sq + m must land at (h*sq + m)*B + b when
 * swapped and at h*sq*B + b*sq + m when not (flash_fwd_kernel.h). */
static void check_combine_final_layout(bool swapped) {
  const int64_t B = 3, H = 2, SQ = 4, N = B * H * SQ, qhb[3] = {SQ, H, B};
  const skv_layout flat = skv_layout_col_major(1, &N), orig = skv_layout_col_major(3, qhb);
  const skv_layout remapped =
      swapped ? skv_layout3(SQ, H, B, B, SQ * B, 1) : skv_layout3(SQ, H, B, 1, SQ * B, SQ);
  skv_layout of, fin, by_coord;
  char err[200];
  ck_assert(skv_layout_compose(&orig, &flat, &of, err, sizeof err));
  ck_assert(skv_layout_compose(&remapped, &of, &fin, err, sizeof err));
  ck_assert(skv_layout_is_bijective(&fin));
  ck_assert(skv_lse_write_layout(SKV_LSE_COMBINE, swapped, true, B, H, SQ, &by_coord, err, sizeof err));
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < H; h++)
      for (int64_t m = 0; m < SQ; m++) {
        const int64_t i = (b * H + h) * SQ + m;
        const int64_t want = swapped ? (h * SQ + m) * B + b : h * SQ * B + b * SQ + m;
        ck_assert_int_eq(skv_layout_at(&fin, i), want);
        ck_assert_int_eq(skv_layout_offset3(&by_coord, b, h, m), want);
      }
}

START_TEST(combine_final_layout_swapped_is_h_sq_b) { check_combine_final_layout(true); }
END_TEST
START_TEST(combine_final_layout_not_swapped_is_h_b_sq) { check_combine_final_layout(false); }
END_TEST

static bool brute_bijective(const skv_layout *l) {
  const int64_t n = skv_layout_size(l);
  char *seen = calloc((size_t)n, 1);
  bool ok = true;
  int64_t c[SKV_LAYOUT_MAX_RANK];
  for (int64_t i = 0; i < n && ok; i++) {
    skv_layout_coord_colex(l, i, c);
    const int64_t off = skv_layout_offset(l, c);
    ok = off < n && !seen[off];
    if (ok) seen[off] = 1;
  }
  free(seen);
  return ok;
}

START_TEST(bijectivity_known_cases_and_brute_force) {
  ck_assert(skv_layout_is_bijective(&(skv_layout){.rank = 2, .shape = {3, 2}, .stride = {2, 1}}));
  ck_assert(!skv_layout_is_bijective(&(skv_layout){.rank = 2, .shape = {2, 2}, .stride = {1, 1}}));
  ck_assert(!skv_layout_is_bijective(&(skv_layout){.rank = 2, .shape = {2, 2}, .stride = {1, 3}}));
  ck_assert(!skv_layout_is_bijective(&(skv_layout){.rank = 1, .shape = {4}, .stride = {0}}));
  ck_assert(skv_layout_is_bijective(&(skv_layout){.rank = 2, .shape = {1, 5}, .stride = {7, 1}}));
  skv_rng rng;
  skv_rng_seed(&rng, 11);
  int yes = 0;
  for (int iter = 0; iter < 5000; iter++) {
    int64_t s[3], d[3];
    const int32_t r = (int32_t)skv_rng_range(&rng, 1, 3);
    for (int k = 0; k < 3; k++) s[k] = skv_rng_range(&rng, 1, 4), d[k] = skv_rng_range(&rng, 0, 12);
    const skv_layout l = skv_layout_strided(r, s, d);
    const bool b = brute_bijective(&l);
    ck_assert_msg(skv_layout_is_bijective(&l) == b, "iter %d", iter);
    yes += b;
  }
  ck_assert_int_gt(yes, 50);
}
END_TEST

START_TEST(torch_view_of_transposed_tensor_fails_and_reshape_copies) {
  const int64_t shape[3] = {2, 3, 4}, flat[1] = {24}, two12[2] = {2, 12}, eight3[2] = {8, 3};
  const int64_t six4[2] = {6, 4}, unsq[4] = {2, 1, 4, 3};
  skv_layout x = skv_layout_row_major(3, shape), v;
  ck_assert(skv_layout_view(&x, 2, six4, &v));
  ck_assert(v.stride[0] == 4 && v.stride[1] == 1);
  ck_assert(skv_layout_view(&x, 1, flat, &v));
  ck_assert(skv_layout_view(&x, 2, eight3, &v));
  ck_assert(v.stride[0] == 3 && v.stride[1] == 1);
  /* x.transpose(1, 2): (2,4,3):(12,1,4) — not viewable flat, nor as (2,12) or (8,3). */
  ck_assert(skv_layout_transpose(&x, 1, 2, &x));
  ck_assert(!skv_layout_view(&x, 1, flat, &v));
  ck_assert(!skv_layout_view(&x, 2, two12, &v));
  ck_assert(!skv_layout_view(&x, 2, eight3, &v));
  ck_assert(skv_layout_view(&x, 4, unsq, &v)); /* inserting a size-1 dim is always a view */
  ck_assert(v.stride[0] == 12 && v.stride[2] == 1 && v.stride[3] == 4);
  /* The same through host tensors: reshape views when it can, else copies in row-major order. */
  skv_host_tensor t;
  ck_assert(skv_host_tensor_empty(&t, 3, shape));
  for (int64_t i = 0; i < 24; i++) t.data[i] = (double)i;
  ck_assert(skv_host_tensor_reshape(&t, 2, six4));
  ck_assert_int_eq(t.copies, 0);
  ck_assert(skv_host_tensor_reshape(&t, 3, shape));
  ck_assert(skv_host_tensor_transpose(&t, 1, 2));
  ck_assert(!skv_host_tensor_is_contiguous(&t));
  ck_assert(skv_host_tensor_reshape(&t, 1, flat));
  ck_assert_int_eq(t.copies, 1);
  ck_assert(skv_host_tensor_is_contiguous(&t));
  /* y = x.transpose(1,2), y[i][k][j] = x[i][j][k] = 12i + 4j + k: flat 1 of y is
   * (0,0,1) = x[0][1][0] = 4, flat 5 is (0,1,2) = x[0][2][1] = 9. */
  const int64_t c1[1] = {1}, c5[1] = {5};
  ck_assert(skv_host_tensor_get(&t, c1) == 4.0);
  ck_assert(skv_host_tensor_get(&t, c5) == 9.0);
  ck_assert(skv_host_tensor_reshape(&t, 2, eight3)); /* contiguous again: a view, no second copy */
  ck_assert_int_eq(t.copies, 1);
  skv_host_tensor_free(&t);
}
END_TEST

START_TEST(format_prints_shape_colon_stride) {
  const skv_layout l = skv_layout3(4, 8, 2, 16, 2, 1);
  char s[64];
  skv_layout_format(&l, s, sizeof s);
  ck_assert_str_eq(s, "(4,8,2):(16,2,1)");
  char e[128];
  skv_layout bad = l;
  bad.stride[1] = -1;
  ck_assert(!skv_layout_check(&bad, e, sizeof e));
  ck_assert(strstr(e, "mode 1"));
  ck_assert(skv_layout_check(&l, e, sizeof e));
}
END_TEST

/* ---------------------------------------------------------------- the table */

/* The table's default shape: 3 requests, 2 kv heads, groups of 4, 2 query
 * tokens per request when not swapped. */
static skv_lse_row eval_row(bool swapped, bool unpadded, skv_lse_kernel k, skv_lse_host h, int64_t b, int64_t hkv,
                            int64_t g, int64_t q) {
  const skv_lse_case c = {.swapped = swapped, .unpadded = unpadded, .kernel = k, .host = h,
                          .batch = b, .kv_heads = hkv, .groups = g, .qlen = swapped ? 1 : q};
  skv_lse_row r;
  char err[256];
  ck_assert_msg(skv_lse_evaluate(&c, &r, err, sizeof err), "%s", err);
  return r;
}

static void expect_row(bool swapped, bool unpadded, skv_lse_kernel k, skv_lse_host h, bool right) {
  const skv_lse_row r = eval_row(swapped, unpadded, k, h, 3, 2, 4, 2);
  ck_assert_msg(r.correct == right, "%s %s %s %s: got %s (%s)", swapped ? "swapped" : "not swapped",
                unpadded ? "unpadded" : "padded", skv_lse_kernel_name(k), skv_lse_host_name(h),
                r.correct ? "OK" : "WRONG", r.example);
  ck_assert_int_eq(r.elements, 24 * (swapped ? 1 : 2));
  if (right) {
    ck_assert_int_eq(r.misplaced, 0);
    ck_assert_str_eq(r.kernel_order, r.host_order); /* the host reads what the kernel wrote */
  } else {
    ck_assert_int_gt(r.misplaced, r.elements / 2); /* visibly wrong at the default shape */
    ck_assert_str_ne(r.kernel_order, r.host_order);
    ck_assert(strstr(r.example, " holds "));
  }
}

/* Expected verdicts, from the sources (see lse_layout.c): swapped varlen
 * kernels write standard (h,sq,b), split-1 (h,b,sq), combine (h,sq,b);
 * upstream's reshape(h*sq,b) reads (h,sq,b); the fork's transpose reads
 * (h,b,sq), after PR #87 only when num_splits <= 1. Padded and not-swapped
 * rows write what their API documents, and no host op moves them. */
#define S true
#define N false
#define ROW(name, sw, un, k, h, right)                                                                                 \
  START_TEST(name) { expect_row(sw, un, k, h, right); }                                                                \
  END_TEST
ROW(swapped_unpadded_standard_upstream_is_right, S, S, SKV_LSE_STANDARD, SKV_LSE_HOST_UPSTREAM, true)
ROW(swapped_unpadded_standard_fork_before_fix_is_wrong, S, S, SKV_LSE_STANDARD, SKV_LSE_HOST_FORK_BEFORE, false)
ROW(swapped_unpadded_standard_fork_after_fix_is_wrong, S, S, SKV_LSE_STANDARD, SKV_LSE_HOST_FORK_AFTER, false)
ROW(swapped_unpadded_split1_upstream_is_wrong, S, S, SKV_LSE_SPLIT1, SKV_LSE_HOST_UPSTREAM, false)
ROW(swapped_unpadded_split1_fork_before_fix_is_right, S, S, SKV_LSE_SPLIT1, SKV_LSE_HOST_FORK_BEFORE, true)
ROW(swapped_unpadded_split1_fork_after_fix_is_right, S, S, SKV_LSE_SPLIT1, SKV_LSE_HOST_FORK_AFTER, true)
ROW(swapped_unpadded_combine_upstream_is_right, S, S, SKV_LSE_COMBINE, SKV_LSE_HOST_UPSTREAM, true)
ROW(swapped_unpadded_combine_fork_before_fix_is_wrong, S, S, SKV_LSE_COMBINE, SKV_LSE_HOST_FORK_BEFORE, false)
ROW(swapped_unpadded_combine_fork_after_fix_is_right, S, S, SKV_LSE_COMBINE, SKV_LSE_HOST_FORK_AFTER, true)
ROW(swapped_padded_standard_upstream_is_right, S, N, SKV_LSE_STANDARD, SKV_LSE_HOST_UPSTREAM, true)
ROW(swapped_padded_standard_fork_before_fix_is_right, S, N, SKV_LSE_STANDARD, SKV_LSE_HOST_FORK_BEFORE, true)
ROW(swapped_padded_standard_fork_after_fix_is_right, S, N, SKV_LSE_STANDARD, SKV_LSE_HOST_FORK_AFTER, true)
ROW(swapped_padded_split1_upstream_is_right, S, N, SKV_LSE_SPLIT1, SKV_LSE_HOST_UPSTREAM, true)
ROW(swapped_padded_split1_fork_before_fix_is_right, S, N, SKV_LSE_SPLIT1, SKV_LSE_HOST_FORK_BEFORE, true)
ROW(swapped_padded_split1_fork_after_fix_is_right, S, N, SKV_LSE_SPLIT1, SKV_LSE_HOST_FORK_AFTER, true)
ROW(swapped_padded_combine_upstream_is_right, S, N, SKV_LSE_COMBINE, SKV_LSE_HOST_UPSTREAM, true)
ROW(swapped_padded_combine_fork_before_fix_is_right, S, N, SKV_LSE_COMBINE, SKV_LSE_HOST_FORK_BEFORE, true)
ROW(swapped_padded_combine_fork_after_fix_is_right, S, N, SKV_LSE_COMBINE, SKV_LSE_HOST_FORK_AFTER, true)
ROW(unswapped_unpadded_standard_upstream_is_right, N, S, SKV_LSE_STANDARD, SKV_LSE_HOST_UPSTREAM, true)
ROW(unswapped_unpadded_standard_fork_before_fix_is_right, N, S, SKV_LSE_STANDARD, SKV_LSE_HOST_FORK_BEFORE, true)
ROW(unswapped_unpadded_standard_fork_after_fix_is_right, N, S, SKV_LSE_STANDARD, SKV_LSE_HOST_FORK_AFTER, true)
ROW(unswapped_unpadded_split1_upstream_is_right, N, S, SKV_LSE_SPLIT1, SKV_LSE_HOST_UPSTREAM, true)
ROW(unswapped_unpadded_split1_fork_before_fix_is_right, N, S, SKV_LSE_SPLIT1, SKV_LSE_HOST_FORK_BEFORE, true)
ROW(unswapped_unpadded_split1_fork_after_fix_is_right, N, S, SKV_LSE_SPLIT1, SKV_LSE_HOST_FORK_AFTER, true)
ROW(unswapped_unpadded_combine_upstream_is_right, N, S, SKV_LSE_COMBINE, SKV_LSE_HOST_UPSTREAM, true)
ROW(unswapped_unpadded_combine_fork_before_fix_is_right, N, S, SKV_LSE_COMBINE, SKV_LSE_HOST_FORK_BEFORE, true)
ROW(unswapped_unpadded_combine_fork_after_fix_is_right, N, S, SKV_LSE_COMBINE, SKV_LSE_HOST_FORK_AFTER, true)
ROW(unswapped_padded_standard_upstream_is_right, N, N, SKV_LSE_STANDARD, SKV_LSE_HOST_UPSTREAM, true)
ROW(unswapped_padded_standard_fork_before_fix_is_right, N, N, SKV_LSE_STANDARD, SKV_LSE_HOST_FORK_BEFORE, true)
ROW(unswapped_padded_standard_fork_after_fix_is_right, N, N, SKV_LSE_STANDARD, SKV_LSE_HOST_FORK_AFTER, true)
ROW(unswapped_padded_split1_upstream_is_right, N, N, SKV_LSE_SPLIT1, SKV_LSE_HOST_UPSTREAM, true)
ROW(unswapped_padded_split1_fork_before_fix_is_right, N, N, SKV_LSE_SPLIT1, SKV_LSE_HOST_FORK_BEFORE, true)
ROW(unswapped_padded_split1_fork_after_fix_is_right, N, N, SKV_LSE_SPLIT1, SKV_LSE_HOST_FORK_AFTER, true)
ROW(unswapped_padded_combine_upstream_is_right, N, N, SKV_LSE_COMBINE, SKV_LSE_HOST_UPSTREAM, true)
ROW(unswapped_padded_combine_fork_before_fix_is_right, N, N, SKV_LSE_COMBINE, SKV_LSE_HOST_FORK_BEFORE, true)
ROW(unswapped_padded_combine_fork_after_fix_is_right, N, N, SKV_LSE_COMBINE, SKV_LSE_HOST_FORK_AFTER, true)
#undef ROW
#undef S
#undef N

START_TEST(swapped_varlen_kernels_write_h_sq_b_or_h_b_sq) {
  ck_assert_str_eq(eval_row(true, true, SKV_LSE_STANDARD, SKV_LSE_HOST_UPSTREAM, 3, 2, 4, 1).kernel_order, "(h,sq,b)");
  ck_assert_str_eq(eval_row(true, true, SKV_LSE_SPLIT1, SKV_LSE_HOST_UPSTREAM, 3, 2, 4, 1).kernel_order, "(h,b,sq)");
  ck_assert_str_eq(eval_row(true, true, SKV_LSE_COMBINE, SKV_LSE_HOST_UPSTREAM, 3, 2, 4, 1).kernel_order, "(h,sq,b)");
  /* The fork's transpose makes a copy (a transposed tensor cannot be viewed as (h*sq, b)). */
  const skv_lse_row r = eval_row(true, true, SKV_LSE_SPLIT1, SKV_LSE_HOST_FORK_BEFORE, 3, 2, 4, 1);
  ck_assert_int_eq(r.copies, 1);
  ck_assert(r.contiguous);
  ck_assert_str_eq(r.ops, "reshape(h,b,sq).transpose(1,2).reshape(h*sq,b)");
}
END_TEST

START_TEST(verdicts_do_not_depend_on_the_shape) {
  skv_lse_row base[SKV_LSE_TABLE_ROWS], other[SKV_LSE_TABLE_ROWS];
  char err[256];
  ck_assert(skv_lse_table(3, 2, 4, 2, base, err, sizeof err));
  const int64_t shapes[][4] = {{2, 1, 2, 3}, {5, 3, 2, 2}, {4, 8, 4, 1}, {7, 2, 8, 5}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    ck_assert(skv_lse_table(shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], other, err, sizeof err));
    for (int i = 0; i < SKV_LSE_TABLE_ROWS; i++) {
      ck_assert_msg(other[i].correct == base[i].correct, "shape %zu row %d", s, i);
      ck_assert(skv_layout_is_bijective(&other[i].kernel));
    }
  }
}
END_TEST

START_TEST(a_batch_of_one_hides_the_bug) {
  /* With b = 1 the transposed axes have size 1: every row reads right. */
  skv_lse_row rows[SKV_LSE_TABLE_ROWS];
  char err[256];
  ck_assert(skv_lse_table(1, 2, 4, 2, rows, err, sizeof err));
  for (int i = 0; i < SKV_LSE_TABLE_ROWS; i++) ck_assert_msg(rows[i].correct, "row %d", i);
}
END_TEST

START_TEST(write_layouts_are_bijections_onto_the_lse_buffer) {
  char err[256];
  for (int k = 0; k < SKV_LSE_KERNEL_COUNT; k++)
    for (int sw = 0; sw < 2; sw++)
      for (int un = 0; un < 2; un++) {
        skv_layout l;
        ck_assert_msg(skv_lse_write_layout((skv_lse_kernel)k, sw, un, 5, 3, 4, &l, err, sizeof err), "%s", err);
        ck_assert(skv_layout_is_bijective(&l));
        ck_assert_int_eq(skv_layout_cosize(&l), 60);
      }
  skv_layout l;
  ck_assert(!skv_lse_write_layout(SKV_LSE_COMBINE, true, true, 0, 3, 4, &l, err, sizeof err));
  ck_assert(strstr(err, "out of range"));
}
END_TEST

/* ---------------------------------------------------------------- the demo */

/* A small demo under the sanitizers: 8 SMs; b = 4, hkv = 2 splits in 2
 * (d = 64: one block of 256 keys per split), b = 8 does not split. */
static void small_demo(int32_t batch, skv_lse_demo_result *r) {
  skv_lse_demo_config c;
  skv_lse_demo_config_default(&c);
  c.num_sms = 8, c.batch = batch, c.kv_heads = 2, c.groups = 4, c.head_dim = 64;
  c.prefix = 256, c.suffix = 512;
  char err[256];
  ck_assert_msg(skv_lse_demo_run(&c, r, err, sizeof err), "%s", err);
}

START_TEST(demo_split_batch_is_wrong_before_the_fix_only) {
  skv_lse_demo_result r;
  small_demo(4, &r);
  ck_assert_int_eq(r.num_splits, 2);
  ck_assert_int_eq(r.kernel, SKV_LSE_COMBINE);
  ck_assert_double_gt(r.host[SKV_LSE_HOST_FORK_BEFORE].o_rel, 1e-2);
  ck_assert_int_gt(r.host[SKV_LSE_HOST_FORK_BEFORE].lse_misplaced, 0);
  ck_assert_double_lt(r.host[SKV_LSE_HOST_FORK_AFTER].o_rel, 1e-12);
  ck_assert_double_lt(r.host[SKV_LSE_HOST_FORK_AFTER].lse_max_abs, 1e-12);
  ck_assert_double_lt(r.host[SKV_LSE_HOST_UPSTREAM].o_rel, 1e-12);
}
END_TEST

START_TEST(demo_unsplit_batch_is_wrong_upstream_only) {
  skv_lse_demo_result r;
  small_demo(8, &r);
  ck_assert_int_eq(r.num_splits, 1);
  ck_assert_int_eq(r.kernel, SKV_LSE_SPLIT1);
  ck_assert_double_gt(r.host[SKV_LSE_HOST_UPSTREAM].o_rel, 1e-2);
  ck_assert_double_lt(r.host[SKV_LSE_HOST_FORK_BEFORE].o_rel, 1e-12);
  ck_assert_double_lt(r.host[SKV_LSE_HOST_FORK_AFTER].o_rel, 1e-12);
}
END_TEST

/* ---------------------------------------------------------------- the command */

static char out[1 << 20], err[8192];

START_TEST(layout_json_lists_36_rows_4_wrong) {
  ck_assert_int_eq(skv_test_run("layout --json", out, sizeof out, err, sizeof err), 0);
  ck_assert_int_eq(skv_test_count(out, "\"kernel_path\""), 36);
  ck_assert_int_eq(skv_test_count(out, "\"correct\": false"), 4);
  ck_assert_int_eq(skv_test_run("layout", out, sizeof out, err, sizeof err), 0);
  ck_assert(strstr(out, "summary"));
  ck_assert(strstr(out, "right in all 8 rows"));
}
END_TEST

/* The value after "key": following `from` in a JSON text. */
static double json_number_after(const char *from, const char *key) {
  const char *p = strstr(from, key);
  ck_assert_msg(p != NULL, "no %s", key);
  return strtod(p + strlen(key), NULL);
}

START_TEST(demo_default_error_above_1e_2_before_fix_below_1e_12_after) {
  ck_assert_int_eq(skv_test_run("layout --demo --json", out, sizeof out, err, sizeof err), 0);
  const char *split = strstr(out, "\"num_splits\": 3"), *one = strstr(out, "\"num_splits\": 1");
  ck_assert(split && one && split < one);
  const char *before = strstr(split, "\"host_path\": \"vllm-fork-before-fix\"");
  const char *after = strstr(split, "\"host_path\": \"vllm-fork-after-fix\"");
  ck_assert(before && after && after < one);
  ck_assert_double_gt(json_number_after(before, "\"o_rel_error\": "), 1e-2);
  ck_assert_double_lt(json_number_after(after, "\"o_rel_error\": "), 1e-12);
  after = strstr(one, "\"host_path\": \"vllm-fork-after-fix\"");
  ck_assert(after);
  ck_assert_double_lt(json_number_after(after, "\"o_rel_error\": "), 1e-12);
}
END_TEST

START_TEST(layout_bad_flags_exit_2_with_a_message) {
  skv_test_usage_error("layout --batch 0", "--batch");
  skv_test_usage_error("layout --bogus", "--bogus: unknown flag");
  skv_test_usage_error("layout --groups 3 --hkv 0", "--hkv");
  skv_test_usage_error("layout --groups 1", "--groups");
  skv_test_usage_error("layout --groups 65", "--groups");
  skv_test_usage_error("layout --sms 108", "--sms: only with --demo");
  skv_test_usage_error("layout --seqlen 4096", "--seqlen: only with --demo");
  skv_test_usage_error("layout --demo --prefix 100", "--prefix");
  skv_test_usage_error("layout --demo --seqlen 0", "--seqlen");
  skv_test_usage_error("layout --demo --sms x", "--sms");
  skv_test_usage_error("layout --batch 4096 --hkv 256 --groups 64", "--batch");
  /* the demo's work is bounded before it starts: the largest flags would run for days */
  skv_test_usage_error("layout --demo --batch 4096 --hkv 256 --groups 64 --seqlen 65536 --prefix 65536",
                       "--batch/--hkv/--groups/--seqlen/--prefix: the demo's work, requests x hq x (prefix + seqlen) "
                       "x d = 1125899906842624, is more than its limit 2147483648");
  /* the defaults' two batches (8 + 24, hq 32, d 128) over 1024 + 65536 keys: 8724152320 */
  skv_test_usage_error("layout --demo --seqlen 65536", "= 8724152320, is more than its limit");
  skv_test_usage_error("layout --json=1", "--json");
  skv_test_usage_error("layout stray", "unexpected argument");
  ck_assert_int_eq(skv_test_run("layout --help", out, sizeof out, err, sizeof err), 0);
  ck_assert(strstr(out, "--demo") && strstr(out, "--prefix"));
}
END_TEST

Suite *skv_suite_layout(void) {
  Suite *s = suite_create("layout");
  TCase *alg = tcase_create("algebra");
  tcase_add_test(alg, colex_and_row_major_indices_round_trip);
  tcase_add_test(alg, cute_make_layout_sq_h_b_is_torch_order_b_h_sq);
  tcase_add_test(alg, coalesce_merges_contiguous_modes_and_drops_size_one);
  tcase_add_test(alg, compose_known_examples);
  tcase_add_test(alg, compose_of_random_layouts_is_function_composition);
  tcase_add_test(alg, compose_fails_when_not_divisible);
  tcase_add_test(alg, combine_final_layout_swapped_is_h_sq_b);
  tcase_add_test(alg, combine_final_layout_not_swapped_is_h_b_sq);
  tcase_add_test(alg, bijectivity_known_cases_and_brute_force);
  tcase_add_test(alg, torch_view_of_transposed_tensor_fails_and_reshape_copies);
  tcase_add_test(alg, format_prints_shape_colon_stride);
  suite_add_tcase(s, alg);
  TCase *tab = tcase_create("table");
  tcase_add_test(tab, swapped_unpadded_standard_upstream_is_right);
  tcase_add_test(tab, swapped_unpadded_standard_fork_before_fix_is_wrong);
  tcase_add_test(tab, swapped_unpadded_standard_fork_after_fix_is_wrong);
  tcase_add_test(tab, swapped_unpadded_split1_upstream_is_wrong);
  tcase_add_test(tab, swapped_unpadded_split1_fork_before_fix_is_right);
  tcase_add_test(tab, swapped_unpadded_split1_fork_after_fix_is_right);
  tcase_add_test(tab, swapped_unpadded_combine_upstream_is_right);
  tcase_add_test(tab, swapped_unpadded_combine_fork_before_fix_is_wrong);
  tcase_add_test(tab, swapped_unpadded_combine_fork_after_fix_is_right);
  tcase_add_test(tab, swapped_padded_standard_upstream_is_right);
  tcase_add_test(tab, swapped_padded_standard_fork_before_fix_is_right);
  tcase_add_test(tab, swapped_padded_standard_fork_after_fix_is_right);
  tcase_add_test(tab, swapped_padded_split1_upstream_is_right);
  tcase_add_test(tab, swapped_padded_split1_fork_before_fix_is_right);
  tcase_add_test(tab, swapped_padded_split1_fork_after_fix_is_right);
  tcase_add_test(tab, swapped_padded_combine_upstream_is_right);
  tcase_add_test(tab, swapped_padded_combine_fork_before_fix_is_right);
  tcase_add_test(tab, swapped_padded_combine_fork_after_fix_is_right);
  tcase_add_test(tab, unswapped_unpadded_standard_upstream_is_right);
  tcase_add_test(tab, unswapped_unpadded_standard_fork_before_fix_is_right);
  tcase_add_test(tab, unswapped_unpadded_standard_fork_after_fix_is_right);
  tcase_add_test(tab, unswapped_unpadded_split1_upstream_is_right);
  tcase_add_test(tab, unswapped_unpadded_split1_fork_before_fix_is_right);
  tcase_add_test(tab, unswapped_unpadded_split1_fork_after_fix_is_right);
  tcase_add_test(tab, unswapped_unpadded_combine_upstream_is_right);
  tcase_add_test(tab, unswapped_unpadded_combine_fork_before_fix_is_right);
  tcase_add_test(tab, unswapped_unpadded_combine_fork_after_fix_is_right);
  tcase_add_test(tab, unswapped_padded_standard_upstream_is_right);
  tcase_add_test(tab, unswapped_padded_standard_fork_before_fix_is_right);
  tcase_add_test(tab, unswapped_padded_standard_fork_after_fix_is_right);
  tcase_add_test(tab, unswapped_padded_split1_upstream_is_right);
  tcase_add_test(tab, unswapped_padded_split1_fork_before_fix_is_right);
  tcase_add_test(tab, unswapped_padded_split1_fork_after_fix_is_right);
  tcase_add_test(tab, unswapped_padded_combine_upstream_is_right);
  tcase_add_test(tab, unswapped_padded_combine_fork_before_fix_is_right);
  tcase_add_test(tab, unswapped_padded_combine_fork_after_fix_is_right);
  tcase_add_test(tab, swapped_varlen_kernels_write_h_sq_b_or_h_b_sq);
  tcase_add_test(tab, verdicts_do_not_depend_on_the_shape);
  tcase_add_test(tab, a_batch_of_one_hides_the_bug);
  tcase_add_test(tab, write_layouts_are_bijections_onto_the_lse_buffer);
  suite_add_tcase(s, tab);
  TCase *demo = tcase_create("demo");
  tcase_add_test(demo, demo_split_batch_is_wrong_before_the_fix_only);
  tcase_add_test(demo, demo_unsplit_batch_is_wrong_upstream_only);
  suite_add_tcase(s, demo);
  TCase *cli = tcase_create("cli");
  tcase_add_test(cli, layout_json_lists_36_rows_4_wrong);
  tcase_add_test(cli, demo_default_error_above_1e_2_before_fix_below_1e_12_after);
  tcase_add_test(cli, layout_bad_flags_exit_2_with_a_message);
  suite_add_tcase(s, cli);
  return s;
}
