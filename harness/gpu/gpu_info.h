/* gpu_info.h — facts about the GPU a run used (name, SMs, L2, clocks, driver and runtime versions). */
#ifndef SKV_GPU_INFO_H
#define SKV_GPU_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct skv_gpu_info {
  char name[256];
  int32_t sm_count;
  int32_t cc_major, cc_minor;
  int64_t l2_bytes;
  int64_t mem_bytes;
  int32_t sm_clock_mhz, mem_clock_mhz; /* from cudaDeviceGetAttribute (max clocks) */
  int32_t mem_bus_bits;
  int32_t driver_version, runtime_version; /* e.g. 13000 */
  int32_t cupti_version;                   /* 0 if CUPTI is not used */
} skv_gpu_info;

/* Whether a CUDA device is present (false without a driver or device: no message). */
bool skv_gpu_present(void);
/* Fill *info for device 0; false with err. */
bool skv_gpu_info_get(skv_gpu_info *info, char *err, size_t errlen);

#endif /* SKV_GPU_INFO_H */
