/* gpu_exec.h — a workload and a plan on the device: upload, run decode + combine, poison, download. */
#ifndef SKV_GPU_EXEC_H
#define SKV_GPU_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan.h"
#include "skv_kernels.h"
#include "workload.h"

/* A decode workload in device memory. prob carries the device pointers the
 * kernels take; the rest is ownership. */
typedef struct skv_gpu_batch {
  skv_decode_problem prob;
  int64_t pool_elems;        /* elements of one K or V pool */
  skv_kv_read kv_read;       /* bytes of K and V elements and of their scales the batch reads once */
  int64_t *d_kvlen;          /* [num_requests] for the fp32 reference */
  int64_t max_kvlen;
  int64_t o_elems, lse_elems;
  int32_t *d_own_page_table; /* the page table this batch allocated (prob's may point at a rotation's) */
  bool borrowed_pools;        /* d_k, d_v and the scales belong to another batch */
} skv_gpu_batch;

/* Upload w (query length 1 per request). A materialized pool is copied; a
 * virtual one is generated on the device with the same bits. lse_layout NULL:
 * the logical [hq, num_requests] layout. */
bool skv_gpu_batch_upload(const skv_workload *w, const skv_layout *lse_layout, skv_gpu_batch *g, char *err,
                          size_t errlen);
void skv_gpu_batch_free(skv_gpu_batch *g);
/* A batch for `one` (a workload made by skv_workload_extract from g's
 * workload) that borrows g's device pools and scales: only q, the page table
 * and the outputs are its own. Free with skv_gpu_batch_free (the pools stay). */
bool skv_gpu_batch_borrow(const skv_gpu_batch *g, const skv_workload *one, skv_gpu_batch *out, char *err,
                          size_t errlen);

/* The plan's lists and scratch on the device. */
typedef struct skv_gpu_plan {
  skv_plan_device dev;
  int64_t scratch_bytes;
} skv_gpu_plan;

/* page_indptr: the workload's [num_requests + 1] page offsets (host). The
 * fused-combine arrays and the persistent grid's queue are always made; set gp->dev.fused_combine
 * or gp->dev.persistent to use them. */
bool skv_gpu_plan_upload(const skv_plan *p, const int64_t *page_indptr, skv_gpu_plan *gp, char *err, size_t errlen);
void skv_gpu_plan_free(skv_gpu_plan *gp);

/* Decode then combine on stream s (0: default). No synchronization. */
bool skv_gpu_run(const skv_gpu_batch *g, const skv_gpu_plan *gp, skv_stream s, char *err, size_t errlen);
/* One run (decode then combine) with the decode CTAs' timelines recorded into times
 * ([gp->dev.num_work], host); synchronizes. */
bool skv_gpu_run_timed_ctas(const skv_gpu_batch *g, skv_gpu_plan *gp, skv_cta_times *times, char *err,
                            size_t errlen);
/* Fill O and LSE with NaN bytes (0xFF), so unwritten outputs show. */
bool skv_gpu_poison(const skv_gpu_batch *g, char *err, size_t errlen);
/* Copy O (o_elems of the output dtype) and LSE (lse_elems floats) to the host; synchronizes. */
bool skv_gpu_download(const skv_gpu_batch *g, void *o, float *lse, char *err, size_t errlen);

/* Pool replicas so that timed runs never find the KV in L2: replica j holds
 * pages [j*P, (j+1)*P) of a pool R times larger (regenerated on the device;
 * replica 0 keeps the original bytes) and page table j adds j*P to every
 * entry. R = 1 when the pools already exceed 4x the L2. */
typedef struct skv_gpu_rotation {
  int32_t replicas;
  int32_t *d_tables;  /* R page tables of `entries` each */
  int64_t entries;
} skv_gpu_rotation;

bool skv_gpu_rotation_make(skv_gpu_batch *g, const skv_workload *w, int64_t l2_bytes, skv_gpu_rotation *rot,
                           char *err, size_t errlen);
void skv_gpu_rotation_free(skv_gpu_rotation *rot);
/* Point g at replica j's page table. */
void skv_gpu_rotation_use(skv_gpu_batch *g, const skv_gpu_rotation *rot, int64_t j);

/* Free device memory in bytes (cudaMemGetInfo), or -1 with err. */
int64_t skv_gpu_free_bytes(char *err, size_t errlen);


#endif /* SKV_GPU_EXEC_H */
