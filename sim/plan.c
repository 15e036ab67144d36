/* plan.c — turn a policy's chunk lengths into chunks, work lists and scratch sizes; check a plan. */
#include "plan.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intmath.h"

void skv_plan_free(skv_plan *pl) {
  free(pl->chunk_offset);
  free(pl->chunks);
  free(pl->work);
  free(pl->combine);
  memset(pl, 0, sizeof *pl);
}

static int64_t chunks_for(int64_t kvlen, int64_t chunk_tokens) {
  return kvlen == 0 ? 1 : skv_ceil_div(kvlen, chunk_tokens);
}

bool skv_plan_build(const skv_batch *b, skv_policy p, const skv_policy_opts *o, const skv_gpu *gpu, skv_plan *pl,
                    char *err, size_t errlen) {
  memset(pl, 0, sizeof *pl);
  skv_policy_opts opts;
  if (o) opts = *o;
  else skv_policy_opts_default(&opts);
  if (!skv_batch_validate(b, err, errlen)) return false;
  const int32_t num_sms = gpu->sms;
  if (num_sms < 1) {
    snprintf(err, errlen, "sms: must be >= 1 (got %d)", num_sms);
    return false;
  }
  if (opts.blocks_per_sm < 1) {
    snprintf(err, errlen, "blocks-per-sm: must be >= 1 (got %d)", opts.blocks_per_sm);
    return false;
  }
  skv_policy_fn fn = skv_policy_function(p);
  if (!fn) {
    snprintf(err, errlen, "policy: unknown (allowed: %s)", skv_policy_names());
    return false;
  }
  const int32_t n = b->num_requests, hkv = b->num_kv_heads, group = skv_batch_group(b);
  skv_split_choice choice;
  memset(&choice, 0, sizeof choice);
  choice.chunk_tokens = calloc((size_t)n, sizeof *choice.chunk_tokens);
  if (!choice.chunk_tokens) {
    snprintf(err, errlen, "plan: out of memory");
    return false;
  }
  if (!fn(b, &opts, gpu, &choice, err, errlen)) {
    free(choice.chunk_tokens);
    return false;
  }

  pl->policy = p;
  pl->opts = opts;
  pl->num_requests = n;
  pl->num_q_heads = b->num_q_heads;
  pl->num_kv_heads = hkv;
  pl->head_dim = b->head_dim;
  pl->page_size = b->page_size;
  pl->num_sms = num_sms;
  snprintf(pl->gpu_name, sizeof pl->gpu_name, "%s", gpu->name);
  pl->gqa_packed = skv_batch_max_qlen(b) == 1 && group > 1;
  pl->batch_num_splits = choice.batch_num_splits;
  memcpy(pl->why, choice.why, sizeof pl->why);

  /* Count chunks, CTAs, partial rows and combine items first. */
  int64_t total_chunks = 0, combines = 0;
  for (int32_t r = 0; r < n; r++) {
    int64_t c = chunks_for(b->kvlen[r], choice.chunk_tokens[r]);
    total_chunks += c;
    if (c > 1) combines += hkv;
  }
  pl->chunk_offset = malloc((size_t)(n + 1) * sizeof *pl->chunk_offset);
  pl->chunks = malloc((size_t)total_chunks * sizeof *pl->chunks);
  pl->work = malloc((size_t)(total_chunks * hkv) * sizeof *pl->work);
  pl->combine = malloc((size_t)(combines > 0 ? combines : 1) * sizeof *pl->combine);
  if (!pl->chunk_offset || !pl->chunks || !pl->work || !pl->combine) {
    free(choice.chunk_tokens);
    skv_plan_free(pl);
    snprintf(err, errlen, "plan: out of memory (%" PRId64 " chunks)", total_chunks);
    return false;
  }

  int64_t ci = 0, wi = 0, pi = 0, mi = 0;
  for (int32_t r = 0; r < n; r++) {
    const int64_t L = b->kvlen[r], cs = choice.chunk_tokens[r], c = chunks_for(L, cs);
    pl->chunk_offset[r] = ci;
    for (int64_t k = 0; k < c; k++) {
      int64_t begin = k * cs, end = begin + cs < L ? begin + cs : L;
      pl->chunks[ci + k] = (skv_chunk){begin, end};
    }
    /* Scratch rows of a split request: kv head major, chunk minor, so that a
     * combine item reads its chunks from consecutive rows. */
    for (int64_t k = 0; k < c; k++) {
      for (int32_t h = 0; h < hkv; h++) {
        pl->work[wi++] = (skv_work){.request = r, .kv_head = h, .chunk = (int32_t)k, .num_chunks = (int32_t)c,
                                    .kv_begin = pl->chunks[ci + k].begin, .kv_end = pl->chunks[ci + k].end,
                                    .partial = c > 1 ? pi + (int64_t)h * c + k : -1};
      }
    }
    if (c > 1) {
      for (int32_t h = 0; h < hkv; h++)
        pl->combine[mi++] = (skv_combine_item){.request = r, .kv_head = h, .num_chunks = (int32_t)c,
                                               .first_partial = pi + (int64_t)h * c};
      pi += c * hkv;
    }
    ci += c;
  }
  pl->chunk_offset[n] = ci;
  pl->num_chunks = ci;
  pl->num_work = wi;
  pl->num_combine = mi;
  pl->num_partials = pi;
  pl->scratch_o_bytes = pi * group * b->head_dim * 4;
  pl->scratch_lse_bytes = pi * group * 4;
  pl->grid_ctas = choice.grid_ctas > wi ? choice.grid_ctas : wi;
  pl->waves = (double)wi / ((double)num_sms * opts.blocks_per_sm);
  pl->full_waves = (int64_t)ceil(pl->waves);
  free(choice.chunk_tokens);
  return true;
}

bool skv_plan_check(const skv_plan *pl, const skv_batch *b, char *err, size_t errlen) {
  const int32_t hkv = b->num_kv_heads, group = skv_batch_group(b);
  if (pl->num_requests != b->num_requests) {
    snprintf(err, errlen, "plan has %d requests, batch %d", pl->num_requests, b->num_requests);
    return false;
  }
  int64_t partials = 0, work = 0, combines = 0;
  for (int32_t r = 0; r < b->num_requests; r++) {
    const int64_t c = skv_plan_num_splits(pl, r), L = b->kvlen[r];
    const skv_chunk *ch = skv_plan_chunks(pl, r);
    if (c < 1) {
      snprintf(err, errlen, "request %d has no chunk", r);
      return false;
    }
    int64_t pos = 0;
    for (int64_t k = 0; k < c; k++) {
      if (ch[k].begin != pos) {
        snprintf(err, errlen, "request %d chunk %" PRId64 " begins at %" PRId64 ", expected %" PRId64, r, k,
                 ch[k].begin, pos);
        return false;
      }
      if (ch[k].end <= ch[k].begin && !(L == 0 && c == 1)) {
        snprintf(err, errlen, "request %d chunk %" PRId64 " is empty [%" PRId64 ", %" PRId64 ")", r, k, ch[k].begin,
                 ch[k].end);
        return false;
      }
      pos = ch[k].end;
    }
    if (pos != L) {
      snprintf(err, errlen, "request %d chunks end at %" PRId64 ", kv length is %" PRId64, r, pos, L);
      return false;
    }
    work += c * hkv;
    if (c > 1) {
      partials += c * hkv;
      combines += hkv;
    }
  }
  if (pl->num_work != work) {
    snprintf(err, errlen, "work list has %" PRId64 " CTAs, chunks x kv heads is %" PRId64, pl->num_work, work);
    return false;
  }
  /* Every (request, chunk, kv head) appears once, with the chunk's range, and
   * each scratch row is written by exactly one CTA. */
  char *seen = calloc((size_t)(partials > 0 ? partials : 1), 1);
  if (!seen) {
    snprintf(err, errlen, "check: out of memory");
    return false;
  }
  bool ok = true;
  for (int64_t i = 0; i < pl->num_work && ok; i++) {
    const skv_work *w = &pl->work[i];
    if (w->request < 0 || w->request >= b->num_requests || w->kv_head < 0 || w->kv_head >= hkv ||
        w->chunk < 0 || w->chunk >= skv_plan_num_splits(pl, w->request)) {
      snprintf(err, errlen, "work %" PRId64 " names a request/head/chunk out of range", i);
      ok = false;
      break;
    }
    const skv_chunk *ch = skv_plan_chunks(pl, w->request) + w->chunk;
    int64_t c = skv_plan_num_splits(pl, w->request);
    if (w->kv_begin != ch->begin || w->kv_end != ch->end || w->num_chunks != c) {
      snprintf(err, errlen, "work %" PRId64 " range differs from its chunk", i);
      ok = false;
    } else if ((c == 1) != (w->partial < 0)) {
      snprintf(err, errlen, "work %" PRId64 ": partial row %" PRId64 " but request has %" PRId64 " chunks", i,
               w->partial, c);
      ok = false;
    } else if (w->partial >= 0) {
      if (w->partial >= partials || seen[w->partial]) {
        snprintf(err, errlen, "work %" PRId64 ": scratch row %" PRId64 " out of range or used twice", i, w->partial);
        ok = false;
      } else {
        seen[w->partial] = 1;
      }
    }
  }
  free(seen);
  if (!ok) return false;
  if (pl->num_partials != partials || pl->scratch_o_bytes != partials * group * b->head_dim * 4 ||
      pl->scratch_lse_bytes != partials * group * 4) {
    snprintf(err, errlen, "scratch: %" PRId64 " rows / %" PRId64 " + %" PRId64 " bytes, work list needs %" PRId64
             " rows", pl->num_partials, pl->scratch_o_bytes, pl->scratch_lse_bytes, partials);
    return false;
  }
  if (pl->num_combine != combines) {
    snprintf(err, errlen, "combine list has %" PRId64 " items, expected %" PRId64, pl->num_combine, combines);
    return false;
  }
  for (int64_t i = 0; i < pl->num_combine; i++) {
    const skv_combine_item *m = &pl->combine[i];
    if (m->request < 0 || m->request >= b->num_requests || m->num_chunks != skv_plan_num_splits(pl, m->request) ||
        m->first_partial < 0 || m->first_partial + m->num_chunks > partials) {
      snprintf(err, errlen, "combine item %" PRId64 " is inconsistent with the chunks", i);
      return false;
    }
  }
  /* Each combine item's rows are exactly the rows its CTAs write, in chunk
   * order: map every row to the item that reads it, then check each CTA. */
  int64_t *reader = malloc((size_t)(partials > 0 ? partials : 1) * sizeof *reader);
  if (!reader) {
    snprintf(err, errlen, "check: out of memory");
    return false;
  }
  for (int64_t i = 0; i < partials; i++) reader[i] = -1;
  for (int64_t j = 0; j < pl->num_combine; j++)
    for (int32_t k = 0; k < pl->combine[j].num_chunks; k++) reader[pl->combine[j].first_partial + k] = j;
  for (int64_t i = 0; i < pl->num_work && ok; i++) {
    const skv_work *w = &pl->work[i];
    if (w->partial < 0) continue;
    int64_t j = reader[w->partial];
    const skv_combine_item *m = j >= 0 ? &pl->combine[j] : NULL;
    if (!m || m->request != w->request || m->kv_head != w->kv_head || m->first_partial + w->chunk != w->partial) {
      snprintf(err, errlen, "work %" PRId64 " writes row %" PRId64 " that no combine item reads in chunk order", i,
               w->partial);
      ok = false;
    }
  }
  free(reader);
  return ok;
}

void skv_plan_split_stats(const skv_plan *pl, int64_t *min, int64_t *max, double *mean) {
  int64_t lo = INT64_MAX, hi = 0;
  double sum = 0;
  for (int32_t r = 0; r < pl->num_requests; r++) {
    int64_t c = skv_plan_num_splits(pl, r);
    if (c < lo) lo = c;
    if (c > hi) hi = c;
    sum += (double)c;
  }
  *min = pl->num_requests ? lo : 0;
  *max = hi;
  *mean = pl->num_requests ? sum / pl->num_requests : 0;
}
