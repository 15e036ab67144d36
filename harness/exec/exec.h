/* exec.h — one plan, three executors (docs/architecture.md): the cost model, the CPU executor in double precision and the GPU, behind the one interface the runner calls. */
#ifndef SKV_EXEC_H
#define SKV_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cost_model.h"
#include "out/results.h"
#include "plan.h"
#include "prof/trace.h"
#include "suite/suite.h"
#include "workload.h"

/* Double-precision multiply-adds (sim/reference.h skv_ref_work) a reference check on the CPU may
 * spend on one configuration: over it a simulated run checks a sample of the batch, a measured run
 * the whole batch against the fp32 GPU reference. */
#define SKV_CPU_REF_BUDGET_SIM 2e8
#define SKV_CPU_REF_BUDGET_GPU 6e8

/* One configuration as every executor receives it. */
typedef struct skv_exec_job {
  const skv_suite *suite;       /* the checks the suite asks for, repeats */
  const skv_config *cfg;
  const skv_workload *w;        /* its data (pools virtual or materialized) */
  const skv_plan *plan;
  const skv_gpu *model;         /* the GPU model the plan was made for and the cost model predicts with */
  bool cpu_reference;           /* the double CPU reference over the whole batch is affordable */
  uint64_t ext_id;              /* GPU: CUPTI external correlation ids ext_id .. ext_id + repeat */
  skv_trace *trace;             /* GPU: NULL, or the Chrome trace the kernels go to */
  const char *dump_dir;         /* NULL: no dump; else this configuration's folder (it exists) */
} skv_exec_job;

/* An executor fills the columns of row it owns. False with err on an error: out of memory, a CUDA
 * error, a file that cannot be written; a check that fails is recorded in the row, not an error. */
typedef struct skv_executor {
  const char *name; /* "model", "cpu", "gpu" */
  bool (*run)(void *self, const skv_exec_job *job, skv_run_row *row, char *err, size_t errlen);
  void *self;
} skv_executor;

/* The cost model (exec/model_exec.c): the plan's columns (splits, CTAs, waves, scratch, bytes, the
 * combine it needs), the predicted times, and the simulator's predicted bits: request 0 alone
 * against inside the batch (sim/invariance.h), the LSE a host path delivers (check/lse_check.h). */
skv_executor skv_exec_model(void);

/* The CPU executor (exec/cpu_exec.c): the plan run through its work list, scratch rows and combine
 * list in double precision (sim/cpu_exec.h) against the unsplit reference, every request and KV
 * head within the budget, else a sample; the quantization error; --dump of its outputs. */
skv_executor skv_exec_cpu(void);

/* The GPU (gpu/gpu_run.c; nogpu/nogpu.c without CUDA): on poisoned outputs, checked against the
 * double CPU reference (cpu_reference) or the fp32 GPU reference, the checks the suite asks for,
 * then timed; self is the run's skv_gpu_session (gpu/gpu_session.h). */
skv_executor skv_exec_gpu(void *session);

#endif /* SKV_EXEC_H */
