/* batch_flags.h — the batch-shape and policy flags shared by skv subcommands (plan), and the rules check every command's flags go through. */
#ifndef SKV_BATCH_FLAGS_H
#define SKV_BATCH_FLAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/args.h"
#include "batch.h"
#include "policy.h"
#include "suite/gpus.h"
#include "support.h"

typedef struct skv_batch_flags {
  const char *policy;   /* --policy */
  const char *gpu;      /* --gpu: a model of the models file (default its home) */
  const char *gpus;     /* --gpus: the models file (default skv_gpus_default_path) */
  int32_t sms;          /* --sms: overrides the model's SM count (0: the model's) */
  int32_t batch;        /* --batch */
  int64_t seqlen;       /* --seqlen */
  const char *seqlens;  /* --seqlens */
  int64_t qlen;         /* --qlen */
  int32_t hq, hkv, head_dim, page_size;
  const char *kv_dtype; /* --kv-dtype */
  const char *mask;     /* --mask: causal or none */
  skv_policy_opts opts; /* --split-size ... --blocks-per-sm */
  bool seen_batch, seen_seqlen, seen_seqlens;
  bool seen_option[SKV_OPT_COUNT]; /* the policy option flags given (skv_option order) */
} skv_batch_flags;

/* Defaults: fa2, the models file's home GPU, batch 8, seqlen 4096, qlen 1, hq 32,
 * hkv 8, d 128, page 16, bf16. */
void skv_batch_flags_default(skv_batch_flags *f);
/* Write the flag specs into specs (room for SKV_BATCH_FLAG_COUNT) and return
 * how many. */
#define SKV_BATCH_FLAG_COUNT 24
size_t skv_batch_flags_specs(skv_batch_flags *f, skv_arg_spec *specs);
/* Turn parsed flags into a batch and policy under the rules of sim/support.h (a configuration a
 * suite would refuse is refused; one only the GPU kernels refuse is planned); errors name the
 * flag. */
bool skv_batch_flags_resolve(const skv_batch_flags *f, skv_batch *b, skv_policy *policy, char *err, size_t errlen);

/* The GPU the flags name: --gpu's model of the --gpus file (the file's home without --gpu), --sms
 * overriding its SM count. gpus receives the loaded file (the caller frees it). Errors name the flag. */
bool skv_batch_flags_gpu(const skv_batch_flags *f, skv_gpus *gpus, skv_gpu *out, char *err, size_t errlen);

/* skv_support_check for a command line: true when s is taken at level need or better, else
 * "--flag: reason" in err, the flag being flags[field] (the field's YAML key when NULL). */
bool skv_flags_check_shape(const skv_shape *s, const char *const flags[SKV_FIELD_COUNT], skv_support need, char *err,
                           size_t errlen);

#endif /* SKV_BATCH_FLAGS_H */
