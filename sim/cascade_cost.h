/* cascade_cost.h — what cascade attention and flash decoding over shared pages cost (the cost model of cost_model.h applied to both), and the decisions between them (issue 16). */
#ifndef SKV_CASCADE_COST_H
#define SKV_CASCADE_COST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "cascade.h"
#include "cost_model.h"
#include "gpu.h"
#include "plan.h"
#include "share.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of the plan's reads that reread pages another request of the batch read: a group of m
 * members sharing n tokens is read by all m, its pages loaded from HBM once, so (m - 1) x n x
 * the KV heads' token bytes (K, V and per-token scales). The suffix of a member never is shared. */
int64_t skv_share_reread_bytes(const skv_share *s, const skv_batch *b);

/* Flash decoding of batch b over its shared pages: skv_cost_predict_shared with s's rereads. */
bool skv_fd_predict_shared(const skv_plan *p, const skv_batch *b, const skv_share *s, const skv_gpu *g,
                           skv_prediction *out);

/* A cascade plan's predicted kernel time and its bounds. */
typedef struct skv_cascade_prediction {
  skv_prediction prefix, suffix; /* each pass's decode and combine (the prefix batch's tiles of one
                                    chunk reread it from L2: cost_model.h); the prefix's total
                                    with g's prefix_us */
  double merge_us;               /* the merge kernel: a launch, g's merge_us and merge_pair_us per
                                    (token, q head), its bytes at the read ceiling */
  double total_us;               /* prefix + suffix + merge */
  int64_t dram_bytes;            /* the bytes that must come from HBM: each KV byte once, the passes'
                                    outputs read and the batch's output written by the merge */
  double flops;                  /* both passes' QK^T and PV over their real rows */
  double bytes_bound_us;         /* dram_bytes at the GPU's read ceiling */
  double flops_bound_us;         /* flops at the GPU's data-sheet tensor peak (0: no peak_tflops) */
} skv_cascade_prediction;

/* Predict cascade plan c of batch b on g: each pass as any plan of its batch, the merge as a
 * kernel launch, its fixed and per-pair terms (gpu.h) and the bytes it moves (every token's prefix
 * and suffix O and LSE read, the batch's O and LSE written) at the read ceiling. False when out of
 * memory. */
bool skv_cascade_predict(const skv_cascade_plan *c, const skv_batch *b, const skv_gpu *g,
                         skv_cascade_prediction *out);

/* What a batch with sharing s can run (per level of a two-level sharing: FlashInfer's multi-level
 * cascade lets each level be cascaded or not):
 *   FD      flash decoding over the shared pages (no cascade);
 *   ALL     every level cascaded (s as given);
 *   OUTER   the outermost level cascaded, the deeper ones read by each member as its own tokens;
 *   MERGED  one level: each deepest group's whole prefix (its outer levels' tokens too) as one
 *           group, cascaded per deepest group (the outer level read once per deepest group).
 * A one-level sharing has FD and ALL only. */
typedef enum skv_cascade_choice {
  SKV_CASCADE_FD = 0,
  SKV_CASCADE_ALL,
  SKV_CASCADE_OUTER,
  SKV_CASCADE_MERGED,
  SKV_CASCADE_CHOICES
} skv_cascade_choice;

/* "fd", "cascade", "outer", "merged"; and whether s offers choice ch. */
const char *skv_cascade_choice_name(skv_cascade_choice ch);
bool skv_cascade_choice_offered(const skv_share *s, skv_cascade_choice ch);

/* The sharing that choice ch cascades (ALL: a copy of s; OUTER: level 0 alone; MERGED: the deepest
 * groups, each from token 0). Not for FD. False with err on a choice s does not offer or out of
 * memory. */
bool skv_cascade_choice_share(const skv_share *s, skv_cascade_choice ch, skv_share *out, char *err, size_t errlen);

/* The lab's decision: every choice s offers planned (both passes under the given policies, as the
 * run executes them) and predicted, the least predicted total taken. fd_plan is flash decoding's
 * plan of b. predicted[ch] holds each choice's prediction (NAN where not offered), *all (when not
 * NULL) the whole prediction of ALL. False with err. */
bool skv_cascade_lab_decides(const skv_batch *b, const skv_share *s, const skv_plan *fd_plan, skv_policy pp,
                             const skv_policy_opts *po, skv_policy sp, const skv_policy_opts *so, const skv_gpu *g,
                             skv_cascade_choice *choice, double predicted[SKV_CASCADE_CHOICES],
                             skv_cascade_prediction *all, char *err, size_t errlen);

/* vLLM's decision as a choice: use_cascade_attention (cascade.h) over the prefix every request
 * shares (level 0 when it groups every request; else none, and FD); yes cascades that level alone
 * (ALL for one level, OUTER for two): vLLM's cascade has one shared prefix. */
skv_cascade_choice skv_cascade_vllm_choice(const skv_share *s, const skv_batch *b, int32_t num_sms);

/* The regret of a choice against the best of those measured: (t[choice] - min t) / min t, over the
 * entries of t that are finite (NAN: not measured); NAN when t[choice] is not. */
double skv_cascade_regret(const double t[SKV_CASCADE_CHOICES], skv_cascade_choice choice);
/* The measured best (the oracle's choice): the least finite entry; FD when none is. */
skv_cascade_choice skv_cascade_oracle(const double t[SKV_CASCADE_CHOICES]);

#ifdef __cplusplus
}
#endif

#endif /* SKV_CASCADE_COST_H */
