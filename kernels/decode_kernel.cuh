// decode_kernel.cuh — the paged split-KV decode kernel, one template for 16-bit and quantized KV caches.
//
// What it computes. For work item (r, h, [b, e)) and the group's q heads g = 0..G-1 (q head h*G+g):
//   s_t = q_g . k_t * softmax_scale for t in [b, e)      (query length 1: the query sees every key)
//   lse = log(sum_t exp(s_t)),  o = sum_t exp(s_t - lse) v_t
// with q, k, v the dequantized values (sim/quant.h): q = q_code * q_scale (fp8 q), k = k_code *
// k_scale (per tensor) or * ks[token] (per token-head), v = v_code * v_scale (per tensor),
// * vs[token] (per token-head) or * vc[channel] (int8 per channel). A request with one chunk writes
// o and lse straight to the outputs; a split request writes fp32 partial states to scratch row
// `partial`, merged by merge.cuh (in combine.cu, or fused: the last CTA of the request merges). An
// empty range gives lse = -inf and o = 0.
//
// How. 4 warps; the CTA streams its range in tiles of 64 tokens through a cp.async pipeline
// (kStages deep) into shared memory. Page lookups happen per 16-byte copy, so pages can be any
// permutation of the pool and chunks need not align with pages; they are loaded one tile ahead of
// the copies they feed, so the page table's latency overlaps the compute. Warp w owns tokens
// [16w, 16w+16) of every tile and keeps its own online-softmax state (running max m, sum l, output
// acc) for 16 rows: the G q heads (rows G..15 are zero padding). Scores come from one 16x16 tile of
// mma.sync m16n8k16 per 16 head-dim columns (A = Q from registers, B = K via ldmatrix); the score
// fragment is reused directly as the A operand of P.V (the FA2 register trick), V via ldmatrix.trans.
// Scores are kept in log2 units (scale * log2 e) so exp2 does the exponentials. At the end the 4
// warps' states are merged through shared memory in warp order, so the result is a fixed function
// of the chunk's data: the same chunk gives the same bits in any batch.
//
// Quantized caches (the KV variant V, fixed at compile time: no branch in the inner loop). 8-bit
// codes arrive by cp.async into stage tiles swizzled for bytes (swizzle8.h) and go from shared
// memory straight into MMA B fragments: one 16-byte load, converted in registers (e4m3 and int8
// are exact in fp16, the MMA type T of every 8-bit variant but int8-K + bf16-V), no 16-bit copy.
// For that the two reductions are re-indexed, which leaves the sums unchanged:
//   - QK^T: lane (quad, c) needs B[k][n] for k = 2c, 2c+1, 2c+8, 2c+9 of every 16-dim k-step. Let
//     k-step s = 4 blk + sub take, in those positions, the dims 64 blk + 16 c + 4 sub + {0,1,2,3}:
//     the 16 bytes at 64 blk + 16 c of the token's row are then exactly the lane's B values for
//     the 4 k-steps of block blk. The query fragments are loaded with the same permutation.
//   - P.V: lane (quad, c) needs V[t][n] for its P tokens t = 2c, 2c+1, 2c+8, 2c+9 and, in output
//     tile dt, column n = quad. Let column n of tile dt be dim n * D/8 + dt: the lane reads D/8
//     contiguous bytes of each of its 4 token rows, and byte-permutes (prmt) pairs of rows into
//     the (t, t+1) code pairs of its B fragments. The output dims are un-permuted when stored.
// The scales never touch the codes:
//   - per-tensor q_scale and k_scale fold into the one score scale (q_scale * k_scale * sm_scale);
//   - a per-token K scale multiplies that token's score column;
//   - a per-token V scale multiplies that token's probability before P.V (the row sums use the
//     unscaled probabilities);
//   - a per-tensor V scale, or int8's per-channel V scale, multiplies the output once at the end.
// The scale of token t is fetched by a 4-byte cp.async into the stage with the tile.
#pragma once

#include <cuda_runtime.h>
#include <math.h>

#include <type_traits>

#include "cuda_check.h"
#include "merge.cuh"
#include "mma.cuh"
#include "skv_kernels.h"
#include "swizzle8.h"

namespace skv {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kWarpTokens = 16;
constexpr int kTileTokens = kWarps * kWarpTokens;
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

// KV cache variants.
enum KvVariant {
  kKv16 = 0,     // K, V in T (bf16 / fp16), no scales
  kKvFp8Tensor,  // K, V e4m3, per-tensor k_scale, v_scale
  kKvFp8Token,   // K, V e4m3, per-token-head scales
  kKvInt8,       // K int8 per-token-head scale, V int8 per-channel scale
  kKvInt8K16V,   // K int8 per-token-head scale, V in T
};

template <int V>
struct KvTraits {
  static constexpr int kKBytes = V == kKv16 ? 2 : 1;
  static constexpr int kVBytes = (V == kKv16 || V == kKvInt8K16V) ? 2 : 1;
  static constexpr bool kKFp8 = V == kKvFp8Tensor || V == kKvFp8Token;
  static constexpr bool kVFp8 = kKFp8;
  static constexpr bool kKTokenScale = V == kKvFp8Token || V == kKvInt8 || V == kKvInt8K16V;
  static constexpr bool kVTokenScale = V == kKvFp8Token;
  static constexpr bool kVChannelScale = V == kKvInt8;
  static constexpr bool kVTensorScale = V == kKvFp8Tensor;
};

template <int D, int V>
struct Cfg {
  using KV = KvTraits<V>;
  static constexpr bool k8 = KV::kKBytes == 1;  // K (and maybe V) read as 8-bit codes into registers
  static constexpr int kStages = D == 256 ? 2 : (k8 ? 4 : (D == 128 ? 3 : 4));
  static constexpr int kKChunks = D * KV::kKBytes / 16;   // 16-byte chunks per K row
  static constexpr int kVChunks = D * KV::kVBytes / 16;
  static constexpr int kKRowsPerPass = kThreads / kKChunks;
  static constexpr int kVRowsPerPass = kThreads / kVChunks;
  static constexpr int kKPasses = kTileTokens / kKRowsPerPass;
  static constexpr int kVPasses = kTileTokens / kVRowsPerPass;
  static constexpr int kKTileBytes = kTileTokens * D * KV::kKBytes;
  static constexpr int kVTileBytes = kTileTokens * D * KV::kVBytes;
  static constexpr int kScaleBytes = (KV::kKTokenScale || KV::kVTokenScale) ? 2 * kTileTokens * 4 : 0;
  static constexpr int kStageBytes = kKTileBytes + kVTileBytes + kScaleBytes;
  static constexpr int kPipeBytes = kStages * kStageBytes;
  static constexpr int kMergeBytes = kWarps * 16 * (D + 2) * 4;  // per-warp acc, m, l for the final merge
  static constexpr int kLoopBytes = kPipeBytes > kMergeBytes ? kPipeBytes : kMergeBytes;
  static constexpr int kQBytes = 16 * D * 2;
  static constexpr int kSmem = kLoopBytes + kQBytes;
};

// Two e4m3 codes (low byte first) to an f16 pair, exactly (every e4m3 value is an f16 value).
__device__ __forceinline__ uint32_t e4m3x2_to_f16x2(uint32_t two) {
#if __CUDA_ARCH__ >= 890
  uint32_t h;
  asm("{cvt.rn.f16x2.e4m3x2 %0, %1;}\n" : "=r"(h) : "h"(static_cast<unsigned short>(two)));
  return h;
#else
  // Before sm_89 no instruction does it: e4m3 S.EEEE.MMM (bias 7) is f16 S.EEEEE.MMMMMMMMMM (bias 15)
  // with the exponent rebiased by 8 and the mantissa shifted by 7; subnormals (E = 0, value M * 2^-9)
  // go through float, where they are exact.
  uint32_t out = 0;
  for (int i = 0; i < 2; ++i) {
    const uint32_t b = (two >> (8 * i)) & 0xFFu, e = (b >> 3) & 0xFu, mant = b & 7u;
    uint32_t h;
    if (e == 15 && mant == 7) h = 0x7E00u;                                  // NaN
    else if (e == 0) h = __half_as_ushort(__float2half_rn(static_cast<float>(mant) * 0x1.0p-9f));
    else h = ((e + 8u) << 10) | (mant << 7);
    out |= (h | ((b & 0x80u) << 8)) << (16 * i);
  }
  return out;
#endif
}

// Four int8 codes to two f16 pairs, exactly: with the sign bit flipped each code u = b + 128 is an
// unsigned byte; 0x6400 | u is the f16 1024 + u, and subtracting 1152 leaves b (all exact in f16).
__device__ __forceinline__ void int8x4_to_f16(uint32_t w, uint32_t &lo, uint32_t &hi) {
  const uint32_t u = w ^ 0x80808080u;
  const uint32_t a = __byte_perm(u, 0x64646464u, 0x5140), b = __byte_perm(u, 0x64646464u, 0x7362);
  const __half2 bias = __halves2half2(__ushort_as_half(0x6480u), __ushort_as_half(0x6480u)); /* 1152 */
  const __half2 x = __hsub2(*reinterpret_cast<const __half2 *>(&a), bias);
  const __half2 y = __hsub2(*reinterpret_cast<const __half2 *>(&b), bias);
  lo = *reinterpret_cast<const uint32_t *>(&x);
  hi = *reinterpret_cast<const uint32_t *>(&y);
}

// Four 8-bit codes (one 32-bit word, lowest byte first) to four T values, exactly. Quantized caches
// run the fp16 MMA (e4m3 and int8 are exact in fp16, one or two instructions per pair), except an
// int8 K with a bf16 V, which runs bf16 (the codes go through float).
template <typename T, bool FP8>
__device__ __forceinline__ void codes_to_t(uint32_t w, uint32_t &lo, uint32_t &hi) {
  if constexpr (FP8) {
    static_assert(std::is_same<T, __half>::value, "fp8 codes feed the fp16 MMA");
    lo = e4m3x2_to_f16x2(w & 0xFFFFu);
    hi = e4m3x2_to_f16x2(w >> 16);
  } else if constexpr (std::is_same<T, __half>::value) {
    int8x4_to_f16(w, lo, hi);
  } else {
    const int8_t *c = reinterpret_cast<const int8_t *>(&w);
    lo = Mma<T>::pack(static_cast<float>(c[0]), static_cast<float>(c[1]));
    hi = Mma<T>::pack(static_cast<float>(c[2]), static_cast<float>(c[3]));
  }
}

__device__ __forceinline__ void cp_async_4(uint32_t smem_addr, const void *gmem, bool valid) {
  const int src_bytes = valid ? 4 : 0;
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_addr), "l"(gmem), "r"(src_bytes));
}

__device__ __forceinline__ void store_out(skv_dtype t, void *base, int64_t i, float x) {
  if (t == SKV_FP16) static_cast<__half *>(base)[i] = __float2half_rn(x);
  else static_cast<__nv_bfloat16 *>(base)[i] = __float2bfloat16_rn(x);
}

template <typename T, int D, int V>
__global__ void __launch_bounds__(kThreads) decode_kernel(const skv_decode_problem p, const skv_plan_device pd,
                                                          const int page_shift) {
  using C = Cfg<D, V>;
  using KV = KvTraits<V>;
  extern __shared__ __align__(128) unsigned char smem[];
  unsigned char *pipe = smem;
  unsigned char *qtile = smem + C::kLoopBytes;

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const skv_work w = pd.d_work[blockIdx.x];
  const int G = p.num_q_heads / p.num_kv_heads;
  const int64_t begin = w.kv_begin, end = w.kv_end;
  const int ntiles = static_cast<int>((end - begin + kTileTokens - 1) / kTileTokens);
  const int32_t *pages = p.d_page_table + pd.d_work_pages[blockIdx.x];
  const int page_mask = (1 << page_shift) - 1;
  const unsigned char *kbase = static_cast<const unsigned char *>(p.d_k);
  const unsigned char *vbase = static_cast<const unsigned char *>(p.d_v);

  // The pool row (page, slot, this KV head) of token tok on page `page`: K/V elements at row * D,
  // per-token scales at row (NHD pools: [num_pages, page_size, num_kv_heads, head_dim]).
  auto pool_row = [&](int32_t page, int64_t tok) -> int64_t {
    return ((static_cast<int64_t>(page) << page_shift) + (tok & page_mask)) * p.num_kv_heads + w.kv_head;
  };
  // Each thread copies 16-byte chunk (tid % chunks) of rows tid / chunks + pass * rows_per_pass of
  // K and of V, and (threads < 64 / 64..127) the scale of one token; its page ids are loaded one
  // tile ahead of the copies (K, V and scale rows may differ when K and V widths differ).
  // When K and V rows have the same width the same rows (so the same page ids) serve both.
  static constexpr bool kSameRows = C::kKChunks == C::kVChunks;
  struct Ids {
    int32_t k[C::kKPasses], v[kSameRows ? 1 : C::kVPasses], s;
  };
  auto tok_of = [&](int tile, int row) -> int64_t { return begin + static_cast<int64_t>(tile) * kTileTokens + row; };
  auto page_of = [&](int64_t tok) -> int32_t { return pages[(tok < end ? tok : begin) >> page_shift]; };
  auto load_pages = [&](int tile, Ids &ids) {
#pragma unroll
    for (int pass = 0; pass < C::kKPasses; ++pass)
      ids.k[pass] = page_of(tok_of(tile, tid / C::kKChunks + pass * C::kKRowsPerPass));
    if constexpr (!kSameRows) {
#pragma unroll
      for (int pass = 0; pass < C::kVPasses; ++pass)
        ids.v[pass] = page_of(tok_of(tile, tid / C::kVChunks + pass * C::kVRowsPerPass));
    }
    if constexpr (C::kScaleBytes > 0) ids.s = page_of(tok_of(tile, tid & (kTileTokens - 1)));
  };
  auto issue_tile = [&](int tile, int stage, const Ids &ids) {
    unsigned char *ks = pipe + stage * C::kStageBytes;
    unsigned char *vs = ks + C::kKTileBytes;
#pragma unroll
    for (int pass = 0; pass < C::kKPasses; ++pass) {
      const int row = tid / C::kKChunks + pass * C::kKRowsPerPass, chunk = tid % C::kKChunks;
      const int64_t tok = tok_of(tile, row);
      const bool valid = tok < end;
      const unsigned char *src = kbase + pool_row(ids.k[pass], valid ? tok : begin) * D * KV::kKBytes + chunk * 16;
      const uint32_t off = KV::kKBytes == 2 ? swz<D>(row, chunk) : skv_swz8(D, row, chunk);
      cp_async_16(smem_u32(ks + off), src, valid);
    }
#pragma unroll
    for (int pass = 0; pass < C::kVPasses; ++pass) {
      const int row = tid / C::kVChunks + pass * C::kVRowsPerPass, chunk = tid % C::kVChunks;
      const int64_t tok = tok_of(tile, row);
      const bool valid = tok < end;
      const int32_t page = kSameRows ? ids.k[pass] : ids.v[kSameRows ? 0 : pass];
      const unsigned char *src = vbase + pool_row(page, valid ? tok : begin) * D * KV::kVBytes + chunk * 16;
      const uint32_t off = KV::kVBytes == 2 ? swz<D>(row, chunk) : skv_swz8(D, row, chunk);
      cp_async_16(smem_u32(vs + off), src, valid);
    }
    if constexpr (C::kScaleBytes > 0) {
      float *sc = reinterpret_cast<float *>(vs + C::kVTileBytes);  // [0, 64): K scales, [64, 128): V scales
      const int row = tid & (kTileTokens - 1);
      const int64_t tok = tok_of(tile, row);
      const bool valid = tok < end;
      const int64_t srow = pool_row(ids.s, valid ? tok : begin);
      if (tid < kTileTokens) {
        if constexpr (KV::kKTokenScale) cp_async_4(smem_u32(sc + row), p.d_k_token_scale + srow, valid);
      } else {
        if constexpr (KV::kVTokenScale) cp_async_4(smem_u32(sc + kTileTokens + row), p.d_v_token_scale + srow, valid);
      }
    }
  };

  // Q tile: rows g < G hold the group's q heads (as T), rows G..15 zero. q of the MMA type arrives
  // by cp.async as its own group; fp8 q, and bf16 q over a quantized cache (fp16 MMA), are
  // converted on the way: fp8 exactly; bf16 to the nearest fp16, exact for magnitudes in
  // [2^-14, 65504] (smaller ones keep an absolute error under 2^-25; the numerics checks see it).
  {
    const int64_t q0 = (static_cast<int64_t>(w.request) * p.num_q_heads + static_cast<int64_t>(w.kv_head) * G) * D;
    bool converted = false;
    if constexpr (std::is_same<T, __half>::value) {
      if (p.q_dtype == SKV_BF16) {
        const __nv_bfloat16 *q = static_cast<const __nv_bfloat16 *>(p.d_q) + q0;
        for (int i = tid; i < 16 * (D / 8); i += kThreads) {
          const int row = i / (D / 8), ch = i % (D / 8);
          uint4 v = make_uint4(0, 0, 0, 0);
          if (row < G) {
            const uint4 c = *reinterpret_cast<const uint4 *>(q + static_cast<int64_t>(row) * D + ch * 8);
            const __nv_bfloat162 *e = reinterpret_cast<const __nv_bfloat162 *>(&c);
            uint32_t *o = reinterpret_cast<uint32_t *>(&v);
            for (int k = 0; k < 4; ++k) o[k] = Mma<T>::pack(__low2float(e[k]), __high2float(e[k]));
          }
          *reinterpret_cast<uint4 *>(qtile + swz<D>(row, ch)) = v;
        }
        converted = true;
      } else if (p.q_dtype == SKV_FP8_E4M3) {
        const unsigned char *q = static_cast<const unsigned char *>(p.d_q) + q0;
        for (int i = tid; i < 16 * (D / 8); i += kThreads) {
          const int row = i / (D / 8), ch = i % (D / 8);
          uint4 v = make_uint4(0, 0, 0, 0);
          if (row < G) {
            const uint2 c = *reinterpret_cast<const uint2 *>(q + static_cast<int64_t>(row) * D + ch * 8);
            codes_to_t<T, true>(c.x, v.x, v.y);
            codes_to_t<T, true>(c.y, v.z, v.w);
          }
          *reinterpret_cast<uint4 *>(qtile + swz<D>(row, ch)) = v;
        }
        converted = true;
      }
    }
    if (!converted) {
      const T *q = static_cast<const T *>(p.d_q) + q0;
      for (int i = tid; i < 16 * (D / 8); i += kThreads) {
        const int row = i / (D / 8), ch = i % (D / 8);
        cp_async_16(smem_u32(qtile + swz<D>(row, ch)), q + static_cast<int64_t>(row < G ? row : 0) * D + ch * 8,
                    row < G);
      }
    }
    cp_async_commit();
  }
  // Prologue: all its page ids are requested before the first copy needs one.
  Ids pro[C::kStages - 1], pg;
#pragma unroll
  for (int s = 0; s < C::kStages - 1; ++s)
    if (s < ntiles) load_pages(s, pro[s]);
  if (C::kStages - 1 < ntiles) load_pages(C::kStages - 1, pg);
#pragma unroll
  for (int s = 0; s < C::kStages - 1; ++s) {
    if (s < ntiles) issue_tile(s, s, pro[s]);
    cp_async_commit();
  }
  cp_async_wait<C::kStages - 1>();  // the Q group has landed (the tile groups may not have)
  __syncthreads();

  uint32_t qa[D / 16][4];
  if constexpr (C::k8) {
    // 8-bit K: k-step s = 4 blk + sub holds dims 64 blk + 16 c + 4 sub + {0,1 | 2,3} (see the top).
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

  // One score scale: softmax scale in log2 units, times the per-tensor q and k scales.
  float scale = p.softmax_scale * kLog2e;
  if (p.q_dtype == SKV_FP8_E4M3) scale *= p.q_scale;
  if constexpr (V == kKvFp8Tensor) scale *= p.k_scale;
  float m[2] = {-INFINITY, -INFINITY};  // running max (log2 units) of rows quad and quad + 8
  float l[2] = {0.f, 0.f};              // this thread's share of the running sums
  float acc[D / 8][4];
#pragma unroll
  for (int i = 0; i < D / 8; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.f;

  for (int i = 0; i < ntiles; ++i) {
    cp_async_wait<C::kStages - 2>();
    __syncthreads();  // tile i landed for all threads; every warp is done with tile i - 1
    if (i + C::kStages - 1 < ntiles) issue_tile(i + C::kStages - 1, (i + C::kStages - 1) % C::kStages, pg);
    cp_async_commit();
    if (i + C::kStages < ntiles) load_pages(i + C::kStages, pg);  // consumed next iteration

    const int64_t tok0 = begin + static_cast<int64_t>(i) * kTileTokens + warp * kWarpTokens;
    if (tok0 >= end) continue;  // this warp's 16 tokens are all past the range
    const unsigned char *stage = pipe + (i % C::kStages) * C::kStageBytes;
    const unsigned char *ks = stage, *vs = stage + C::kKTileBytes;
    const float *sc = reinterpret_cast<const float *>(vs + C::kVTileBytes);
    const int mi = lane >> 3, ri = lane & 7;
    const int r0 = warp * kWarpTokens;  // this warp's 16 token rows in the stage tiles

    // S = Q K^T for 16 rows x 16 tokens.
    float s[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
    if constexpr (C::k8) {
#pragma unroll
      for (int nt = 0; nt < 2; ++nt)
#pragma unroll
        for (int blk = 0; blk < D / 64; ++blk) {
          const uint4 c = *reinterpret_cast<const uint4 *>(ks + skv_swz8(D, r0 + 8 * nt + (lane >> 2), 4 * blk + (lane & 3)));
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
    // Scale to log2 units (per-token K scales per column) and mask tokens past the range.
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < 2; ++nt)
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int col = warp * kWarpTokens + nt * 8 + 2 * (lane & 3) + (j & 1);
        float v = s[nt][j] * scale;
        if constexpr (KV::kKTokenScale) v *= sc[col];
        v = tok0 + (col - warp * kWarpTokens) < end ? v : -INFINITY;
        s[nt][j] = v;
        mx[j >> 1] = fmaxf(mx[j >> 1], v);
      }
    // Online softmax update per row; the row max is shared by the 4 threads of a quad.
    float alpha[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
      const float mnew = fmaxf(m[r], mx[r]);
      const float ref = mnew == -INFINITY ? 0.f : mnew;  // all masked so far: keep everything at 0, not NaN
      alpha[r] = exp2f(m[r] - ref);
      m[r] = mnew;
      mx[r] = ref;
    }
    float rowsum[2] = {0.f, 0.f};
#pragma unroll
    for (int nt = 0; nt < 2; ++nt)
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const float e = exp2f(s[nt][j] - mx[j >> 1]);
        rowsum[j >> 1] += e;
        float pv = e;  // what P.V weighs token col with
        if constexpr (KV::kVTokenScale) pv *= sc[kTileTokens + warp * kWarpTokens + nt * 8 + 2 * (lane & 3) + (j & 1)];
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
  cp_async_wait<0>();
  __syncthreads();  // pipeline buffers free: reuse them for the merge

  // Each warp publishes (m, l, acc) of its 16 rows; l is first summed over the quad.
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
  }
  float *wacc = reinterpret_cast<float *>(pipe) + warp * 16 * D;
  float *wml = reinterpret_cast<float *>(pipe) + kWarps * 16 * D + warp * 32;
  {
    const int quad = lane >> 2, pair = 2 * (lane & 3);
    // The dim of column n of output tile dt: dt * 8 + n, or n * D/8 + dt for 8-bit V (see the top).
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
  __syncthreads();

  // Merge the warps in order 0..3, apply the V scale once, and write.
  const float *ml = reinterpret_cast<const float *>(pipe) + kWarps * 16 * D;
  const bool final_out = w.num_chunks == 1;
  for (int idx = tid; idx < G * D; idx += kThreads) {
    const int g = idx / D, c = idx % D;
    float mmax = -INFINITY;
#pragma unroll
    for (int k = 0; k < kWarps; ++k) mmax = fmaxf(mmax, ml[k * 32 + g]);
    float o = 0.f, lse = -INFINITY;
    if (mmax != -INFINITY) {
      float sum = 0.f, num = 0.f;
#pragma unroll
      for (int k = 0; k < kWarps; ++k) {
        const float f = exp2f(ml[k * 32 + g] - mmax);
        sum += ml[k * 32 + 16 + g] * f;
        num += reinterpret_cast<const float *>(pipe)[(k * 16 + g) * D + c] * f;
      }
      o = num / sum;
      if constexpr (KV::kVTensorScale) o *= p.v_scale;
      if constexpr (KV::kVChannelScale) o *= p.d_v_channel_scale[static_cast<int64_t>(w.kv_head) * D + c];
      lse = (mmax + log2f(sum)) * kLn2;
    }
    if (final_out) {
      const int64_t row = static_cast<int64_t>(w.request) * p.num_q_heads + static_cast<int64_t>(w.kv_head) * G + g;
      store_out(p.o_dtype, p.d_o, row * D + c, o);
      if (c == 0) p.d_lse[skv_layout_offset3(&p.lse_layout, w.request, w.kv_head, g)] = lse;
    } else {
      pd.d_partial_o[(w.partial * G + g) * D + c] = o;
      if (c == 0) pd.d_partial_lse[w.partial * G + g] = lse;
    }
  }

  // Fused combine: publish the partial (fence), count arrivals; the CTA that arrives last for its
  // (request, KV head) merges all chunks (merge.cuh: ascending order, so the result does not depend
  // on which CTA merges) and re-arms the counter for the next launch.
  if (pd.fused_combine && !final_out) {
    __shared__ int last;
    __threadfence();
    __syncthreads();
    const int item = pd.d_work_item[blockIdx.x];
    if (tid == 0) last = atomicAdd(&pd.d_arrivals[item], 1) == w.num_chunks - 1;
    __syncthreads();
    if (last) {
      __threadfence();
      if (p.o_dtype == SKV_FP16)
        merge_item<__half>(p, pd, w.request, w.kv_head, w.num_chunks, w.partial - w.chunk, reinterpret_cast<float *>(pipe));
      else
        merge_item<__nv_bfloat16>(p, pd, w.request, w.kv_head, w.num_chunks, w.partial - w.chunk,
                                  reinterpret_cast<float *>(pipe));
      if (tid == 0) pd.d_arrivals[item] = 0;
    }
  }
}

// Launch one instantiation (its shared memory opt-in once per process); with `occupancy`, only
// report its resident CTAs per SM instead.
template <typename T, int D, int V>
int launch_decode(const skv_decode_problem *p, const skv_plan_device *pd, int page_shift, cudaStream_t s, char *err,
                  size_t errlen, int *occupancy) {
  constexpr int smem = Cfg<D, V>::kSmem;
  static bool smem_set = false;
  if (!smem_set) {
    SKV_CUDA_TRY(cudaFuncSetAttribute(decode_kernel<T, D, V>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    smem_set = true;
  }
  if (occupancy) {
    SKV_CUDA_TRY(cudaOccupancyMaxActiveBlocksPerMultiprocessor(occupancy, decode_kernel<T, D, V>, kThreads, smem));
    return 0;
  }
  decode_kernel<T, D, V><<<static_cast<unsigned>(pd->num_work), kThreads, smem, s>>>(*p, *pd, page_shift);
  SKV_CUDA_LAUNCH("decode_kernel");
  return 0;
}

template <typename T, int V>
int launch_decode_dim(const skv_decode_problem *p, const skv_plan_device *pd, int page_shift, cudaStream_t s,
                      char *err, size_t errlen, int *occupancy) {
  switch (p->head_dim) {
  case 64: return launch_decode<T, 64, V>(p, pd, page_shift, s, err, errlen, occupancy);
  case 128: return launch_decode<T, 128, V>(p, pd, page_shift, s, err, errlen, occupancy);
  default: return launch_decode<T, 256, V>(p, pd, page_shift, s, err, errlen, occupancy);
  }
}

// The merge's shared memory must fit the kernel's loop region (the fused combine reuses it).
template <int V>
size_t loop_bytes(int head_dim) {
  return head_dim == 64 ? Cfg<64, V>::kLoopBytes : (head_dim == 128 ? Cfg<128, V>::kLoopBytes : Cfg<256, V>::kLoopBytes);
}

// Quantized variants (decode_quant.cu).
int launch_decode_quant(const skv_decode_problem *p, const skv_plan_device *pd, int page_shift, cudaStream_t s,
                        char *err, size_t errlen, int *occupancy);
size_t loop_bytes_quant(const skv_decode_problem *p);

}  // namespace skv
