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
} skv_ceilings;

/* Measure both on `bytes` of generator-filled data (never zeros), median of
 * `repeat` timed runs after 3 warm-ups; the read ceiling is the fastest of
 * the readers this GPU supports (kernels/bandwidth.cu). */
bool skv_gpu_measure_ceilings(int64_t bytes, int repeat, skv_ceilings *c, char *err, size_t errlen);

#endif /* SKV_GPU_CEILING_H */
