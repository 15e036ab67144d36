/* gpu_cascade.c — the cascade plan's two batches and the merge on the GPU (gpu_cascade.h). */
#include "gpu/gpu_cascade.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"

/* Scale n floats on the device by f (through the host: a check path, not a timed one). */
static bool scale_lse(float *d, int64_t n, float f, char *err, size_t errlen) {
  if (n == 0) return true;
  float *h = malloc(sizeof(float) * (size_t)n);
  if (!h) {
    snprintf(err, errlen, "cascade: out of memory");
    return false;
  }
  cudaError_t e = cudaMemcpy(h, d, sizeof(float) * (size_t)n, cudaMemcpyDeviceToHost);
  for (int64_t i = 0; e == cudaSuccess && i < n; i++) h[i] *= f; /* -inf stays -inf */
  if (e == cudaSuccess) e = cudaMemcpy(d, h, sizeof(float) * (size_t)n, cudaMemcpyHostToDevice);
  free(h);
  if (e != cudaSuccess) {
    snprintf(err, errlen, "%s:%d: cascade LSE: %s", __FILE__, __LINE__, cudaGetErrorString(e));
    return false;
  }
  return true;
}

bool skv_gpu_cascade_run(const skv_gpu_batch *g, const skv_workload *w, const skv_cascade_plan *c, bool base2,
                         char *err, size_t errlen) {
  skv_workload pw, sw;
  if (!skv_cascade_workloads(w, c, &pw, &sw, err, errlen)) return false;
  const bool has_prefix = c->prefix.num_requests > 0;
  skv_gpu_batch gpb, gsb;
  skv_gpu_plan gpp, gps;
  memset(&gpb, 0, sizeof gpb), memset(&gpp, 0, sizeof gpp), memset(&gsb, 0, sizeof gsb), memset(&gps, 0, sizeof gps);
  int64_t *d_rows = NULL;
  bool ok = skv_gpu_batch_borrow(g, &sw, &gsb, err, errlen) &&
            skv_gpu_plan_upload(&c->suffix_plan, sw.page_indptr, &gps, err, errlen) &&
            (!has_prefix || (skv_gpu_batch_borrow(g, &pw, &gpb, err, errlen) &&
                             skv_gpu_plan_upload(&c->prefix_plan, pw.page_indptr, &gpp, err, errlen)));
  const size_t rows_bytes = sizeof(int64_t) * (size_t)(c->levels * c->total_q > 0 ? c->levels * c->total_q : 1);
  if (ok) {
    cudaError_t e = cudaMalloc((void **)&d_rows, rows_bytes);
    if (e == cudaSuccess && c->levels * c->total_q > 0)
      e = cudaMemcpy(d_rows, c->prefix_row, rows_bytes, cudaMemcpyHostToDevice);
    if (e != cudaSuccess) {
      snprintf(err, errlen, "%s:%d: cascade rows: %s", __FILE__, __LINE__, cudaGetErrorString(e));
      ok = false;
    }
  }
  /* the two passes, each decode + combine as any plan */
  ok = ok && (!has_prefix || skv_gpu_run(&gpb, &gpp, 0, err, errlen)) && skv_gpu_run(&gsb, &gps, 0, err, errlen);
  const float log2e = 1.4426950408889634f;
  if (ok && base2)
    ok = scale_lse(gsb.prob.d_lse, gsb.lse_elems, log2e, err, errlen) &&
         (!has_prefix || scale_lse(gpb.prob.d_lse, gpb.lse_elems, log2e, err, errlen));
  if (ok) {
    skv_cascade_merge_args a;
    memset(&a, 0, sizeof a);
    a.num_q_heads = g->prob.num_q_heads, a.head_dim = g->prob.head_dim, a.levels = c->levels;
    a.total_q = c->total_q, a.prefix_q = has_prefix ? gpb.prob.total_q : 0;
    a.o_dtype = g->prob.o_dtype, a.base2 = base2;
    a.d_prefix_o = has_prefix ? gpb.prob.d_o : gsb.prob.d_o; /* read only where a token has a prefix row */
    a.d_prefix_lse = has_prefix ? gpb.prob.d_lse : gsb.prob.d_lse;
    a.d_suffix_o = gsb.prob.d_o, a.d_suffix_lse = gsb.prob.d_lse, a.d_prefix_row = d_rows;
    a.d_o = g->prob.d_o, a.d_lse = g->prob.d_lse;
    ok = skv_cascade_merge_launch(&a, 0, err, errlen) == 0;
    if (ok) {
      const cudaError_t e = cudaDeviceSynchronize();
      if (e != cudaSuccess) {
        snprintf(err, errlen, "%s:%d: cascade: %s", __FILE__, __LINE__, cudaGetErrorString(e));
        ok = false;
      }
    }
  }
  if (ok && base2) ok = scale_lse(g->prob.d_lse, g->lse_elems, 1.0f / log2e, err, errlen);
  cudaFree(d_rows);
  if (has_prefix) skv_gpu_plan_free(&gpp), skv_gpu_batch_free(&gpb);
  skv_gpu_plan_free(&gps);
  skv_gpu_batch_free(&gsb);
  if (has_prefix) skv_workload_free(&pw);
  skv_workload_free(&sw);
  return ok;
}
