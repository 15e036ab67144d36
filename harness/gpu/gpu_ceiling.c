/* gpu_ceiling.c — copy and read-stream bandwidth, timed with CUDA events. */
#include "gpu/gpu_ceiling.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"
#include "gpu/gpu_cupti.h"
#include "gpu/gpu_info.h"
#include "skv_kernels.h"
#include "prof/stats.h"

/* External correlation ids of the readers' timed launches: kCeilingExt + variant * kCeilingStride + run. */
static const uint64_t kCeilingExt = (uint64_t)1 << 62;
enum { kCeilingStride = 1 << 16 };

/* Replace the readers' event times by their CUPTI kernel durations (one kernel per launch); every
 * timed launch must have its record. */
static bool take_reader_times(int repeat, double *read, char *err, size_t errlen) {
  skv_kernel_record *recs = NULL;
  const int64_t n = skv_cupti_take(&recs, err, errlen);
  if (n < 0) return false;
  bool *seen = calloc((size_t)(repeat * SKV_READ_STREAM_VARIANTS), sizeof *seen);
  bool ok = seen != NULL;
  for (int64_t i = 0; ok && i < n; i++) {
    if (recs[i].external_id < kCeilingExt) continue;
    const uint64_t k = recs[i].external_id - kCeilingExt;
    const int v = (int)(k / kCeilingStride), run = (int)(k % kCeilingStride);
    if (v >= SKV_READ_STREAM_VARIANTS || run >= repeat) continue;
    read[v * repeat + run] = (double)(recs[i].end_ns - recs[i].start_ns) * 1e-3;
    seen[v * repeat + run] = true;
  }
  for (int v = 0; ok && v < SKV_READ_STREAM_VARIANTS; v++)
    for (int run = 0; ok && run < repeat; run++)
      if (read[v * repeat + run] > 0 && !seen[v * repeat + run]) {
        snprintf(err, errlen, "%s:%d: read ceiling: CUPTI returned no kernel record for reader %d run %d", __FILE__,
                 __LINE__, v, run);
        ok = false;
      }
  if (!seen) snprintf(err, errlen, "%s:%d: out of memory", __FILE__, __LINE__);
  free(seen);
  free(recs);
  return ok;
}

bool skv_gpu_measure_ceilings(int64_t bytes, int repeat, bool cupti, skv_ceilings *c, char *err, size_t errlen) {
  memset(c, 0, sizeof *c);
  c->bytes = bytes;
  c->read_cupti = cupti;
  skv_gpu_info info;
  if (!skv_gpu_info_get(&info, err, errlen)) return false;
  void *a = NULL, *b = NULL;
  uint32_t *sink = NULL;
  cudaEvent_t e0, e1;
  double *copy = calloc((size_t)repeat, sizeof *copy);
  double *read = calloc((size_t)(repeat * SKV_READ_STREAM_VARIANTS), sizeof *read);
  bool ok = copy && read;
#define TRY(x)                                                                                            \
  do {                                                                                                    \
    cudaError_t e_ = (x);                                                                                 \
    if (ok && e_ != cudaSuccess) {                                                                        \
      snprintf(err, errlen, "%s:%d: %s: %s", __FILE__, __LINE__, #x, cudaGetErrorString(e_));             \
      ok = false;                                                                                         \
    }                                                                                                     \
  } while (0)
  TRY(cudaMalloc(&a, (size_t)bytes));
  TRY(cudaMalloc(&b, (size_t)bytes));
  TRY(cudaMalloc((void **)&sink, 1024 * sizeof(uint32_t)));
  TRY(cudaEventCreate(&e0));
  TRY(cudaEventCreate(&e1));
  if (ok) {
    skv_kv_gen g = {.seed = 99, .head_dim = 128, .num_kv_heads = 1, .k_dtype = SKV_BF16, .v_dtype = SKV_BF16};
    ok = skv_fill_kv_launch(a, false, &g, bytes / 2, 0, err, errlen) == 0;
  }
  for (int i = -3; i < repeat && ok; i++) {
    float ms = 0;
    TRY(cudaEventRecord(e0, 0));
    TRY(cudaMemcpyAsync(b, a, (size_t)bytes, cudaMemcpyDeviceToDevice, 0));
    TRY(cudaEventRecord(e1, 0));
    TRY(cudaEventSynchronize(e1));
    TRY(cudaEventElapsedTime(&ms, e0, e1));
    if (i >= 0) copy[i] = ms * 1e3;
    for (int v = 0; v < SKV_READ_STREAM_VARIANTS; v++) {
      if (!skv_read_stream_supported(v, info.cc_major)) continue;
      if (ok && cupti && i >= 0) ok = skv_cupti_push(kCeilingExt + (uint64_t)v * kCeilingStride + (uint64_t)i, err, errlen);
      TRY(cudaEventRecord(e0, 0));
      if (ok) ok = skv_read_stream_launch(a, bytes, sink, info.sm_count, v, 0, err, errlen) == 0;
      TRY(cudaEventRecord(e1, 0));
      if (ok && cupti && i >= 0) ok = skv_cupti_pop(err, errlen);
      TRY(cudaEventSynchronize(e1));
      TRY(cudaEventElapsedTime(&ms, e0, e1));
      if (i >= 0) read[v * repeat + i] = ms * 1e3;
    }
  }
#undef TRY
  if (ok && cupti) ok = take_reader_times(repeat, read, err, errlen);
  if (ok) {
    c->copy_us = skv_median(copy, repeat);
    c->read_us = INFINITY;
    for (int v = 0; v < SKV_READ_STREAM_VARIANTS; v++) {
      if (!skv_read_stream_supported(v, info.cc_major)) continue;
      const double m = skv_median(read + v * repeat, repeat);
      c->reader_tbps[v] = (double)bytes / (m * 1e-6) / 1e12;
      if (m < c->read_us) c->read_us = m, c->read_variant = v;
    }
    c->copy_tbps = 2.0 * (double)bytes / (c->copy_us * 1e-6) / 1e12;
    c->read_tbps = (double)bytes / (c->read_us * 1e-6) / 1e12;
  }
  cudaFree(a);
  cudaFree(b);
  cudaFree(sink);
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  free(copy);
  free(read);
  return ok;
}
