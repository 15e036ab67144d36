// combine.cu — merge the partial states of each split tile in ascending chunk order (one CTA per
// combine item). The merge itself, its math and its fixed order are in merge.cuh, shared with the
// fused path of decode.cu; this file is the standalone kernel and its launcher.
#include <cuda_runtime.h>

#include "cuda_check.h"
#include "merge.cuh"
#include "skv_kernels.h"

namespace skv {
namespace {

constexpr int kThreads = 128;
constexpr size_t kMaxSmem = 227 * 1024;  // H100/A100 opt-in limit per block

template <typename T>
__global__ void __launch_bounds__(kThreads) combine_kernel(const skv_decode_problem p, const skv_plan_device pd) {
  extern __shared__ float wts[];
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  // Launched as a programmatic dependent of decode (pd.pdl), this grid may start before decode has
  // finished: wait for its completion and its writes. Without that launch attribute it returns at once.
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
  if (pd.d_counts && static_cast<int64_t>(blockIdx.x) >= pd.d_counts[1]) return;  // past a replayed plan's items
  const skv_combine_item it = pd.d_combine[blockIdx.x];
  // blockIdx.y: this CTA's block of the tile's rows (merge_rows_per_cta); a block past the tile's
  // rows has nothing to do (the grid is sized for the largest tile).
  const int G = p.num_q_heads / p.num_kv_heads, rows = (it.q_end - it.q_begin) * G;
  const int per = merge_rows_per_cta(p.head_dim, kThreads), row0 = static_cast<int>(blockIdx.y) * per;
  if (row0 >= rows) return;
  const MergeTile mt = {it.kv_head, it.num_chunks, it.q_begin, it.q_end, it.first_partial, it.q_start,
                        row0, rows - row0 < per ? rows - row0 : per};
  merge_item<T>(p, pd, mt, wts);
}

// The current device's compute capability major, read once (programmatic dependent launch needs 9).
int device_major() {
  static int major = -1;
  if (major < 0) {
    int dev = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess)
      major = 0;
  }
  return major;
}

}  // namespace
}  // namespace skv

extern "C" int skv_combine_launch(const skv_decode_problem *p, const skv_plan_device *pd, skv_stream s, char *err,
                                  size_t errlen) {
  if (!skv_decode_supported(p, err, errlen)) return (int)cudaErrorInvalidValue;
  if (pd->num_combine == 0 || pd->fused_combine) return 0;
  /* The largest item bounds the shared memory. fa2/fa3 plans have at most 128 chunks per request,
   * but fixed or flashinfer options can make many more: refuse before launching. */
  const int per = skv::merge_rows_per_cta(p->head_dim, skv::kThreads);
  const size_t smem = skv::merge_smem_bytes(pd->max_chunks, per < pd->max_tile_rows ? per : pd->max_tile_rows);
  if (smem > skv::kMaxSmem) {
    snprintf(err, errlen, "combine kernel: %d chunks x %d rows in one tile exceed its shared memory",
             pd->max_chunks, pd->max_tile_rows);
    return (int)cudaErrorInvalidValue;
  }
  void (*kernel)(const skv_decode_problem, const skv_plan_device) =
      p->o_dtype == SKV_BF16 ? skv::combine_kernel<__nv_bfloat16> : skv::combine_kernel<__half>;
  if (smem > 48 * 1024)
    SKV_CUDA_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  const dim3 grid((unsigned)pd->num_combine, (unsigned)((pd->max_tile_rows + per - 1) / per));
  if (pd->pdl && skv::device_major() >= 9) {
    cudaLaunchAttribute attr;
    attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr.val.programmaticStreamSerializationAllowed = 1;
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid, cfg.blockDim = dim3(skv::kThreads), cfg.dynamicSmemBytes = smem, cfg.stream = s;
    cfg.attrs = &attr, cfg.numAttrs = 1;
    SKV_CUDA_TRY(cudaLaunchKernelEx(&cfg, kernel, *p, *pd));
  } else {
    kernel<<<grid, skv::kThreads, smem, s>>>(*p, *pd);
  }
  SKV_CUDA_LAUNCH("combine_kernel");
  return 0;
}
