/* gpu_cascade.c — the cascade plan's two batches and the merge on the GPU (gpu_cascade.h). */
#include "gpu/gpu_cascade.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"
#include "gpu/gpu_cupti.h"
#include "prof/stats.h"

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

/* R page tables of a pass's workload, replica j's entries + j * P (P: the pool's pages). */
static bool replica_tables(const skv_workload *pw, int32_t R, int64_t P, int32_t **d, char *err, size_t errlen) {
  const int64_t n = pw->page_indptr[pw->batch.num_requests];
  int32_t *h = malloc(sizeof(int32_t) * (size_t)(R * n > 0 ? R * n : 1));
  if (!h) {
    snprintf(err, errlen, "cascade: out of memory");
    return false;
  }
  for (int32_t j = 0; j < R; j++)
    for (int64_t i = 0; i < n; i++) h[j * n + i] = (int32_t)(pw->page_table[i] + j * P);
  cudaError_t e = cudaMalloc((void **)d, sizeof(int32_t) * (size_t)(R * n > 0 ? R * n : 1));
  if (e == cudaSuccess && n > 0) e = cudaMemcpy(*d, h, sizeof(int32_t) * (size_t)(R * n), cudaMemcpyHostToDevice);
  free(h);
  if (e != cudaSuccess) {
    snprintf(err, errlen, "%s:%d: cascade page tables: %s", __FILE__, __LINE__, cudaGetErrorString(e));
    return false;
  }
  return true;
}

/* The two passes on the device: their workloads (gathered from the batch's), batches borrowing the
 * batch's pools, plans, the prefix rows of the merge, and the merge's arguments into the batch's
 * outputs. */
typedef struct passes {
  bool has_prefix;
  skv_workload pw, sw;
  skv_gpu_batch gpb, gsb;
  skv_gpu_plan gpp, gps;
  int64_t *d_rows;
  skv_cascade_merge_args merge;
} passes;

static void passes_free(passes *x) {
  cudaFree(x->d_rows);
  if (x->has_prefix) skv_gpu_plan_free(&x->gpp), skv_gpu_batch_free(&x->gpb), skv_workload_free(&x->pw);
  skv_gpu_plan_free(&x->gps);
  skv_gpu_batch_free(&x->gsb);
  skv_workload_free(&x->sw);
  memset(x, 0, sizeof *x);
}

static bool passes_make(const skv_gpu_batch *g, const skv_workload *w, const skv_cascade_plan *c, bool base2, passes *x,
                        char *err, size_t errlen) {
  memset(x, 0, sizeof *x);
  if (!skv_cascade_workloads(w, c, &x->pw, &x->sw, err, errlen)) return false;
  x->has_prefix = c->prefix.num_requests > 0;
  bool ok = skv_gpu_batch_borrow(g, &x->sw, &x->gsb, err, errlen) &&
            skv_gpu_plan_upload(&c->suffix_plan, x->sw.page_indptr, &x->gps, err, errlen) &&
            (!x->has_prefix || (skv_gpu_batch_borrow(g, &x->pw, &x->gpb, err, errlen) &&
                                skv_gpu_plan_upload(&c->prefix_plan, x->pw.page_indptr, &x->gpp, err, errlen)));
  const size_t rows_bytes = sizeof(int64_t) * (size_t)(c->levels * c->total_q > 0 ? c->levels * c->total_q : 1);
  if (ok) {
    cudaError_t e = cudaMalloc((void **)&x->d_rows, rows_bytes);
    if (e == cudaSuccess && c->levels * c->total_q > 0)
      e = cudaMemcpy(x->d_rows, c->prefix_row, rows_bytes, cudaMemcpyHostToDevice);
    if (e != cudaSuccess) {
      snprintf(err, errlen, "%s:%d: cascade rows: %s", __FILE__, __LINE__, cudaGetErrorString(e));
      ok = false;
    }
  }
  if (!ok) {
    passes_free(x);
    return false;
  }
  skv_cascade_merge_args *a = &x->merge;
  a->num_q_heads = g->prob.num_q_heads, a->head_dim = g->prob.head_dim, a->levels = c->levels;
  a->total_q = c->total_q, a->prefix_q = x->has_prefix ? x->gpb.prob.total_q : 0;
  a->o_dtype = g->prob.o_dtype, a->base2 = base2;
  /* read only where a token has a prefix row: the suffix's arrays stand in when there is none */
  a->d_prefix_o = x->has_prefix ? x->gpb.prob.d_o : x->gsb.prob.d_o;
  a->d_prefix_lse = x->has_prefix ? x->gpb.prob.d_lse : x->gsb.prob.d_lse;
  a->d_suffix_o = x->gsb.prob.d_o, a->d_suffix_lse = x->gsb.prob.d_lse, a->d_prefix_row = x->d_rows;
  a->d_o = g->prob.d_o, a->d_lse = g->prob.d_lse;
  return true;
}

/* Both passes (each decode + combine as any plan), then the merge. */
static bool passes_run(passes *x, char *err, size_t errlen) {
  return (!x->has_prefix || skv_gpu_run(&x->gpb, &x->gpp, 0, err, errlen)) &&
         skv_gpu_run(&x->gsb, &x->gps, 0, err, errlen) && skv_cascade_merge_launch(&x->merge, 0, err, errlen) == 0;
}

bool skv_gpu_cascade_run(const skv_gpu_batch *g, const skv_workload *w, const skv_cascade_plan *c, bool base2,
                         char *err, size_t errlen) {
  passes x;
  if (!passes_make(g, w, c, base2, &x, err, errlen)) return false;
  const float log2e = 1.4426950408889634f;
  bool ok = (!x.has_prefix || skv_gpu_run(&x.gpb, &x.gpp, 0, err, errlen)) && skv_gpu_run(&x.gsb, &x.gps, 0, err, errlen);
  if (ok && base2) /* the merge reads log2 LSEs */
    ok = scale_lse(x.gsb.prob.d_lse, x.gsb.lse_elems, log2e, err, errlen) &&
         (!x.has_prefix || scale_lse(x.gpb.prob.d_lse, x.gpb.lse_elems, log2e, err, errlen));
  ok = ok && skv_cascade_merge_launch(&x.merge, 0, err, errlen) == 0;
  if (ok) {
    const cudaError_t e = cudaDeviceSynchronize();
    if (e != cudaSuccess) {
      snprintf(err, errlen, "%s:%d: cascade: %s", __FILE__, __LINE__, cudaGetErrorString(e));
      ok = false;
    }
  }
  if (ok && base2) ok = scale_lse(g->prob.d_lse, g->lse_elems, 1.0f / log2e, err, errlen);
  passes_free(&x);
  return ok;
}

bool skv_gpu_cascade_time(const skv_gpu_batch *g, const skv_workload *w, const skv_cascade_plan *c,
                          const skv_gpu_rotation *rot, int warmup, int repeat, bool use_cupti, uint64_t ext_base,
                          double *us, double parts[3], char *err, size_t errlen) {
  passes x;
  if (!passes_make(g, w, c, false, &x, err, errlen)) return false;
  const int32_t R = rot ? rot->replicas : 1;
  int32_t *ptab = NULL, *stab = NULL;
  const size_t rn = (size_t)(repeat > 0 ? repeat : 1);
  double *t = malloc(sizeof(double) * rn * 4); /* per step: the total, then the prefix, suffix, merge */
  cudaEvent_t *ev = calloc(2 * rn, sizeof *ev);
  bool ok = t && ev;
  if (!ok) snprintf(err, errlen, "cascade: out of memory");
  ok = ok && replica_tables(&x.sw, R, w->num_pages, &stab, err, errlen) &&
       (!x.has_prefix || replica_tables(&x.pw, R, w->num_pages, &ptab, err, errlen));
  const int64_t pn = x.has_prefix ? x.pw.page_indptr[x.pw.batch.num_requests] : 0;
  const int64_t sn = x.sw.page_indptr[x.sw.batch.num_requests];
  if (parts) parts[0] = parts[1] = parts[2] = NAN;
  /* one step on replica j: both passes on its pages, then the merge */
#define ON_REPLICA(j)                                                                                       ((x.has_prefix ? (void)(x.gpb.prob.d_page_table = ptab + ((j) % R) * pn) : (void)0),                      (void)(x.gsb.prob.d_page_table = stab + ((j) % R) * sn))
#define STEP(j) (ON_REPLICA(j), passes_run(&x, err, errlen))
  for (int i = 0; ok && i < warmup; i++) ok = STEP(i);
  if (ok && use_cupti) {
    /* each step's three parts under their own external ids: ext_base + 3 i + part */
    skv_kernel_record *recs = NULL;
    ok = cudaDeviceSynchronize() == cudaSuccess && skv_cupti_take(&recs, err, errlen) >= 0;
    free(recs);
    recs = NULL;
    for (int i = 0; ok && i < repeat; i++) {
      ON_REPLICA(warmup + i);
      for (int part = 0; ok && part < 3; part++) {
        ok = skv_cupti_push(ext_base + 3 * (uint64_t)i + (uint64_t)part, err, errlen);
        const bool ran = ok && (part == 0   ? (!x.has_prefix || skv_gpu_run(&x.gpb, &x.gpp, 0, err, errlen))
                                : part == 1 ? skv_gpu_run(&x.gsb, &x.gps, 0, err, errlen)
                                            : skv_cascade_merge_launch(&x.merge, 0, err, errlen) == 0);
        ok = skv_cupti_pop(err, errlen) && ran;
      }
    }
    int64_t n = -1;
    if (ok && cudaDeviceSynchronize() == cudaSuccess) n = skv_cupti_take(&recs, err, errlen);
    ok = ok && n >= 0;
    for (size_t i = 0; ok && i < rn * 4; i++) t[i] = 0;
    for (int64_t k = 0; ok && k < n; k++) {
      const uint64_t id = recs[k].external_id;
      if (id >= ext_base && id < ext_base + 3 * (uint64_t)repeat) {
        const double d = (double)(recs[k].end_ns - recs[k].start_ns) * 1e-3;
        const uint64_t i = (id - ext_base) / 3, part = (id - ext_base) % 3;
        t[i] += d, t[rn * (1 + part) + i] += d;
      }
    }
    free(recs);
    for (int i = 0; ok && i < repeat; i++)
      if (!(t[i] > 0)) {
        snprintf(err, errlen, "cascade timing: CUPTI returned no kernel record for step %d", i);
        ok = false;
      }
    for (int part = 0; ok && parts && part < 3; part++) parts[part] = skv_median(t + rn * (1 + (size_t)part), repeat);
  } else if (ok) {
    int made = 0;
    for (; made < 2 * repeat && ok; made++) ok = cudaEventCreate(&ev[made]) == cudaSuccess;
    for (int i = 0; ok && i < repeat; i++)
      ok = cudaEventRecord(ev[2 * i], 0) == cudaSuccess && STEP(warmup + i) &&
           cudaEventRecord(ev[2 * i + 1], 0) == cudaSuccess;
    ok = ok && cudaDeviceSynchronize() == cudaSuccess;
    for (int i = 0; ok && i < repeat; i++) {
      float ms = 0;
      ok = cudaEventElapsedTime(&ms, ev[2 * i], ev[2 * i + 1]) == cudaSuccess;
      t[i] = ms * 1e3;
    }
    for (int i = 0; i < made; i++) cudaEventDestroy(ev[i]);
    if (!ok && !err[0]) snprintf(err, errlen, "%s:%d: cascade timing: CUDA events failed", __FILE__, __LINE__);
  }
#undef STEP
#undef ON_REPLICA
  if (ok) *us = skv_median(t, repeat);
  free(t), free(ev);
  cudaFree(ptab), cudaFree(stab);
  x.gpb.prob.d_page_table = x.gpb.d_own_page_table, x.gsb.prob.d_page_table = x.gsb.d_own_page_table;
  passes_free(&x);
  return ok;
}
