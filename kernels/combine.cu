// combine.cu — merge the partial states of each split request in ascending chunk order.
//
// What it computes. For combine item (r, h) with chunks c = 0..n-1 in scratch rows first + c, and
// each q head g of the group: with m = max_c lse_c,
//   lse = m + log(sum_c exp(lse_c - m)),  o = sum_c exp(lse_c - m) o_c / sum_c exp(lse_c - m)
// (the merge of sim/merge.h folded over all chunks at once; chunks with lse = -inf weigh 0; all -inf
// gives lse = -inf and o = 0). Every sum runs in an order fixed by n alone (o: c = 0, 1, ..., n-1),
// whatever the batch, so a request's result depends only on its own chunks. O is written in the output dtype at [r, h*G + g, :]; LSE
// (natural log, fp32) at the offset the output layout descriptor (sim/layout.h) gives for (r, h, g),
// so the same kernel can write FA2's layouts and the GPU can confirm `skv layout` bit for bit.
//
// How. One CTA of 128 threads per item. The item's n x G chunk LSEs are loaded at once into shared
// memory and turned into weights there (so no thread walks a chain of dependent global loads); then
// thread i accumulates 4 consecutive columns of one head with 16-byte loads, k = 0, 1, ..., n-1.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>

#include "cuda_check.h"
#include "skv_kernels.h"

namespace skv {
namespace {

template <typename T>
__device__ __forceinline__ T from_float(float x);
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}
template <>
__device__ __forceinline__ __half from_float<__half>(float x) {
  return __float2half_rn(x);
}

constexpr int kThreads = 128;
constexpr size_t kMaxSmem = 227 * 1024;  // H100/A100 opt-in limit per block

template <typename T>
__global__ void __launch_bounds__(kThreads) combine_kernel(const skv_decode_problem p, const skv_plan_device pd) {
  extern __shared__ float wts[];  // [n][G]: exp(lse_c - m) / sum, then the item's final LSEs [G]
  const skv_combine_item it = pd.d_combine[blockIdx.x];
  const int G = p.num_q_heads / p.num_kv_heads, D = p.head_dim, n = it.num_chunks;
  const float *plse = pd.d_partial_lse + it.first_partial * G;
  const float *po = pd.d_partial_o + it.first_partial * G * D;
  // 1. All chunk LSEs at once (independent loads); then warp w takes heads g = w, w + 4, ...: its
  //    lanes stride over the chunks for the max, the sum (butterfly: every lane ends with the same
  //    bits, and the order is fixed by n alone) and the weights.
  for (int i = threadIdx.x; i < n * G; i += blockDim.x) wts[i] = plse[i];
  __syncthreads();
  float *final_lse = wts + n * G;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  for (int g = warp; g < G; g += nwarps) {
    float m = -INFINITY;
    for (int k = lane; k < n; k += 32) m = fmaxf(m, wts[k * G + g]);
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    if (m == -INFINITY) {
      for (int k = lane; k < n; k += 32) wts[k * G + g] = 0.f;
      if (lane == 0) final_lse[g] = -INFINITY;
      continue;
    }
    float sum = 0.f;
    for (int k = lane; k < n; k += 32) sum += expf(wts[k * G + g] - m);
    for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    for (int k = lane; k < n; k += 32) wts[k * G + g] = expf(wts[k * G + g] - m) / sum;
    if (lane == 0) final_lse[g] = m + logf(sum);
  }
  __syncthreads();
  // 2. o[g][c..c+3] = sum_k w[k][g] * po[k][g][c..c+3]: 16-byte loads, coalesced along c, k ascending.
  T *out = static_cast<T *>(p.d_o) +
           (static_cast<int64_t>(it.request) * p.num_q_heads + static_cast<int64_t>(it.kv_head) * G) * D;
  for (int idx = threadIdx.x; idx < G * D / 4; idx += blockDim.x) {
    const int g = idx / (D / 4), c = (idx % (D / 4)) * 4;
    float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll 8
    for (int k = 0; k < n; ++k) {
      const float wk = wts[k * G + g];
      const float4 v = *reinterpret_cast<const float4 *>(po + (static_cast<int64_t>(k) * G + g) * D + c);
      acc.x += wk * v.x;
      acc.y += wk * v.y;
      acc.z += wk * v.z;
      acc.w += wk * v.w;
    }
    T *o = out + static_cast<int64_t>(g) * D + c;
    o[0] = from_float<T>(acc.x);
    o[1] = from_float<T>(acc.y);
    o[2] = from_float<T>(acc.z);
    o[3] = from_float<T>(acc.w);
    if (c == 0) p.d_lse[skv_layout_offset3(&p.lse_layout, it.request, it.kv_head, g)] = final_lse[g];
  }
}

}  // namespace
}  // namespace skv

extern "C" int skv_combine_launch(const skv_decode_problem *p, const skv_plan_device *pd, skv_stream s, char *err,
                                  size_t errlen) {
  if (!skv_decode_supported(p, err, errlen)) return (int)cudaErrorInvalidValue;
  if (pd->num_combine == 0) return 0;
  /* The largest item bounds the shared memory: weights [n][G] plus G final LSEs. fa2/fa3 plans
   * have at most 128 chunks per request, but fixed or flashinfer options can make many more:
   * refuse before launching rather than overflow. */
  const int G = p->num_q_heads / p->num_kv_heads;
  const size_t smem = (size_t)(pd->max_chunks + 1) * (size_t)G * sizeof(float);
  if (smem > skv::kMaxSmem) {
    snprintf(err, errlen, "combine kernel: %d chunks x %d heads in one request exceed its shared memory",
             pd->max_chunks, G);
    return (int)cudaErrorInvalidValue;
  }
  void (*kernel)(const skv_decode_problem, const skv_plan_device) =
      p->o_dtype == SKV_BF16 ? skv::combine_kernel<__nv_bfloat16> : skv::combine_kernel<__half>;
  if (smem > 48 * 1024) SKV_CUDA_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  kernel<<<(unsigned)pd->num_combine, skv::kThreads, smem, s>>>(*p, *pd);
  SKV_CUDA_LAUNCH("combine_kernel");
  return 0;
}
