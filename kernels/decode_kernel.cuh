// decode_kernel.cuh — the paged split-KV decode kernel, one template for 16-bit and quantized KV caches.
//
// What it computes. For work item (r, h, query tile [qb, qe), keys [b, e)) and each packed row x of
// the tile (query token i = qb + x / G, q head h*G + x % G; sim/plan.h):
//   s_t = q_x . k_t * softmax_scale for t in [b, min(e, key_end + x / G))   (the mask's bound)
//   lse = log(sum_t exp(s_t)),  o = sum_t exp(s_t - lse) v_t
// Decode (query length 1) is the tile of one token: its rows are the group's q heads, every key seen.
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
// the copies they feed, so the page table's latency overlaps the compute. The CTA holds 16 RW
// packed rows (RW = 1, 2 or 4 row warps, fixed at compile time from the plan's tile): warp w owns
// rows [16 (w % RW), +16) and tokens [16 RW (w / RW), +16 RW) of every tile, so with RW = 1 (decode)
// the 4 warps split the tile's tokens over the same 16 rows, with RW = 4 (prefill) each warp runs
// all 64 tokens for its own 16 rows. Each warp keeps its own online-softmax state (running max m,
// sum l, output acc) for its rows, in one of two forms fixed at compile time: the rows as the rows
// of mma.sync m16n8k16 (warp_rows.cuh: 16-bit caches, up to 16 rows) or as its columns
// (warp_cols.cuh: 8-bit K and V, up to 8 rows, half the registers and MMAs). Scores are kept in
// log2 units (scale * log2 e) so exp2 does the exponentials. The mask bounds each row's keys: a
// CTA stops loading at its last row's bound, a warp skips 16 keys none of its rows sees, and keys
// past a row's bound score -inf. At the end the warps sharing rows merge their states through
// shared memory in warp order, so the result is a fixed function of the chunk's data and the
// tile's rows: the same chunk gives the same bits in any batch.
//
// Quantized caches (the KV variant V, fixed at compile time: no branch in the inner loop). 8-bit
// codes arrive by cp.async into stage tiles swizzled for bytes (swizzle8.h) and go from shared
// memory straight into MMA fragments: one 16-byte load, converted in registers (decode_common.cuh:
// e4m3 and int8 are exact in fp16, the MMA type of every 8-bit variant but int8-K + bf16-V), no
// 16-bit copy; both forms re-index the head dim (and the output dims) for that.
// The scales never touch the codes:
//   - per-tensor q_scale and k_scale fold into the one score scale (q_scale * k_scale * sm_scale);
//   - a per-token K scale multiplies that token's score column;
//   - a per-token V scale multiplies that token's probability before P.V (the row sums use the
//     unscaled probabilities);
//   - a per-tensor V scale, or int8's per-channel V scale, multiplies the output once at the end.
// The scale of token t is fetched by a 4-byte cp.async into the stage with the tile.
//
// Grid: one CTA per work item, or (pd.persistent, decode tiles) min(items, resident CTAs) CTAs that
// take items from a queue, prefetching the next one's work record and first page ids (below, at the
// shared declarations); the same bits either way.
//
// Timeline (optional, pd.d_cta_times): thread 0 stores %globaltimer at the CTA's start, once its
// first tile has landed, after its last tile and at its end, and the SM id (harness/cta_timeline.h).
#pragma once

#include <cuda_runtime.h>
#include <math.h>

#include <type_traits>

#include "cuda_check.h"
#include "decode_common.cuh"
#include "gpu.h"
#include "merge.cuh"
#include "to_output.cuh"
#include "mma.cuh"
#include "skv_kernels.h"
#include "swizzle8.h"
#include "warp_cols.cuh"
#include "warp_rows.cuh"

namespace skv {

// Shared-memory budget of one instantiation (SW: the column form of warp_cols.cuh). Pipeline depth:
// 16-bit d128 and the column form's d128 take 3 stages, so 2 and 4 CTAs fit an SM (the column form
// at 122 registers; H100, fp8 128x8192: 0.958 of the read ceiling with 3 stages and 4 CTAs/SM,
// 0.941 with 4 stages and 3); d256 takes 2.
template <int D, int V, bool SW = false, int RW = 1>
struct Cfg {
  static constexpr int kRowWarps = RW;             // warps over rows: 16 RW packed rows per CTA
  static constexpr int kTokWarps = kWarps / RW;    // warps over each tile's tokens
  static constexpr int kWarpTileTokens = kTileTokens / kTokWarps;  // tokens of a tile per warp
  using KV = KvTraits<V>;
  static constexpr bool k8 = KV::kKBytes == 1;  // K (and maybe V) read as 8-bit codes into registers
  static constexpr int kStages = D == 256 ? 2 : (D == 128 && (SW || !k8) ? 3 : 4);
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
  static constexpr int kQBytes = 16 * RW * D * 2;
  static constexpr int kSmem = kLoopBytes + kQBytes;
  // Resident CTAs per SM the decode forms (RW = 1) of 8-bit K caches are held to, as the cost
  // model's table (experiments/gpus.yaml ctas_per_sm) has them: the query-tile bounds added
  // registers, and at d64 the compiler would otherwise take 96 (columns), 125 (rows) and 135 (int8
  // K + bf16 V) of them and lose a CTA per SM (CUDA 13.0). 16-bit caches (shared-memory bound) and
  // the query-tile forms (RW > 1): no bound (1).
  static constexpr int kMinCtas = RW != 1 || !k8                ? 1
                                  : KV::kVBytes != 1            ? (D == 64 ? 4 : 2)
                                  : SW                          ? (D == 64 ? 6 : (D == 128 ? 4 : 3))
                                                                : (D == 64 ? 5 : (D == 128 ? 3 : 2));
};

__device__ __forceinline__ void cp_async_4(uint32_t smem_addr, const void *gmem, bool valid) {
  const int src_bytes = valid ? 4 : 0;
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_addr), "l"(gmem), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_8(uint32_t smem_addr, const void *gmem, bool valid) {
  const int src_bytes = valid ? 8 : 0;
  asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;\n" ::"r"(smem_addr), "l"(gmem), "r"(src_bytes));
}

// The GPU's nanosecond clock (%globaltimer: one clock for all SMs), for CTA timelines.
__device__ __forceinline__ uint64_t global_ns() {
  uint64_t t;
  asm volatile("mov.u64 %0, %globaltimer;" : "=l"(t));
  return t;
}

template <typename T, int D, int V, bool SW, int RW, bool P>
__global__ void __launch_bounds__(kThreads, (Cfg<D, V, SW, RW>::kMinCtas))
    decode_kernel(const skv_decode_problem p, const skv_plan_device pd, const int page_shift) {
  using C = Cfg<D, V, SW, RW>;
  static_assert(!SW || RW == 1, "the column form holds one warp's 8 rows");
  static_assert(!SW || (C::k8 && KvTraits<V>::kVBytes == 1), "the swapped form reads 8-bit K and V");
  using KV = KvTraits<V>;
  extern __shared__ __align__(128) unsigned char smem[];
  unsigned char *pipe = smem;
  unsigned char *qtile = smem + C::kLoopBytes;

  // A replayed graph's grid is its captured bound: the CTAs past the loaded plan's work exit.
  const int64_t count = pd.d_counts ? pd.d_counts[0] : pd.num_work;
  if (static_cast<int64_t>(blockIdx.x) >= count) return;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  // Programmatic dependent launch (pd.pdl): the dependent combine grid may launch once every CTA of
  // this grid has started (or exited) — so it takes no SM slot a pending decode CTA needs — and it
  // waits for this grid's completion before reading anything (PTX ISA, griddepcontrol).
  if (pd.pdl) asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  __shared__ int fused_item, last;
  // Persistent grid (P, set by pd.persistent; skv_kernels.h; decode tiles, RW = 1): each CTA runs items
  // until the queue is empty; the next one is claimed near the end of the current one and its work
  // record (with its page-table row and combine item) and the page ids of its first kStages tiles are
  // copied into shared memory before the current one ends (the schedule is at the loop), so that when
  // it starts its first copies wait on the KV bytes alone, not on the chain work record -> page id ->
  // KV bytes of a fresh CTA's prologue. The claim is the atomic counter of a dynamic tile scheduler
  // (FlashAttention-3, hopper/tile_scheduler.hpp, DynamicPersistentTileScheduler; a CTA's first item
  // is its own index, so the first wave claims nothing).
  static_assert(!P || RW == 1, "the persistent grid runs decode tiles");
  static_assert(sizeof(skv_work) == 64, "the work record is copied as four 16-byte chunks");
  constexpr int kPrefetchIds = C::kStages * kTileTokens + 1;  // page ids of the first kStages tiles (page size >= 1)
  __shared__ __align__(16) skv_work next_w;
  __shared__ __align__(8) int64_t next_pages;
  __shared__ int next_fused, next_item;
  __shared__ int32_t next_ids[kPrefetchIds];
  int next_pref = 0;  // what the item run last prefetched for next_item: 0 nothing, 1 its record, 2 and its page ids
                      // (copies of a claim past the last item are zero-filled and never read)

  // One work item; pref: what the item before it on this CTA prefetched for it (0 under one CTA per item).
  auto run = [&](const int item, const int pref) {
  // CTA timeline (optional): thread 0 stores each reading at once, so none stays live in a register.
  // (The pointer is re-read from the kernel parameters at each use rather than kept in registers.)
  if (pd.d_cta_times && tid == 0) pd.d_cta_times[item].start_ns = global_ns();
  const skv_work w = pref ? next_w : pd.d_work[item];
  // The fused combine's arrival counter (thread 0 counts): loaded now, not behind the epilogue, and
  // parked in shared memory before the loop (not a register through it).
  const int item0 = pd.fused_combine && tid == 0 ? (pref ? next_fused : pd.d_work_item[item]) : 0;
  const int G = p.num_q_heads / p.num_kv_heads;
  const int rows = (w.q_end - w.q_begin) * G;  // the tile's packed rows (<= 16 RW)
  // Tokens are counted from the chunk's start in 32 bits (a chunk is shorter than 2^31 tokens): the
  // chunk's first page and its offset in that page are found once, so the per-tile page lookups,
  // pool rows and range masks need no 64-bit arithmetic. Row x sees the chunk's first key_of(x)
  // keys (clamped to [0, n]); the CTA reads no key past its last row's bound.
  // Keys of the chunk the tile's first token sees, in 32 bits: clamped to [-64, the chunk's length]
  // (a row adds at most 63 to it, and a bound past the chunk's end is the chunk's end).
  const int n_all = static_cast<int>(w.kv_end - w.kv_begin);
  const int64_t kb64 = w.key_end - w.kv_begin;
  const int kb0 = kb64 < -64 ? -64 : (kb64 > n_all ? n_all : static_cast<int>(kb64));
  auto key_of = [&](int x, int n_max) -> int {
    const int k = kb0 + x / G;
    return k < 0 ? 0 : (k > n_max ? n_max : k);
  };
  const int n = key_of(rows - 1, n_all);
  const int ntiles = (n + kTileTokens - 1) / kTileTokens;
  const int page_mask = (1 << page_shift) - 1;
  const int32_t *pages = p.d_page_table + (pref ? next_pages : pd.d_work_pages[item]) + (w.kv_begin >> page_shift);
  const int off0 = static_cast<int>(w.kv_begin & page_mask);
  const int rows_per_page = p.num_kv_heads << page_shift;
  const unsigned char *kbase = static_cast<const unsigned char *>(p.d_k);
  const unsigned char *vbase = static_cast<const unsigned char *>(p.d_v);

  // The pool row (page, slot, this KV head) of chunk token t on page `page`: K/V elements at row * D,
  // per-token scales at row (NHD pools: [num_pages, page_size, num_kv_heads, head_dim]).
  auto pool_row = [&](int32_t page, int t) -> int64_t {
    return static_cast<int64_t>(page) * rows_per_page + (((off0 + t) & page_mask) * p.num_kv_heads + w.kv_head);
  };
  // Each thread copies 16-byte chunk (tid % chunks) of rows tid / chunks + pass * rows_per_pass of
  // K and of V, and (threads < 64 / 64..127) the scale of one token; its page ids are loaded one
  // tile ahead of the copies (K, V and scale rows may differ when K and V widths differ).
  // When K and V rows have the same width the same rows (so the same page ids) serve both.
  static constexpr bool kSameRows = C::kKChunks == C::kVChunks;
  struct Ids {
    int32_t k[C::kKPasses], v[kSameRows ? 1 : C::kVPasses], s;
  };
  auto tok_of = [&](int tile, int row) -> int { return tile * kTileTokens + row; };
  // The page id of chunk token t; in the first kStages tiles (pro), from the prefetched copy when there is one.
  auto page_of = [&](int t, bool pro) -> int32_t {
    const int j = (off0 + (t < n ? t : 0)) >> page_shift;
    if constexpr (P) return pro && pref == 2 ? next_ids[j] : pages[j];
    return pages[j];
  };
  auto load_pages = [&](int tile, Ids &ids, bool pro) {
#pragma unroll
    for (int pass = 0; pass < C::kKPasses; ++pass)
      ids.k[pass] = page_of(tok_of(tile, tid / C::kKChunks + pass * C::kKRowsPerPass), pro);
    if constexpr (!kSameRows) {
#pragma unroll
      for (int pass = 0; pass < C::kVPasses; ++pass)
        ids.v[pass] = page_of(tok_of(tile, tid / C::kVChunks + pass * C::kVRowsPerPass), pro);
    }
    if constexpr (C::kScaleBytes > 0) ids.s = page_of(tok_of(tile, tid & (kTileTokens - 1)), pro);
  };
  auto issue_tile = [&](int tile, int stage, const Ids &ids) {
    unsigned char *ks = pipe + stage * C::kStageBytes;
    unsigned char *vs = ks + C::kKTileBytes;
#pragma unroll
    for (int pass = 0; pass < C::kKPasses; ++pass) {
      const int row = tid / C::kKChunks + pass * C::kKRowsPerPass, chunk = tid % C::kKChunks;
      const int tok = tok_of(tile, row);
      const bool valid = tok < n;
      const unsigned char *src = kbase + pool_row(ids.k[pass], valid ? tok : 0) * (D * KV::kKBytes) + chunk * 16;
      const uint32_t off = KV::kKBytes == 2 ? swz<D>(row, chunk) : skv_swz8(D, row, chunk);
      cp_async_16(smem_u32(ks + off), src, valid);
    }
#pragma unroll
    for (int pass = 0; pass < C::kVPasses; ++pass) {
      const int row = tid / C::kVChunks + pass * C::kVRowsPerPass, chunk = tid % C::kVChunks;
      const int tok = tok_of(tile, row);
      const bool valid = tok < n;
      const int32_t page = kSameRows ? ids.k[pass] : ids.v[kSameRows ? 0 : pass];
      const unsigned char *src = vbase + pool_row(page, valid ? tok : 0) * (D * KV::kVBytes) + chunk * 16;
      const uint32_t off = KV::kVBytes == 2 ? swz<D>(row, chunk) : skv_swz8(D, row, chunk);
      cp_async_16(smem_u32(vs + off), src, valid);
    }
    if constexpr (C::kScaleBytes > 0) {
      float *sc = reinterpret_cast<float *>(vs + C::kVTileBytes);  // [0, 64): K scales, [64, 128): V scales
      const int row = tid & (kTileTokens - 1);
      const int tok = tok_of(tile, row);
      const bool valid = tok < n;
      const int64_t srow = pool_row(ids.s, valid ? tok : 0);
      if (tid < kTileTokens) {
        if constexpr (KV::kKTokenScale) cp_async_4(smem_u32(sc + row), p.d_k_token_scale + srow, valid);
      } else {
        if constexpr (KV::kVTokenScale) cp_async_4(smem_u32(sc + kTileTokens + row), p.d_v_token_scale + srow, valid);
      }
    }
  };

  // Prologue page ids: all requested before the first copy needs one.
  Ids pro[C::kStages - 1], pg;
#pragma unroll
  for (int s = 0; s < C::kStages - 1; ++s)
    if (s < ntiles) load_pages(s, pro[s], true);
  if (C::kStages - 1 < ntiles) load_pages(C::kStages - 1, pg, true);

  // Q tile: rows x < rows hold the packed rows (as T; row x is q head kv_head G + x % G of query
  // token q_start + q_begin + x / G), rows past them zero. q of the MMA type arrives by cp.async as
  // the first group; fp8 q, and bf16 q over a quantized cache (fp16 MMA), are converted through
  // registers after the first tiles' copies are issued, so the loads' latency overlaps theirs: fp8
  // exactly; bf16 to the nearest fp16, exact for magnitudes in [2^-14, 65504] (smaller ones keep an
  // absolute error under 2^-25; the numerics checks see it).
  const int64_t tok0 = w.q_start + w.q_begin;  // the tile's first query token in the batch
  // Element offset of packed row x's q (and output) row.
  auto q_row = [&](int x) -> int64_t {
    return ((tok0 + x / G) * p.num_q_heads + static_cast<int64_t>(w.kv_head) * G + x % G) * D;
  };
  bool convert_q = false;
  if constexpr (std::is_same<T, __half>::value) convert_q = p.q_dtype == SKV_BF16 || p.q_dtype == SKV_FP8_E4M3;
  if (!convert_q) {
    const T *q = static_cast<const T *>(p.d_q);
    for (int i = tid; i < 16 * RW * (D / 8); i += kThreads) {
      const int row = i / (D / 8), ch = i % (D / 8);
      cp_async_16(smem_u32(qtile + swz<D>(row, ch)), q + q_row(row < rows ? row : 0) + ch * 8, row < rows);
    }
  }
  cp_async_commit();  // the Q group (empty when q is converted)
  // Prologue: the first tiles' copies, with the page ids loaded above.
#pragma unroll
  for (int s = 0; s < C::kStages - 1; ++s) {
    if (s < ntiles) issue_tile(s, s, pro[s]);
    cp_async_commit();
  }
  if constexpr (std::is_same<T, __half>::value) {
    if (p.q_dtype == SKV_BF16) {
      const __nv_bfloat16 *q = static_cast<const __nv_bfloat16 *>(p.d_q);
      for (int i = tid; i < 16 * RW * (D / 8); i += kThreads) {
        const int row = i / (D / 8), ch = i % (D / 8);
        uint4 v = make_uint4(0, 0, 0, 0);
        if (row < rows) {
          const uint4 c = *reinterpret_cast<const uint4 *>(q + q_row(row) + ch * 8);
          const __nv_bfloat162 *e = reinterpret_cast<const __nv_bfloat162 *>(&c);
          uint32_t *o = reinterpret_cast<uint32_t *>(&v);
          for (int k = 0; k < 4; ++k) o[k] = Mma<T>::pack(__low2float(e[k]), __high2float(e[k]));
        }
        *reinterpret_cast<uint4 *>(qtile + swz<D>(row, ch)) = v;
      }
    } else if (p.q_dtype == SKV_FP8_E4M3) {
      const unsigned char *q = static_cast<const unsigned char *>(p.d_q);
      for (int i = tid; i < 16 * RW * (D / 8); i += kThreads) {
        const int row = i / (D / 8), ch = i % (D / 8);
        uint4 v = make_uint4(0, 0, 0, 0);
        if (row < rows) {
          const uint2 c = *reinterpret_cast<const uint2 *>(q + q_row(row) + ch * 8);
          codes_to_t<T, true>(c.x, v.x, v.y);
          codes_to_t<T, true>(c.y, v.z, v.w);
        }
        *reinterpret_cast<uint4 *>(qtile + swz<D>(row, ch)) = v;
      }
    }
  }
  cp_async_wait<C::kStages - 1>();  // the Q group has landed (the tile groups may not have); with the
                                    // barrier, so have the converted rows
  __syncthreads();

  // This warp's form of the online softmax: packed rows as MMA columns (8-bit K and V, <= 8 rows)
  // or rows; its rows [x0, x0 + 16) and its tokens of every tile [t0, t0 + kWarpTileTokens).
  using Warp = typename std::conditional<SW, WarpCols<T, D, V>, WarpRows<T, D, V>>::type;
  const int rw = warp % RW, x0 = 16 * rw, t0 = (warp / RW) * C::kWarpTileTokens;
  Warp wt;
  wt.init(qtile + x0 * D * 2, lane);  // 16 swizzled rows: the swizzle repeats every 8 rows
  // The keys of the chunk this thread's two rows (or columns) see, and the most any row of the warp
  // sees (its last live row's: rows are token-major).
  int row_keys[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int x = x0 + Warp::row_of(lane, i);
    row_keys[i] = x < rows ? key_of(x, n) : n;  // padding rows: unmasked, never written
  }
  const int warp_keys = x0 < rows ? key_of((x0 + 16 < rows ? x0 + 16 : rows) - 1, n) : 0;

  // One score scale: softmax scale in log2 units, times the per-tensor q and k scales.
  float scale = p.softmax_scale * kLog2e;
  if (p.q_dtype == SKV_FP8_E4M3) scale *= p.q_scale;
  if constexpr (V == kKvFp8Tensor) scale *= p.k_scale;
  if (pd.d_cta_times && ntiles > 0) {
    // Timeline only: the first iteration's wait, done here, so the loop carries no timing code.
    cp_async_wait<C::kStages - 2>();
    __syncthreads();
    if (tid == 0) pd.d_cta_times[item].first_tile_ns = global_ns();
  }
  // Persistent grid: the next item is claimed kStages + 3 tiles before this one's end (iteration c0),
  // so that items go to the CTAs that free up first, as the hardware's block scheduler would hand
  // them out (a claim when the item starts reserved it a whole item ahead: H200 f8ecbf3, fp8 128 x
  // 8192, the drain grew from 43 to 62 us); thread 0 holds the claim in a register for one tile (its
  // latency hidden) and publishes it at c0 + 1; its work record is copied at c0 + 2 (the copies join
  // that iteration's group, so they have landed kStages - 1 iterations later) and the page ids of its
  // first kStages tiles, read from that record, at c0 + kStages + 1 (landed by the wait after the
  // loop). A short item runs what fits, and claims after its loop what it did not.
  // A claim is the queue's count before it: item grid + claim. The CTAs that run (min(grid, count)
  // of them) claim until a claim fails, so a launch makes exactly count claims (count - grid that
  // succeed, one failing per CTA): the claim that sees count - 1 is the launch's last in the
  // counter's own order, and re-arms the queue for the next launch (no fence needed: one address).
  auto publish = [&](int c) {
    next_item = static_cast<int>(gridDim.x) + c;
    if (c == count - 1) atomicExch(&pd.d_queue[0], 0);
  };
  auto prefetch_record = [&]() {
    const int nx = next_item;
    const bool valid = nx < count;
    const int64_t at = valid ? nx : 0;
    if (tid < 4)
      cp_async_16(smem_u32(reinterpret_cast<unsigned char *>(&next_w) + 16 * tid),
                  reinterpret_cast<const unsigned char *>(pd.d_work + at) + 16 * tid, valid);
    else if (tid == 4) cp_async_8(smem_u32(&next_pages), pd.d_work_pages + at, valid);
    else if (tid == 5 && pd.fused_combine) cp_async_4(smem_u32(&next_fused), pd.d_work_item + at, valid);
  };
  auto prefetch_ids = [&]() {
    const int64_t len = next_w.kv_end - next_w.kv_begin;  // 0 when there is no next item (zero-filled)
    if (len <= 0) return;
    const int off = static_cast<int>(next_w.kv_begin & page_mask);
    const int span = len < C::kStages * kTileTokens ? static_cast<int>(len) : C::kStages * kTileTokens;
    const int npg = ((off + span - 1) >> page_shift) + 1;  // <= kPrefetchIds
    const int32_t *src = p.d_page_table + next_pages + (next_w.kv_begin >> page_shift);
    for (int j = tid; j < npg; j += kThreads) cp_async_4(smem_u32(next_ids + j), src + j, true);
  };
  if (tid == 0) fused_item = item0;  // landed long ago: the first tiles' copies were issued after it
  const int c0 = ntiles > C::kStages + 3 ? ntiles - (C::kStages + 3) : 0;
  int claim = 0;  // thread 0's
  for (int i = 0; i < ntiles; ++i) {
    cp_async_wait<C::kStages - 2>();
    __syncthreads();  // tile i landed for all threads; every warp is done with tile i - 1
    if (i + C::kStages - 1 < ntiles) issue_tile(i + C::kStages - 1, (i + C::kStages - 1) % C::kStages, pg);
    if constexpr (P) {
      if (i == c0) {
        if (tid == 0) claim = atomicAdd(&pd.d_queue[0], 1);
      } else if (i == c0 + 1) {
        if (tid == 0) publish(claim);
      } else if (i == c0 + 2) {
        prefetch_record();
      } else if (i == c0 + C::kStages + 1) {
        prefetch_ids();
      }
    }
    cp_async_commit();
    if (i + C::kStages < ntiles) load_pages(i + C::kStages, pg, false);  // consumed next iteration

    const unsigned char *ks = pipe + (i % C::kStages) * C::kStageBytes, *vs = ks + C::kKTileBytes;
    const float *sc = reinterpret_cast<const float *>(vs + C::kVTileBytes);  // this stage's per-token scales
#pragma unroll
    for (int j = 0; j < RW; ++j) {
      const int r0 = t0 + j * kWarpTokens, rel0 = i * kTileTokens + r0;  // 16 tokens: the first's place in the chunk
      if (rel0 >= warp_keys) break;  // none of the warp's rows sees them (nor any later ones)
      const int lim[2] = {row_keys[0] - rel0, row_keys[1] - rel0};
      wt.tile(ks, vs, sc, r0, lim, scale, lane);
    }
  }
  if (pd.d_cta_times && tid == 0) pd.d_cta_times[item].loop_end_ns = global_ns();
  cp_async_wait<0>();
  __syncthreads();  // pipeline buffers free: reuse them for the merge (and the prefetches have landed)
  // The claim a short item did not make or publish in its loop; what the next item finds prefetched.
  if constexpr (P) {
    if (tid == 0 && c0 + 1 >= ntiles) publish(c0 < ntiles ? claim : atomicAdd(&pd.d_queue[0], 1));
    next_pref = c0 + C::kStages + 1 < ntiles ? 2 : (c0 + 2 < ntiles ? 1 : 0);
  }

  // Each warp publishes (m, l, acc) of its 16 rows.
  float *merge = reinterpret_cast<float *>(pipe);
  float *ml = merge + kWarps * 16 * D;  // warp k: m of its rows at ml[32 k + g], l at ml[32 k + 16 + g]
  wt.publish(merge + warp * 16 * D, ml + warp * 32, lane);
  __syncthreads();

  // Merge the warps of each row (warps rw, rw + RW, ...: token order), in two steps so that nothing
  // is computed per element that depends on the row alone (H200, cc73ba2: a per-element version of
  // this took 2.3-3.3 us of every CTA, its timelines' end minus loop end):
  //  1. one thread per row: the merged max M and sum l = sum_k l_k f_k (f_k = exp2(m_k - M)), the
  //     row's lse, and each warp's weight f_k (1 / l), written over that warp's m (each (warp, row)
  //     slot is read by this row's thread alone);
  //  2. four consecutive columns of one row per thread: o = sum_k w_k acc_k, in warp order, the V
  //     scale applied once, one 8-byte (output) or 16-byte (partial) store.
  // The weights are formed as merge.cuh's (f_k (1 / l), as the combine's), and the result stays a
  // fixed function of the chunk's data and the tile's rows.
  const bool final_out = w.num_chunks == 1;
  if (tid < rows) {
    const int x = tid, g = x % 16, wr = x / 16;
    float mmax = -INFINITY;
#pragma unroll
    for (int k = wr; k < kWarps; k += RW) mmax = fmaxf(mmax, ml[k * 32 + g]);
    float sum = 0.f;
    if (mmax != -INFINITY) {
#pragma unroll
      for (int k = wr; k < kWarps; k += RW) sum += ml[k * 32 + 16 + g] * merge_factor<Log2Units>(ml[k * 32 + g], mmax);
    }
    // One division per row, by sum >= 1 (the max warp's own term is l_k >= 1): a weight f_k / l of 0
    // (a warp that saw none of the row's keys) would take the division's slow path, a call to code far
    // from here that is cold in the instruction cache (H200 ncu PC sampling at e383613: ~1 us of the 1x16
    // epilogue).
    const float inv = mmax == -INFINITY ? 0.f : 1.f / sum;
#pragma unroll
    for (int k = wr; k < kWarps; k += RW)  // an empty row (M = -inf): every weight 0, not exp2(-inf + inf) = NaN
      ml[k * 32 + g] = mmax == -INFINITY ? 0.f : merge_factor<Log2Units>(ml[k * 32 + g], mmax) * inv;
    const float lse = merged_lse<Log2Units>(mmax, sum);
    if (final_out) p.d_lse[skv_layout_offset3(&p.lse_layout, tok0 + x / G, w.kv_head, x % G)] = lse;
    else pd.d_partial_lse[w.partial + x] = lse;
  }
  __syncthreads();
  for (int idx = tid; idx < rows * (D / 4); idx += kThreads) {
    const int x = idx / (D / 4), c = (idx % (D / 4)) * 4, g = x % 16, wr = x / 16;  // row x: row g of warps wr + k RW
    float4 o = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
    for (int k = wr; k < kWarps; k += RW) {
      const float wk = ml[k * 32 + g];
      const float4 a = *reinterpret_cast<const float4 *>(merge + (k * 16 + g) * D + c);
      o.x += wk * a.x, o.y += wk * a.y, o.z += wk * a.z, o.w += wk * a.w;
    }
    if constexpr (KV::kVTensorScale) o.x *= p.v_scale, o.y *= p.v_scale, o.z *= p.v_scale, o.w *= p.v_scale;
    if constexpr (KV::kVChannelScale) {
      const float *vc = p.d_v_channel_scale + static_cast<int64_t>(w.kv_head) * D + c;
      o.x *= vc[0], o.y *= vc[1], o.z *= vc[2], o.w *= vc[3];
    }
    if (final_out) store_output4(p.o_dtype, p.d_o, q_row(x) + c, o);
    else *reinterpret_cast<float4 *>(pd.d_partial_o + (w.partial + x) * D + c) = o;
  }

  // The CTA's end, for the timeline (optional): every thread's writes are issued.
  auto stamp_end = [&]() {
    if (pd.d_cta_times) {
      __syncthreads();
      if (tid == 0) {
        uint32_t sm;
        asm volatile("mov.u32 %0, %smid;" : "=r"(sm));
        pd.d_cta_times[item].end_ns = global_ns();
        pd.d_cta_times[item].sm = sm;
      }
    }
  };
  // Fused combine: count this CTA's arrival; the CTA that arrives last for its (request, KV head,
  // tile) merges all chunks (merge.cuh: ascending order, so the result does not depend on which CTA
  // merges) and re-arms the counter for the next launch. Publication is CUTLASS's semaphore pattern
  // (include/cutlass/barrier.h, GenericBarrier's arrive_inc / wait_eq): a CTA barrier orders every
  // thread's partial stores before thread 0's gpu-scope acq_rel fence and its relaxed atomic; the last
  // arrival's fence after the atomic orders every chunk's partials before its barrier and the merge's
  // loads (PTX ISA, memory consistency model: release and acquire patterns). One fence per CTA
  // instead of one sequentially consistent fence per thread.
  // CTAs that merge nothing return here and below.
  if (!pd.fused_combine || final_out) {
    stamp_end();
    return;
  }
  __syncthreads();
  if (tid == 0) {
    asm volatile("fence.acq_rel.gpu;" ::: "memory");
    const int arrived = atomicAdd(&pd.d_arrivals[fused_item], 1);
    asm volatile("fence.acq_rel.gpu;" ::: "memory");
    last = arrived == w.num_chunks - 1;
  }
  __syncthreads();
  if (!last) {
    stamp_end();
    return;
  }
  const MergeTile mt = {w.kv_head, w.num_chunks, w.q_begin, w.q_end,
                        w.partial - static_cast<int64_t>(w.chunk) * rows, w.q_start, 0, rows};
  // Inlined: out of line (a __noinline__ function over __grid_constant__ parameters) it moved the
  // non-merging CTAs' exit next to their epilogue but made the fused path 0.7-1.1 us slower at 1x4096
  // and 8x4096 (H200, 57bfde8 vs d79872d).
  if (p.o_dtype == SKV_FP16) merge_item<__half>(p, pd, mt, merge);
  else merge_item<__nv_bfloat16>(p, pd, mt, merge);
  if (tid == 0) pd.d_arrivals[fused_item] = 0;
  stamp_end();
  };  // run

  if constexpr (!P) {
    run(static_cast<int>(blockIdx.x), 0);
  } else {
    for (int item = static_cast<int>(blockIdx.x), pref = 0;;) {
      run(item, pref);
      __syncthreads();  // every thread is done with the item's shared memory; next_item is visible
      item = next_item;
      if (item >= count) break;
      pref = next_pref;
    }
  }
}

// The dynamic shared memory a kernel may take above 48 KB is an attribute of the kernel on one
// device: raised once per device (a process that drives several GPUs raises it on each), on the
// device current at launch.
constexpr int kMaxDevices = 64;
template <typename Kernel>
int allow_smem(Kernel kernel, int smem, bool (&done)[kMaxDevices], char *err, size_t errlen) {
  int dev = 0;
  SKV_CUDA_TRY(cudaGetDevice(&dev));
  if (dev < 0 || dev >= kMaxDevices) {
    snprintf(err, errlen, "decode: device %d is beyond the %d this build tracks", dev, kMaxDevices);
    return (int)cudaErrorInvalidDevice;
  }
  if (!done[dev]) {
    SKV_CUDA_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    done[dev] = true;
  }
  return 0;
}

// Launch one instantiation on stream s; with `occupancy`, only report its resident CTAs per SM instead.
template <typename T, int D, int V, bool SW, int RW, bool P = false>
int launch_decode_rw(const skv_decode_problem *p, const skv_plan_device *pd, int page_shift, cudaStream_t s,
                     char *err, size_t errlen, int *occupancy) {
  if constexpr (RW == 1 && !P) {
    if (pd && pd->persistent) return launch_decode_rw<T, D, V, SW, 1, true>(p, pd, page_shift, s, err, errlen, occupancy);
  } else if constexpr (!P) {
    if (pd && pd->persistent) {
      snprintf(err, errlen, "decode: the persistent grid runs tiles of at most 16 packed rows (this plan's hold %d)",
               pd->max_tile_rows);
      return (int)cudaErrorInvalidValue;
    }
  }
  constexpr int smem = Cfg<D, V, SW, RW>::kSmem;
  static bool smem_set[kMaxDevices];
  if (const int e = allow_smem(decode_kernel<T, D, V, SW, RW, P>, smem, smem_set, err, errlen)) return e;
  if (occupancy) {
    SKV_CUDA_TRY(
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(occupancy, decode_kernel<T, D, V, SW, RW, P>, kThreads, smem));
    return 0;
  }
  // One CTA per work item, or (persistent) as many as fit the GPU at once, fewer if there are fewer items.
  int64_t grid = pd->num_work;
  if constexpr (P) {
    static int slots[kMaxDevices];  // resident CTAs on the whole device, per device
    int dev = 0;
    SKV_CUDA_TRY(cudaGetDevice(&dev));  // allow_smem above checked dev < kMaxDevices
    if (slots[dev] == 0) {
      int per_sm = 0, sms = 0;
      SKV_CUDA_TRY(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, decode_kernel<T, D, V, SW, RW, P>, kThreads, smem));
      SKV_CUDA_TRY(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
      if (per_sm < 1 || sms < 1) {
        snprintf(err, errlen, "decode: no CTA of this kernel fits an SM (%d per SM, %d SMs)", per_sm, sms);
        return (int)cudaErrorInvalidConfiguration;
      }
      slots[dev] = per_sm * sms;
    }
    if (!pd->d_queue) {
      snprintf(err, errlen, "decode: the persistent grid needs its work queue (skv_plan_device.d_queue)");
      return (int)cudaErrorInvalidValue;
    }
    if (grid > slots[dev]) grid = slots[dev];
  }
  decode_kernel<T, D, V, SW, RW, P><<<static_cast<unsigned>(grid), kThreads, smem, s>>>(*p, *pd, page_shift);
  SKV_CUDA_LAUNCH("decode_kernel");
  return 0;
}

// Row warps for a launch: enough 16-row warps for the largest tile (decode: 1). Without a plan
// (the occupancy query) the decode case, G rows.
inline int row_warps(const skv_decode_problem *p, const skv_plan_device *pd) {
  return skv_decode_row_warps(pd ? pd->max_tile_rows : p->num_q_heads / p->num_kv_heads);
}

template <typename T, int D, int V, bool SW>
int launch_decode(const skv_decode_problem *p, const skv_plan_device *pd, int page_shift, cudaStream_t s, char *err,
                  size_t errlen, int *occupancy) {
  if constexpr (SW) {
    return launch_decode_rw<T, D, V, true, 1>(p, pd, page_shift, s, err, errlen, occupancy);
  } else {
    switch (row_warps(p, pd)) {
    case 1: return launch_decode_rw<T, D, V, false, 1>(p, pd, page_shift, s, err, errlen, occupancy);
    case 2: return launch_decode_rw<T, D, V, false, 2>(p, pd, page_shift, s, err, errlen, occupancy);
    default: return launch_decode_rw<T, D, V, false, 4>(p, pd, page_shift, s, err, errlen, occupancy);
    }
  }
}

// The form for a launch's tiles: 8-bit K and V caches whose tiles hold at most 8 packed rows (decode:
// at most 8 q heads per KV head) take the column form (warp_cols.cuh), everything else the row form
// (warp_rows.cuh); the rule is sim/gpu.h's, which the cost model's occupancy table follows.
template <int V>
bool column_form(const skv_decode_problem *p, const skv_plan_device *pd) {
  return skv_decode_column_form(KvTraits<V>::kKBytes, KvTraits<V>::kVBytes,
                                pd ? pd->max_tile_rows : p->num_q_heads / p->num_kv_heads);
}

template <typename T, int D, int V>
int launch_decode_form(const skv_decode_problem *p, const skv_plan_device *pd, int page_shift, cudaStream_t s,
                       char *err, size_t errlen, int *occupancy) {
  if constexpr (KvTraits<V>::kKBytes == 1 && KvTraits<V>::kVBytes == 1) {
    static_assert(WarpCols<T, D, V>::kRows == 8, "column_form's group bound");
    if (column_form<V>(p, pd)) return launch_decode<T, D, V, true>(p, pd, page_shift, s, err, errlen, occupancy);
  }
  return launch_decode<T, D, V, false>(p, pd, page_shift, s, err, errlen, occupancy);
}

template <typename T, int V>
int launch_decode_dim(const skv_decode_problem *p, const skv_plan_device *pd, int page_shift, cudaStream_t s,
                      char *err, size_t errlen, int *occupancy) {
  switch (p->head_dim) {
  case 64: return launch_decode_form<T, 64, V>(p, pd, page_shift, s, err, errlen, occupancy);
  case 128: return launch_decode_form<T, 128, V>(p, pd, page_shift, s, err, errlen, occupancy);
  default: return launch_decode_form<T, 256, V>(p, pd, page_shift, s, err, errlen, occupancy);
  }
}

// The merge's shared memory must fit the kernel's loop region (the fused combine reuses it); the
// loop region does not depend on the row warps.
template <int D, int V>
size_t loop_bytes_dim(const skv_decode_problem *p, const skv_plan_device *pd) {
  return column_form<V>(p, pd) ? Cfg<D, V, true>::kLoopBytes : Cfg<D, V, false>::kLoopBytes;
}
template <int V>
size_t loop_bytes(const skv_decode_problem *p, const skv_plan_device *pd) {
  return p->head_dim == 64 ? loop_bytes_dim<64, V>(p, pd)
                           : (p->head_dim == 128 ? loop_bytes_dim<128, V>(p, pd) : loop_bytes_dim<256, V>(p, pd));
}

// Quantized variants (decode_quant.cu).
int launch_decode_quant(const skv_decode_problem *p, const skv_plan_device *pd, int page_shift, cudaStream_t s,
                        char *err, size_t errlen, int *occupancy);
size_t loop_bytes_quant(const skv_decode_problem *p, const skv_plan_device *pd);

}  // namespace skv
