// merge.cuh — the merge of one split tile's partial states, run by a whole CTA: the body of
// combine.cu's kernel and of decode.cu's fused combine (the last CTA of a tile merges).
//
// For chunks k = 0..n-1 of (request r, KV head h, query tile [qb, qe)) and each of the tile's R =
// (qe - qb) G packed rows x (query token qb + x / G, q head h G + x % G), with m = max_k lse_k:
//   lse = m + log(sum_k exp(lse_k - m)),  o = sum_k w_k o_k,  w_k = exp(lse_k - m) (1 / sum_j exp(lse_j - m))
// (sim/merge.h's pairwise merge folded over all chunks at once; chunks with lse = -inf weigh 0: a
// row that saw none of a chunk's keys; all -inf gives lse = -inf and o = 0). Every sum runs in an
// order fixed by n alone (o: k = 0, 1, ..., n-1; the softmax sums: a warp butterfly), whatever the
// batch or which CTA merges, so a row's result depends only on its own chunks. O goes out in T at
// [token, h*G + g, :]; LSE (natural log, fp32) at the offset of the output layout descriptor
// (sim/layout.h) for (token, h, g). Chunk k's row x is scratch row first_partial + k R + x.
//
// How. The item's n x R chunk LSEs are loaded at once into shared memory and turned into weights
// there (no thread walks a chain of dependent global loads); then each thread accumulates 4
// consecutive columns of one row with 16-byte loads. Partials are read through L2 (ld.global.cg):
// in the fused path other CTAs of the same launch wrote them.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <math.h>

#include "skv_kernels.h"
#include "softmax_state.cuh"
#include "to_output.cuh"

namespace skv {

// Shared memory the merge needs: weights [n][R] and R final LSEs.
__host__ __device__ inline size_t merge_smem_bytes(int n, int R) { return (size_t)(n + 1) * (size_t)R * sizeof(float); }

// One split tile: (request, kv head), its query tokens [q_begin, q_end) (the request's first token
// in the batch at q_start), its n chunks' rows from first_partial; this CTA merges its rows
// [row0, row0 + nrows) (all of them in the fused path; a block of them in the combine kernel).
struct MergeTile {
  int kv_head, n, q_begin, q_end;
  int64_t first_partial, q_start;
  int row0, nrows;
};

// Rows one combine CTA merges: enough that each of its threads takes one 4-column group of one row
// (d 64 / 128 / 256: 8 / 4 / 2 rows), so a tile of many rows (a query tile) merges on several CTAs.
__host__ __device__ inline int merge_rows_per_cta(int head_dim, int threads) {
  const int r = threads * 4 / head_dim;
  return r > 0 ? r : 1;
}

// Called by every thread of the block (it synchronizes). wts: merge_smem_bytes(n, mt.nrows) of shared
// memory. Below, g is a row of this CTA's block (row mt.row0 + g of the tile).
template <typename T>
__device__ void merge_item(const skv_decode_problem &p, const skv_plan_device &pd, const MergeTile &mt, float *wts) {
  const int G = p.num_q_heads / p.num_kv_heads, D = p.head_dim, n = mt.n, kv_head = mt.kv_head;
  const int RT = (mt.q_end - mt.q_begin) * G;  // the tile's packed rows: chunk k's rows start at k RT
  const int R = mt.nrows;                      // this CTA's rows
  const float *plse = pd.d_partial_lse + mt.first_partial + mt.row0;
  const float *po = pd.d_partial_o + (mt.first_partial + mt.row0) * D;
  for (int i = threadIdx.x; i < n * R; i += blockDim.x) wts[i] = __ldcg(plse + static_cast<int64_t>(i / R) * RT + i % R);
  __syncthreads();
  // Warp w takes rows g = w, w + nwarps, ...; its lanes stride over the chunks for the max, the
  // sum (butterfly: every lane ends with the same bits) and the weights.
  float *final_lse = wts + n * R;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  for (int g = warp; g < R; g += nwarps) {
    float m = -INFINITY;
    for (int k = lane; k < n; k += 32) m = fmaxf(m, wts[k * R + g]);
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    if (m == -INFINITY) {
      for (int k = lane; k < n; k += 32) wts[k * R + g] = 0.f;
      if (lane == 0) final_lse[g] = -INFINITY;
      continue;
    }
    float sum = 0.f;
    for (int k = lane; k < n; k += 32) sum += merge_factor<NatUnits>(wts[k * R + g], m);
    for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    // One division (by sum >= 1: the max chunk's own term is 1), then products: a weight of 0 or a
    // subnormal one as a quotient would take the division's slow path.
    const float inv = 1.f / sum;
    for (int k = lane; k < n; k += 32) wts[k * R + g] = merge_factor<NatUnits>(wts[k * R + g], m) * inv;
    if (lane == 0) final_lse[g] = merged_lse<NatUnits>(m, sum);
  }
  __syncthreads();
  const int64_t tok0 = mt.q_start + mt.q_begin;  // the tile's first query token in the batch
  for (int idx = threadIdx.x; idx < R * D / 4; idx += blockDim.x) {
    const int g = idx / (D / 4), c = (idx % (D / 4)) * 4;
    float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
    // Chunks in groups of 16 whose loads are issued together, then the last n mod 16 in groups of
    // 4 (predicated past n), always summed in k order. A loop unrolled by the compiler over a
    // runtime n leaves the last n mod 16 chunks to a one-at-a-time remainder loop, one L2 round
    // trip each (H200 at 2683fc2: 29 chunks merged in 6.7 us, 32 in 4.8 us;
    // results/decode_grid/20261129-000348-2683fc2). Groups of 16 for the tail as well cost the
    // fused decode kernels registers, and with them resident CTAs (8-bit forms at 2c29c00).
    const float4 *col = reinterpret_cast<const float4 *>(po + static_cast<int64_t>(g) * D + c);
    const int64_t stride = static_cast<int64_t>(RT) * D / 4; // float4s from one chunk's row to the next
    int k = 0;
    for (; k + 16 <= n; k += 16) {
#pragma unroll
      for (int j = 0; j < 16; ++j) {
        const float wk = wts[(k + j) * R + g];
        const float4 v = __ldcg(col + (k + j) * stride);
        acc.x += wk * v.x;
        acc.y += wk * v.y;
        acc.z += wk * v.z;
        acc.w += wk * v.w;
      }
    }
    for (; k < n; k += 4) {
      float4 v[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) v[j] = k + j < n ? __ldcg(col + (k + j) * stride) : make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        if (k + j < n) {
          const float wk = wts[(k + j) * R + g];
          acc.x += wk * v[j].x;
          acc.y += wk * v[j].y;
          acc.z += wk * v[j].z;
          acc.w += wk * v[j].w;
        }
      }
    }
    const int x = mt.row0 + g;         // the tile's row x: query token tok, q head kv_head G + x % G
    const int64_t tok = tok0 + x / G;
    T *o = static_cast<T *>(p.d_o) + (tok * p.num_q_heads + static_cast<int64_t>(kv_head) * G + x % G) * D + c;
    store4(o, acc);
    if (c == 0) p.d_lse[skv_layout_offset3(&p.lse_layout, tok, kv_head, x % G)] = final_lse[g];
  }
}

}  // namespace skv
