/* cost_model.h — a first split-KV cost model: predicted decode + combine time of a plan on a GPU model. */
#ifndef SKV_COST_MODEL_H
#define SKV_COST_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "batch.h"
#include "plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the model knows about a GPU (experiments/gpus.yaml holds them per model). */
typedef struct skv_gpu_params {
  int32_t sms;
  double read_tbps;       /* the read-stream ceiling */
  double cta_gbps;        /* what one decode CTA streams on its own (its pipeline depth / latency) */
  double cta_gbps_8bit;   /* the same over an 8-bit (fp8 / int8) cache */
  double launch_us;       /* fixed cost of a kernel launch as a kernel time (first CTA start to end) */
  double cta_fixed_us;    /* per-CTA fixed cost: work item, page table and Q loads, final merge and stores */
  double combine_item_us; /* one combine item (a request's chunks for one KV head), per wave of items */
} skv_gpu_params;

/* The lab's H100 SXM calibration (from skv bench decode on an H100 80GB HBM3, see README). */
void skv_gpu_params_h100(skv_gpu_params *g);

/* Resident decode CTAs per SM of the kernel variant batch b runs (head dim, K and V storage, GQA
 * group) on sm_90a, as the kernel's shared memory and registers allow (kernels/decode_kernel.cuh,
 * Cfg). 16-bit: shared memory bound, 66 / 100 / 136 KB per CTA for d 64 / 128 / 256 -> 3 / 2 / 1.
 * 8-bit K and V with groups up to 8 (the column form, warp_cols.cuh): 35 / 53 / 75 KB and
 * 72 / 124 / 168 registers -> 6 / 4 / 3; larger groups (the row form): 36 / 68 / 74 KB and
 * 96 / 160 / 255 registers -> 5 / 3 / 2. int8 K with a 16-bit V (the row form, 4 / 4 / 2 stages
 * of 24.5 / 49 / 48.5 KB): 52 / 102 / 105 KB -> 4 / 2 / 2.
 * Checked two ways: tests/cuda_host/occupancy.cu derives each variant's residency from the
 * compiled kernels' registers and shared memory and the sm_90 limits (in make test), and
 * tests/gpu/test_gpu.c against cudaOccupancyMaxActiveBlocksPerMultiprocessor on a GPU. */
int32_t skv_decode_ctas_per_sm(const skv_batch *b);

/* Sharpness of the bandwidth knee (skv_cost_predict): chosen on the measurements of the H100
 * decode_grid run at c558d5c (results/decode_grid/20261122-120252-c558d5c; bf16, the 54
 * configurations of the policies other than lab): with k = 4 the median |predicted - measured|
 * is 0.9% and the largest 9.3%, against 0.7% and 10.9% for the earlier model (a hard minimum of
 * the two limits and a list schedule at the per-CTA rate); 64 CTAs at 41 GB/s each measure
 * 2.35 TB/s, k = 4 gives 2.35. Re-measured at e7c4ab7 (all 63): 0.55% median, 9.8% largest. */
#define SKV_COST_KNEE 4.0

typedef struct skv_prediction {
  double decode_us, combine_us, total_us;
  double bandwidth_us;  /* cta_fixed + bytes over the read ceiling: the bound alone */
  double makespan_us;   /* cta_fixed + the shared schedule (per-CTA rate, the knee, waves) alone */
  int64_t kv_bytes;     /* what the plan's work items read: K and V elements and per-token scales */
} skv_prediction;

/* Predict the kernels' time for plan p of batch b:
 *   decode  = launch + cta_fixed + max(kv_bytes / read_bw, schedule)
 *   schedule: CTAs go, in work-list order, to the first free of sms * ctas_per_sm slots (the
 *             hardware's block scheduler) and stream their bytes while the n resident CTAs
 *             share agg_bw(n) equally (processor sharing), where agg_bw(n), their aggregate
 *             rate, is a soft minimum of n * cta_bw and read_bw: ((n cta_bw)^-k + read_bw^-k)^(-1/k),
 *             k = SKV_COST_KNEE (below the knee each CTA streams at cta_bw, above it they share
 *             the read ceiling, near it they reach less than either); the per-CTA fixed cost is
 *             counted once, as CTAs desynchronize and one's fixed phase overlaps others' streaming;
 *   combine = launch + combine_item_us * ceil(items / slots) + partial bytes / read_bw,
 *             the same for the combine kernel and the fused merge: the CTA that merges last does
 *             so after every other chunk has arrived, a tail about as long as the second launch
 *             (H100, 4aac36e, results/bench_decode/20261122-1347-4aac36e: over the 81 split rows
 *             timed both ways, fused / kernel total has median 0.99, and the merge adds a median
 *             3.6-3.9 us to the decode kernel; the launch term is 3.0).
 * A plan with no split has no combine. */
void skv_cost_predict(const skv_plan *p, const skv_batch *b, const skv_gpu_params *g, skv_prediction *out);

#ifdef __cplusplus
}
#endif

#endif /* SKV_COST_MODEL_H */
