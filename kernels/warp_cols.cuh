// warp_cols.cuh — one warp's share of the decode kernel with the q heads as the MMA's columns: the
// form for 8-bit K and V caches when a KV head serves at most 8 q heads (warp_rows.cuh serves the
// rest).
//
// Why. In the row form (warp_rows.cuh) the G q heads are the 16 rows of every MMA, so with G <= 8
// at least half of every score and output fragment is padding: registers (the output alone is
// D/8 x 4 floats a thread) and MMAs spent on zeros. Here the roles are swapped, as the transpose
// of both products:
//   S^T = K Q^T      m16n8k16 with A = K (16 tokens x 16 dims), B = Q^T (16 dims x 8 heads)
//   O^T += V^T P^T   m16n8k16 with A = V^T (16 dims x 16 tokens), B = P^T (16 tokens x 8 heads)
// so the 8 heads are the n = 8 columns, the output fragment is D/16 x 4 floats and each product
// takes D/16 MMAs for 16 tokens instead of D/8. The same transposition serves few query columns in
// llama.cpp's mma flash attention (ggml-org/llama.cpp, ggml/src/ggml-cuda/fattn-mma-f16.cuh: K as
// the A operand, Q as B, column maxima reduced across the quads); here it also carries 8-bit codes.
//
// Fragments (mma.cuh's layouts; lane = (quad, c) = (lane / 4, lane % 4)):
//   - K as A: a0/a2 = K[token quad][k-step positions 2c..2c+1 / 2c+8..2c+9], a1/a3 the same for
//     token quad + 8. With the head-dim permutation of warp_rows.cuh (k-step s = 4 blk + sub takes
//     dims 64 blk + 16 c + 4 sub + {0,1,2,3} in those positions) the 16 bytes at 64 blk + 16 c of
//     one token row are the lane's values for the 4 k-steps of block blk: two 16-byte loads (tokens
//     quad and quad + 8) feed 4 MMAs. These are the rows and chunks warp_rows.cuh reads, so the
//     byte swizzle (swizzle8.h) keeps them conflict-free. Q^T as B: b0/b1 = Q[head quad][the same
//     dims], one 8-byte load per k-step.
//   - The S^T fragment c0..c3 holds (token quad, heads 2c, 2c+1) and (token quad + 8, heads 2c,
//     2c+1). The softmax runs per column (head): each thread's two tokens, then across the 8 quads.
//   - P^T as B needs b0 = P^T[tokens 2c, 2c+1][head quad], b1 the same for tokens 2c+8, 2c+9: the
//     transpose of the fragment of P^T's two 8x8 halves, which one movmatrix each gives.
//   - V^T as A: a0/a1 = V^T[dim rows quad / quad + 8][tokens 2c, 2c+1], a2/a3 the same for tokens
//     2c+8, 2c+9. Let rows quad and quad + 8 of dim tile mt be dims quad * D/8 + 2 mt and + 1: the
//     lane reads the D/8 contiguous bytes [quad * D/8, (quad + 1) * D/8) of its 4 token rows (again
//     warp_rows.cuh's V pattern) and byte-permutes pairs of rows into (t, t+1) code pairs; byte
//     4 wd + i of the slice is dim tile 2 wd + i / 2, row quad (+ 8 for odd i). The output dims are
//     un-permuted when stored.
// Scales act as in warp_rows.cuh: the per-tensor ones are folded by the caller, a per-token K scale
// multiplies its score, a per-token V scale its probability before P.V (the sums use the unscaled
// ones). The arithmetic differs from the row form only in the order of the fp32 sums.
#pragma once

#include <math.h>

#include "decode_common.cuh"
#include "mma.cuh"
#include "swizzle8.h"

namespace skv {

template <typename T, int D, int V>
struct WarpCols {
  using KV = KvTraits<V>;
  static_assert(KV::kKBytes == 1 && KV::kVBytes == 1, "the column form reads 8-bit K and V");
  static_assert(std::is_same<T, __half>::value, "8-bit codes feed the fp16 MMA");
  static constexpr int kRows = 8;  // packed rows the form holds (MMA columns)
  // The two rows (columns here) whose state this lane holds: 2c and 2c + 1.
  static __device__ __forceinline__ int row_of(int lane, int i) { return 2 * (lane & 3) + i; }

  uint32_t qb[D / 16][2];
  float m[2] = {-INFINITY, -INFINITY};  // running max (log2 units) of heads 2c and 2c + 1
  float l[2] = {0.f, 0.f};              // this thread's share (its tokens) of their running sums
  float acc[D / 16][4];                 // O^T tiles: (dim rows quad, quad + 8) x (heads 2c, 2c + 1)

  // Q^T fragments from the Q tile (swz<D> layout, rows G..7 zero); zero state.
  __device__ __forceinline__ void init(const unsigned char *qtile, int lane) {
#pragma unroll
    for (int i = 0; i < D / 16; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.f;
#pragma unroll
    for (int ks = 0; ks < D / 16; ++ks) {
      const int dim = 64 * (ks >> 2) + 16 * (lane & 3) + 4 * (ks & 3);
      const uint2 q = *reinterpret_cast<const uint2 *>(qtile + swz<D>(lane >> 2, dim / 8) + (dim % 8) * 2);
      qb[ks][0] = q.x;
      qb[ks][1] = q.y;
    }
  }

  // One stage tile (the arguments as in WarpRows::tile; lim[i] bounds column row_of(lane, i)).
  __device__ __forceinline__ void tile(const unsigned char *ks, const unsigned char *vs, const float *sc, int r0,
                                       const int (&lim)[2], float scale, int lane) {
    const int quad = lane >> 2, c = lane & 3;
    // S^T = K Q^T, 16 tokens x 8 heads; two accumulators (even and odd k-steps) halve the chain of
    // dependent MMAs, and are added once.
    float st[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
#pragma unroll
    for (int blk = 0; blk < D / 64; ++blk) {
      const uint4 lo = *reinterpret_cast<const uint4 *>(ks + skv_swz8(D, r0 + quad, 4 * blk + c));
      const uint4 hi = *reinterpret_cast<const uint4 *>(ks + skv_swz8(D, r0 + quad + 8, 4 * blk + c));
      const uint32_t wlo[4] = {lo.x, lo.y, lo.z, lo.w}, whi[4] = {hi.x, hi.y, hi.z, hi.w};
#pragma unroll
      for (int sub = 0; sub < 4; ++sub) {
        uint32_t a[4];
        codes_to_t<T, KV::kKFp8>(wlo[sub], a[0], a[2]);
        codes_to_t<T, KV::kKFp8>(whi[sub], a[1], a[3]);
        Mma<T>::run(st[sub & 1], a, qb[4 * blk + sub][0], qb[4 * blk + sub][1]);
      }
    }
    // Scale to log2 units (per-token K scales per token) and mask tokens past each column's bound;
    // element j is token quad + 8 (j / 2), column 2c + j % 2.
    const bool masked = min(lim[0], lim[1]) < kWarpTokens;
    float sv[4], mx[2];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int tok = quad + 8 * (j >> 1);
      float v = (st[0][j] + st[1][j]) * scale;
      if constexpr (KV::kKTokenScale) v *= sc[r0 + tok];
      if (masked && tok >= lim[j & 1]) v = -INFINITY;
      sv[j] = v;
    }
    mx[0] = fmaxf(sv[0], sv[2]);
    mx[1] = fmaxf(sv[1], sv[3]);
    // Online softmax update per head; the head's max over the 16 tokens is shared by the 8 quads.
    float alpha[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 4));
      mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 8));
      mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 16));
      alpha[h] = raise_max<Log2Units>(m[h], mx[h], &mx[h]);  // mx[h]: the shift of the tile's exponentials
    }
    float rowsum[2] = {0.f, 0.f}, pv[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const float e = Log2Units::exp(sv[j] - mx[j & 1]);
      rowsum[j & 1] += e;
      pv[j] = e;
      if constexpr (KV::kVTokenScale) pv[j] *= sc[kTileTokens + r0 + quad + 8 * (j >> 1)];
    }
    l[0] = l[0] * alpha[0] + rowsum[0];
    l[1] = l[1] * alpha[1] + rowsum[1];
    // Once the running maxima settle alpha is exactly 1 for every head most tiles: skip the
    // multiplies by 1 then (the same bits either way).
    if (__any_sync(0xffffffffu, alpha[0] != 1.f || alpha[1] != 1.f)) {
#pragma unroll
      for (int mt = 0; mt < D / 16; ++mt) {
        acc[mt][0] *= alpha[0];
        acc[mt][1] *= alpha[1];
        acc[mt][2] *= alpha[0];
        acc[mt][3] *= alpha[1];
      }
    }
    // P^T as the B operand: transpose the two 8x8 halves (tokens 0-7 and 8-15).
    const uint32_t pb0 = movmatrix_trans(Mma<T>::pack(pv[0], pv[1]));
    const uint32_t pb1 = movmatrix_trans(Mma<T>::pack(pv[2], pv[3]));
    // O^T += V^T P^T: token rows 2c, 2c+1, 2c+8, 2c+9, bytes [quad D/8, (quad+1) D/8) of each.
    constexpr int kWords = D / 32;  // 32-bit words of the slice
    const int tr = r0 + 2 * c;
    uint32_t v[4][kWords];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int row = tr + (i >> 1) * 8 + (i & 1);
#pragma unroll
      for (int piece = 0; piece < (kWords + 3) / 4; ++piece) {
        const int byte = quad * (D / 8) + 16 * piece;
        const unsigned char *src = vs + skv_swz8(D, row, byte / 16) + byte % 16;
        if constexpr (kWords == 2) {
          const uint2 w = *reinterpret_cast<const uint2 *>(src);
          v[i][0] = w.x;
          v[i][1] = w.y;
        } else {
          const uint4 w = *reinterpret_cast<const uint4 *>(src);
          v[i][4 * piece] = w.x;
          v[i][4 * piece + 1] = w.y;
          v[i][4 * piece + 2] = w.z;
          v[i][4 * piece + 3] = w.w;
        }
      }
    }
#pragma unroll
    for (int wd = 0; wd < kWords; ++wd) {
      // Bytes 0, 1 of the word: dim tile 2 wd (rows quad, quad + 8); bytes 2, 3: tile 2 wd + 1.
      const uint32_t a01 = __byte_perm(v[0][wd], v[1][wd], 0x5140), b01 = __byte_perm(v[0][wd], v[1][wd], 0x7362);
      const uint32_t a89 = __byte_perm(v[2][wd], v[3][wd], 0x5140), b89 = __byte_perm(v[2][wd], v[3][wd], 0x7362);
      uint32_t x[4], y[4];  // A fragments of tiles 2 wd and 2 wd + 1
      codes_to_t<T, KV::kVFp8>(a01, x[0], x[1]);
      codes_to_t<T, KV::kVFp8>(a89, x[2], x[3]);
      codes_to_t<T, KV::kVFp8>(b01, y[0], y[1]);
      codes_to_t<T, KV::kVFp8>(b89, y[2], y[3]);
      Mma<T>::run(acc[2 * wd], x, pb0, pb1);
      Mma<T>::run(acc[2 * wd + 1], y, pb0, pb1);
    }
  }

  // (m, l, acc) of the 8 heads to shared memory: wacc[head * D + dim], wml[head] = m, wml[16 + head] = l.
  __device__ __forceinline__ void publish(float *wacc, float *wml, int lane) {
    const int quad = lane >> 2, h0 = 2 * (lane & 3);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      l[h] += __shfl_xor_sync(0xffffffffu, l[h], 4);
      l[h] += __shfl_xor_sync(0xffffffffu, l[h], 8);
      l[h] += __shfl_xor_sync(0xffffffffu, l[h], 16);
    }
#pragma unroll
    for (int mt = 0; mt < D / 16; ++mt) {
      const int dim = quad * (D / 8) + 2 * mt;
      wacc[h0 * D + dim] = acc[mt][0];
      wacc[(h0 + 1) * D + dim] = acc[mt][1];
      wacc[h0 * D + dim + 1] = acc[mt][2];
      wacc[(h0 + 1) * D + dim + 1] = acc[mt][3];
    }
    if (quad == 0) {
      wml[h0] = m[0];
      wml[h0 + 1] = m[1];
      wml[16 + h0] = l[0];
      wml[16 + h0 + 1] = l[1];
    }
  }
};

}  // namespace skv
