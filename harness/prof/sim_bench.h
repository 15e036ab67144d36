/* sim_bench.h — `skv bench sim`: how fast the planner and the cost model are, per policy and batch size (no GPU). */
#ifndef SKV_SIM_BENCH_H
#define SKV_SIM_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "gpu.h"
#include "policy.h"

typedef struct skv_sim_bench_opts {
  const int32_t *batches;   /* batch sizes */
  int nbatches;
  const skv_policy *policies;
  int npolicies;
  int64_t max_seqlen;       /* request lengths uniform in [1, max_seqlen] */
  int64_t seqlen;           /* > 0: every request this long instead */
  int32_t compositions;     /* distinct batches per size, cycled (each one planned in turn) */
  double seconds;           /* time per (policy, batch size), at least */
  const skv_gpu *gpu;
} skv_sim_bench_opts;

/* Time plan + predict (skv_plan_build then skv_cost_predict) for every policy and batch size and
 * print plans per second and microseconds per plan to out; 0, or 1 with a message on stderr. */
int skv_sim_bench_run(const skv_sim_bench_opts *o, FILE *out);

#endif /* SKV_SIM_BENCH_H */
