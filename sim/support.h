/* support.h — what a configuration may be: the shape, dtype and GPU-kernel rules, written once for the CLI, the suites and the kernels' host check. */
#ifndef SKV_SUPPORT_H
#define SKV_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtype.h"
#include "policy.h"
#include "quant.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The longest KV a request may have (sim/batch.c refuses longer ones). */
#define SKV_MAX_KVLEN ((int64_t)1 << 40)
/* Limits of the GPU decode kernels (kernels/decode_kernel.cuh). */
#define SKV_GPU_MAX_GROUP 16 /* q heads per KV head: the 16 rows of one mma.sync tile */
/* Page ids are int32 (workload.h's page table, the kernels' d_page_table): a batch's pool holds at
 * most this many pages. */
#define SKV_MAX_POOL_PAGES INT32_MAX

/* The fields of a configuration the rules name; each front end maps them to its own spelling
 * (a YAML key, a --flag). */
typedef enum skv_field {
  SKV_FIELD_HQ,
  SKV_FIELD_HKV,
  SKV_FIELD_HEAD_DIM,
  SKV_FIELD_PAGE_SIZE,
  SKV_FIELD_QLEN,
  SKV_FIELD_SEQLEN,
  SKV_FIELD_Q_DTYPE,
  SKV_FIELD_KV_DTYPE,
  SKV_FIELD_V_DTYPE,
  SKV_FIELD_KV_SCALE_MODE,
  SKV_FIELD_O_DTYPE, /* set by the harness, never by a user: the kernels' host check only */
  SKV_FIELD_COUNT
} skv_field;

/* One configuration as the rules see it. */
typedef struct skv_shape {
  int32_t hq, hkv, head_dim, page_size;
  int64_t qlen;                 /* query tokens of every request */
  int64_t kvlen_min, kvlen_max; /* KV lengths of the requests lie in [kvlen_min, kvlen_max] */
  int64_t pages;                /* pool pages of the batch (sum of ceil(kvlen / page_size)), or a bound */
  skv_dtype q_dtype, k_dtype, v_dtype, o_dtype;
  skv_scale_mode kv_scale_mode; /* fp8 KV: per tensor or per token-head */
  bool unmasked;                /* mask none: the queries are not KV positions, so a request may have
                                   more of them than keys (cascade's shared-prefix pass, cascade.h) */
} skv_shape;

/* Who takes a configuration, from most to least: a check that needs level L refuses anything
 * above L. */
typedef enum skv_support {
  SKV_SUPPORT_GPU = 0, /* the simulator, the CPU reference and the GPU kernels */
  SKV_SUPPORT_SIM,     /* the simulator and the CPU reference; the GPU kernels refuse it */
  SKV_SUPPORT_NONE,    /* nothing: the configuration is impossible */
} skv_support;

/* Check s against every rule. Returns the highest level that takes it; below GPU, *field names the
 * field the first broken rule is about and err says why, in one line that names the YAML keys
 * ("hq 30 is not a multiple of hkv 8"). field may be NULL. */
skv_support skv_support_check(const skv_shape *s, skv_field *field, char *err, size_t errlen);

/* The YAML key of a field ("head_dim"). */
const char *skv_field_name(skv_field f);

/* The type the kernels write O in for queries of type q: q's own if it is 16-bit, else bf16. */
skv_dtype skv_output_dtype(skv_dtype q);

/* ---- Policy options: which policy reads which, and their ranges ---- */

/* The options of skv_policy_opts (policy.h), in its field order. */
typedef enum skv_option {
  SKV_OPT_SPLIT_SIZE,
  SKV_OPT_NUM_SPLITS,
  SKV_OPT_MAX_SPLITS,
  SKV_OPT_FIXED_SPLIT_PAGES,
  SKV_OPT_DISABLE_SPLIT_KV,
  SKV_OPT_CUDA_GRAPH,
  SKV_OPT_BATCH_INVARIANT,
  SKV_OPT_BLOCKS_PER_SM,
  SKV_OPT_TILE_ROWS,
  SKV_OPT_TAPER,
  SKV_OPT_COUNT
} skv_option;

typedef struct skv_option_spec {
  const char *name;  /* the YAML key ("split_size"); the flag is the same with '-' ("--split-size") */
  bool is_bool;
  int64_t min, max;  /* integers */
  uint32_t policies; /* bit p set for every policy p that reads it */
} skv_option_spec;

const skv_option_spec *skv_option_get(skv_option o);
/* Whether policy p reads option o: set on another policy an option would change nothing, so the
 * front ends refuse it. */
bool skv_option_applies(skv_option o, skv_policy p);
/* The options p reads, ", "-separated, as YAML keys or (as_flags) as flags: "num_splits,
 * blocks_per_sm" / "--num-splits, --blocks-per-sm". */
void skv_option_readers(skv_policy p, bool as_flags, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* SKV_SUPPORT_H */
