/* batch_flags.c — shared batch and policy flags; command lines checked against sim/support.h. */
#include "cli/batch_flags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The policy option flags, in skv_option order (their YAML keys with '-' for '_'). */
static const char *const option_flags[SKV_OPT_COUNT] = {
    [SKV_OPT_SPLIT_SIZE] = "split-size",
    [SKV_OPT_NUM_SPLITS] = "num-splits",
    [SKV_OPT_MAX_SPLITS] = "max-splits",
    [SKV_OPT_FIXED_SPLIT_PAGES] = "fixed-split-pages",
    [SKV_OPT_DISABLE_SPLIT_KV] = "disable-split-kv",
    [SKV_OPT_CUDA_GRAPH] = "cuda-graph",
    [SKV_OPT_BATCH_INVARIANT] = "batch-invariant",
    [SKV_OPT_BLOCKS_PER_SM] = "blocks-per-sm",
    [SKV_OPT_TILE_ROWS] = "tile-rows",
    [SKV_OPT_TAPER] = "taper",
};

void skv_batch_flags_default(skv_batch_flags *f) {
  memset(f, 0, sizeof *f);
  f->policy = "fa2";
  f->batch = 8;
  f->seqlen = 4096;
  f->qlen = 1;
  f->hq = 32;
  f->hkv = 8;
  f->head_dim = 128;
  f->page_size = 16;
  f->kv_dtype = "bf16";
  f->mask = "causal";
  skv_policy_opts_default(&f->opts);
}

/* An option's flag spec: its range from sim/support.h. */
static skv_arg_spec option_spec(skv_batch_flags *f, skv_option k, void *dest, const char *metavar,
                                const char *help) {
  const skv_option_spec *o = skv_option_get(k);
  return (skv_arg_spec){option_flags[k], o->is_bool ? SKV_ARG_FLAG : (k == SKV_OPT_SPLIT_SIZE ? SKV_ARG_INT64 : SKV_ARG_INT),
                        dest, metavar, help, (double)o->min, (double)o->max, &f->seen_option[k]};
}

size_t skv_batch_flags_specs(skv_batch_flags *f, skv_arg_spec *s) {
  const double tok = (double)SKV_MAX_KVLEN;
  skv_arg_spec specs[SKV_BATCH_FLAG_COUNT] = {
      {"policy", SKV_ARG_STRING, &f->policy, "NAME", "none, fixed, fa2, fa3, flashinfer, vllm, lab, lab-invariant (default fa2)", 0, 0, NULL},
      {"gpu", SKV_ARG_STRING, &f->gpu, "NAME", "GPU model to plan for, from the models file (default its home: h200)", 0,
       0, NULL},
      {"gpus", SKV_ARG_STRING, &f->gpus, "FILE", "GPU models file (default experiments/gpus.yaml)", 0, 0, NULL},
      {"sms", SKV_ARG_INT, &f->sms, "N", "override the model's SM count", 1, 4096, NULL},
      {"batch", SKV_ARG_INT, &f->batch, "B", "requests (default 8)", 1, 1 << 20, &f->seen_batch},
      {"seqlen", SKV_ARG_INT64, &f->seqlen, "L", "KV length of every request (default 4096)", 0, tok, &f->seen_seqlen},
      {"seqlens", SKV_ARG_STRING, &f->seqlens, "L1,L2,..", "KV length per request (sets the batch size)", 0, 0,
       &f->seen_seqlens},
      {"qlen", SKV_ARG_INT64, &f->qlen, "Q", "query tokens per request, at most the KV length (default 1: decode)", 1,
       1 << 20, NULL},
      {"hq", SKV_ARG_INT, &f->hq, "H", "query heads (default 32)", 1, 4096, NULL},
      {"hkv", SKV_ARG_INT, &f->hkv, "K", "KV heads; hq must be a multiple (default 8)", 1, 4096, NULL},
      {"head-dim", SKV_ARG_INT, &f->head_dim, "D", "64, 128 or 256 (default 128)", 1, 4096, NULL},
      {"page-size", SKV_ARG_INT, &f->page_size, "P", "tokens per KV page, 1..256 (default 16)", 1, 256, NULL},
      {"kv-dtype", SKV_ARG_STRING, &f->kv_dtype, "T", "bf16, fp16, fp8_e4m3, int8 (default bf16)", 0, 0, NULL},
      {"mask", SKV_ARG_STRING, &f->mask, "M", "causal (query i of Q sees keys < L - Q + i + 1) or none (default causal)",
       0, 0, NULL},
      option_spec(f, SKV_OPT_SPLIT_SIZE, &f->opts.split_size, "T", "fixed: chunk length in tokens (default 2048)"),
      option_spec(f, SKV_OPT_NUM_SPLITS, &f->opts.num_splits, "N",
                  "fa2/fa3: force num_splits like their API (0 = heuristic)"),
      option_spec(f, SKV_OPT_FIXED_SPLIT_PAGES, &f->opts.fixed_split_pages, "N",
                  "flashinfer: fixed_split_size in pages (0 = off)"),
      option_spec(f, SKV_OPT_DISABLE_SPLIT_KV, &f->opts.disable_split_kv, NULL, "flashinfer: one chunk per request"),
      option_spec(f, SKV_OPT_CUDA_GRAPH, &f->opts.cuda_graph, NULL,
                  "flashinfer: pad the grid for graph capture; vllm: full CUDA graph (caps splits)"),
      option_spec(f, SKV_OPT_MAX_SPLITS, &f->opts.max_splits, "N", "vllm --cuda-graph: max_num_splits; lab-invariant: most chunks per request (default 32)"),
      option_spec(f, SKV_OPT_BLOCKS_PER_SM, &f->opts.blocks_per_sm, "N",
                  "CTAs per SM: flashinfer's grid bound and the waves count (default 2)"),
      option_spec(f, SKV_OPT_BATCH_INVARIANT, &f->opts.batch_invariant, NULL, "vllm: batch-invariant mode (1 split)"),
      option_spec(f, SKV_OPT_TILE_ROWS, &f->opts.tile_rows, "R",
                  "packed query rows per CTA, 16, 32 or 64 (0 = the policy's choice; decode: 16)"),
      option_spec(f, SKV_OPT_TAPER, &f->opts.taper, "D",
                  "lab: cut the requests that start last: 0 = only a part-filled last wave's, D = in chunks of the "
                  "work left over D x the slots (default 0)"),
  };
  memcpy(s, specs, sizeof specs);
  return SKV_BATCH_FLAG_COUNT;
}

bool skv_flags_check_shape(const skv_shape *s, const char *const flags[SKV_FIELD_COUNT], skv_support need, char *err,
                           size_t errlen) {
  skv_field field;
  char why[400];
  if (skv_support_check(s, &field, why, sizeof why) <= need) return true;
  if (flags[field]) snprintf(err, errlen, "%s: %s", flags[field], why);
  else snprintf(err, errlen, "%s: %s", skv_field_name(field), why);
  return false;
}

bool skv_batch_flags_resolve(const skv_batch_flags *f, skv_batch *b, skv_policy *policy, char *err, size_t errlen) {
  memset(b, 0, sizeof *b);
  if (!skv_policy_parse(f->policy, policy)) {
    snprintf(err, errlen, "--policy: unknown policy '%s' (allowed: %s)", f->policy, skv_policy_names());
    return false;
  }
  for (int32_t k = 0; k < SKV_OPT_COUNT; k++) {
    if (!f->seen_option[k] || skv_option_applies((skv_option)k, *policy)) continue;
    char reads[200];
    skv_option_readers(*policy, true, reads, sizeof reads);
    snprintf(err, errlen, "--%s: does not apply to policy %s (it reads: %s)", option_flags[k], f->policy, reads);
    return false;
  }
  skv_dtype kv;
  if (!skv_dtype_parse(f->kv_dtype, &kv) || kv == SKV_FP32) {
    snprintf(err, errlen, "--kv-dtype: unknown type '%s' (allowed: bf16, fp16, fp8_e4m3, int8)", f->kv_dtype);
    return false;
  }
  if (strcmp(f->mask, "causal") != 0 && strcmp(f->mask, "none") != 0) {
    snprintf(err, errlen, "--mask: unknown mask '%s' (allowed: causal, none)", f->mask);
    return false;
  }
  if (f->seen_seqlens && f->seen_seqlen) {
    snprintf(err, errlen, "--seqlens: give either --seqlen or --seqlens, not both");
    return false;
  }
  int64_t *lens = NULL;
  int32_t n = f->batch;
  if (f->seen_seqlens) {
    if (!skv_args_int64_list("seqlens", f->seqlens, 0, SKV_MAX_KVLEN, &lens, &n, err, errlen)) return false;
    if (f->seen_batch && n != f->batch) {
      snprintf(err, errlen, "--seqlens: %d lengths but --batch %d", n, f->batch);
      free(lens);
      return false;
    }
  }
  /* skv plan's batch: bf16 queries, V stored as K, per-tensor scales. */
  skv_shape s = {.hq = f->hq, .hkv = f->hkv, .head_dim = f->head_dim, .page_size = f->page_size, .qlen = f->qlen,
                 .q_dtype = SKV_BF16, .k_dtype = kv, .v_dtype = kv, .o_dtype = SKV_BF16,
                 .kv_scale_mode = SKV_SCALE_PER_TENSOR};
  s.kvlen_min = s.kvlen_max = lens ? lens[0] : f->seqlen;
  for (int32_t r = 0; r < n; r++) {
    const int64_t len = lens ? lens[r] : f->seqlen;
    if (len < s.kvlen_min) s.kvlen_min = len;
    if (len > s.kvlen_max) s.kvlen_max = len;
    s.pages += (len + f->page_size - 1) / f->page_size;
  }
  const char *flags[SKV_FIELD_COUNT] = {
      [SKV_FIELD_HQ] = "--hq",         [SKV_FIELD_HKV] = "--hkv",   [SKV_FIELD_HEAD_DIM] = "--head-dim",
      [SKV_FIELD_PAGE_SIZE] = "--page-size", [SKV_FIELD_QLEN] = "--qlen",
      [SKV_FIELD_SEQLEN] = f->seen_seqlens ? "--seqlens" : "--seqlen", [SKV_FIELD_KV_DTYPE] = "--kv-dtype",
  };
  if (!skv_flags_check_shape(&s, flags, SKV_SUPPORT_SIM, err, errlen)) {
    free(lens);
    return false;
  }
  if (!skv_batch_alloc(b, n)) {
    snprintf(err, errlen, "--batch: out of memory for %d requests", n);
    free(lens);
    return false;
  }
  for (int32_t r = 0; r < n; r++) {
    b->kvlen[r] = lens ? lens[r] : f->seqlen;
    b->qlen[r] = f->qlen;
  }
  free(lens);
  b->num_q_heads = f->hq;
  b->num_kv_heads = f->hkv;
  b->head_dim = f->head_dim;
  b->page_size = f->page_size;
  b->kv_dtype = b->v_dtype = kv;
  b->mask = strcmp(f->mask, "none") == 0 ? SKV_MASK_NONE : SKV_MASK_CAUSAL;
  if (!skv_batch_validate(b, err, errlen)) {
    skv_batch_free(b);
    return false;
  }
  return true;
}

bool skv_batch_flags_gpu(const skv_batch_flags *f, skv_gpus *gpus, skv_gpu *out, char *err, size_t errlen) {
  char path[1024], why[1024];
  if (f->gpus) snprintf(path, sizeof path, "%s", f->gpus);
  else skv_gpus_default_path(path, sizeof path);
  if (!skv_gpus_load(path, gpus, why, sizeof why)) {
    snprintf(err, errlen, "--gpus: %s", why);
    return false;
  }
  const skv_gpu *g = f->gpu ? skv_gpus_find(gpus, f->gpu) : gpus->home;
  if (!g) {
    char names[512];
    skv_gpus_names(gpus, names, sizeof names);
    snprintf(err, errlen, "--gpu: no model '%s' in %s (models: %s)", f->gpu, path, names);
    skv_gpus_free(gpus);
    return false;
  }
  *out = *g;
  if (f->sms > 0) out->sms = f->sms;
  return true;
}
