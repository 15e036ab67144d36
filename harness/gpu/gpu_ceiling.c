/* gpu_ceiling.c — copy and read-stream bandwidth, timed with CUDA events. */
#include "gpu/gpu_ceiling.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"
#include "gpu/gpu_info.h"
#include "skv_kernels.h"
#include "prof/stats.h"

bool skv_gpu_measure_ceilings(int64_t bytes, int repeat, skv_ceilings *c, char *err, size_t errlen) {
  memset(c, 0, sizeof *c);
  c->bytes = bytes;
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
      TRY(cudaEventRecord(e0, 0));
      if (ok) ok = skv_read_stream_launch(a, bytes, sink, info.sm_count, v, 0, err, errlen) == 0;
      TRY(cudaEventRecord(e1, 0));
      TRY(cudaEventSynchronize(e1));
      TRY(cudaEventElapsedTime(&ms, e0, e1));
      if (i >= 0) read[v * repeat + i] = ms * 1e3;
    }
  }
#undef TRY
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
