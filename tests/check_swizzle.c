/* check_swizzle.c — the 8-bit KV tile swizzle (kernels/swizzle8.h): a bijection, and every shared-memory
 * access pattern of the decode kernel's 8-bit path conflict-free under the bank model below.
 *
 * Bank model (32 banks of 4 bytes): a warp's 16-byte loads are served in 4 phases of 8 lanes, its
 * 8-byte loads in 2 phases of 16 lanes; a phase is conflict-free when its lanes touch distinct
 * banks (lanes reading the same address are one access). */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "suites.h"
#include "swizzle8.h"

enum { kRows = 64 };

typedef unsigned (*swz_fn)(int head_dim, int row, int chunk);

static unsigned row_major(int head_dim, int row, int chunk) { return (unsigned)(row * head_dim + chunk * 16); }

/* One phase: lanes [first, first + n) read `bytes` bytes at addr[lane]; the number of extra
 * wavefronts (0 when conflict-free). */
static int phase_conflicts(const unsigned *addr, int first, int n, int bytes) {
  int use[32] = {0};
  unsigned seen[32];
  int nseen = 0, worst = 0;
  for (int l = first; l < first + n; l++) {
    bool dup = false;
    for (int k = 0; k < nseen; k++) dup = dup || seen[k] == addr[l];
    if (dup) continue;
    seen[nseen++] = addr[l];
    for (int b = 0; b < bytes / 4; b++) {
      const int bank = (int)((addr[l] / 4 + (unsigned)b) % 32);
      if (++use[bank] - 1 > worst) worst = use[bank] - 1;
    }
  }
  return worst;
}

static int warp_conflicts(const unsigned *addr, int bytes) {
  const int lanes = bytes == 16 ? 8 : 16;
  int total = 0;
  for (int first = 0; first < 32; first += lanes) total += phase_conflicts(addr, first, lanes, bytes);
  return total;
}

/* Extra wavefronts over all of one warp's 8-bit loads of a 16-token slice (rows warp*16 ..). */
static int kernel_conflicts(swz_fn swz, int D, int warp) {
  unsigned addr[32];
  int total = 0;
  const int r0 = 16 * warp;
  /* K: lane (quad, c) loads chunk 4 blk + c of row 8 nt + quad. */
  for (int nt = 0; nt < 2; nt++)
    for (int blk = 0; blk < D / 64; blk++) {
      for (int l = 0; l < 32; l++) addr[l] = swz(D, r0 + 8 * nt + l / 4, 4 * blk + l % 4);
      total += warp_conflicts(addr, 16);
    }
  /* V: lane (quad, c) loads bytes [quad D/8, (quad+1) D/8) of rows 2c, 2c+1, 2c+8, 2c+9. */
  for (int i = 0; i < 4; i++) {
    if (D == 64) {
      for (int l = 0; l < 32; l++) {
        const int row = r0 + (i >> 1) * 8 + 2 * (l % 4) + (i & 1), byte = (l / 4) * 8;
        addr[l] = swz(D, row, byte / 16) + (unsigned)(byte % 16);
      }
      total += warp_conflicts(addr, 8);
    } else {
      for (int j = 0; j < D / 128; j++) {
        for (int l = 0; l < 32; l++)
          addr[l] = swz(D, r0 + (i >> 1) * 8 + 2 * (l % 4) + (i & 1), (l / 4) * (D / 128) + j);
        total += warp_conflicts(addr, 16);
      }
    }
  }
  return total;
}

/* cp.async: thread t of the CTA writes chunk t % (D/16) of row t / (D/16) (+ pass rows). */
static int copy_conflicts(swz_fn swz, int D) {
  const int chunks = D / 16, rows_per_pass = 128 / chunks;
  unsigned addr[32];
  int total = 0;
  for (int pass = 0; pass < kRows / rows_per_pass; pass++)
    for (int warp = 0; warp < 4; warp++) {
      for (int l = 0; l < 32; l++) {
        const int t = 32 * warp + l;
        addr[l] = swz(D, t / chunks + pass * rows_per_pass, t % chunks);
      }
      total += warp_conflicts(addr, 16);
    }
  return total;
}

START_TEST(swizzle8_is_a_bijection_on_the_tile) {
  const int D = 64 << _i;
  static unsigned char hit[kRows * 256 / 16];
  memset(hit, 0, sizeof hit);
  for (int r = 0; r < kRows; r++)
    for (int c = 0; c < D / 16; c++) {
      const unsigned off = skv_swz8(D, r, c);
      ck_assert_uint_eq(off % 16, 0);
      ck_assert_uint_lt(off, (unsigned)(kRows * D));
      ck_assert_msg(!hit[off / 16], "D=%d: row %d chunk %d lands on a used chunk", D, r, c);
      hit[off / 16] = 1;
      /* The swizzle never moves a chunk out of its 128-byte line. */
      ck_assert_uint_eq(off / 128, (unsigned)(r * D + c * 16) / 128);
    }
}
END_TEST

START_TEST(swizzle8_reads_and_copies_are_conflict_free) {
  const int D = 64 << _i;
  for (int warp = 0; warp < 4; warp++)
    ck_assert_msg(kernel_conflicts(skv_swz8, D, warp) == 0, "D=%d warp %d: %d extra wavefronts", D, warp,
                  kernel_conflicts(skv_swz8, D, warp));
  ck_assert_int_eq(copy_conflicts(skv_swz8, D), 0);
}
END_TEST

/* The model is not vacuous: row-major tiles do conflict on these patterns. */
START_TEST(row_major_tiles_conflict_under_the_same_model) {
  const int D = 64 << _i;
  ck_assert_int_gt(kernel_conflicts(row_major, D, 0), 0);
  ck_assert_int_eq(copy_conflicts(row_major, D), 0);
}
END_TEST

Suite *skv_suite_swizzle(void) {
  Suite *s = suite_create("swizzle");
  TCase *tc = tcase_create("swizzle8");
  tcase_add_loop_test(tc, swizzle8_is_a_bijection_on_the_tile, 0, 3);
  tcase_add_loop_test(tc, swizzle8_reads_and_copies_are_conflict_free, 0, 3);
  tcase_add_loop_test(tc, row_major_tiles_conflict_under_the_same_model, 0, 3);
  suite_add_tcase(s, tc);
  return s;
}
