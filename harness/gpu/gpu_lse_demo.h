/* gpu_lse_demo.h — `skv layout --demo --gpu`: vLLM PR #87's case end to end on the GPU (gpu_lse_demo.c; nogpu.c without CUDA). */
#ifndef SKV_GPU_LSE_DEMO_H
#define SKV_GPU_LSE_DEMO_H

#include <stdbool.h>
#include <stddef.h>

#include "lse_demo.h"

/* The CPU demo's cascade (sim/lse_demo.h: the same configuration, batch, data and FA2 plan of the
 * suffix call) run by the lab's kernels on the GPU: the prefix pass (one split, its LSE [hq, tokens]),
 * the suffix pass under FA2's plan with its LSE written through FA2's layout for the kernel that
 * writes it (split-1 or combine; GQA-swapped, unpadded: skv_lse_write_layout), that raw buffer read
 * back and handed over by each host path exactly as the model says the host reads it
 * (skv_lse_evaluate's host_reads), the caller's [hq, tokens] uploaded as the cascade merge's suffix
 * LSE, the merge kernel run, and its output compared with the double reference over every token. r
 * gets, per host path, the misplaced LSE count seen in the GPU's buffer and the cascaded output's
 * errors — to set beside skv_lse_demo_run's prediction. False with err (no GPU, bad config, a CUDA
 * error). */
bool skv_gpu_lse_demo_run(const skv_lse_demo_config *c, skv_lse_demo_result *r, char *err, size_t errlen);

#endif /* SKV_GPU_LSE_DEMO_H */
