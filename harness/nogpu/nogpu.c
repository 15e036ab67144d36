/* nogpu.c — the GPU side of skv in a build without CUDA: it says so; `skv run` then simulates. */
#include <stdio.h>

#include "gpu/bench.h"
#include "gpu/calibrate.h"
#include "gpu/gpu_info.h"
#include "gpu/gpu_lse_demo.h"
#include "exec/exec.h"
#include "gpu/gpu_session.h"

#define NO_CUDA "this skv was built without CUDA (no nvcc at build time)"

int skv_bench_decode_run(const skv_bench_opts *o, FILE *out) {
  (void)o, (void)out;
  fprintf(stderr, "skv bench: %s; rebuild on a host with the CUDA toolkit to run the benchmark\n", NO_CUDA);
  return 1;
}

bool skv_calibrate(const skv_calibrate_opts *o, skv_calibration *out, FILE *log, char *err, size_t errlen) {
  (void)o, (void)out, (void)log;
  snprintf(err, errlen, "%s", NO_CUDA);
  return false;
}

bool skv_gpu_present(void) { return false; }

bool skv_gpu_lse_demo_run(const skv_lse_demo_config *c, skv_lse_demo_result *r, char *err, size_t errlen) {
  (void)c, (void)r;
  snprintf(err, errlen, "--gpu: %s", NO_CUDA);
  return false;
}

bool skv_gpu_session_begin(bool use_cupti, skv_gpu_session *s, char *err, size_t errlen) {
  (void)use_cupti, (void)s;
  snprintf(err, errlen, "%s", NO_CUDA);
  return false;
}

void skv_gpu_session_end(skv_gpu_session *s) { (void)s; }

bool skv_gpu_session_remeasure(const skv_gpu_session *s, double *read_tbps, double *copy_tbps, char *err, size_t errlen) {
  (void)s, (void)read_tbps, (void)copy_tbps;
  snprintf(err, errlen, "%s", NO_CUDA);
  return false;
}

int64_t skv_gpu_job_bytes(const skv_batch *b, const skv_plan *p, int64_t l2_bytes) {
  (void)b, (void)p, (void)l2_bytes;
  return 0;
}

static bool run_job(void *self, const skv_exec_job *job, skv_run_row *row, char *err, size_t errlen) {
  (void)self, (void)job, (void)row;
  snprintf(err, errlen, "%s", NO_CUDA);
  return false;
}

skv_executor skv_exec_gpu(void *session) {
  skv_executor e = {.name = "gpu", .run = run_job, .self = session};
  return e;
}

void skv_nvtx_push(const char *name) { (void)name; }
void skv_nvtx_pop(void) {}
uint64_t skv_trace_clock_ns(void) { return 0; }
