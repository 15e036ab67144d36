/* gpu_timing.c — repeated decode + combine runs, timed by CUPTI activity records or CUDA events. */
#include "gpu/gpu_timing.h"

#include <cuda_runtime_api.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"
#include "gpu/gpu_cupti.h"
#include "prof/stats.h"

static bool launch(skv_gpu_batch *g, const skv_gpu_plan *gp, const skv_gpu_rotation *rot, int64_t run, char *err,
                   size_t errlen) {
  if (rot) skv_gpu_rotation_use(g, rot, run);
  return skv_gpu_run(g, gp, 0, err, errlen);
}

static void summarize(const double *dec, const double *com, const double *span, int n, skv_timing *t) {
  double *tot = malloc(sizeof(double) * (size_t)n);
  if (!tot) return;
  for (int i = 0; i < n; i++) tot[i] = dec[i] + com[i];
  t->span_us = span ? skv_median(span, n) : skv_median(tot, n);
  t->decode_us = skv_median(dec, n);
  t->combine_us = skv_median(com, n);
  t->total_us = skv_median(tot, n);
  t->total_min_us = skv_min(tot, n);
  t->total_max_us = skv_max(tot, n);
  skv_sort_doubles(tot, n);
  t->total_q1_us = skv_nearest_rank(tot, n, 25);
  t->total_q3_us = skv_nearest_rank(tot, n, 75);
  t->runs = n;
  free(tot);
}

static bool time_cupti(skv_gpu_batch *g, const skv_gpu_plan *gp, const skv_gpu_rotation *rot, int warmup, int repeat,
                       uint64_t ext_base, skv_trace *trace, double *dec, double *com, double *span, char *err,
                       size_t errlen) {
  for (int i = 0; i < warmup; i++)
    if (!launch(g, gp, rot, i, err, errlen)) return false;
  SKV_CUDA_TRY_B(cudaDeviceSynchronize());
  skv_kernel_record *recs = NULL;
  if (skv_cupti_take(&recs, err, errlen) < 0) return false; /* drop the warm-up records */
  free(recs);
  for (int i = 0; i < repeat; i++) {
    if (!skv_cupti_push(ext_base + (uint64_t)i, err, errlen)) return false;
    bool ok = launch(g, gp, rot, warmup + i, err, errlen);
    if (!skv_cupti_pop(err, errlen) || !ok) return false;
  }
  SKV_CUDA_TRY_B(cudaDeviceSynchronize());
  int64_t n = skv_cupti_take(&recs, err, errlen);
  if (n < 0) return false;
  char *seen = calloc((size_t)repeat, 1);
  if (!seen) {
    free(recs);
    snprintf(err, errlen, "timing: out of memory");
    return false;
  }
  for (int i = 0; i < repeat; i++) dec[i] = com[i] = 0;
  uint64_t *first = calloc((size_t)repeat, sizeof *first), *last = calloc((size_t)repeat, sizeof *last);
  if (!first || !last) {
    free(first), free(last), free(recs), free(seen);
    snprintf(err, errlen, "timing: out of memory");
    return false;
  }
  int64_t in_range = 0, tagged = 0;
  for (int64_t k = 0; k < n; k++) {
    tagged += recs[k].external_id != 0;
    const uint64_t id = recs[k].external_id;
    if (id < ext_base || id >= ext_base + (uint64_t)repeat) continue;
    in_range++;
    const double us = (double)(recs[k].end_ns - recs[k].start_ns) * 1e-3;
    const uint64_t r = id - ext_base;
    if (!first[r] || recs[k].start_ns < first[r]) first[r] = recs[k].start_ns;
    if (recs[k].end_ns > last[r]) last[r] = recs[k].end_ns;
    if (trace && !skv_trace_add(trace, "kernel", strstr(recs[k].name, "decode_kernel") ? "decode" : "combine",
                                recs[k].start_ns, recs[k].end_ns, recs[k].stream_id + 1)) {
      free(recs);
      free(seen);
      free(first), free(last);
      snprintf(err, errlen, "trace: out of memory");
      return false;
    }
    if (strstr(recs[k].name, "decode_kernel")) {
      dec[id - ext_base] += us;
      seen[id - ext_base] = 1;
    } else if (strstr(recs[k].name, "combine_kernel")) {
      com[id - ext_base] += us;
    }
  }
  free(recs);
  bool all = true;
  for (int i = 0; i < repeat; i++) all = all && seen[i];
  for (int i = 0; i < repeat; i++) span[i] = last[i] > first[i] ? (double)(last[i] - first[i]) * 1e-3 : 0;
  free(seen);
  free(first), free(last);
  if (!all && gp->dev.num_work > 0) {
    snprintf(err, errlen,
             "timing: CUPTI returned no decode kernel record for some runs (%lld kernel records, %lld with an "
             "external id, %lld in this range)",
             (long long)n, (long long)tagged, (long long)in_range);
    return false;
  }
  return true;
}

static bool time_events(skv_gpu_batch *g, const skv_gpu_plan *gp, const skv_gpu_rotation *rot, int warmup,
                        int repeat, double *dec, double *com, char *err, size_t errlen) {
  cudaEvent_t *ev = calloc((size_t)(3 * repeat), sizeof *ev);
  if (!ev) {
    snprintf(err, errlen, "timing: out of memory");
    return false;
  }
  bool ok = true;
  int made = 0;
  for (; made < 3 * repeat && ok; made++) ok = cudaEventCreate(&ev[made]) == cudaSuccess;
  for (int i = 0; i < warmup && ok; i++) ok = launch(g, gp, rot, i, err, errlen);
  /* All runs are enqueued before any is waited for, so the GPU is not idle between them unless the
   * host is slower than the kernels. */
  for (int i = 0; i < repeat && ok; i++) {
    if (rot) skv_gpu_rotation_use(g, rot, warmup + i);
    ok = cudaEventRecord(ev[3 * i], 0) == cudaSuccess && skv_decode_launch(&g->prob, &gp->dev, 0, err, errlen) == 0 &&
         cudaEventRecord(ev[3 * i + 1], 0) == cudaSuccess &&
         skv_combine_launch(&g->prob, &gp->dev, 0, err, errlen) == 0 &&
         cudaEventRecord(ev[3 * i + 2], 0) == cudaSuccess;
  }
  cudaError_t e = cudaDeviceSynchronize();
  if (ok && e != cudaSuccess) {
    snprintf(err, errlen, "%s:%d: timed runs: %s", __FILE__, __LINE__, cudaGetErrorString(e));
    ok = false;
  }
  for (int i = 0; i < repeat && ok; i++) {
    float a = 0, b = 0;
    ok = cudaEventElapsedTime(&a, ev[3 * i], ev[3 * i + 1]) == cudaSuccess &&
         cudaEventElapsedTime(&b, ev[3 * i + 1], ev[3 * i + 2]) == cudaSuccess;
    dec[i] = a * 1e3;
    com[i] = b * 1e3;
  }
  if (!ok && !err[0]) snprintf(err, errlen, "%s:%d: CUDA events failed", __FILE__, __LINE__);
  for (int i = 0; i < made; i++) cudaEventDestroy(ev[i]);
  free(ev);
  return ok;
}

bool skv_gpu_time(skv_gpu_batch *g, const skv_gpu_plan *gp, const skv_gpu_rotation *rot, int warmup, int repeat,
                  bool use_cupti, uint64_t ext_base, skv_trace *trace, skv_timing *t, char *err, size_t errlen) {
  memset(t, 0, sizeof *t);
  err[0] = '\0';
  double *dec = calloc((size_t)repeat, sizeof *dec), *com = calloc((size_t)repeat, sizeof *com),
         *span = calloc((size_t)repeat, sizeof *span);
  bool ok = dec && com && span;
  if (!ok) snprintf(err, errlen, "timing: out of memory");
  if (ok)
    ok = use_cupti ? time_cupti(g, gp, rot, warmup, repeat, ext_base, trace, dec, com, span, err, errlen)
                   : time_events(g, gp, rot, warmup, repeat, dec, com, err, errlen);
  if (ok) {
    summarize(dec, com, use_cupti ? span : NULL, repeat, t);
    t->cupti = use_cupti;
  }
  if (rot) skv_gpu_rotation_use(g, rot, 0);
  free(dec);
  free(com);
  free(span);
  return ok;
}
