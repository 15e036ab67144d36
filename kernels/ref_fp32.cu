// ref_fp32.cu — a deliberately simple fp32 attention reference on the GPU, for configurations too
// large for the double-precision CPU reference. It shares no code with decode.cu: one CTA per
// (request, q head), three plain passes over the request's whole KV (scores to a scratch row and
// their max; exp and sum; weighted V), sequential-order reductions in fp32. It reads every cache
// the kernels read and dequantizes each element as the CPU reference does (sim/workload.c
// skv_workload_kv_row): the stored code (sim/convert.h) times its scale — per tensor, per token
// and KV head, or per channel — read from the same scale arrays the kernels read. It is itself
// checked against the CPU reference in tests/gpu, for every cache type. (Its element loads,
// dequant.cuh, are shared with the simple decode kernel decode_v1.cu, not with decode.cu.)
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

__global__ void __launch_bounds__(256) ref_kernel(const skv_decode_problem p, const int64_t *kvlen,
                                                  int64_t max_kvlen, float *scores, float *o, float *lse) {
  __shared__ float red[32];
  const int r = blockIdx.x / p.num_q_heads, h = blockIdx.x % p.num_q_heads;
  const int G = p.num_q_heads / p.num_kv_heads, kvh = h / G, D = p.head_dim;
  const int64_t L = kvlen[r];
  float *sc = scores + static_cast<int64_t>(blockIdx.x) * max_kvlen;
  const int64_t qoff = (static_cast<int64_t>(r) * p.num_q_heads + h) * D;
  const int32_t *pages = p.d_page_table + p.d_page_indptr[r];
  float mx = -INFINITY;
  for (int64_t t = threadIdx.x; t < L; t += blockDim.x) {
    const int64_t ts = (static_cast<int64_t>(pages[t / p.page_size]) * p.page_size + t % p.page_size) *
                           p.num_kv_heads + kvh;
    float s = 0.f;
    for (int c = 0; c < D; ++c) s += load_q(p, qoff + c) * load_kv(p, false, ts, kvh, c);
    s *= p.softmax_scale;
    sc[t] = s;
    mx = fmaxf(mx, s);
  }
  mx = block_reduce(mx, true, red);
  float sum = 0.f;
  for (int64_t t = threadIdx.x; t < L; t += blockDim.x) sum += expf(sc[t] - mx);
  sum = block_reduce(sum, false, red);
  __syncthreads();  // scores complete before pass 3 reads other threads' entries
  for (int c = threadIdx.x; c < D; c += blockDim.x) {
    float acc = 0.f;
    for (int64_t t = 0; t < L; ++t) {
      const int64_t ts = (static_cast<int64_t>(pages[t / p.page_size]) * p.page_size + t % p.page_size) *
                             p.num_kv_heads + kvh;
      acc += expf(sc[t] - mx) * load_kv(p, true, ts, kvh, c);
    }
    o[qoff + c] = L > 0 ? acc / sum : 0.f;
  }
  if (threadIdx.x == 0) lse[static_cast<int64_t>(h) * p.num_requests + r] = L > 0 ? mx + logf(sum) : -INFINITY;
}

}  // namespace
}  // namespace skv

extern "C" int skv_ref_fp32_launch(const skv_decode_problem *p, const int64_t *d_kvlen, int64_t max_kvlen,
                                   float *d_scores, float *d_o, float *d_lse, skv_stream s, char *err,
                                   size_t errlen) {
  char why[256];
  if (!skv_decode_supported(p, why, sizeof why)) {
    snprintf(err, errlen, "fp32 reference: %s", why);
    return (int)cudaErrorInvalidValue;
  }
  const int64_t ctas = static_cast<int64_t>(p->num_requests) * p->num_q_heads;
  if (ctas == 0) return 0;
  skv::ref_kernel<<<(unsigned)ctas, 256, 0, s>>>(*p, d_kvlen, max_kvlen > 0 ? max_kvlen : 1, d_scores, d_o, d_lse);
  SKV_CUDA_LAUNCH("ref_kernel");
  return 0;
}
