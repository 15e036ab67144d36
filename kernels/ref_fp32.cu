// ref_fp32.cu — a deliberately simple fp32 attention reference on the GPU, for configurations too
// large for the double-precision CPU reference. It shares no code with decode.cu: one CTA per
// (query token, q head), over the keys that query sees (its request's whole KV, or under the causal
// mask the keys before L - Q + i + 1: sim/batch.h), in two plain passes: the scores' max, then in
// blocks of 256 keys the scores' exponentials (to shared memory), their sum and the weighted V;
// sequential-order reductions in fp32. It reads every cache the kernels read and dequantizes each
// element as the CPU reference does (sim/workload.c skv_workload_kv_row): the stored code
// (sim/convert.h) times its scale — per tensor, per token and KV head, or per channel — read from
// the same scale arrays the kernels read. It is itself checked against the CPU reference in
// tests/gpu, for every cache type. (Its element loads, dequant.cuh, are shared with the simple
// decode kernel decode_v1.cu, not with decode.cu.)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>

#include "cuda_check.h"
#include "dequant.cuh"
#include "skv_kernels.h"

namespace skv {
namespace {

__device__ float block_reduce(float v, bool is_max, float *red) {
  for (int o = 16; o > 0; o >>= 1) {
    const float u = __shfl_xor_sync(0xffffffffu, v, o);
    v = is_max ? fmaxf(v, u) : v + u;
  }
  __syncthreads();
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = v;
  __syncthreads();
  float r = is_max ? -INFINITY : 0.f;
  for (int w = 0; w < (int)(blockDim.x >> 5); ++w) r = is_max ? fmaxf(r, red[w]) : r + red[w];
  return r;
}

constexpr int kRefThreads = 256;

__global__ void __launch_bounds__(kRefThreads) ref_kernel(const skv_decode_problem p, const int64_t *kvlen, float *o,
                                                          float *lse) {
  __shared__ float red[32];
  __shared__ float ex[kRefThreads];
  const int64_t tok = blockIdx.x / p.num_q_heads;
  const int h = blockIdx.x % p.num_q_heads;
  // The token's request: the last r with cu_seqlens_q[r] <= tok (binary search).
  int lo = 0, hi = p.num_requests - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (p.d_cu_seqlens_q[mid] <= tok) lo = mid;
    else hi = mid - 1;
  }
  const int r = lo;
  const int G = p.num_q_heads / p.num_kv_heads, kvh = h / G, D = p.head_dim;
  const int64_t L = kvlen[r], Q = p.d_cu_seqlens_q[r + 1] - p.d_cu_seqlens_q[r], i = tok - p.d_cu_seqlens_q[r];
  const int64_t keys = p.mask == SKV_MASK_NONE ? L : L - Q + i + 1;  // the keys this query sees
  const int64_t qoff = (tok * p.num_q_heads + h) * D;
  const int32_t *pages = p.d_page_table + p.d_page_indptr[r];
  auto slot = [&](int64_t t) -> int64_t {
    return (static_cast<int64_t>(pages[t / p.page_size]) * p.page_size + t % p.page_size) * p.num_kv_heads + kvh;
  };
  auto score = [&](int64_t t) -> float {
    const int64_t ts = slot(t);
    float s = 0.f;
    for (int c = 0; c < D; ++c) s += load_q(p, qoff + c) * load_kv(p, false, ts, kvh, c);
    return s * p.softmax_scale;
  };
  float mx = -INFINITY;
  for (int64_t t = threadIdx.x; t < keys; t += blockDim.x) mx = fmaxf(mx, score(t));
  mx = block_reduce(mx, true, red);
  // Pass 2, blocks of blockDim keys: thread j scores key t0 + j into shared memory, then thread c
  // adds the block's weighted V column c (c < D <= 256 = blockDim).
  float sum = 0.f, acc = 0.f;
  for (int64_t t0 = 0; t0 < keys; t0 += blockDim.x) {
    const int64_t t = t0 + threadIdx.x;
    const float e = t < keys ? expf(score(t) - mx) : 0.f;
    __syncthreads();  // the previous block's exponentials have been read
    ex[threadIdx.x] = e;
    __syncthreads();
    const int64_t n = keys - t0 < blockDim.x ? keys - t0 : blockDim.x;
    for (int64_t j = 0; j < n; ++j) {
      sum += ex[j];  // every thread the same sum, in key order
      if (threadIdx.x < D) acc += ex[j] * load_kv(p, true, slot(t0 + j), kvh, threadIdx.x);
    }
  }
  if (threadIdx.x < D) o[qoff + threadIdx.x] = keys > 0 ? acc / sum : 0.f;
  if (threadIdx.x == 0) lse[static_cast<int64_t>(h) * p.total_q + tok] = keys > 0 ? mx + logf(sum) : -INFINITY;
}

}  // namespace
}  // namespace skv

extern "C" int skv_ref_fp32_launch(const skv_decode_problem *p, const int64_t *d_kvlen, float *d_o, float *d_lse,
                                   skv_stream s, char *err, size_t errlen) {
  char why[256];
  if (!skv_decode_supported(p, why, sizeof why)) {
    snprintf(err, errlen, "fp32 reference: %s", why);
    return (int)cudaErrorInvalidValue;
  }
  if (p->head_dim > skv::kRefThreads || !p->d_cu_seqlens_q) {
    snprintf(err, errlen, "fp32 reference: head dim %d over %d, or no query offsets", p->head_dim, skv::kRefThreads);
    return (int)cudaErrorInvalidValue;
  }
  const int64_t ctas = p->total_q * p->num_q_heads;
  if (ctas == 0) return 0;
  if (ctas > 0x7FFFFFFFll) {
    snprintf(err, errlen, "fp32 reference: %lld CTAs exceed the grid limit", (long long)ctas);
    return (int)cudaErrorInvalidValue;
  }
  skv::ref_kernel<<<(unsigned)ctas, skv::kRefThreads, 0, s>>>(*p, d_kvlen, d_o, d_lse);
  SKV_CUDA_LAUNCH("ref_kernel");
  return 0;
}
