/* gpu_timing.h — timing decode + combine over repeated runs: CUPTI kernel records, or CUDA events with --no-cupti. */
#ifndef SKV_GPU_TIMING_H
#define SKV_GPU_TIMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu/gpu_exec.h"
#include "prof/trace.h"

/* Medians over the timed runs. With CUPTI these are kernel execution times
 * (GPU start to end of each kernel; total = decode + combine, launch gaps
 * excluded). With events they are the spans between events recorded around
 * each kernel, which also include any gap while the GPU waited for the host. */
typedef struct skv_timing {
  double decode_us, combine_us, total_us;
  double total_min_us, total_max_us;
  double total_q1_us, total_q3_us; /* the 25th and 75th percentiles (nearest rank) of the totals */
  /* The median span of a run: its first kernel's start to its last kernel's end (CUPTI), so the gap
   * between decode and combine counts and overlapping kernels (programmatic dependent launch) count
   * once; with events, the events' span, which is total_us's. */
  double span_us;
  int32_t runs;
  bool cupti;
} skv_timing;

/* warmup untimed runs, then `repeat` timed ones, cycling the rotation's pool
 * replicas (rot may be NULL). With use_cupti, each run's launches carry the
 * external correlation id ext_base + run (skv_cupti_start must have been
 * called); trace (may be NULL) then receives the timed kernels. */
bool skv_gpu_time(skv_gpu_batch *g, const skv_gpu_plan *gp, const skv_gpu_rotation *rot, int warmup, int repeat,
                  bool use_cupti, uint64_t ext_base, skv_trace *trace, skv_timing *t, char *err, size_t errlen);

#endif /* SKV_GPU_TIMING_H */
