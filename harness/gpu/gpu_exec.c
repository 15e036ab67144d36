/* gpu_exec.c — device buffers for a workload and a plan; running the kernels on them. */
#include "gpu/gpu_exec.h"

#include "lse_layout.h"

#include <cuda_runtime_api.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"
#include "support.h"


static bool alloc_copy(void **dst, const void *src, size_t bytes, char *err, size_t errlen) {
  SKV_CUDA_TRY_B(cudaMalloc(dst, bytes > 0 ? bytes : 16));
  if (src && bytes > 0) SKV_CUDA_TRY_B(cudaMemcpy(*dst, src, bytes, cudaMemcpyHostToDevice));
  return true;
}

void skv_gpu_batch_free(skv_gpu_batch *g) {
  skv_decode_problem *p = &g->prob;
  cudaFree((void *)p->d_q);
  if (!g->borrowed_pools) {
    cudaFree((void *)p->d_k);
    cudaFree((void *)p->d_v);
    cudaFree((void *)p->d_k_token_scale);
    cudaFree((void *)p->d_v_token_scale);
    cudaFree((void *)p->d_v_channel_scale);
  }
  cudaFree(g->d_own_page_table);
  cudaFree((void *)p->d_page_indptr);
  cudaFree(p->d_o);
  cudaFree(p->d_lse);
  cudaFree(g->d_kvlen);
  cudaFree((void *)p->d_cu_seqlens_q);
  memset(g, 0, sizeof *g);
}

bool skv_gpu_batch_upload(const skv_workload *w, const skv_layout *lse_layout, skv_gpu_batch *g, char *err,
                          size_t errlen) {
  memset(g, 0, sizeof *g);
  const skv_batch *b = &w->batch;
  const int32_t n = b->num_requests, G = skv_batch_group(b);
  const int64_t tq = w->cu_seqlens_q[n]; /* query tokens */
  skv_decode_problem *p = &g->prob;
  p->num_requests = n;
  p->total_q = tq;
  p->mask = b->mask;
  p->num_q_heads = b->num_q_heads;
  p->num_kv_heads = b->num_kv_heads;
  p->head_dim = b->head_dim;
  p->page_size = b->page_size;
  p->q_dtype = w->opts.q_dtype;
  p->k_dtype = b->kv_dtype;
  p->v_dtype = b->v_dtype;
  p->o_dtype = skv_output_dtype(w->opts.q_dtype);
  p->softmax_scale = (float)w->softmax_scale;
  p->q_scale = w->opts.quant.q_scale;
  p->k_scale = w->opts.quant.k_scale;
  p->v_scale = w->opts.quant.v_scale;
  p->per_token_head = b->kv_scale_mode == SKV_SCALE_PER_TOKEN_HEAD;
  p->lse_layout = lse_layout ? *lse_layout : skv_lse_layout_logical(tq, b->num_kv_heads, G);
  /* The kernels write LSE (t, h, g) at the layout's offset: it must stay in the buffer. */
  int64_t lo = 0, hi = 0;
  for (int i = 0; i < 3; i++) {
    const int64_t ext = (p->lse_layout.shape[i] - 1) * p->lse_layout.stride[i];
    if (ext > 0) hi += ext;
    else lo += ext;
  }
  if (p->lse_layout.rank != 3 || p->lse_layout.shape[0] != tq || p->lse_layout.shape[1] != b->num_kv_heads ||
      p->lse_layout.shape[2] != G || lo < 0 || hi >= tq * b->num_q_heads) {
    snprintf(err, errlen, "gpu: the LSE layout must be rank 3 of shape (%lld, %d, %d) inside %lld floats",
             (long long)tq, b->num_kv_heads, G, (long long)tq * b->num_q_heads);
    return false;
  }
  g->pool_elems = skv_workload_pool_elems(w);
  g->kv_read = skv_batch_kv_read(b);
  g->max_kvlen = skv_batch_max_kvlen(b);
  g->o_elems = tq * b->num_q_heads * b->head_dim;
  g->lse_elems = tq * b->num_q_heads;
  const size_t kb = (size_t)skv_dtype_size(p->k_dtype), vb = (size_t)skv_dtype_size(p->v_dtype);
  bool ok = alloc_copy((void **)&p->d_q, w->q, (size_t)skv_workload_q_elems(w) * skv_dtype_size(p->q_dtype), err,
                       errlen) &&
            alloc_copy((void **)&p->d_k, w->k, (size_t)g->pool_elems * kb, err, errlen) &&
            alloc_copy((void **)&p->d_v, w->v, (size_t)g->pool_elems * vb, err, errlen) &&
            alloc_copy((void **)&p->d_page_table, w->page_table, (size_t)w->page_indptr[n] * sizeof(int32_t), err,
                       errlen) &&
            ((g->d_own_page_table = (int32_t *)p->d_page_table), true) &&
            alloc_copy((void **)&p->d_page_indptr, w->page_indptr, (size_t)(n + 1) * sizeof(int64_t), err, errlen) &&
            alloc_copy((void **)&g->d_kvlen, b->kvlen, (size_t)n * sizeof(int64_t), err, errlen) &&
            alloc_copy((void **)&p->d_cu_seqlens_q, w->cu_seqlens_q, (size_t)(n + 1) * sizeof(int64_t), err, errlen) &&
            alloc_copy(&p->d_o, NULL, (size_t)g->o_elems * (size_t)skv_dtype_size(p->o_dtype), err, errlen) &&
            alloc_copy((void **)&p->d_lse, NULL, (size_t)g->lse_elems * sizeof(float), err, errlen);
  const int64_t tokens = w->num_pages * b->page_size * b->num_kv_heads;
  if (ok && w->scales.k_token)
    ok = alloc_copy((void **)&p->d_k_token_scale, w->scales.k_token, (size_t)tokens * sizeof(float), err, errlen);
  if (ok && w->scales.v_token)
    ok = alloc_copy((void **)&p->d_v_token_scale, w->scales.v_token, (size_t)tokens * sizeof(float), err, errlen);
  if (ok && w->scales.v_channel)
    ok = alloc_copy((void **)&p->d_v_channel_scale, w->scales.v_channel,
                    (size_t)b->num_kv_heads * b->head_dim * sizeof(float), err, errlen);
  if (ok && !w->k) {
    skv_kv_gen gen;
    skv_workload_kv_gen(w, &gen);
    ok = skv_fill_kv_launch((void *)p->d_k, false, &gen, g->pool_elems, 0, err, errlen) == 0 &&
         skv_fill_kv_launch((void *)p->d_v, true, &gen, g->pool_elems, 0, err, errlen) == 0;
    if (ok) {
      cudaError_t e = cudaDeviceSynchronize();
      if (e != cudaSuccess) {
        snprintf(err, errlen, "%s:%d: fill: %s", __FILE__, __LINE__, cudaGetErrorString(e));
        ok = false;
      }
    }
  }
  if (!ok) skv_gpu_batch_free(g);
  return ok;
}

bool skv_gpu_batch_borrow(const skv_gpu_batch *g, const skv_workload *one, skv_gpu_batch *out, char *err,
                          size_t errlen) {
  memset(out, 0, sizeof *out);
  *out = *g;
  skv_decode_problem *p = &out->prob;
  const skv_batch *b = &one->batch;
  const int64_t tq = one->cu_seqlens_q[b->num_requests];
  p->num_requests = b->num_requests;
  p->total_q = tq;
  p->lse_layout = skv_lse_layout_logical(tq, b->num_kv_heads, skv_batch_group(b));
  p->d_q = p->d_page_indptr = p->d_cu_seqlens_q = NULL;
  p->d_page_table = NULL;
  p->d_o = NULL;
  p->d_lse = NULL;
  out->d_kvlen = NULL;
  out->d_own_page_table = NULL;
  out->borrowed_pools = true;
  out->kv_read = skv_batch_kv_read(b);
  out->max_kvlen = skv_batch_max_kvlen(b);
  out->o_elems = tq * b->num_q_heads * b->head_dim;
  out->lse_elems = tq * b->num_q_heads;
  const int32_t n = b->num_requests;
  bool ok = alloc_copy((void **)&p->d_q, one->q, (size_t)skv_workload_q_elems(one) * skv_dtype_size(p->q_dtype), err,
                       errlen) &&
            alloc_copy((void **)&p->d_page_table, one->page_table, (size_t)one->page_indptr[n] * sizeof(int32_t), err,
                       errlen) &&
            ((out->d_own_page_table = (int32_t *)p->d_page_table), true) &&
            alloc_copy((void **)&p->d_page_indptr, one->page_indptr, (size_t)(n + 1) * sizeof(int64_t), err, errlen) &&
            alloc_copy((void **)&out->d_kvlen, b->kvlen, (size_t)n * sizeof(int64_t), err, errlen) &&
            alloc_copy((void **)&p->d_cu_seqlens_q, one->cu_seqlens_q, (size_t)(n + 1) * sizeof(int64_t), err,
                       errlen) &&
            alloc_copy(&p->d_o, NULL, (size_t)out->o_elems * (size_t)skv_dtype_size(p->o_dtype), err, errlen) &&
            alloc_copy((void **)&p->d_lse, NULL, (size_t)out->lse_elems * sizeof(float), err, errlen);
  if (!ok) skv_gpu_batch_free(out);
  return ok;
}

void skv_gpu_plan_free(skv_gpu_plan *gp) {
  cudaFree((void *)gp->dev.d_work);
  cudaFree((void *)gp->dev.d_work_pages);
  cudaFree((void *)gp->dev.d_combine);
  cudaFree(gp->dev.d_partial_o);
  cudaFree(gp->dev.d_partial_lse);
  cudaFree((void *)gp->dev.d_work_item);
  cudaFree(gp->dev.d_arrivals);
  cudaFree(gp->dev.d_queue);
  memset(gp, 0, sizeof *gp);
}

bool skv_gpu_plan_upload(const skv_plan *p, const int64_t *page_indptr, skv_gpu_plan *gp, char *err, size_t errlen) {
  memset(gp, 0, sizeof *gp);
  gp->dev.num_work = p->num_work;
  gp->dev.num_combine = p->num_combine;
  for (int64_t i = 0; i < p->num_combine; i++)
    if (p->combine[i].num_chunks > gp->dev.max_chunks) gp->dev.max_chunks = p->combine[i].num_chunks;
  const int32_t G = p->num_q_heads / p->num_kv_heads;
  gp->dev.max_tile_rows = skv_plan_max_tile_rows(p);
  gp->scratch_bytes = p->scratch_o_bytes + p->scratch_lse_bytes;
  int64_t *pages = malloc(sizeof(int64_t) * (size_t)(p->num_work > 0 ? p->num_work : 1));
  if (!pages) {
    snprintf(err, errlen, "gpu: out of memory (work list)");
    return false;
  }
  for (int64_t i = 0; i < p->num_work; i++) pages[i] = page_indptr[p->work[i].request];
  /* For the fused combine: each work item's combine item, found through the item of its first
   * scratch row (a combine item's chunks own consecutive blocks of rows). */
  int32_t *item = malloc(sizeof(int32_t) * (size_t)(p->num_work > 0 ? p->num_work : 1));
  int64_t *item_of_row = malloc(sizeof(int64_t) * (size_t)(p->num_partials > 0 ? p->num_partials : 1));
  for (int64_t i = 0; item_of_row && i < p->num_partials; i++) item_of_row[i] = -1;
  if (!item || !item_of_row) {
    free(pages), free(item), free(item_of_row);
    snprintf(err, errlen, "gpu: out of memory (work list)");
    return false;
  }
  for (int64_t j = 0; j < p->num_combine; j++) {
    const int64_t rows = skv_tile_rows(p->combine[j].q_begin, p->combine[j].q_end, G);
    for (int32_t k = 0; k < p->combine[j].num_chunks; k++) item_of_row[p->combine[j].first_partial + k * rows] = j;
  }
  for (int64_t i = 0; i < p->num_work; i++)
    item[i] = p->work[i].partial < 0 ? -1 : (int32_t)item_of_row[p->work[i].partial];
  free(item_of_row);
  bool ok = alloc_copy((void **)&gp->dev.d_work, p->work, (size_t)p->num_work * sizeof(skv_work), err, errlen) &&
            alloc_copy((void **)&gp->dev.d_work_pages, pages, (size_t)p->num_work * sizeof(int64_t), err, errlen) &&
            alloc_copy((void **)&gp->dev.d_combine, p->combine, (size_t)p->num_combine * sizeof(skv_combine_item),
                       err, errlen) &&
            alloc_copy((void **)&gp->dev.d_partial_o, NULL, (size_t)p->scratch_o_bytes, err, errlen) &&
            alloc_copy((void **)&gp->dev.d_partial_lse, NULL, (size_t)p->scratch_lse_bytes, err, errlen) &&
            alloc_copy((void **)&gp->dev.d_work_item, item, (size_t)p->num_work * sizeof(int32_t), err, errlen) &&
            alloc_copy((void **)&gp->dev.d_arrivals, NULL, (size_t)p->num_combine * sizeof(int32_t), err, errlen) &&
            alloc_copy((void **)&gp->dev.d_queue, NULL, sizeof(int32_t), err, errlen);
  if (ok) {
    cudaError_t e = cudaMemset(gp->dev.d_arrivals, 0, (size_t)(p->num_combine > 0 ? p->num_combine : 1) * sizeof(int32_t));
    if (e == cudaSuccess) e = cudaMemset(gp->dev.d_queue, 0, sizeof(int32_t));
    if (e != cudaSuccess) {
      snprintf(err, errlen, "%s:%d: cudaMemset: %s", __FILE__, __LINE__, cudaGetErrorString(e));
      ok = false;
    }
  }
  free(pages);
  free(item);
  if (!ok) skv_gpu_plan_free(gp);
  return ok;
}

bool skv_gpu_run(const skv_gpu_batch *g, const skv_gpu_plan *gp, skv_stream s, char *err, size_t errlen) {
  return skv_decode_launch(&g->prob, &gp->dev, s, err, errlen) == 0 &&
         skv_combine_launch(&g->prob, &gp->dev, s, err, errlen) == 0;
}

bool skv_gpu_run_timed_ctas(const skv_gpu_batch *g, skv_gpu_plan *gp, skv_cta_times *times, char *err,
                            size_t errlen) {
  const size_t bytes = (size_t)(gp->dev.num_work > 0 ? gp->dev.num_work : 1) * sizeof(skv_cta_times);
  skv_cta_times *d = NULL;
  SKV_CUDA_TRY_B(cudaMalloc((void **)&d, bytes));
  bool ok = true;
  cudaError_t e = cudaMemset(d, 0, bytes);
  if (e != cudaSuccess) {
    snprintf(err, errlen, "%s:%d: cudaMemset: %s", __FILE__, __LINE__, cudaGetErrorString(e));
    ok = false;
  }
  gp->dev.d_cta_times = d;
  ok = ok && skv_gpu_run(g, gp, 0, err, errlen);
  gp->dev.d_cta_times = NULL;
  if (ok && (e = cudaDeviceSynchronize()) == cudaSuccess)
    e = cudaMemcpy(times, d, (size_t)gp->dev.num_work * sizeof(skv_cta_times), cudaMemcpyDeviceToHost);
  if (ok && e != cudaSuccess) {
    snprintf(err, errlen, "%s:%d: CTA timeline: %s", __FILE__, __LINE__, cudaGetErrorString(e));
    ok = false;
  }
  cudaFree(d);
  return ok;
}

bool skv_gpu_poison(const skv_gpu_batch *g, char *err, size_t errlen) {
  SKV_CUDA_TRY_B(cudaMemset(g->prob.d_o, 0xFF, (size_t)g->o_elems * (size_t)skv_dtype_size(g->prob.o_dtype)));
  SKV_CUDA_TRY_B(cudaMemset(g->prob.d_lse, 0xFF, (size_t)g->lse_elems * sizeof(float)));
  return true;
}

bool skv_gpu_download(const skv_gpu_batch *g, void *o, float *lse, char *err, size_t errlen) {
  SKV_CUDA_TRY_B(cudaDeviceSynchronize());
  if (o)
    SKV_CUDA_TRY_B(cudaMemcpy(o, g->prob.d_o, (size_t)g->o_elems * (size_t)skv_dtype_size(g->prob.o_dtype),
                              cudaMemcpyDeviceToHost));
  if (lse) SKV_CUDA_TRY_B(cudaMemcpy(lse, g->prob.d_lse, (size_t)g->lse_elems * sizeof(float), cudaMemcpyDeviceToHost));
  return true;
}

int64_t skv_gpu_free_bytes(char *err, size_t errlen) {
  size_t fr = 0, total = 0;
  cudaError_t e = cudaMemGetInfo(&fr, &total);
  if (e != cudaSuccess) {
    snprintf(err, errlen, "%s:%d: cudaMemGetInfo: %s", __FILE__, __LINE__, cudaGetErrorString(e));
    return -1;
  }
  return (int64_t)fr;
}

bool skv_gpu_rotation_make(skv_gpu_batch *g, const skv_workload *w, int64_t l2_bytes, skv_gpu_rotation *rot,
                           char *err, size_t errlen) {
  memset(rot, 0, sizeof *rot);
  const int64_t kv = g->pool_elems * (skv_dtype_size(g->prob.k_dtype) + skv_dtype_size(g->prob.v_dtype));
  rot->replicas = kv >= 4 * l2_bytes ? 1 : (int32_t)((4 * l2_bytes + kv - 1) / kv);
  rot->entries = w->page_indptr[w->batch.num_requests];
  const int64_t P = w->num_pages;
  if ((int64_t)rot->replicas * P > INT32_MAX) {
    snprintf(err, errlen, "gpu: %d pool replicas of %lld pages overflow int32 page ids", rot->replicas, (long long)P);
    return false;
  }
  const size_t bytes = (size_t)(rot->replicas * (rot->entries > 0 ? rot->entries : 1)) * sizeof(int32_t);
  int32_t *tables = malloc(bytes);
  if (!tables) {
    snprintf(err, errlen, "gpu: out of memory (page tables)");
    return false;
  }
  for (int32_t j = 0; j < rot->replicas; j++)
    for (int64_t i = 0; i < rot->entries; i++) tables[j * rot->entries + i] = (int32_t)(w->page_table[i] + j * P);
  cudaError_t e = cudaMalloc((void **)&rot->d_tables, bytes);
  if (e == cudaSuccess) e = cudaMemcpy(rot->d_tables, tables, bytes, cudaMemcpyHostToDevice);
  free(tables);
  if (e != cudaSuccess) {
    snprintf(err, errlen, "%s:%d: page tables: %s", __FILE__, __LINE__, cudaGetErrorString(e));
    return false;
  }
  if (rot->replicas > 1) {
    const int64_t n = g->pool_elems * rot->replicas;
    void *k = NULL, *v = NULL;
    SKV_CUDA_TRY_B(cudaMalloc(&k, (size_t)n * (size_t)skv_dtype_size(g->prob.k_dtype)));
    SKV_CUDA_TRY_B(cudaMalloc(&v, (size_t)n * (size_t)skv_dtype_size(g->prob.v_dtype)));
    skv_kv_gen gen;
    skv_workload_kv_gen(w, &gen);
    if (skv_fill_kv_launch(k, false, &gen, n, 0, err, errlen) != 0 ||
        skv_fill_kv_launch(v, true, &gen, n, 0, err, errlen) != 0) {
      cudaFree(k), cudaFree(v);
      return false;
    }
    SKV_CUDA_TRY_B(cudaDeviceSynchronize());
    cudaFree((void *)g->prob.d_k);
    cudaFree((void *)g->prob.d_v);
    g->prob.d_k = k;
    g->prob.d_v = v;
    /* Per-token scales are indexed by pool row, so replica j's pages (page + j * P) need their
     * own copy of the scale array after the original's. */
    const int64_t tokens = P * w->batch.page_size * w->batch.num_kv_heads;
    const float **scales[2] = {&g->prob.d_k_token_scale, &g->prob.d_v_token_scale};
    for (int i = 0; i < 2; i++) {
      if (!*scales[i]) continue;
      float *r = NULL;
      SKV_CUDA_TRY_B(cudaMalloc((void **)&r, (size_t)(tokens * rot->replicas) * sizeof(float)));
      for (int32_t j = 0; j < rot->replicas; j++) {
        const cudaError_t c =
            cudaMemcpy(r + j * tokens, *scales[i], (size_t)tokens * sizeof(float), cudaMemcpyDeviceToDevice);
        if (c != cudaSuccess) {
          cudaFree(r);
          snprintf(err, errlen, "%s:%d: scale replicas: %s", __FILE__, __LINE__, cudaGetErrorString(c));
          return false;
        }
      }
      cudaFree((void *)*scales[i]);
      *scales[i] = r;
    }
  }
  return true;
}

void skv_gpu_rotation_free(skv_gpu_rotation *rot) {
  cudaFree(rot->d_tables);
  memset(rot, 0, sizeof *rot);
}

void skv_gpu_rotation_use(skv_gpu_batch *g, const skv_gpu_rotation *rot, int64_t j) {
  g->prob.d_page_table = rot->d_tables + (j % rot->replicas) * rot->entries;
}
