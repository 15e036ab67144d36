/* gpu_cascade.h — a cascade plan (sim/cascade.h) on the GPU: the prefix batch and the suffix batch through the ordinary kernels on the batch's pools, then the cascade merge. */
#ifndef SKV_GPU_CASCADE_H
#define SKV_GPU_CASCADE_H

#include <stdbool.h>
#include <stddef.h>

#include "cascade.h"
#include "gpu/gpu_exec.h"

/* Run cascade plan c of workload w, which g holds on the device (pools, queries, outputs with the
 * logical LSE layout): each batch's workload gathered from w and borrowing g's pools, planned work
 * and combine as any plan, then skv_cascade_merge_launch into g's O and LSE. base2: the merge reads
 * and writes log2 LSEs (FlashInfer's merge_state): the passes' LSEs are converted to log2 for it and
 * its output back to natural log, so g's LSE is natural log either way. Synchronizes. */
bool skv_gpu_cascade_run(const skv_gpu_batch *g, const skv_workload *w, const skv_cascade_plan *c, bool base2,
                         char *err, size_t errlen);

/* A cascade step's kernel time (both passes' decode and combine kernels and the merge), median of
 * `repeat` steps after `warmup`: CUPTI kernel durations summed per step (use_cupti; ext_base ..
 * ext_base + 3 repeat tag the steps' parts), else CUDA events around each step. parts (when not
 * NULL): the median prefix pass, suffix pass and merge apart (CUPTI only; NAN with events). With rot (g's pools
 * replicated: skv_gpu_rotation_make), step j reads replica j's pages, as the flash-decoding timing
 * does, so neither finds the KV in L2 but for what the step itself reuses (the shared prefix). */
bool skv_gpu_cascade_time(const skv_gpu_batch *g, const skv_workload *w, const skv_cascade_plan *c,
                          const skv_gpu_rotation *rot, int warmup, int repeat, bool use_cupti, uint64_t ext_base,
                          double *us, double parts[3], char *err, size_t errlen);

#endif /* SKV_GPU_CASCADE_H */
