// cascade_merge.cu — cascade attention's merge of a token's shared-prefix states and its own suffix
// state (skv_kernels.h, sim/cascade.h): one warp per (query token, q head), lanes over the head
// dimension, the states in level order and the suffix last, weighed against their common max with
// the combine's arithmetic (softmax_state.cuh).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>

#include "cuda_check.h"
#include "skv_kernels.h"
#include "softmax_state.cuh"
#include "to_output.cuh"

namespace skv {
namespace {

constexpr int kMergeWarps = 4;
constexpr int kMaxLevels = 8;

__device__ __forceinline__ float load_o(skv_dtype t, const void *base, int64_t i) {
  return t == SKV_FP16 ? __half2float(static_cast<const __half *>(base)[i])
                       : __bfloat162float(static_cast<const __nv_bfloat16 *>(base)[i]);
}

template <typename U>
__global__ void __launch_bounds__(32 * kMergeWarps) cascade_merge_kernel(const skv_cascade_merge_args a) {
  const int lane = threadIdx.x & 31;
  const int64_t pair = static_cast<int64_t>(blockIdx.x) * kMergeWarps + (threadIdx.x >> 5);
  const int hq = a.num_q_heads, D = a.head_dim;
  if (pair >= a.total_q * hq) return;
  const int64_t t = pair / hq;
  const int h = static_cast<int>(pair % hq);
  // The token's states in merge order: its prefix rows level by level, then its suffix row.
  int64_t rows[kMaxLevels];
  float lses[kMaxLevels + 1];
  int n = 0;
  for (int l = 0; l < a.levels; ++l) {
    const int64_t r = a.d_prefix_row[static_cast<int64_t>(l) * a.total_q + t];
    if (r < 0) break;
    rows[n] = r;
    lses[n++] = a.d_prefix_lse[static_cast<int64_t>(h) * a.prefix_q + r];
  }
  lses[n] = a.d_suffix_lse[static_cast<int64_t>(h) * a.total_q + t];
  float M = -INFINITY;
  for (int k = 0; k <= n; ++k) M = fmaxf(M, lses[k]);
  float sum = 0.f;
  float w[kMaxLevels + 1];
  for (int k = 0; k <= n; ++k) {
    w[k] = M == -INFINITY ? 0.f : merge_factor<U>(lses[k], M);
    sum += w[k];
  }
  for (int c = lane; c < D; c += 32) {
    float o = 0.f;
    if (M != -INFINITY) {
      float num = 0.f;
      for (int k = 0; k < n; ++k) num += w[k] * load_o(a.o_dtype, a.d_prefix_o, (rows[k] * hq + h) * D + c);
      num += w[n] * load_o(a.o_dtype, a.d_suffix_o, (t * hq + h) * D + c);
      o = num / sum;
    }
    store_output(a.o_dtype, a.d_o, (t * hq + h) * D + c, o);
  }
  if (lane == 0) a.d_lse[static_cast<int64_t>(h) * a.total_q + t] = merged_lse<U>(M, sum);
}

}  // namespace
}  // namespace skv

extern "C" int skv_cascade_merge_launch(const skv_cascade_merge_args *a, skv_stream s, char *err, size_t errlen) {
  if (a->levels < 0 || a->levels > skv::kMaxLevels || a->num_q_heads < 1 || a->head_dim < 1 || a->total_q < 0 ||
      (a->o_dtype != SKV_BF16 && a->o_dtype != SKV_FP16)) {
    snprintf(err, errlen, "cascade merge: %d levels (at most %d), %d q heads, head dim %d, output %s", a->levels,
             skv::kMaxLevels, a->num_q_heads, a->head_dim, skv_dtype_name(a->o_dtype));
    return (int)cudaErrorInvalidValue;
  }
  const int64_t pairs = a->total_q * a->num_q_heads;
  if (pairs == 0) return 0;
  const unsigned blocks = (unsigned)((pairs + skv::kMergeWarps - 1) / skv::kMergeWarps);
  if (a->base2) skv::cascade_merge_kernel<skv::Base2Units><<<blocks, 32 * skv::kMergeWarps, 0, s>>>(*a);
  else skv::cascade_merge_kernel<skv::NatUnits><<<blocks, 32 * skv::kMergeWarps, 0, s>>>(*a);
  SKV_CUDA_LAUNCH("cascade_merge_kernel");
  return 0;
}
