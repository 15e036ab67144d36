/* graph_bound.c — a captured graph's bound from a policy's graph mode; a runtime plan against it. */
#include "graph_bound.h"

#include <stdio.h>
#include <string.h>

#include "intmath.h"

bool skv_graph_bound_make(const skv_batch *b, skv_policy p, const skv_policy_opts *o, const skv_gpu *gpu,
                          int64_t max_seqlen, skv_graph_bound *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  skv_policy_opts opts;
  if (o) opts = *o;
  else skv_policy_opts_default(&opts);
  const int32_t n = b->num_requests, hkv = b->num_kv_heads, G = skv_batch_group(b);
  const int64_t maxq = skv_batch_max_qlen(b);
  /* The capture batch: every request at max_seqlen with the longest query. Its plan gives the tile
   * (the kernel form) and, for a policy without a graph mode, the whole bound. */
  skv_batch cap;
  if (!skv_batch_uniform(b, n, maxq, max_seqlen, &cap)) {
    snprintf(err, errlen, "graph bound: out of memory");
    return false;
  }
  const bool own = (p == SKV_POLICY_VLLM && (opts.cuda_graph || opts.batch_invariant) && maxq == 1) ||
                   (p == SKV_POLICY_FLASHINFER && opts.cuda_graph && !opts.disable_split_kv && maxq == 1) ||
                   p == SKV_POLICY_LAB_INVARIANT; /* a graph mode of its own: the bound does not need the plan */
  skv_plan pl;
  memset(&pl, 0, sizeof pl);
  char perr[256];
  const bool planned = skv_plan_build(&cap, p, &opts, gpu, &pl, perr, sizeof perr);
  skv_batch_free(&cap);
  if (!planned && !own) {
    snprintf(err, errlen, "%s", perr);
    return false;
  }
  out->requests = n;
  out->tokens = (int64_t)n * maxq;
  out->pages = (int64_t)n * skv_ceil_div(max_seqlen, b->page_size);
  /* the tile (the kernel form): the capture plan's, else plan.h's rule for the longest query */
  const int32_t rule = opts.tile_rows > 0 ? opts.tile_rows : skv_plan_default_tile_rows(b);
  const int64_t qrows = maxq * G;
  out->tile_rows = planned ? skv_plan_max_tile_rows(&pl) : (int32_t)(qrows < rule ? qrows : rule);
  const int32_t tile_tokens = planned ? pl.tile_tokens : (rule / G > 1 ? rule / G : 1);
  const int64_t tiles = skv_ceil_div(maxq, tile_tokens); /* query tiles per request */
  int64_t S = 0;  /* chunks per (request, tile, KV head), when the policy bounds them */
  if (p == SKV_POLICY_VLLM && opts.cuda_graph && maxq == 1) {
    S = opts.batch_invariant ? 1 : opts.max_splits;
    snprintf(out->source, sizeof out->source, "vllm full CUDA graph: max_num_splits %lld", (long long)S);
  } else if (p == SKV_POLICY_VLLM && opts.batch_invariant && maxq == 1) {
    S = 1;
    snprintf(out->source, sizeof out->source, "vllm batch-invariant: 1 split");
  } else if (p == SKV_POLICY_LAB_INVARIANT) {
    S = opts.max_splits;
    snprintf(out->source, sizeof out->source, "lab-invariant: at most %d chunks per request", opts.max_splits);
  }
  if (S > 0) {
    out->ctas = (int64_t)n * tiles * hkv * S;
    out->combine = S > 1 ? (int64_t)n * tiles * hkv : 0;
    out->partials = S > 1 ? (int64_t)n * maxq * b->num_q_heads * S : 0;
    out->max_chunks = S > 1 ? (int32_t)S : 0;
  } else if (p == SKV_POLICY_FLASHINFER && opts.cuda_graph && !opts.disable_split_kv && maxq == 1) {
    const int64_t grid = (int64_t)opts.blocks_per_sm * gpu->sms / hkv;
    const int64_t padded = grid > n ? grid : n;
    out->ctas = padded * hkv;
    out->combine = (int64_t)n * hkv;
    out->partials = out->ctas * G;
    out->max_chunks = (int32_t)padded;
    snprintf(out->source, sizeof out->source, "flashinfer CUDA graph: padded batch %lld x %d KV heads", (long long)padded,
             hkv);
  } else {
    out->ctas = pl.num_work;
    out->combine = pl.num_combine;
    out->partials = pl.num_partials;
    for (int64_t i = 0; i < pl.num_combine; i++)
      if (pl.combine[i].num_chunks > out->max_chunks) out->max_chunks = pl.combine[i].num_chunks;
    snprintf(out->source, sizeof out->source, "%s has no graph mode: the plan of %d requests at %lld tokens",
             skv_policy_name(p), n, (long long)max_seqlen);
  }
  if (planned) skv_plan_free(&pl);
  return true;
}

bool skv_graph_bound_fits(const skv_graph_bound *g, const skv_plan *pl, const skv_batch *b, char *why, size_t len) {
  int64_t tokens = 0, pages = 0, max_chunks = 0;
  for (int32_t r = 0; r < b->num_requests; r++) tokens += b->qlen[r], pages += skv_batch_pages(b, r);
  for (int64_t i = 0; i < pl->num_combine; i++)
    if (pl->combine[i].num_chunks > max_chunks) max_chunks = pl->combine[i].num_chunks;
  const struct { const char *what; int64_t need, have; } q[] = {
      {"requests", b->num_requests, g->requests}, {"query tokens", tokens, g->tokens},
      {"pages", pages, g->pages},                 {"CTAs", pl->num_work, g->ctas},
      {"combine items", pl->num_combine, g->combine}, {"scratch rows", pl->num_partials, g->partials},
      {"chunks per item", max_chunks, g->max_chunks}, {"tile rows", skv_plan_max_tile_rows(pl), g->tile_rows},
  };
  for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
    if (q[i].need > q[i].have) {
      snprintf(why, len, "%s %lld > %lld captured", q[i].what, (long long)q[i].need, (long long)q[i].have);
      return false;
    }
  snprintf(why, len, "fits");
  return true;
}
