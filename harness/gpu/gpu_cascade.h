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

#endif /* SKV_GPU_CASCADE_H */
