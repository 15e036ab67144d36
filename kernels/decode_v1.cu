// decode_v1.cu — version 1 of the decode kernel: the algorithm of decode.cu without its optimisations,
// executing the same plans. Read this before decode_kernel.cuh; check a new variant against it.
//
// What it computes (the same as decode_kernel.cuh). For work item (request r, KV head h, query tile
// [qb, qe), chunk [b, e)) and each packed row x of the tile (query token qb + x / G, q head
// h*G + x % G):
//   s_t = q_x . k_t * softmax_scale for t in [b, e) below the row's key bound (key_end + x / G),
//   lse = log(sum_t exp(s_t)),  o = sum_t exp(s_t - lse) v_t
// with q, k, v dequantized element by element (dequant.cuh: every cache type). A request with one
// chunk writes o (in the output type) and lse (through the LSE layout descriptor) to the outputs; a
// split request writes the fp32 state (o, natural-log lse) to its scratch row `partial`, which the
// combine kernel (combine.cu, merge.cuh) merges. An empty range gives lse = -inf and o = 0.
//
// How (version 1): one thread block of 128 threads per work item, scalar fp32 arithmetic, no tensor
// cores, no shared-memory pipeline, no swizzles. Thread i owns head dims i and i + 128 (d <= 256) of
// every row's output. Tokens go one at a time: each thread multiplies its q and k dims, the block
// sums the R partial dot products (warp shuffles, then shared memory), every thread then applies the
// same online-softmax update to the same scores (softmax_state.cuh, scores in log2 units as
// decode_kernel.cuh keeps them) and adds p_t v_t to its dims. The fused combine is not supported: the
// plan's combine list runs as the combine kernel.
//
// Build and run: it is part of every build (make); tests/gpu/test_gpu.c
// decode_v1_matches_the_cpu_executor runs it against sim/cpu_exec.h on a GPU host (make test-gpu).
#include <cuda_runtime.h>
#include <math.h>

#include "cuda_check.h"
#include "dequant.cuh"
#include "skv_kernels.h"
#include "softmax_state.cuh"
#include "to_output.cuh"

namespace skv {
namespace {

constexpr int kV1Threads = 128;
constexpr int kV1MaxDims = 2;   // head dims per thread: d <= 2 * 128
constexpr int kV1MaxGroup = SKV_TILE_ROWS_MAX; // packed rows per tile (the kernels' limit)

// The block-wide sums of G per-thread values (every thread gets every sum).
__device__ void block_sums(float (&v)[kV1MaxGroup], int G, float (*red)[kV1MaxGroup]) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int g = 0; g < G; ++g)
    for (int o = 16; o > 0; o >>= 1) v[g] += __shfl_xor_sync(0xffffffffu, v[g], o);
  __syncthreads(); // the previous token's sums have been read
  if (lane == 0)
    for (int g = 0; g < G; ++g) red[warp][g] = v[g];
  __syncthreads();
  for (int g = 0; g < G; ++g) {
    float s = 0.f;
    for (int w = 0; w < kV1Threads / 32; ++w) s += red[w][g];
    v[g] = s;
  }
}

__global__ void __launch_bounds__(kV1Threads) decode_v1_kernel(const skv_decode_problem p, const skv_plan_device pd,
                                                               const int page_shift) {
  __shared__ float red[kV1Threads / 32][kV1MaxGroup];
  if (pd.d_counts && static_cast<int64_t>(blockIdx.x) >= pd.d_counts[0]) return;  // past a replayed plan's work
  const skv_work w = pd.d_work[blockIdx.x];
  const int Gh = p.num_q_heads / p.num_kv_heads, D = p.head_dim;
  const int G = (w.q_end - w.q_begin) * Gh;  // the tile's packed rows (below, "g" is a row)
  const int64_t tok0 = w.q_start + w.q_begin;
  auto q_row = [&](int x) -> int64_t {
    return ((tok0 + x / Gh) * p.num_q_heads + static_cast<int64_t>(w.kv_head) * Gh + x % Gh) * D;
  };
  const int32_t *pages = p.d_page_table + pd.d_work_pages[blockIdx.x];
  const float scale = p.softmax_scale * kLog2e; // scores in log2 units
  float q[kV1MaxGroup][kV1MaxDims], acc[kV1MaxGroup][kV1MaxDims], m[kV1MaxGroup], l[kV1MaxGroup];
  for (int g = 0; g < G; ++g) {
    const int64_t qrow = q_row(g);
    for (int j = 0; j < kV1MaxDims; ++j) {
      const int c = threadIdx.x + j * kV1Threads;
      q[g][j] = c < D ? load_q(p, qrow + c) : 0.f;
      acc[g][j] = 0.f;
    }
    m[g] = -INFINITY; // the empty state
    l[g] = 0.f;
  }
  for (int64_t t = w.kv_begin; t < w.kv_end; ++t) {
    const int64_t ts = (static_cast<int64_t>(pages[t >> page_shift]) << page_shift | (t & ((1 << page_shift) - 1))) *
                           p.num_kv_heads + w.kv_head;
    float s[kV1MaxGroup];
    for (int g = 0; g < G; ++g) {
      s[g] = 0.f;
      for (int j = 0; j < kV1MaxDims; ++j) {
        const int c = threadIdx.x + j * kV1Threads;
        if (c < D) s[g] += q[g][j] * load_kv(p, false, ts, w.kv_head, c);
      }
    }
    block_sums(s, G, red);
    for (int g = 0; g < G; ++g) {
      if (t >= w.key_end + g / Gh) continue;  // past the row's bound: the key is not in its set
      float shift;
      const float alpha = raise_max<Log2Units>(m[g], s[g] * scale, &shift);
      const float pt = Log2Units::exp(s[g] * scale - shift);
      l[g] = l[g] * alpha + pt;
      for (int j = 0; j < kV1MaxDims; ++j) {
        const int c = threadIdx.x + j * kV1Threads;
        if (c < D) acc[g][j] = acc[g][j] * alpha + pt * load_kv(p, true, ts, w.kv_head, c);
      }
    }
  }
  const bool final_out = w.num_chunks == 1;
  for (int g = 0; g < G; ++g) {
    const float lse = merged_lse<Log2Units>(m[g], l[g]);
    for (int j = 0; j < kV1MaxDims; ++j) {
      const int c = threadIdx.x + j * kV1Threads;
      if (c >= D) continue;
      const float o = l[g] > 0.f ? acc[g][j] / l[g] : 0.f;
      if (final_out) store_output(p.o_dtype, p.d_o, q_row(g) + c, o);
      else pd.d_partial_o[(w.partial + g) * D + c] = o;
    }
    if (threadIdx.x == 0) {
      if (final_out) p.d_lse[skv_layout_offset3(&p.lse_layout, tok0 + g / Gh, w.kv_head, g % Gh)] = lse;
      else pd.d_partial_lse[w.partial + g] = lse;
    }
  }
}

}  // namespace
}  // namespace skv

extern "C" int skv_decode_v1_launch(const skv_decode_problem *p, const skv_plan_device *pd, skv_stream s, char *err,
                                    size_t errlen) {
  if (!skv_decode_supported(p, err, errlen)) return (int)cudaErrorInvalidValue;
  if (pd->fused_combine) {
    snprintf(err, errlen, "decode v1: the fused combine is not supported (run the combine kernel)");
    return (int)cudaErrorInvalidValue;
  }
  if (p->head_dim > skv::kV1Threads * skv::kV1MaxDims || pd->max_tile_rows > skv::kV1MaxGroup) {
    snprintf(err, errlen, "decode v1: head dim %d or tile of %d rows beyond its limits", p->head_dim,
             pd->max_tile_rows);
    return (int)cudaErrorInvalidValue;
  }
  if (pd->num_work == 0) return 0;
  int page_shift = 0;
  while ((1 << page_shift) < p->page_size) ++page_shift;
  skv::decode_v1_kernel<<<static_cast<unsigned>(pd->num_work), skv::kV1Threads, 0, s>>>(*p, *pd, page_shift);
  SKV_CUDA_LAUNCH("decode_v1_kernel");
  return 0;
}
