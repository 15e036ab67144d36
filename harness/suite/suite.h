/* suite.h — YAML experiment suites: defaults x sweep expanded into validated configurations. */
#ifndef SKV_SUITE_H
#define SKV_SUITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "dtype.h"
#include "suite/gpus.h"
#include "policy.h"
#include "share.h"
#include "quant.h"
#include "support.h"

/* A suite expands into at most this many configurations: far beyond a useful
 * experiment, well before the configuration array itself is a problem. */
#define SKV_SUITE_MAX_CONFIGS 100000
/* All seqlen list distributions of a suite hold at most this many lengths. */
#define SKV_SUITE_MAX_SEQLEN_VALUES (1 << 20)
/* KV lengths a suite may ask for (sim/batch.c refuses longer requests). */
#define SKV_SUITE_MAX_SEQLEN SKV_MAX_KVLEN

/* The KV length of each request of a configuration. */
typedef struct skv_seqlen_spec {
  enum { SKV_SEQLEN_FIXED, SKV_SEQLEN_UNIFORM, SKV_SEQLEN_LIST } kind;
  int64_t value;   /* fixed */
  int64_t lo, hi;  /* every kind: the least and the greatest of its lengths (uniform: its range, inclusive) */
  uint64_t seed;   /* uniform: the lengths' rng seed (the configuration's seed unless the suite gives one) */
  int64_t *values; /* list, cycled over the batch; owned by the suite */
  int32_t nvalues;
} skv_seqlen_spec;

/* One point of the sweep, every field resolved (built-in default, then
 * defaults:, then the sweep). */
typedef struct skv_config {
  int32_t index;          /* position in the suite, 0-based, the first sweep key outermost */
  char name[160];         /* "b8-L4096-fa2", "b1-Luniform(100,8000)-fa2-ns3-hq64": unique in the suite, the
                             same for the same values, [A-Za-z0-9_.,()=-] only (a file name and a CSV field) */
  int32_t batch;
  skv_seqlen_spec seqlen;
  int64_t qlen;           /* query tokens per request (of the first prefill_requests, when that is set) */
  int32_t prefill_requests; /* 0: every request takes qlen; K: the first K do, the others decode (qlen 1) */
  skv_mask mask;          /* causal (default) or none (sim/batch.h) */
  int64_t shared_prefix;  /* tokens every request shares (the same pages; 0: none) */
  int32_t group_size;     /* requests per group that share group_prefix more tokens (0: none) */
  int64_t group_prefix;
  int32_t hq, hkv, head_dim, page_size;
  skv_dtype q_dtype, kv_dtype, v_dtype; /* v_dtype SKV_DTYPE_COUNT: the same as kv_dtype */
  skv_scale_mode kv_scale_mode;         /* fp8 K/V scales per tensor or per token-head */
  skv_quant_params quant;               /* per-tensor scales, drop_* flags */
  skv_policy policy;
  skv_policy_opts opts;                 /* skv_policy_opts_default, then the suite's options */
  char gpu_model[32];                   /* "": the run's GPU (the device's model; in a simulated run
                                           gpus.yaml's home) */
  int32_t sms;                          /* 0: the GPU model's SM count */
  uint64_t seed;
  char lse_layout[16];                  /* logical | fa2-combine | fa2-split1 | fa2-padded */
  char host_path[24];                   /* none | fa2-upstream | vllm-fork-before-fix | vllm-fork-after-fix */
  int32_t line, col;                    /* where gpu_model was set: skv_suite_check_models and the
                                           runner's device check point there */
} skv_config;

typedef struct skv_suite {
  char *path;                 /* as given to skv_suite_load: the prefix of its messages */
  char name[65];              /* [A-Za-z0-9_-]{1,64}: names results/<name>/ */
  char *description;
  uint64_t file_hash;         /* FNV-1a 64 of the file bytes: a resumed run checks it is the same suite */
  int32_t repeat, warmup;
  bool check_reference, check_bitwise_repeat, check_batch_invariance;
  int32_t invariance_pairs;   /* checks: invariance_pairs: variant batches per configuration (0: none) */
#define SKV_MAX_INVARIANCE_PAIRS 4096
  bool cross_gpu;             /* a gpu_model other than the device's is wanted: predictions for
                                 another GPU beside this one's measurements */
  bool graph;                 /* capture decode + combine in a CUDA graph at the policy's bound and replay
                                 each configuration's batch through it (sim/graph_bound.h) */
  int64_t graph_max_seqlen;   /* the longest KV length a capture holds (default 131072) */
#define SKV_GRAPH_MAX_SEQLEN_DEFAULT 131072
  bool cascade;               /* configurations with shared prefixes also run cascade attention
                                 (sim/cascade.h): checked, timed, beside vLLM's decision */
  int32_t nplots;
  char plots[16][32];         /* distinct plot names (at most the number of kinds) */
  skv_config *configs;
  int32_t nconfigs;
  int64_t *seqlen_pool;       /* the lengths of every list distribution; configs point into it */
  int32_t sweep_line, sweep_col; /* the sweep: mapping, where a configuration impossible as a whole is named */
} skv_suite;

/* Read, expand and validate a suite. On error: err = "PATH:LINE:COL: message"
 * (1-based; the offending node, or the enclosing mapping for a missing key,
 * or the sweep mapping for an impossible configuration), false, and *s
 * zeroed with nothing allocated. GPU models are checked separately
 * (skv_suite_check_models), GPU memory by the runner. */
bool skv_suite_load(const char *path, skv_suite *s, char *err, size_t errlen);
void skv_suite_free(skv_suite *s);
/* Keep shard i of n (0 <= i < n): the configurations whose index (their position in the whole
 * suite) is i modulo n, in order. Stable: the same shard of the same suite file is the same set. */
void skv_suite_shard(skv_suite *s, int32_t i, int32_t n);

/* Every configuration's gpu_model that is set is a model of g; else "PATH:LINE:COL:
 * unknown gpu_model 'x' (known: ...)" at the node that set it. */
bool skv_suite_check_models(const skv_suite *s, const skv_gpus *g, char *err, size_t errlen);

/* The configuration as sim/support.h sees it: its lengths' bounds, the output type the harness
 * gives its queries. */
void skv_config_shape(const skv_config *c, skv_shape *s);
/* The rules that tie several keys of a configuration together (each key's own range is checked
 * when it is read): skv_support_check on its shape. The suite refuses SKV_SUPPORT_NONE; the
 * runner refuses SKV_SUPPORT_SIM on a GPU and flags it in a simulated run. */
skv_support skv_config_validate(const skv_config *c, char *err, size_t errlen);
/* The batch of a configuration: lengths fixed, drawn per request from an rng
 * seeded with the spec's seed (uniform), or the list cycled; validated with
 * skv_batch_validate. Free with skv_batch_free. */
/* The configuration's shared prefixes (sim/share.h): level 0 the shared_prefix of every request,
 * then groups of group_size consecutive requests sharing group_prefix more tokens; no level when
 * neither is set. False with err on out of memory. */
bool skv_config_share(const skv_config *c, skv_share *s, char *err, size_t errlen);
bool skv_config_make_batch(const skv_config *c, skv_batch *b, char *err, size_t errlen);
/* One line for progress output: the name and the resolved values. */
void skv_config_describe(const skv_config *c, char *buf, size_t len);

#endif /* SKV_SUITE_H */
