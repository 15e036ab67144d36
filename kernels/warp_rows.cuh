// warp_rows.cuh — one warp's share of the decode kernel with the q heads as the MMA's rows: the
// form for 16-bit caches and for groups of up to 16 q heads (warp_cols.cuh serves 8-bit caches with
// groups of up to 8).
//
// The warp owns 16 tokens of every 64-token stage tile and keeps the online-softmax state (running
// max m, sum l, output acc) of 16 rows: the G q heads (rows G..15 are zero padding). Scores come
// from one 16x16 tile of mma.sync m16n8k16 per 16 head-dim columns (A = Q from registers, B = K);
// the score fragment is reused directly as the A operand of P.V (the FA2 register trick).
// 16-bit K and V come by ldmatrix (V transposed). 8-bit codes go from shared memory straight into
// the B fragments: one 16-byte load, converted in registers (decode_common.cuh), no 16-bit copy.
// For that the two reductions are re-indexed, which leaves the sums unchanged:
//   - QK^T: lane (quad, c) needs B[k][n] for k = 2c, 2c+1, 2c+8, 2c+9 of every 16-dim k-step. Let
//     k-step s = 4 blk + sub take, in those positions, the dims 64 blk + 16 c + 4 sub + {0,1,2,3}:
//     the 16 bytes at 64 blk + 16 c of the token's row are then exactly the lane's B values for
//     the 4 k-steps of block blk. The query fragments are loaded with the same permutation.
//   - P.V: lane (quad, c) needs V[t][n] for its P tokens t = 2c, 2c+1, 2c+8, 2c+9 and, in output
//     tile dt, column n = quad. Let column n of tile dt be dim n * D/8 + dt: the lane reads D/8
//     contiguous bytes of each of its 4 token rows, and byte-permutes (prmt) pairs of rows into
//     the (t, t+1) code pairs of its B fragments. The output dims are un-permuted when stored.
#pragma once

#include <math.h>

#include "decode_common.cuh"
#include "mma.cuh"
#include "swizzle8.h"

namespace skv {

template <typename T, int D, int V>
struct WarpRows {
  using KV = KvTraits<V>;
  static constexpr bool k8 = KV::kKBytes == 1;
  static constexpr int kRows = 16;  // packed rows the form holds (MMA rows)
  // The two rows (of the warp's 16) whose state this lane holds: quad and quad + 8.
  static __device__ __forceinline__ int row_of(int lane, int i) { return (lane >> 2) + 8 * i; }

  uint32_t qa[D / 16][4];
  float m[2] = {-INFINITY, -INFINITY};  // running max (log2 units) of rows quad and quad + 8
  float l[2] = {0.f, 0.f};              // this thread's share of the running sums
  float acc[D / 8][4];

  // Q fragments from the 16-row Q tile (swz<D> layout, rows G..15 zero); zero state.
  __device__ __forceinline__ void init(const unsigned char *qtile, int lane) {
#pragma unroll
    for (int i = 0; i < D / 8; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.f;
    if constexpr (k8) {
      // 8-bit K: k-step s = 4 blk + sub holds dims 64 blk + 16 c + 4 sub + {0,1 | 2,3} (see the top of this file).
#pragma unroll
      for (int ks = 0; ks < D / 16; ++ks) {
        const int dim = 64 * (ks >> 2) + 16 * (lane & 3) + 4 * (ks & 3);
        const int in_chunk = (dim % 8) * 2;  // byte offset of the 4 values in their 16-byte chunk
        const uint2 lo = *reinterpret_cast<const uint2 *>(qtile + swz<D>(lane >> 2, dim / 8) + in_chunk);
        const uint2 hi = *reinterpret_cast<const uint2 *>(qtile + swz<D>((lane >> 2) + 8, dim / 8) + in_chunk);
        qa[ks][0] = lo.x;
        qa[ks][1] = hi.x;
        qa[ks][2] = lo.y;
        qa[ks][3] = hi.y;
      }
    } else {
#pragma unroll
      for (int ks = 0; ks < D / 16; ++ks) {
        const int mi = lane >> 3, ri = lane & 7;
        ldmatrix_x4(qa[ks], smem_u32(qtile + swz<D>((mi & 1) * 8 + ri, ks * 2 + (mi >> 1))));
      }
    }
  }

  // One stage tile: K and V tiles ks, vs, per-token scales sc ([0, 64): K, [64, 128): V), this
  // warp's token rows r0 .. r0 + 15, of which row row_of(lane, i) sees the first lim[i] (the
  // range's end and the mask's bound; >= 16: all); scale = the score scale in log2 units.
  __device__ __forceinline__ void tile(const unsigned char *ks, const unsigned char *vs, const float *sc, int r0,
                                       const int (&lim)[2], float scale, int lane) {
    const int mi = lane >> 3, ri = lane & 7;
    // S = Q K^T for 16 rows x 16 tokens.
    float s[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
    if constexpr (k8) {
#pragma unroll
      for (int nt = 0; nt < 2; ++nt)
#pragma unroll
        for (int blk = 0; blk < D / 64; ++blk) {
          const int row = r0 + 8 * nt + (lane >> 2), chunk = 4 * blk + (lane & 3);
          const uint4 c = *reinterpret_cast<const uint4 *>(ks + skv_swz8(D, row, chunk));
          const uint32_t words[4] = {c.x, c.y, c.z, c.w};
#pragma unroll
          for (int sub = 0; sub < 4; ++sub) {
            uint32_t b0, b1;
            codes_to_t<T, KV::kKFp8>(words[sub], b0, b1);
            Mma<T>::run(s[nt], qa[4 * blk + sub], b0, b1);
          }
        }
    } else {
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        uint32_t kb[4];
        ldmatrix_x4(kb, smem_u32(ks + swz<D>(r0 + (mi >> 1) * 8 + ri, kk * 2 + (mi & 1))));
        Mma<T>::run(s[0], qa[kk], kb[0], kb[1]);
        Mma<T>::run(s[1], qa[kk], kb[2], kb[3]);
      }
    }
    // Scale to log2 units (per-token K scales per column) and mask tokens past each row's bound.
    const bool masked = min(lim[0], lim[1]) < kWarpTokens;  // a range's last tile, or the mask's diagonal
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < 2; ++nt)
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int col = r0 + nt * 8 + 2 * (lane & 3) + (j & 1);
        float v = s[nt][j] * scale;
        if constexpr (KV::kKTokenScale) v *= sc[col];
        if (masked && col - r0 >= lim[j >> 1]) v = -INFINITY;
        s[nt][j] = v;
        mx[j >> 1] = fmaxf(mx[j >> 1], v);
      }
    // Online softmax update per row; the row max is shared by the 4 threads of a quad.
    float alpha[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
      alpha[r] = raise_max<Log2Units>(m[r], mx[r], &mx[r]);  // mx[r]: the shift of the tile's exponentials
    }
    float rowsum[2] = {0.f, 0.f};
#pragma unroll
    for (int nt = 0; nt < 2; ++nt)
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const float e = Log2Units::exp(s[nt][j] - mx[j >> 1]);
        rowsum[j >> 1] += e;
        float pv = e;  // what P.V weighs token col with
        if constexpr (KV::kVTokenScale) pv *= sc[kTileTokens + r0 + nt * 8 + 2 * (lane & 3) + (j & 1)];
        s[nt][j] = pv;
      }
    l[0] = l[0] * alpha[0] + rowsum[0];
    l[1] = l[1] * alpha[1] + rowsum[1];
    // Once the running maxima settle, alpha is exactly 1 for every row of the warp most tiles:
    // skip the D/2 multiplies by 1 then (the same bits either way, so determinism is untouched).
    if (__any_sync(0xffffffffu, alpha[0] != 1.f || alpha[1] != 1.f)) {
#pragma unroll
      for (int dt = 0; dt < D / 8; ++dt) {
        acc[dt][0] *= alpha[0];
        acc[dt][1] *= alpha[0];
        acc[dt][2] *= alpha[1];
        acc[dt][3] *= alpha[1];
      }
    }
    // O += P V: the score fragments of tokens 0-7 and 8-15 are the A fragment of P.
    const uint32_t pa[4] = {Mma<T>::pack(s[0][0], s[0][1]), Mma<T>::pack(s[0][2], s[0][3]),
                            Mma<T>::pack(s[1][0], s[1][1]), Mma<T>::pack(s[1][2], s[1][3])};
    if constexpr (KV::kVBytes == 1) {
      // Rows 2c, 2c+1, 2c+8, 2c+9; bytes [quad D/8, (quad+1) D/8) = output tiles dt of column quad.
      const int tr = r0 + 2 * (lane & 3), byte0 = (lane >> 2) * (D / 8);
#pragma unroll
      for (int piece = 0; piece < (D == 64 ? 1 : D / 128); ++piece) {
        uint32_t v[4][4];  // [row][word]: 16 (D = 64: 8) bytes of each row
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int row = tr + (i >> 1) * 8 + (i & 1), byte = byte0 + 16 * piece;
          const unsigned char *src = vs + skv_swz8(D, row, byte / 16) + byte % 16;
          if constexpr (D == 64) {
            const uint2 c = *reinterpret_cast<const uint2 *>(src);
            v[i][0] = c.x;
            v[i][1] = c.y;
            v[i][2] = v[i][3] = 0;
          } else {
            const uint4 c = *reinterpret_cast<const uint4 *>(src);
            v[i][0] = c.x;
            v[i][1] = c.y;
            v[i][2] = c.z;
            v[i][3] = c.w;
          }
        }
#pragma unroll
        for (int wd = 0; wd < (D == 64 ? 2 : 4); ++wd) {
          // Byte b of word wd is tile dt = 16 piece + 4 wd + b; pair the rows (t, t+1) per byte.
          const uint32_t a01 = __byte_perm(v[0][wd], v[1][wd], 0x5140), b01 = __byte_perm(v[0][wd], v[1][wd], 0x7362);
          const uint32_t a89 = __byte_perm(v[2][wd], v[3][wd], 0x5140), b89 = __byte_perm(v[2][wd], v[3][wd], 0x7362);
          uint32_t lo[4], hi[4];  // B fragments (b0: tokens 2c,2c+1; b1: 2c+8,2c+9) of 4 tiles
          codes_to_t<T, KV::kVFp8>(a01, lo[0], lo[1]);
          codes_to_t<T, KV::kVFp8>(b01, lo[2], lo[3]);
          codes_to_t<T, KV::kVFp8>(a89, hi[0], hi[1]);
          codes_to_t<T, KV::kVFp8>(b89, hi[2], hi[3]);
#pragma unroll
          for (int b = 0; b < 4; ++b) Mma<T>::run(acc[16 * piece + 4 * wd + b], pa, lo[b], hi[b]);
        }
      }
    } else {
#pragma unroll
      for (int dd = 0; dd < D / 16; ++dd) {
        uint32_t vb[4];
        ldmatrix_x4_trans(vb, smem_u32(vs + swz<D>(r0 + (mi & 1) * 8 + ri, dd * 2 + (mi >> 1))));
        Mma<T>::run(acc[2 * dd], pa, vb[0], vb[1]);
        Mma<T>::run(acc[2 * dd + 1], pa, vb[2], vb[3]);
      }
    }
  }

  // (m, l, acc) of the 16 rows to shared memory: wacc[row * D + dim], wml[row] = m, wml[16 + row] = l.
  __device__ __forceinline__ void publish(float *wacc, float *wml, int lane) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
      l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
    }
    {
      const int quad = lane >> 2, pair = 2 * (lane & 3);
      // The dim of column n of output tile dt: dt * 8 + n, or n * D/8 + dt for 8-bit V (see the top of this file).
      auto dim = [](int dt, int n) { return KV::kVBytes == 1 ? n * (D / 8) + dt : dt * 8 + n; };
#pragma unroll
      for (int dt = 0; dt < D / 8; ++dt) {
        wacc[quad * D + dim(dt, pair)] = acc[dt][0];
        wacc[quad * D + dim(dt, pair + 1)] = acc[dt][1];
        wacc[(quad + 8) * D + dim(dt, pair)] = acc[dt][2];
        wacc[(quad + 8) * D + dim(dt, pair + 1)] = acc[dt][3];
      }
      if ((lane & 3) == 0) {
        wml[quad] = m[0];
        wml[quad + 8] = m[1];
        wml[16 + quad] = l[0];
        wml[16 + quad + 8] = l[1];
      }
    }
  }
};

}  // namespace skv
