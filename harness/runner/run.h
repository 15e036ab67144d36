/* run.h — `skv run`: a suite end to end (validate, plan, run the executors, record rows, plot). */
#ifndef SKV_RUN_H
#define SKV_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* skv's exit codes (every command's). */
#define SKV_EXIT_OK 0
#define SKV_EXIT_FAIL 1  /* a run failed (GPU error, a check failed, I/O) */
#define SKV_EXIT_USAGE 2 /* bad input: flags, YAML, impossible configuration */

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
  int32_t shard_index, shard_count; /* --shard I/N: run the configurations whose index is I mod N (N 0: all) */
} skv_run_opts;

/* 0: done; 1: a run failed (GPU error, a check failed, I/O); 2: bad input,
 * reported before any GPU work. */
int skv_run_suite(const skv_run_opts *o);

#endif /* SKV_RUN_H */
