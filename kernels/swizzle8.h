/* swizzle8.h — where a 16-byte chunk of an 8-bit (e4m3 / int8) KV stage tile lives in shared memory.
 *
 * The decode kernel (decode_kernel.cuh) keeps 8-bit K and V tiles in shared memory as 64 token rows
 * of D bytes and reads them straight into MMA fragments, without a 16-bit copy (B fragments in the
 * row form, warp_rows.cuh; A fragments in the column form, warp_cols.cuh, which reads the same
 * rows and chunks per lane):
 *   K: lane (quad, c) = (lane / 4, lane % 4) reads 16 bytes, chunk 4 * blk + c of token row
 *      8 * nt + quad (nt = 0, 1; blk = 0 .. D/64 - 1): the head-dim is permuted so that one
 *      16-byte load holds its B values for four k-steps (the query is permuted the same way).
 *   V: the same lane reads the D/8 bytes [quad * D/8, (quad + 1) * D/8) of token rows 2c, 2c + 1,
 *      2c + 8, 2c + 9 (the four tokens of its P fragment); the output dims are permuted instead.
 * Row-major, either pattern piles several lanes of one 8-lane phase (16-byte loads are served a
 * quarter warp at a time; D = 64 reads 8 bytes, a half warp at a time) on the same banks: up to
 * 4-way conflicts. The fix is the usual XOR swizzle, at the granularity of 128-byte lines (32
 * banks): chunk u of line L (u = 0..7, counting the tile as one run of 16-byte chunks) is stored at
 * chunk u ^ f(L) of the same line. f's bits are XORs of line-index bits, and those here were found
 * by an exhaustive search over all such maps for ones that make every phase of both patterns
 * conflict-free (tests/check_swizzle.c re-checks it with the same bank model, and checks that the
 * map is a bijection on the tile). cp.async writes a line's 8 chunks with 8 consecutive threads,
 * so a per-line XOR keeps those conflict-free too.
 * The K pattern needs lines 2 rows apart to differ in bit 2 of f; the V pattern needs the rows 2c
 * (c = 0..3) to get four different pairs of chunks.
 */
#ifndef SKV_SWIZZLE8_H
#define SKV_SWIZZLE8_H

#include "hd.h"

/* Bit b of `x`. */
#define SKV_BIT(x, b) (((unsigned)(x) >> (b)) & 1u)

/* The XOR mask of line `line` of a tile with `head_dim`-byte rows (64, 128 or 256). */
static inline SKV_HD unsigned skv_swz8_mask(int head_dim, unsigned line) {
  switch (head_dim) {
  case 64: return (SKV_BIT(line, 0) << 1) ^ (SKV_BIT(line, 1) << 2);                            /* 2 rows a line */
  case 128: return (SKV_BIT(line, 0) << 2) ^ (SKV_BIT(line, 1) << 1) ^ (SKV_BIT(line, 2) << 2); /* 1 row a line */
  default: return (SKV_BIT(line, 1) << 2) ^ SKV_BIT(line, 2) ^ (SKV_BIT(line, 3) << 2);         /* 2 lines a row */
  }
}

/* Byte offset in the tile of 16-byte chunk `chunk` (0 .. head_dim/16 - 1) of token row `row`. */
static inline SKV_HD unsigned skv_swz8(int head_dim, int row, int chunk) {
  const unsigned lin = (unsigned)row * (unsigned)(head_dim / 16) + (unsigned)chunk; /* chunk index in the tile */
  const unsigned line = lin >> 3;
  return ((line << 3) | ((lin & 7u) ^ skv_swz8_mask(head_dim, line))) * 16u;
}

#undef SKV_BIT

#endif /* SKV_SWIZZLE8_H */
