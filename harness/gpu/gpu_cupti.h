/* gpu_cupti.h — kernel timings from the CUPTI Activity API, tied to configurations by external correlation ids. */
#ifndef SKV_GPU_CUPTI_H
#define SKV_GPU_CUPTI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One kernel execution as CUPTI recorded it (GPU timestamps in ns). */
typedef struct skv_kernel_record {
  uint64_t external_id;  /* the id pushed around its launch (0 if none) */
  uint32_t correlation_id;
  uint32_t stream_id;
  uint64_t start_ns, end_ns;
  char name[96];         /* demangled enough to tell decode from combine: the raw (mangled) name, cut */
} skv_kernel_record;

/* Enable CONCURRENT_KERNEL and EXTERNAL_CORRELATION activity records.
 * CUPTI cannot run beside ncu or compute-sanitizer: callers offer --no-cupti. */
bool skv_cupti_start(char *err, size_t errlen);
/* Push / pop an external correlation id (CUSTOM0) for the launches between. */
bool skv_cupti_push(uint64_t external_id, char *err, size_t errlen);
bool skv_cupti_pop(char *err, size_t errlen);
/* Flush and hand over every kernel record since the last take (malloc'd
 * array in *out, caller frees); external ids resolved. -1 on error. */
int64_t skv_cupti_take(skv_kernel_record **out, char *err, size_t errlen);
/* Disable the activity kinds and flush. */
void skv_cupti_stop(void);
/* CUPTI's API version (cuptiGetVersion), 0 on error. */
uint32_t skv_cupti_version(void);

#endif /* SKV_GPU_CUPTI_H */
