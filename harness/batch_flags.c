/* batch_flags.c — shared batch and policy flags. */
#include "batch_flags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void skv_batch_flags_default(skv_batch_flags *f) {
  memset(f, 0, sizeof *f);
  f->policy = "fa2";
  f->sms = 132;
  f->batch = 8;
  f->seqlen = 4096;
  f->qlen = 1;
  f->hq = 32;
  f->hkv = 8;
  f->head_dim = 128;
  f->page_size = 16;
  f->kv_dtype = "bf16";
  skv_policy_opts_default(&f->opts);
}

size_t skv_batch_flags_specs(skv_batch_flags *f, skv_arg_spec *s) {
  const double big = 9.3e18, tok = (double)((int64_t)1 << 40);
  skv_arg_spec specs[SKV_BATCH_FLAG_COUNT] = {
      {"policy", SKV_ARG_STRING, &f->policy, "NAME", "none, fixed, fa2, fa3, flashinfer, vllm, lab (default fa2)", 0, 0, NULL},
      {"sms", SKV_ARG_INT, &f->sms, "N", "SMs of the GPU model (default 132, H100 SXM; A100 108)", 1, 4096, NULL},
      {"batch", SKV_ARG_INT, &f->batch, "B", "requests (default 8)", 1, 1 << 20, &f->seen_batch},
      {"seqlen", SKV_ARG_INT64, &f->seqlen, "L", "KV length of every request (default 4096)", 0, tok, &f->seen_seqlen},
      {"seqlens", SKV_ARG_STRING, &f->seqlens, "L1,L2,..", "KV length per request (sets the batch size)", 0, 0,
       &f->seen_seqlens},
      {"qlen", SKV_ARG_INT64, &f->qlen, "Q", "query tokens per request (default 1: decode)", 1, 1 << 20, NULL},
      {"hq", SKV_ARG_INT, &f->hq, "H", "query heads (default 32)", 1, 4096, NULL},
      {"hkv", SKV_ARG_INT, &f->hkv, "K", "KV heads; hq must be a multiple (default 8)", 1, 4096, NULL},
      {"head-dim", SKV_ARG_INT, &f->head_dim, "D", "64, 128 or 256 (default 128)", 1, 4096, NULL},
      {"page-size", SKV_ARG_INT, &f->page_size, "P", "tokens per KV page, 1..256 (default 16)", 1, 256, NULL},
      {"kv-dtype", SKV_ARG_STRING, &f->kv_dtype, "T", "bf16, fp16, fp8_e4m3, int8 (default bf16)", 0, 0, NULL},
      {"split-size", SKV_ARG_INT64, &f->opts.split_size, "T", "fixed: chunk length in tokens (default 2048)", 1, big,
       NULL},
      {"num-splits", SKV_ARG_INT, &f->opts.num_splits, "N", "fa2/fa3: force num_splits like their API (0 = heuristic)",
       0, 128, NULL},
      {"fixed-split-pages", SKV_ARG_INT, &f->opts.fixed_split_pages, "N",
       "flashinfer: fixed_split_size in pages (0 = off)", 0, 1 << 30, NULL},
      {"disable-split-kv", SKV_ARG_FLAG, &f->opts.disable_split_kv, NULL, "flashinfer: one chunk per request", 0, 0,
       NULL},
      {"cuda-graph", SKV_ARG_FLAG, &f->opts.cuda_graph, NULL,
       "flashinfer: pad the grid for graph capture; vllm: full CUDA graph (caps splits)", 0, 0, NULL},
      {"max-splits", SKV_ARG_INT, &f->opts.max_splits, "N", "vllm --cuda-graph: max_num_splits (default 32)", 1, 128,
       NULL},
      {"blocks-per-sm", SKV_ARG_INT, &f->opts.blocks_per_sm, "N",
       "CTAs per SM: flashinfer's grid bound and the waves count (default 2)", 1, 64, NULL},
      {"batch-invariant", SKV_ARG_FLAG, &f->opts.batch_invariant, NULL, "vllm: batch-invariant mode (1 split)", 0, 0,
       NULL},
  };
  memcpy(s, specs, sizeof specs);
  return SKV_BATCH_FLAG_COUNT;
}

bool skv_batch_flags_resolve(const skv_batch_flags *f, skv_batch *b, skv_policy *policy, char *err, size_t errlen) {
  memset(b, 0, sizeof *b);
  if (!skv_policy_parse(f->policy, policy)) {
    snprintf(err, errlen, "--policy: unknown policy '%s' (allowed: %s)", f->policy, skv_policy_names());
    return false;
  }
  skv_dtype kv;
  if (!skv_dtype_parse(f->kv_dtype, &kv) || kv == SKV_FP32) {
    snprintf(err, errlen, "--kv-dtype: unknown type '%s' (allowed: bf16, fp16, fp8_e4m3, int8)", f->kv_dtype);
    return false;
  }
  if (f->seen_seqlens && f->seen_seqlen) {
    snprintf(err, errlen, "--seqlens: give either --seqlen or --seqlens, not both");
    return false;
  }
  int64_t *lens = NULL;
  int32_t n = f->batch;
  if (f->seen_seqlens) {
    if (!skv_args_int64_list("seqlens", f->seqlens, 0, (int64_t)1 << 40, &lens, &n, err, errlen)) return false;
    if (f->seen_batch && n != f->batch) {
      snprintf(err, errlen, "--seqlens: %d lengths but --batch %d", n, f->batch);
      free(lens);
      return false;
    }
  }
  if (f->hq % f->hkv != 0) {
    snprintf(err, errlen, "--hq: %d is not a multiple of --hkv %d", f->hq, f->hkv);
    free(lens);
    return false;
  }
  if (f->head_dim != 64 && f->head_dim != 128 && f->head_dim != 256) {
    snprintf(err, errlen, "--head-dim: %d is not supported (allowed: " SKV_HEAD_DIMS_ALLOWED ")", f->head_dim);
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
  if (!skv_batch_validate(b, err, errlen)) {
    skv_batch_free(b);
    return false;
  }
  return true;
}
