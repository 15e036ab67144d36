/* gpu_ceiling.h — the in-run bandwidth ceilings: a device-to-device copy and a read-only stream. */
#ifndef SKV_GPU_CEILING_H
#define SKV_GPU_CEILING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "skv_kernels.h"

typedef struct skv_ceilings {
  int64_t bytes;       /* buffer size used (2 GiB by default) */
  double copy_tbps;    /* cudaMemcpy D2D: (bytes read + bytes written) / median time */
  double read_tbps;    /* read-only stream kernel: bytes read / median time */
  double copy_us, read_us;
  int read_variant;    /* the fastest reader (skv_read_stream_launch; its name: skv_read_stream_name) */
  double reader_tbps[SKV_READ_STREAM_VARIANTS]; /* each reader's median TB/s (0: not supported on this GPU) */
  bool read_cupti;     /* the readers were timed by CUPTI kernel durations (else CUDA events) */
} skv_ceilings;

/* Measure both on `bytes` of generator-filled data (never zeros), median of
 * `repeat` timed runs after 3 warm-ups; the read ceiling is the fastest of
 * the readers this GPU supports (kernels/bandwidth.cu). With `cupti` (CUPTI
 * already started by the caller) the readers are timed as the kernels they are
 * compared with: CUPTI kernel durations, not CUDA events around the launch,
 * which add the launch's own ~1% (issue 20: cuDNN's SDPA read K and V at 1.015x
 * an event-timed ceiling on the H200). The copy is timed by events either way. */
bool skv_gpu_measure_ceilings(int64_t bytes, int repeat, bool cupti, skv_ceilings *c, char *err, size_t errlen);

#endif /* SKV_GPU_CEILING_H */
