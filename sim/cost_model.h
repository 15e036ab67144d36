/* cost_model.h — the split-KV cost model: predicted decode + combine time of a plan on a GPU (gpu.h). */
#ifndef SKV_COST_MODEL_H
#define SKV_COST_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "batch.h"
#include "gpu.h"
#include "plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sharpness of the bandwidth knee (skv_cost_predict): chosen on the measurements of the H100
 * decode_grid run at c558d5c (results/decode_grid/20261122-120252-c558d5c; bf16, the 54
 * configurations of the policies other than lab): with k = 4 the median |predicted - measured|
 * is 0.9% and the largest 9.3%, against 0.7% and 10.9% for the earlier model (a hard minimum of
 * the two limits and a list schedule at the per-CTA rate); 64 CTAs at 41 GB/s each measure
 * 2.35 TB/s, k = 4 gives 2.35. Re-measured at e7c4ab7 (all 63): 0.55% median, 9.8% largest. */
#define SKV_COST_KNEE 4.0

/* The resident CTAs' aggregate rate when n of them stream, each alone at cta, all together at most
 * read (any one unit of rate: bytes/us here): at most n * cta and at most read; near the knee,
 * where n * cta ~ read, less than either (each CTA's loads queue behind the others'): the soft
 * minimum ((n cta)^-k + read^-k)^(-1/k), k = SKV_COST_KNEE. Rises with n and with cta. */
double skv_cost_aggregate_rate(double n, double cta, double read);

typedef struct skv_prediction {
  double decode_us, combine_us, total_us;
  double bandwidth_us;  /* cta_fixed + bytes over the read ceiling: the bound alone */
  double makespan_us;   /* cta_fixed + the shared schedule (per-CTA rate, the knee, waves) alone */
  int64_t kv_bytes;     /* what the plan's work items read: K and V elements and per-token scales */
} skv_prediction;

/* Predict the kernels' time for plan p of batch b on GPU g:
 *   decode  = launch + cta_fixed + max(kv_bytes / read_bw, schedule)
 *   schedule: CTAs go, in work-list order, to the first free of sms * ctas_per_sm slots (the
 *             hardware's block scheduler; ctas_per_sm from g's table for b's kernel form) and
 *             stream their bytes while the n resident CTAs share agg_bw(n) equally (processor
 *             sharing), where agg_bw(n), their aggregate rate, is a soft minimum of n * cta_bw and
 *             read_bw: ((n cta_bw)^-k + read_bw^-k)^(-1/k), k = SKV_COST_KNEE (below the knee each
 *             CTA streams at cta_bw, above it they share the read ceiling, near it they reach less
 *             than either); the per-CTA fixed cost is counted once, as CTAs desynchronize and one's
 *             fixed phase overlaps others' streaming;
 *   combine = launch + combine_item_us * ceil(items / slots) + partial bytes / read_bw,
 *             the same for the combine kernel and the fused merge: the CTA that merges last does
 *             so after every other chunk has arrived, a tail about as long as the second launch
 *             (H100, 4aac36e, results/bench_decode/20261122-1347-4aac36e: over the 81 split rows
 *             timed both ways, fused / kernel total has median 0.99, and the merge adds a median
 *             3.6-3.9 us to the decode kernel; the launch term is 3.0).
 * A plan with no split has no combine. The schedule is computed on runs of equal CTAs (all CTAs
 * that start together and read the same bytes finish together), so its cost grows with the runs
 * and waves of the plan, not its CTAs; tests/check_cost.c holds it to a CTA-by-CTA simulation.
 * False when out of memory. */
bool skv_cost_predict(const skv_plan *p, const skv_batch *b, const skv_gpu *g, skv_prediction *out);

/* Reusable state for predicting many candidate plans of one batch on one GPU (the lab policy's
 * search): the per-CTA rate for every resident count and the buffers of the schedule. */
typedef struct skv_cost_ctx {
  const skv_batch *b;
  const skv_gpu *g;
  int64_t slots, token_bytes;
  double read_bpus, cta_bpus; /* bytes per microsecond */
  double *inv_rate;           /* [slots + 1]: microseconds per byte of each resident CTA when n stream */
  struct skv_cost_run *runs;  /* the work as runs of equal CTAs */
  int64_t nruns, cap_runs;
  struct skv_cost_event *heap;
  int64_t cap_heap;
} skv_cost_ctx;

/* Set up ctx for batch b on GPU g; false when out of memory. skv_cost_ctx_free releases it. */
bool skv_cost_ctx_init(skv_cost_ctx *ctx, const skv_batch *b, const skv_gpu *g);
void skv_cost_ctx_free(skv_cost_ctx *ctx);

/* The prediction of the plan that the chunk lengths chunk_tokens[r] give batch ctx->b (request r
 * in ceil(kvlen / chunk) chunks, the last one clipped, an empty request one empty chunk; the work
 * request-major, then chunk, then KV head, as skv_plan_build orders it), without building the
 * plan: equal to skv_cost_predict of that plan. A total not below bound is given as INFINITY, and
 * the schedule stops as soon as the total cannot end below it (a search's losing candidate).
 * False when out of memory. */
bool skv_cost_predict_chunks(skv_cost_ctx *ctx, const int64_t *chunk_tokens, double bound, skv_prediction *out);
/* A lower bound of skv_cost_predict_chunks's total, without the schedule (O(requests)): the bytes
 * at the aggregate rate of every CTA that can be resident at once, the fixed costs and the
 * combine. What lab prunes its candidates with. */
double skv_cost_lower_bound_chunks(skv_cost_ctx *ctx, const int64_t *chunk_tokens);

#ifdef __cplusplus
}
#endif

#endif /* SKV_COST_MODEL_H */
