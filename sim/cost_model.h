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

/* Threads of the CTA that merges a combine item: the combine kernel's block (kernels/combine.cu,
 * kThreads); the fused merge runs on the decode CTA's threads and is priced alike. */
#define SKV_MERGE_THREADS 128

/* The resident CTAs' aggregate rate when n of them stream, each alone at cta, all together at most
 * read (any one unit of rate: bytes/us here; the model passes the stream ceiling as read): at most n * cta and at most read; near the knee,
 * where n * cta ~ read, less than either (each CTA's loads queue behind the others'): the soft
 * minimum ((n cta)^-k + read^-k)^(-1/k), k = SKV_COST_KNEE. Rises with n and with cta. */
double skv_cost_aggregate_rate(double n, double cta, double read);

typedef struct skv_prediction {
  double decode_us, combine_us, total_us;
  double bandwidth_us;  /* fixed + bytes over the stream ceiling: the bound alone */
  double makespan_us;   /* fixed + the shared schedule (per-CTA rate, the knee, waves) alone */
  int64_t kv_bytes;     /* what the plan's work items read: K and V elements and per-token scales */
  int64_t dram_bytes;   /* of those, the first reads of each byte: from HBM; the rest (another CTA read
                           it shortly before: query tiles of one chunk, pages shared by requests) from L2 */
  double flops;         /* QK^T and PV of the work items' real rows: 4 x rows x keys x head_dim */
  double compute_us;    /* fixed + the tensor time (flops at the GPU's mma_tflops, the largest CTA at
                           cta_tflops): the tensor-core bound alone (0: none) */
} skv_prediction;

/* Predict the kernels' time for plan p of batch b on GPU g, with s = g's terms for b's kernel
 * variant (gpu.h, skv_gpu_rates_of: its cache's stream at its head dim and group class) and
 * slots = sms * ctas_per_sm (g's table for b's kernel form):
 *   decode  = launch + fixed + max(reads, schedule, flops / g.mma_tflops)
 *   reads   = dram_bytes / s.stream + (kv_bytes - dram_bytes) / g.l2_tbps: a byte another CTA of
 *             the launch read before comes from L2 (g.l2_tbps 0: every byte at s.stream). Here
 *             dram_bytes counts each request's keys once per KV head, however many of its query
 *             tiles read them; skv_cost_predict_shared also counts pages shared by requests once.
 *             (Issue 16: flash decoding over one 32k prefix shared by 256 requests took 0.59 of
 *             the time over distinct pages on the H200, results/cascade_check/20261129-065547-
 *             d5f3c17; a prefix pass of 64-row tiles reads each chunk once per tile);
 *   flops   = 4 x rows x keys x head_dim summed over the work items (QK^T and PV, real rows): a
 *             64-row tile over a long chunk is bound by the tensor cores, not by bytes (g.mma_tflops
 *             0: not modelled); the tensor time is the larger of flops / mma_tflops and the largest
 *             CTA's flops at one CTA's rate g.cta_tflops (a CTA's MMAs are issued by its own warps:
 *             alone on the GPU it is no faster; H200, results/cascade_check/20261129-080947-09509e3:
 *             a prefix pass of 32 tiles of 64 rows over 512 keys took 34 us where the whole GPU's
 *             rate gives 1);
 *   fixed   = s.fixed + s.fixed_sm * min(CTAs, slots) / sms: the CTAs' prologue and epilogue,
 *             counted once (CTAs desynchronize, so one's fixed phase overlaps others' streaming)
 *             but longer the more CTAs start together on an SM; plus g.cta_us * (CTAs - slots) /
 *             slots when there are more CTAs than slots: a CTA of a later wave holds its slot for
 *             its prologue and epilogue beyond its bytes (H200, results/determinism/
 *             20261129-053833-332f2bb: 128 x 2048 in 8192 CTAs of 256 tokens took 20% longer than
 *             in 1024 unsplit CTAs, the same bytes);
 *   schedule: CTAs go, in work-list order, to the first free slot (the hardware's block
 *             scheduler) and stream their bytes while the n resident CTAs share agg(n) equally
 *             (processor sharing), agg(n) a soft minimum of n * s.cta and s.stream:
 *             ((n cta)^-k + stream^-k)^(-1/k), k = SKV_COST_KNEE (below the knee each CTA streams
 *             at cta, above it they share the stream ceiling, near it they reach less than either);
 *   combine = launch + waves * (combine_item + combine_chunk * the largest item's chunks)
 *             + partial bytes / read, waves = ceil(CTAs / slots): an item's rows (decode: the
 *             group's q heads; a query tile: its packed rows) merge on ceil(rows / (4 *
 *             SKV_MERGE_THREADS / head_dim)) CTAs, each of whose threads takes 4 output columns of
 *             one row and loads every chunk's partials, in flight together in groups
 *             (kernels/merge.cuh, combine.cu); the
 *             same for the combine kernel and the fused merge (the CTA that merges last does so
 *             after every other chunk has arrived, a tail about as long as the second launch: H100,
 *             4aac36e, results/bench_decode/20261122-1347-4aac36e).
 * The terms and how `skv calibrate` measures them: README, "The cost model". A plan with no split
 * has no combine. The schedule is computed on runs of equal CTAs (all CTAs that start together
 * and read the same bytes finish together), so its cost grows with the runs and waves of the
 * plan, not its CTAs; tests/check_cost.c holds it to a CTA-by-CTA simulation. False when out of
 * memory. */
bool skv_cost_predict(const skv_plan *p, const skv_batch *b, const skv_gpu *g, skv_prediction *out);

/* skv_cost_predict of a batch whose requests share pages: shared_bytes of the plan's reads are
 * rereads of pages another request read (a group of m members sharing n tokens: (m - 1) x n x
 * the KV heads' token bytes; sim/cascade_cost.h counts them from a share.h description), so from
 * L2 at g.l2_tbps. False when out of memory. */
bool skv_cost_predict_shared(const skv_plan *p, const skv_batch *b, const skv_gpu *g, int64_t shared_bytes,
                             skv_prediction *out);

/* Reusable state for predicting many candidate plans of one batch on one GPU (the lab policy's
 * search): the per-CTA rate for every resident count and the buffers of the schedule. */
typedef struct skv_cost_ctx {
  const skv_batch *b;
  const skv_gpu *g;
  int64_t slots, token_bytes;
  int32_t tile_tokens; /* query tokens per tile of the plans predicted (plan.h; init: 16-row tiles) */
  int32_t tile_rows;   /* rows of the largest tile: what one merge round covers (init: 16-row tiles) */
  skv_gpu_rates rates; /* g's terms for b's kernel variant */
  double read_bpus, stream_bpus, cta_bpus; /* bytes per microsecond */
  double *inv_rate;           /* [slots + 1]: microseconds per byte of each resident CTA when n stream */
  double *inv_blend;          /* [slots + 1]: the same with the stream ceiling blend_bpus (L2 rereads) */
  double blend_bpus;          /* the ceiling inv_blend was made for (0: none yet) */
  struct skv_cost_run *runs;  /* the work as runs of equal CTAs */
  int64_t nruns, cap_runs;
  struct skv_cost_event *heap;
  int64_t cap_heap;
} skv_cost_ctx;

/* Set up ctx for batch b on GPU g; false when out of memory. skv_cost_ctx_free releases it. */
bool skv_cost_ctx_init(skv_cost_ctx *ctx, const skv_batch *b, const skv_gpu *g);
void skv_cost_ctx_free(skv_cost_ctx *ctx);

/* Tiles of tile_rows packed rows for the plans ctx predicts (skv_plan_build's rule; init: 16). */
void skv_cost_ctx_set_tile(skv_cost_ctx *ctx, int32_t tile_rows);

/* The prediction of the plan that the chunk lengths chunk_tokens[r] give batch ctx->b (request r
 * in ceil(kvlen / chunk) chunks, the last one clipped, an empty request one empty chunk; each query
 * tile of ctx->tile_tokens running the chunks its last query sees and reading their keys up to
 * that query's bound; the work request-major, then tile, then chunk, then KV head, as
 * skv_plan_build orders it), without building the plan: equal to skv_cost_predict of that plan. A total not below bound is given as INFINITY, and
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
