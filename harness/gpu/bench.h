/* bench.h — `skv bench decode`: options and the GPU runner (gpu_bench.c; nogpu.c without CUDA). */
#ifndef SKV_BENCH_H
#define SKV_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dtype.h"
#include "policy.h"
#include "suite/gpus.h"

typedef struct skv_bench_point {
  int32_t batch;
  int64_t seqlen;
} skv_bench_point;

/* Which merge paths a split plan is timed with. */
typedef enum skv_bench_combine { SKV_BENCH_COMBINE_BOTH = 0, SKV_BENCH_COMBINE_KERNEL, SKV_BENCH_COMBINE_FUSED } skv_bench_combine;

typedef struct skv_bench_opts {
  const skv_bench_point *points;
  int npoints;
  const skv_policy *policies;
  int npolicies;
  int32_t hq, hkv, head_dim, page_size;
  skv_dtype dtype;        /* q's type (bf16, fp16, fp8_e4m3) */
  skv_dtype kv_dtype;     /* the cache's (bf16, fp16, fp8_e4m3, int8); V follows K except int8 with --v-dtype */
  skv_dtype v_dtype;      /* SKV_DTYPE_COUNT: as K */
  bool per_token_head;    /* fp8: per-token-head scales (int8 K always) */
  int repeat, warmup;
  int64_t ceiling_bytes;  /* buffer of the copy / read-stream ceilings (2 GiB) */
  const char *csv_path;   /* optional CSV, written to a temporary name and renamed */
  const char *version;    /* skv version (git commit) for the header */
  bool use_cupti;         /* CUPTI kernel durations (else CUDA events: --no-cupti) */
  skv_bench_combine combine_modes;
  const char *timeline_dir;  /* optional: one more run per row with CTA timelines, CSV + summary (cta_timeline.h) */
  const skv_gpus *gpus;      /* the models file: the device's model plans lab (unknown: calibrated on the spot) */
  bool pdl;                  /* also time each split plan with the combine kernel launched as decode's
                                programmatic dependent (compute capability 9.0+) */
  bool graph;                /* also capture each row (combine kernel) in a CUDA graph at its policy's bound
                                (sim/graph_bound.h, KV up to max(131072, L)) and time a step replayed and eager */
  int32_t taper;             /* lab's taper option for its rows (policy.h; plan_lab.c) */
  bool persistent;           /* every decode launch on the persistent grid (skv_kernels.h) */
} skv_bench_opts;

/* Run the benchmark; the table goes to out. 0 on success, 1 on a GPU or
 * numerics failure (message on stderr). */
int skv_bench_decode_run(const skv_bench_opts *o, FILE *out);

#endif /* SKV_BENCH_H */
