/* gpu_graph.c — CUDA-graph capture of decode + combine at a bound, and its replay (gpu_graph.h). */
#include "gpu/gpu_graph.h"

#include <cuda_runtime_api.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"
#include "lse_layout.h"

void skv_gpu_graph_free(skv_gpu_graph *gr) {
  if (gr->exec) cudaGraphExecDestroy(gr->exec);
  if (gr->graph) cudaGraphDestroy(gr->graph);
  if (gr->stream) cudaStreamDestroy(gr->stream);
  cudaFree((void *)gr->prob.d_q);
  cudaFree((void *)gr->prob.d_page_table);
  cudaFree((void *)gr->prob.d_page_indptr);
  cudaFree((void *)gr->prob.d_cu_seqlens_q);
  cudaFree(gr->prob.d_o);
  cudaFree(gr->prob.d_lse);
  cudaFree((void *)gr->dev.d_work);
  cudaFree((void *)gr->dev.d_work_pages);
  cudaFree((void *)gr->dev.d_combine);
  cudaFree(gr->dev.d_partial_o);
  cudaFree(gr->dev.d_partial_lse);
  cudaFree(gr->d_counts);
  memset(gr, 0, sizeof *gr);
}

static bool dalloc(void **p, int64_t n, size_t elem, char *err, size_t errlen) {
  SKV_CUDA_TRY_B(cudaMalloc(p, (size_t)(n > 0 ? n : 1) * elem));
  return true;
}

bool skv_gpu_graph_capture(const skv_gpu_batch *g, const skv_graph_bound *b, skv_gpu_graph *gr, char *err,
                           size_t errlen) {
  memset(gr, 0, sizeof *gr);
  gr->bound = *b;
  skv_decode_problem *p = &gr->prob;
  *p = g->prob; /* pools, scales, dtypes, shape */
  p->d_q = p->d_page_table = NULL, p->d_page_indptr = p->d_cu_seqlens_q = NULL, p->d_o = NULL, p->d_lse = NULL;
  p->num_requests = b->requests;
  p->total_q = b->tokens;
  const int64_t hq = p->num_q_heads, d = p->head_dim, G = hq / p->num_kv_heads;
  /* token-major LSE: (t, h, g) at t * hq + h * G + g */
  memset(&p->lse_layout, 0, sizeof p->lse_layout);
  p->lse_layout.rank = 3;
  p->lse_layout.shape[0] = b->tokens, p->lse_layout.shape[1] = p->num_kv_heads, p->lse_layout.shape[2] = G;
  p->lse_layout.stride[0] = hq, p->lse_layout.stride[1] = G, p->lse_layout.stride[2] = 1;
  const size_t qsz = (size_t)skv_dtype_size(p->q_dtype), osz = (size_t)skv_dtype_size(p->o_dtype);
  skv_plan_device *dv = &gr->dev;
  bool ok = dalloc((void **)&p->d_q, b->tokens * hq * d, qsz, err, errlen) &&
            dalloc((void **)&p->d_page_table, b->pages, sizeof(int32_t), err, errlen) &&
            dalloc((void **)&p->d_page_indptr, b->requests + 1, sizeof(int64_t), err, errlen) &&
            dalloc((void **)&p->d_cu_seqlens_q, b->requests + 1, sizeof(int64_t), err, errlen) &&
            dalloc(&p->d_o, b->tokens * hq * d, osz, err, errlen) &&
            dalloc((void **)&p->d_lse, b->tokens * hq, sizeof(float), err, errlen) &&
            dalloc((void **)&dv->d_work, b->ctas, sizeof(skv_work), err, errlen) &&
            dalloc((void **)&dv->d_work_pages, b->ctas, sizeof(int64_t), err, errlen) &&
            dalloc((void **)&dv->d_combine, b->combine, sizeof(skv_combine_item), err, errlen) &&
            dalloc((void **)&dv->d_partial_o, b->partials * d, sizeof(float), err, errlen) &&
            dalloc((void **)&dv->d_partial_lse, b->partials, sizeof(float), err, errlen) &&
            dalloc((void **)&gr->d_counts, 2, sizeof(int64_t), err, errlen);
  if (ok) {
    dv->num_work = b->ctas;
    dv->num_combine = b->combine;
    dv->max_chunks = b->max_chunks;
    dv->max_tile_rows = b->tile_rows;
    dv->d_counts = gr->d_counts;
    /* nothing loaded yet: zero counts, so a stray replay does nothing */
    cudaError_t e = cudaMemset(gr->d_counts, 0, 2 * sizeof(int64_t));
    if (e == cudaSuccess) e = cudaStreamCreateWithFlags((cudaStream_t *)&gr->stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
      snprintf(err, errlen, "%s:%d: graph setup: %s", __FILE__, __LINE__, cudaGetErrorString(e));
      ok = false;
    }
  }
  if (ok) {
    /* One eager launch first (with zero counts every CTA exits): the launchers' one-time settings
     * (shared-memory limits) happen outside the capture. */
    ok = skv_decode_launch(p, dv, gr->stream, err, errlen) == 0 && skv_combine_launch(p, dv, gr->stream, err, errlen) == 0;
    if (ok) {
      cudaError_t e = cudaStreamSynchronize(gr->stream);
      if (e == cudaSuccess) e = cudaStreamBeginCapture(gr->stream, cudaStreamCaptureModeThreadLocal);
      if (e != cudaSuccess) {
        snprintf(err, errlen, "%s:%d: begin capture: %s", __FILE__, __LINE__, cudaGetErrorString(e));
        ok = false;
      }
    }
    if (ok) {
      const bool launched = skv_decode_launch(p, dv, gr->stream, err, errlen) == 0 &&
                            skv_combine_launch(p, dv, gr->stream, err, errlen) == 0;
      cudaGraph_t graph = NULL;
      cudaError_t e = cudaStreamEndCapture(gr->stream, &graph);
      gr->graph = graph;
      if (launched && e == cudaSuccess) {
        cudaGraphExec_t exec = NULL;
        e = cudaGraphInstantiate(&exec, graph, 0);
        gr->exec = exec;
      }
      if (launched && e != cudaSuccess) snprintf(err, errlen, "%s:%d: capture: %s", __FILE__, __LINE__, cudaGetErrorString(e));
      ok = launched && e == cudaSuccess;
    }
  }
  if (!ok) skv_gpu_graph_free(gr);
  return ok;
}

bool skv_gpu_graph_load(skv_gpu_graph *gr, const skv_workload *w, const skv_plan *pl, char *err, size_t errlen) {
  const skv_batch *b = &w->batch;
  char why[160];
  if (!skv_graph_bound_fits(&gr->bound, pl, b, why, sizeof why)) {
    snprintf(err, errlen, "graph: the plan does not fit the captured bound: %s", why);
    return false;
  }
  const int32_t n = b->num_requests;
  const int64_t tokens = w->cu_seqlens_q[n];
  const skv_decode_problem *p = &gr->prob;
  const size_t qsz = (size_t)skv_dtype_size(p->q_dtype);
  int64_t *pages = malloc(sizeof(int64_t) * (size_t)(pl->num_work > 0 ? pl->num_work : 1));
  if (!pages) {
    snprintf(err, errlen, "graph: out of memory");
    return false;
  }
  for (int64_t i = 0; i < pl->num_work; i++) pages[i] = w->page_indptr[pl->work[i].request];
  const int64_t counts[2] = {pl->num_work, pl->num_combine};
  const struct { void *dst; const void *src; size_t bytes; } c[] = {
      {(void *)p->d_q, w->q, (size_t)(tokens * p->num_q_heads * p->head_dim) * qsz},
      {(void *)p->d_page_table, w->page_table, (size_t)w->page_indptr[n] * sizeof(int32_t)},
      {(void *)p->d_page_indptr, w->page_indptr, (size_t)(n + 1) * sizeof(int64_t)},
      {(void *)p->d_cu_seqlens_q, w->cu_seqlens_q, (size_t)(n + 1) * sizeof(int64_t)},
      {(void *)gr->dev.d_work, pl->work, (size_t)pl->num_work * sizeof(skv_work)},
      {(void *)gr->dev.d_work_pages, pages, (size_t)pl->num_work * sizeof(int64_t)},
      {(void *)gr->dev.d_combine, pl->combine, (size_t)pl->num_combine * sizeof(skv_combine_item)},
      {gr->d_counts, counts, sizeof counts},
  };
  bool ok = true;
  for (size_t i = 0; ok && i < sizeof c / sizeof c[0]; i++) {
    if (c[i].bytes == 0) continue;
    const cudaError_t e = cudaMemcpy(c[i].dst, c[i].src, c[i].bytes, cudaMemcpyHostToDevice);
    if (e != cudaSuccess) {
      snprintf(err, errlen, "%s:%d: graph load: %s", __FILE__, __LINE__, cudaGetErrorString(e));
      ok = false;
    }
  }
  free(pages);
  if (ok) gr->tokens = tokens;
  return ok;
}

bool skv_gpu_graph_replay(const skv_gpu_graph *gr, char *err, size_t errlen) {
  SKV_CUDA_TRY_B(cudaGraphLaunch((cudaGraphExec_t)gr->exec, (cudaStream_t)gr->stream));
  return true;
}

bool skv_gpu_graph_run_once(const skv_gpu_graph *gr, void *o, float *lse, char *err, size_t errlen) {
  const skv_decode_problem *p = &gr->prob;
  const size_t ob = (size_t)(gr->tokens * p->num_q_heads * p->head_dim) * (size_t)skv_dtype_size(p->o_dtype);
  const size_t lb = (size_t)(gr->tokens * p->num_q_heads) * sizeof(float);
  SKV_CUDA_TRY_B(cudaMemsetAsync(p->d_o, 0xFF, ob, (cudaStream_t)gr->stream));
  SKV_CUDA_TRY_B(cudaMemsetAsync(p->d_lse, 0xFF, lb, (cudaStream_t)gr->stream));
  if (!skv_gpu_graph_replay(gr, err, errlen)) return false;
  SKV_CUDA_TRY_B(cudaStreamSynchronize((cudaStream_t)gr->stream));
  SKV_CUDA_TRY_B(cudaMemcpy(o, p->d_o, ob, cudaMemcpyDeviceToHost));
  SKV_CUDA_TRY_B(cudaMemcpy(lse, p->d_lse, lb, cudaMemcpyDeviceToHost));
  return true;
}

/* Events around `iters` steps of one kind (graph replays or eager launches) after `warmup`. */
static bool time_steps(const skv_gpu_graph *gr, const skv_gpu_batch *g, const skv_gpu_plan *gp, bool graph, int warmup,
                       int iters, double *us, char *err, size_t errlen) {
  cudaStream_t s = (cudaStream_t)gr->stream;
  cudaEvent_t a = NULL, z = NULL;
  SKV_CUDA_TRY_B(cudaEventCreate(&a));
  cudaError_t e = cudaEventCreate(&z);
  bool ok = e == cudaSuccess;
  if (!ok) snprintf(err, errlen, "%s:%d: cudaEventCreate: %s", __FILE__, __LINE__, cudaGetErrorString(e));
  for (int i = 0; ok && i < warmup + iters; i++) {
    if (i == warmup && (e = cudaEventRecord(a, s)) != cudaSuccess) break;
    ok = graph ? skv_gpu_graph_replay(gr, err, errlen) : skv_gpu_run(g, gp, s, err, errlen);
  }
  if (ok && e == cudaSuccess) e = cudaEventRecord(z, s);
  if (ok && e == cudaSuccess) e = cudaEventSynchronize(z);
  float ms = 0;
  if (ok && e == cudaSuccess) e = cudaEventElapsedTime(&ms, a, z);
  if (ok && e != cudaSuccess) {
    snprintf(err, errlen, "%s:%d: graph timing: %s", __FILE__, __LINE__, cudaGetErrorString(e));
    ok = false;
  }
  cudaEventDestroy(a);
  if (z) cudaEventDestroy(z);
  if (ok) *us = (double)ms * 1e3 / iters;
  return ok;
}

bool skv_gpu_graph_time(const skv_gpu_graph *gr, const skv_gpu_batch *g, const skv_gpu_plan *gp, int warmup, int iters,
                        double *graph_us, double *eager_us, char *err, size_t errlen) {
  if (iters < 1) {
    snprintf(err, errlen, "graph timing: need at least one step");
    return false;
  }
  return time_steps(gr, g, gp, false, warmup, iters, eager_us, err, errlen) &&
         time_steps(gr, g, gp, true, warmup, iters, graph_us, err, errlen);
}
