// decode.cu — paged split-KV decode: one CTA per plan work item (request, KV head, chunk), GQA-packed.
//
// What it computes. For work item (r, h, [b, e)) and the group's q heads g = 0..G-1 (q head h*G+g):
//   s_t = q_g . k_t * softmax_scale for t in [b, e)      (query length 1: the query sees every key)
//   lse = log(sum_t exp(s_t)),  o = sum_t exp(s_t - lse) v_t
// A request with one chunk writes o (input dtype) and lse straight to the outputs; a split request
// writes fp32 partial states to scratch row `partial`, merged later by combine.cu. An empty range
// gives lse = -inf and o = 0.
//
// How. 4 warps; the CTA streams its range in tiles of 64 tokens through a cp.async pipeline
// (kStages deep) into swizzled shared memory. Page lookups happen per 16-byte copy, so pages can
// be any permutation of the pool and chunks need not align with pages; they are loaded one tile
// ahead of the copies they feed, so the page table's latency overlaps the compute. Warp w owns tokens
// [16w, 16w+16) of every tile and keeps its own online-softmax state (running max m, sum l, output
// acc) for 16 rows: the G q heads (rows G..15 are zero padding). Scores come from one 16x16 tile of
// mma.sync m16n8k16 per 16 head-dim columns (A = Q from registers, B = K via ldmatrix); the score
// fragment is reused directly as the A operand of P.V (the FA2 register trick), V via ldmatrix.trans.
// Scores are kept in log2 units (scale * log2 e) so exp2 does the exponentials. At the end the 4
// warps' states are merged through shared memory in warp order, so the result is a fixed function
// of the chunk's data: the same chunk gives the same bits in any batch. With fused_combine the last
// CTA of a split request merges its chunks (merge.cuh) instead of a second kernel.
//
// Build: part of `make` (kernels/*.cu, sm_90a and sm_80); `make ptxas` prints registers/spills.
#include <cuda_runtime.h>
#include <math.h>

#include "cuda_check.h"
#include "merge.cuh"
#include "mma.cuh"
#include "skv_kernels.h"

namespace skv {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kWarpTokens = 16;
constexpr int kTileTokens = kWarps * kWarpTokens;
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

template <int D>
struct Cfg {
  static constexpr int kStages = D == 256 ? 2 : (D == 128 ? 3 : 4);
  static constexpr int kChunks = D / 8;                       // 16-byte chunks per row
  static constexpr int kRowsPerPass = kThreads / kChunks;     // rows one CTA-wide pass copies
  static constexpr int kPasses = kTileTokens / kRowsPerPass;  // copies per thread per tensor per tile
  static constexpr int kTileBytes = kTileTokens * D * 2;
  static constexpr int kPipeBytes = kStages * 2 * kTileBytes;
  static constexpr int kMergeBytes = kWarps * 16 * (D + 2) * 4;  // per-warp acc, m, l for the final merge
  static constexpr int kQBytes = 16 * D * 2;
  static constexpr int kSmem = (kPipeBytes > kMergeBytes ? kPipeBytes : kMergeBytes) + kQBytes;
};

template <typename T, int D>
__global__ void __launch_bounds__(kThreads) decode_kernel(const skv_decode_problem p, const skv_plan_device pd,
                                                          const int page_shift) {
  using C = Cfg<D>;
  extern __shared__ __align__(128) unsigned char smem[];
  unsigned char *pipe = smem;
  unsigned char *qtile = smem + (C::kPipeBytes > C::kMergeBytes ? C::kPipeBytes : C::kMergeBytes);

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const skv_work w = pd.d_work[blockIdx.x];
  const int G = p.num_q_heads / p.num_kv_heads;
  const int64_t begin = w.kv_begin, end = w.kv_end;
  const int ntiles = static_cast<int>((end - begin + kTileTokens - 1) / kTileTokens);
  const int32_t *pages = p.d_page_table + pd.d_work_pages[blockIdx.x];
  const int page_mask = (1 << page_shift) - 1;
  const int64_t row_stride = static_cast<int64_t>(p.num_kv_heads) * D;  // elements between tokens of a page
  const T *kbase = static_cast<const T *>(p.d_k) + static_cast<int64_t>(w.kv_head) * D;
  const T *vbase = static_cast<const T *>(p.d_v) + static_cast<int64_t>(w.kv_head) * D;

  // Each thread copies 16-byte chunk (tid % kChunks) of rows tid / kChunks + pass * kRowsPerPass of
  // every tile. Their page ids are loaded one tile ahead of the copies (pg), so a page-table load
  // never stalls the copies it feeds: the loads for tile i + kStages are in flight while tile i is
  // computed. Tokens past `end` are zero-filled, their lookup clamped to the range.
  const int chunk = tid % C::kChunks;
  auto load_pages = [&](int tile, int32_t(&ids)[C::kPasses]) {
#pragma unroll
    for (int pass = 0; pass < C::kPasses; ++pass) {
      const int64_t tok = begin + static_cast<int64_t>(tile) * kTileTokens + tid / C::kChunks + pass * C::kRowsPerPass;
      ids[pass] = pages[(tok < end ? tok : begin) >> page_shift];
    }
  };
  auto issue_tile = [&](int tile, int stage, const int32_t(&pg)[C::kPasses]) {
    unsigned char *ks = pipe + stage * 2 * C::kTileBytes;
    unsigned char *vs = ks + C::kTileBytes;
#pragma unroll
    for (int pass = 0; pass < C::kPasses; ++pass) {
      const int row = tid / C::kChunks + pass * C::kRowsPerPass;
      const int64_t tok = begin + static_cast<int64_t>(tile) * kTileTokens + row;
      const bool valid = tok < end;
      const int64_t elem =
          ((static_cast<int64_t>(pg[pass]) << page_shift) + ((valid ? tok : begin) & page_mask)) * row_stride +
          chunk * 8;
      const uint32_t off = swz<D>(row, chunk);
      cp_async_16(smem_u32(ks + off), kbase + elem, valid);
      cp_async_16(smem_u32(vs + off), vbase + elem, valid);
    }
  };

  // Q tile first, as its own cp.async group: rows g < G hold the group's q heads, rows G..15 zero.
  {
    const T *q = static_cast<const T *>(p.d_q) +
                 (static_cast<int64_t>(w.request) * p.num_q_heads + static_cast<int64_t>(w.kv_head) * G) * D;
    for (int i = tid; i < 16 * C::kChunks; i += kThreads) {
      const int row = i / C::kChunks, ch = i % C::kChunks;
      cp_async_16(smem_u32(qtile + swz<D>(row, ch)), q + static_cast<int64_t>(row < G ? row : 0) * D + ch * 8,
                  row < G);
    }
    cp_async_commit();
  }
  // Prologue: all its page ids are requested before the first copy needs one.
  int32_t pro[C::kStages - 1][C::kPasses], pg[C::kPasses];
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
#pragma unroll
  for (int ks = 0; ks < D / 16; ++ks) {
    const int mi = lane >> 3, ri = lane & 7;
    ldmatrix_x4(qa[ks], smem_u32(qtile + swz<D>((mi & 1) * 8 + ri, ks * 2 + (mi >> 1))));
  }

  const float scale = p.softmax_scale * kLog2e;
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
    const unsigned char *ks = pipe + (i % C::kStages) * 2 * C::kTileBytes;
    const unsigned char *vs = ks + C::kTileBytes;
    const int mi = lane >> 3, ri = lane & 7, r0 = warp * kWarpTokens;

    // S = Q K^T for 16 rows x 16 tokens.
    float s[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      uint32_t kb[4];
      ldmatrix_x4(kb, smem_u32(ks + swz<D>(r0 + (mi >> 1) * 8 + ri, kk * 2 + (mi & 1))));
      Mma<T>::run(s[0], qa[kk], kb[0], kb[1]);
      Mma<T>::run(s[1], qa[kk], kb[2], kb[3]);
    }
    // Scale to log2 units and mask tokens past the range.
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < 2; ++nt)
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int64_t tok = tok0 + nt * 8 + 2 * (lane & 3) + (j & 1);
        const float v = tok < end ? s[nt][j] * scale : -INFINITY;
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
        s[nt][j] = e;
        rowsum[j >> 1] += e;
      }
    l[0] = l[0] * alpha[0] + rowsum[0];
    l[1] = l[1] * alpha[1] + rowsum[1];
#pragma unroll
    for (int dt = 0; dt < D / 8; ++dt) {
      acc[dt][0] *= alpha[0];
      acc[dt][1] *= alpha[0];
      acc[dt][2] *= alpha[1];
      acc[dt][3] *= alpha[1];
    }
    // O += P V: the score fragments of tokens 0-7 and 8-15 are the A fragment of P.
    const uint32_t pa[4] = {Mma<T>::pack(s[0][0], s[0][1]), Mma<T>::pack(s[0][2], s[0][3]),
                            Mma<T>::pack(s[1][0], s[1][1]), Mma<T>::pack(s[1][2], s[1][3])};
#pragma unroll
    for (int dd = 0; dd < D / 16; ++dd) {
      uint32_t vb[4];
      ldmatrix_x4_trans(vb, smem_u32(vs + swz<D>(r0 + (mi & 1) * 8 + ri, dd * 2 + (mi >> 1))));
      Mma<T>::run(acc[2 * dd], pa, vb[0], vb[1]);
      Mma<T>::run(acc[2 * dd + 1], pa, vb[2], vb[3]);
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
#pragma unroll
    for (int dt = 0; dt < D / 8; ++dt) {
      wacc[quad * D + dt * 8 + pair] = acc[dt][0];
      wacc[quad * D + dt * 8 + pair + 1] = acc[dt][1];
      wacc[(quad + 8) * D + dt * 8 + pair] = acc[dt][2];
      wacc[(quad + 8) * D + dt * 8 + pair + 1] = acc[dt][3];
    }
    if ((lane & 3) == 0) {
      wml[quad] = m[0];
      wml[quad + 8] = m[1];
      wml[16 + quad] = l[0];
      wml[16 + quad + 8] = l[1];
    }
  }
  __syncthreads();

  // Merge the warps in order 0..3 and write.
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
      lse = (mmax + log2f(sum)) * kLn2;
    }
    if (final_out) {
      T *out = static_cast<T *>(p.d_o) +
               (static_cast<int64_t>(w.request) * p.num_q_heads + static_cast<int64_t>(w.kv_head) * G) * D;
      out[static_cast<int64_t>(g) * D + c] = Mma<T>::from_float(o);
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
      merge_item<T>(p, pd, w.request, w.kv_head, w.num_chunks, w.partial - w.chunk, reinterpret_cast<float *>(pipe));
      if (tid == 0) pd.d_arrivals[item] = 0;
    }
  }
}

template <typename T, int D>
int launch_typed(const skv_decode_problem *p, const skv_plan_device *pd, int page_shift, cudaStream_t s, char *err,
                 size_t errlen) {
  constexpr int smem = Cfg<D>::kSmem;
  static bool smem_set = false;  // the opt-in above 48 KB is per function: once per process
  if (!smem_set) {
    SKV_CUDA_TRY(cudaFuncSetAttribute(decode_kernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    smem_set = true;
  }
  decode_kernel<T, D><<<static_cast<unsigned>(pd->num_work), kThreads, smem, s>>>(*p, *pd, page_shift);
  SKV_CUDA_LAUNCH("decode_kernel");
  return 0;
}

template <typename T>
int launch_dim(const skv_decode_problem *p, const skv_plan_device *pd, int page_shift, cudaStream_t s, char *err,
               size_t errlen) {
  switch (p->head_dim) {
  case 64: return launch_typed<T, 64>(p, pd, page_shift, s, err, errlen);
  case 128: return launch_typed<T, 128>(p, pd, page_shift, s, err, errlen);
  default: return launch_typed<T, 256>(p, pd, page_shift, s, err, errlen);
  }
}

}  // namespace
}  // namespace skv

extern "C" bool skv_decode_supported(const skv_decode_problem *p, char *err, size_t errlen) {
  if (p->head_dim != 64 && p->head_dim != 128 && p->head_dim != 256) {
    snprintf(err, errlen, "decode kernel: head dim %d unsupported (64, 128, 256)", p->head_dim);
    return false;
  }
  if (p->num_kv_heads < 1 || p->num_q_heads % p->num_kv_heads != 0 ||
      p->num_q_heads / p->num_kv_heads > SKV_KERNEL_MAX_GROUP) {
    snprintf(err, errlen, "decode kernel: GQA group hq/hkv = %d/%d unsupported (a divisor, at most %d)",
             p->num_q_heads, p->num_kv_heads, SKV_KERNEL_MAX_GROUP);
    return false;
  }
  if (p->page_size < 1 || p->page_size > 256 || (p->page_size & (p->page_size - 1)) != 0) {
    snprintf(err, errlen, "decode kernel: page size %d unsupported (%s)", p->page_size, SKV_KERNEL_PAGE_SIZES);
    return false;
  }
  const bool halfs = (p->q_dtype == SKV_BF16 || p->q_dtype == SKV_FP16) && p->k_dtype == p->q_dtype &&
                     p->v_dtype == p->q_dtype && p->o_dtype == p->q_dtype;
  if (!halfs) {
    snprintf(err, errlen, "decode kernel: dtypes q=%s k=%s v=%s o=%s unsupported (all bf16 or all fp16)",
             skv_dtype_name(p->q_dtype), skv_dtype_name(p->k_dtype), skv_dtype_name(p->v_dtype),
             skv_dtype_name(p->o_dtype));
    return false;
  }
  if (p->lse_layout.rank != 3) {
    snprintf(err, errlen, "decode kernel: the LSE layout must have rank 3 over (request, kv head, group), got %d",
             p->lse_layout.rank);
    return false;
  }
  if (!(p->softmax_scale > 0.f) || !isfinite(p->softmax_scale)) {
    snprintf(err, errlen, "decode kernel: softmax scale must be finite and > 0");
    return false;
  }
  return true;
}

extern "C" int skv_decode_launch(const skv_decode_problem *p, const skv_plan_device *pd, skv_stream s, char *err,
                                 size_t errlen) {
  if (!skv_decode_supported(p, err, errlen)) return (int)cudaErrorInvalidValue;
  const int G = p->num_q_heads / p->num_kv_heads;
  const size_t pipe = p->head_dim == 64 ? skv::Cfg<64>::kPipeBytes
                                         : (p->head_dim == 128 ? skv::Cfg<128>::kPipeBytes : skv::Cfg<256>::kPipeBytes);
  if (pd->fused_combine && pd->num_combine > 0 &&
      (!pd->d_work_item || !pd->d_arrivals || skv::merge_smem_bytes(pd->max_chunks, G) > pipe)) {
    snprintf(err, errlen, "decode kernel: fused combine needs work-item and arrival arrays and at most %zu chunks "
             "per request (got %d); use the combine kernel", pipe / (sizeof(float) * (size_t)G) - 1, pd->max_chunks);
    return (int)cudaErrorInvalidValue;
  }
  if (pd->num_work == 0) return 0;
  if (pd->num_work > 0x7FFFFFFFll) {
    snprintf(err, errlen, "decode kernel: %lld work items exceed the grid limit", (long long)pd->num_work);
    return (int)cudaErrorInvalidValue;
  }
  int shift = 0;
  while ((1 << shift) < p->page_size) ++shift;
  if (p->q_dtype == SKV_BF16) return skv::launch_dim<__nv_bfloat16>(p, pd, shift, s, err, errlen);
  return skv::launch_dim<__half>(p, pd, shift, s, err, errlen);
}
