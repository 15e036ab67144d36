/* policy.h — split-KV policies: their names, options, and the per-request chunk size each one chooses. */
#ifndef SKV_POLICY_H
#define SKV_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "gpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Each policy models one implementation's rule (its file cites the source). */
typedef enum skv_policy {
  SKV_POLICY_NONE = 0,    /* one chunk per request (plan_none.c) */
  SKV_POLICY_FIXED,       /* fixed chunk length in tokens (plan_fixed.c) */
  SKV_POLICY_FA2,         /* FlashAttention-2 num_splits_heuristic (plan_fa2.c) */
  SKV_POLICY_FA3,         /* FlashAttention-3 get_num_splits (plan_fa3.c) */
  SKV_POLICY_FLASHINFER,  /* FlashInfer balanced partition (plan_flashinfer.c) */
  SKV_POLICY_VLLM,        /* vLLM FlashAttention backend (plan_vllm.c) */
  SKV_POLICY_LAB,         /* the lab's: the chunk length the cost model predicts fastest (plan_lab.c) */
  SKV_POLICY_LAB_INVARIANT, /* the lab's batch-invariant one: a chunk from the request's own length
                               (plan_lab_invariant.c) */
  SKV_POLICY_COUNT
} skv_policy;

/* Options; each field names the policies that read it. Unset fields keep the
 * defaults of skv_policy_opts_default(). */
typedef struct skv_policy_opts {
  int64_t split_size;        /* fixed: chunk length in tokens (default 2048, SGLang's smaller tile) */
  int32_t num_splits;        /* fa2, fa3: the caller's num_splits argument; 0 = heuristic (default) */
  int32_t max_splits;        /* vllm with cuda_graph: max_num_splits; lab-invariant: the most chunks
                                of any request, its graph bound (default 32) */
  int32_t fixed_split_pages; /* flashinfer: fixed_split_size in pages; 0 = off (default) */
  bool disable_split_kv;     /* flashinfer: one chunk per request */
  bool cuda_graph;           /* flashinfer: pad the grid for graph capture; vllm: full CUDA graph */
  bool batch_invariant;      /* vllm: batch-invariant mode (forces one split) */
  int32_t blocks_per_sm;     /* flashinfer: resident CTAs per SM of its decode kernel (default 2);
                                all policies: CTAs per SM used to count waves */
  int32_t tile_rows;         /* all policies: packed query rows per CTA, 16, 32 or 64, in place of the
                                policy's choice (0, default: the policy's) */
  int32_t taper;             /* lab, decode: how the requests that start last are cut (plan_lab.c): 0 =
                                only a part-filled last wave's requests, in shorter chunks; d >= 1 = each
                                request of a plan over one wave in chunks of the work left over d x the
                                GPU's slots, never under 512 tokens (default SKV_LAB_TAPER_DEFAULT) */
} skv_policy_opts;

/* What a policy decides: a chunk length per request. A request of KV length L
 * gets ceil(L / chunk_tokens[r]) chunks, the last one clipped to L; empty KV
 * gets one empty chunk. */
typedef struct skv_split_choice {
  int64_t *chunk_tokens;     /* [num_requests], >= 1 */
  int32_t batch_num_splits;  /* one split count for the whole batch (fa2, fa3, vllm), else 0 */
  int64_t grid_ctas;         /* CTAs the modelled implementation launches, empty or padding ones
                                included; 0 = exactly the plan's work list */
  int32_t tile_rows;         /* packed query rows per CTA (16, 32 or 64; 0: skv_plan_default_tile_rows) */
  char why[200];             /* one line: the numbers behind the choice */
} skv_split_choice;

/* Packed-row tiles the kernels run (kernels/decode_kernel.cuh: 4 warps as 1, 2 or 4 groups of 16 rows). */
#define SKV_TILE_ROWS_MIN 16
#define SKV_TILE_ROWS_MAX 64

/* lab's taper option (plan_lab.c): its default and largest divisor. */
#define SKV_LAB_TAPER_DEFAULT 0
#define SKV_LAB_TAPER_MAX 8

void skv_policy_opts_default(skv_policy_opts *o);
const char *skv_policy_name(skv_policy p);
bool skv_policy_parse(const char *name, skv_policy *out);
/* "none, fixed, fa2, fa3, flashinfer, vllm, lab, lab-invariant" for messages. */
const char *skv_policy_names(void);

/* The policies. Each fills choice->chunk_tokens (allocated by the caller with
 * num_requests entries) and the other fields; false with a message in err
 * when the options do not fit the batch. The policies that model another
 * library read only gpu->sms, as that library does; lab reads the whole
 * description (its cost model). */
typedef bool (*skv_policy_fn)(const skv_batch *b, const skv_policy_opts *o, const skv_gpu *gpu,
                              skv_split_choice *choice, char *err, size_t errlen);
bool skv_policy_none(const skv_batch *, const skv_policy_opts *, const skv_gpu *, skv_split_choice *, char *, size_t);
bool skv_policy_fixed(const skv_batch *, const skv_policy_opts *, const skv_gpu *, skv_split_choice *, char *, size_t);
bool skv_policy_fa2(const skv_batch *, const skv_policy_opts *, const skv_gpu *, skv_split_choice *, char *, size_t);
bool skv_policy_fa3(const skv_batch *, const skv_policy_opts *, const skv_gpu *, skv_split_choice *, char *, size_t);
bool skv_policy_flashinfer(const skv_batch *, const skv_policy_opts *, const skv_gpu *, skv_split_choice *, char *, size_t);
bool skv_policy_vllm(const skv_batch *, const skv_policy_opts *, const skv_gpu *, skv_split_choice *, char *, size_t);
bool skv_policy_lab(const skv_batch *, const skv_policy_opts *, const skv_gpu *, skv_split_choice *, char *, size_t);
bool skv_policy_lab_invariant(const skv_batch *, const skv_policy_opts *, const skv_gpu *, skv_split_choice *, char *,
                              size_t);
/* lab-invariant's decision bucket of a KV length L (plan_lab_invariant.c): the least
 * 2^k * {1, 1.25, 1.5, 1.75} >= L, at least 64. */
int64_t skv_lab_invariant_bucket(int64_t L);
skv_policy_fn skv_policy_function(skv_policy p);

/* FA2's num_splits_heuristic as a pure function (plan_fa2.c), exposed for tests
 * and for the cost model: batch_nheads_mblocks CTAs without splitting, num_sms
 * as FA2 passes it (already doubled), num_n_blocks KV blocks, max_splits cap. */
int32_t skv_fa2_num_splits_heuristic(int64_t batch_nheads_mblocks, int32_t num_sms, int64_t num_n_blocks,
                                     int32_t max_splits);
/* FA2's split-kernel block_n for a head dim: 256 / 128 / 64 for d <= 64 / <= 128 / else. */
int32_t skv_fa2_block_n(int32_t head_dim);

#ifdef __cplusplus
}
#endif

#endif /* SKV_POLICY_H */
