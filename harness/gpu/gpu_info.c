/* gpu_info.c — device properties and versions via the CUDA runtime. */
#include "gpu/gpu_info.h"

#include <cuda_runtime_api.h>
#include <string.h>

#include "cuda_check.h"

bool skv_gpu_present(void) {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

bool skv_gpu_info_get(skv_gpu_info *info, char *err, size_t errlen) {
  memset(info, 0, sizeof *info);
  struct cudaDeviceProp p;
  SKV_CUDA_TRY_B(cudaGetDeviceProperties(&p, 0));
  snprintf(info->name, sizeof info->name, "%s", p.name);
  info->sm_count = p.multiProcessorCount;
  info->cc_major = p.major;
  info->cc_minor = p.minor;
  info->l2_bytes = p.l2CacheSize;
  info->mem_bytes = (int64_t)p.totalGlobalMem;
  int v = 0;
  SKV_CUDA_TRY_B(cudaDeviceGetAttribute(&v, cudaDevAttrClockRate, 0));
  info->sm_clock_mhz = v / 1000;
  SKV_CUDA_TRY_B(cudaDeviceGetAttribute(&v, cudaDevAttrMemoryClockRate, 0));
  info->mem_clock_mhz = v / 1000;
  SKV_CUDA_TRY_B(cudaDeviceGetAttribute(&v, cudaDevAttrGlobalMemoryBusWidth, 0));
  info->mem_bus_bits = v;
  SKV_CUDA_TRY_B(cudaDriverGetVersion(&info->driver_version));
  SKV_CUDA_TRY_B(cudaRuntimeGetVersion(&info->runtime_version));
  return true;
}
