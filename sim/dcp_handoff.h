/* dcp_handoff.h — the LSE hand-off of decode context parallelism: for each LSE the attention call can return and
 * each host path into the cross-rank merge, does the merge read what it should (`skv layout --dcp`). */
#ifndef SKV_DCP_HANDOFF_H
#define SKV_DCP_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The model. Each rank's attention call returns its shard's O [tokens, heads, d] and LSE; the merge (vLLM's
 * cp_lse_ag_out_rs, seed 002 and vllm/v1/attention/ops/common.py) wants the LSE [tokens, heads] in natural log
 * (is_lse_base_on_e) and all-gathers it. What reaches it depends on:
 *   the returned layout: [heads, tokens] (FlashAttention-2's varlen call, the seed's "FA returns LSE in shape
 *     [H, B]") or [tokens, heads] (FlashAttention-3 and FlashInfer);
 *   whether the host transposes it first (the seed does: `context_lse.transpose(0, 1)`);
 *   its base: natural log (FlashAttention) or base 2 (FlashInfer's kernels), against the base the merge assumes;
 *   whether the merge zeroes the scale of a shard whose LSE is -inf when every shard is (nan_to_num, or
 *     mask_dcp_empty_shards_): exp(-inf - -inf) is NaN otherwise.
 * A layout the merge does not expect is read as its own shape: with tokens != heads that is a shape error (as
 * vLLM #57012's crash on an LSE returned as (q_len, H)); with tokens == heads the values are silently read at
 * the transposed (token, head). */
typedef enum skv_dcp_lse_layout { SKV_DCP_LSE_HEADS_TOKENS = 0, SKV_DCP_LSE_TOKENS_HEADS } skv_dcp_lse_layout;
const char *skv_dcp_lse_layout_name(skv_dcp_lse_layout l); /* "[H,T]", "[T,H]" */

typedef struct skv_dcp_case {
  skv_dcp_lse_layout returned;
  bool host_transposes;
  bool returned_base2;
  bool merge_base2;  /* the merge reads base-2 LSEs (is_lse_base_on_e false) */
  bool guard_empty;  /* the merge's scale of an all-empty (token, head) is 0, not NaN */
} skv_dcp_case;

typedef struct skv_dcp_case_result {
  bool shape_error;   /* tokens != heads and the layout is not [T,H]: the merge refuses or reads out of bounds */
  bool layout_right;  /* the merge reads every (token, head) at its own element */
  bool base_right;
  int64_t nan_outputs; /* merged O elements that are NaN (all-empty rows without the guard) */
  double o_rel;        /* ||O - reference|| / ||reference|| over the finite outputs (NaN: none compared) */
  bool correct;        /* no shape error, no NaN, and O within 1e-12 of the reference */
} skv_dcp_case_result;

/* Every case of the table, in a fixed order: returned layout x transposes x returned base x merge base x guard. */
#define SKV_DCP_CASES (2 * 2 * 2 * 2 * 2)
void skv_dcp_case_of(int32_t i, skv_dcp_case *c);

/* Evaluate case c on the ranks' states of a decode batch: rank_o [W][T][H][d], rank_lse [W][H][T] (natural log,
 * skv_dcp_cpu_execute_ranks), ref_o [T][H][d] the unsplit reference. The LSE each rank hands over is made as the
 * case says (its base, its layout, the host's transpose), read by the merge as [T, H] in the base it assumes,
 * and the merge (AG_RS) run in double. */
void skv_dcp_case_eval(const skv_dcp_case *c, int32_t W, int64_t T, int32_t H, int32_t d, const double *rank_o,
                       const double *rank_lse, const double *ref_o, skv_dcp_case_result *out);

#ifdef __cplusplus
}
#endif

#endif /* SKV_DCP_HANDOFF_H */
