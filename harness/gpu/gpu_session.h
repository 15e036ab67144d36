/* gpu_session.h — the GPU side of one `skv run`: the device, its in-run ceilings and CUPTI, set up once (gpu_run.c; nogpu.c without CUDA). */
#ifndef SKV_GPU_SESSION_H
#define SKV_GPU_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "gpu/gpu_info.h"
#include "plan.h"

#define SKV_SESSION_MAX_READERS 16

typedef struct skv_gpu_session {
  skv_gpu_info info;
  double read_tbps, copy_tbps;  /* the in-run ceilings */
  /* every reader the read ceiling was the best of (kernels/bandwidth.cu), its median TB/s, and the best */
  int32_t nreaders, best_reader;
  char reader_name[SKV_SESSION_MAX_READERS][64];
  double reader_tbps[SKV_SESSION_MAX_READERS];
  bool use_cupti;
  int64_t free_bytes;           /* device memory free at the start */
  int64_t ceiling_bytes;        /* the ceilings' buffer */
} skv_gpu_session;

/* Device facts, the ceilings (a 2 GiB read stream and copy), CUPTI when asked. */
bool skv_gpu_session_begin(bool use_cupti, skv_gpu_session *s, char *err, size_t errlen);
void skv_gpu_session_end(skv_gpu_session *s);
/* The ceilings measured again as at the start (the end of a run: clock or thermal drift shows as a
 * difference); the session's own values are kept. */
bool skv_gpu_session_remeasure(const skv_gpu_session *s, double *read_tbps, double *copy_tbps, char *err, size_t errlen);

/* Device bytes a configuration needs (pools with L2 rotation, q, outputs, scratch, references). */
int64_t skv_gpu_job_bytes(const skv_batch *b, const skv_plan *p, int64_t l2_bytes);

/* NVTX range around a configuration (domain "skv"), for Nsight Systems. */
void skv_nvtx_push(const char *name);
void skv_nvtx_pop(void);
/* CUPTI's clock, for trace ranges (0 without CUPTI). */
uint64_t skv_trace_clock_ns(void);

#endif /* SKV_GPU_SESSION_H */
