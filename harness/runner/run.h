/* run.h — `skv run`: a suite end to end (plan, predict, execute on the GPU or the simulator, check, record, plot). */
#ifndef SKV_RUN_H
#define SKV_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cost_model.h"
#include "gpu/gpu_info.h"
#include "layout.h"
#include "plan.h"
#include "out/results.h"
#include "suite/suite.h"
#include "prof/trace.h"
#include "workload.h"

typedef struct skv_run_opts {
  const char *suite_path;
  const char *out_dir;    /* the run directory (default results/<suite>/<run-id>) */
  bool sim_only;          /* never use the GPU */
  bool no_cupti;          /* time with CUDA events (beside ncu / compute-sanitizer) */
  bool resume;            /* continue an interrupted run */
  const char *trace_path; /* Chrome-trace JSON (GPU runs) */
  const char *dump_dir;   /* .npy inputs/outputs and plan.json per configuration */
  const char *command;    /* the command line, for meta.json */
  const char *gpus_path;  /* GPU models file (default: experiments/gpus.yaml beside the suite, else ./experiments) */
  bool plots_only;        /* redraw the plots of an existing run (--out DIR) from its results.csv */
} skv_run_opts;

/* 0: done; 1: a run failed (GPU error, a check failed, I/O); 2: bad input,
 * reported before any GPU work. */
int skv_run_suite(const skv_run_opts *o);

/* ---- between the runner (run.c) and its GPU executor (gpu_run.c; nogpu.c without CUDA) ---- */

/* Set up once per run: device facts, bandwidth ceilings, CUPTI. */
typedef struct skv_gpu_session {
  skv_gpu_info info;
  double read_tbps, copy_tbps;  /* the in-run ceilings */
  bool use_cupti;
  int64_t free_bytes;           /* device memory free at the start */
} skv_gpu_session;

bool skv_gpu_session_begin(bool use_cupti, skv_gpu_session *s, char *err, size_t errlen);
void skv_gpu_session_end(skv_gpu_session *s);

/* One configuration on the GPU. */
typedef struct skv_gpu_job {
  const skv_suite *suite;
  const skv_config *cfg;
  const skv_workload *w;        /* its data (pools virtual or materialized) */
  const skv_plan *plan;
  bool cpu_reference;           /* affordable on the CPU: check every request against the double reference */
  uint64_t ext_id;              /* CUPTI external correlation ids ext_id .. ext_id + repeat */
  skv_trace *trace;             /* NULL: no trace */
  const char *dump_dir;         /* NULL: no dump; else this configuration's folder */
} skv_gpu_job;

/* Device bytes the job needs (pools with L2 rotation, q, outputs, scratch, references). */
int64_t skv_gpu_job_bytes(const skv_batch *b, const skv_plan *p, int64_t l2_bytes);
/* Check (numerics, bitwise repeat, batch invariance, LSE layout as the suite
 * asks), then time; fill the measured columns of row. False with err on a
 * CUDA error (a failed check is recorded in the row, not an error). */
bool skv_gpu_run_job(const skv_gpu_session *s, const skv_gpu_job *job, skv_run_row *row, char *err, size_t errlen);

/* NVTX range around a configuration (domain "skv"), for Nsight Systems. */
void skv_nvtx_push(const char *name);
void skv_nvtx_pop(void);
/* CUPTI's clock, for trace ranges (0 without CUPTI). */
uint64_t skv_trace_clock_ns(void);

/* ---- shared with gpu_run.c ---- */

/* The output LSE layout and host path of a configuration, and what the
 * simulator predicts the caller receives (SKV_CHECK_NA for the logical layout). */
bool skv_run_lse_setup(const skv_config *c, const skv_batch *b, const skv_plan *p, skv_layout *layout,
                       skv_check *predicted, char *err, size_t errlen);
/* Apply the configuration's host path (sim/lse_layout.h) to an LSE buffer of
 * B*hq floats written through its layout; the caller's [hq, B] view in out. */
bool skv_run_lse_deliver(const skv_config *c, const skv_batch *b, const skv_plan *p, const float *buf, double *out,
                         char *err, size_t errlen);
/* Write a configuration's inputs and outputs as .npy and its plan as JSON. */
bool skv_run_dump(const char *dir, const skv_workload *w, const skv_plan *p, const void *kpool, const void *vpool,
                  const void *o, skv_dtype o_dtype, const float *lse, const skv_layout *lse_layout, char *err,
                  size_t errlen);

#endif /* SKV_RUN_H */
