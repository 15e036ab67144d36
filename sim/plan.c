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

/* Tiles of request r: ceil(qlen / tile_tokens). */
static int64_t tiles_for(const skv_batch *b, int32_t r, int32_t tile_tokens) {
  return skv_ceil_div(b->qlen[r], tile_tokens);
}

/* Chunks a tile whose last query is q_end - 1 runs: those that begin before that query's key end
 * (at least the first, so every tile writes its rows). */
static int64_t visible_chunks(const skv_batch *b, int32_t r, const skv_chunk *ch, int64_t c, int64_t q_end) {
  const int64_t end = skv_batch_key_end(b, r, q_end - 1);
  int64_t k = 1;
  while (k < c && ch[k].begin < end) k++;
  return k;
}

int32_t skv_plan_default_tile_rows(const skv_batch *b) {
  const int64_t rows = skv_batch_max_qlen(b) * skv_batch_group(b);
  return rows <= 16 ? 16 : (rows <= 32 ? 32 : 64);
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
  const int32_t tile_rows =
      opts.tile_rows > 0 ? opts.tile_rows : (choice.tile_rows > 0 ? choice.tile_rows : skv_plan_default_tile_rows(b));
  if (tile_rows != 16 && tile_rows != 32 && tile_rows != 64) {
    free(choice.chunk_tokens);
    snprintf(err, errlen, "tile_rows: %d is not a tile the kernels run (allowed: 16, 32 or 64; 0: the policy's)",
             tile_rows);
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
  pl->mask = b->mask;
  pl->tile_rows = tile_rows;
  pl->tile_tokens = tile_rows / group > 1 ? tile_rows / group : 1;
  pl->batch_num_splits = choice.batch_num_splits;
  memcpy(pl->why, choice.why, sizeof pl->why);
  const int32_t tt = pl->tile_tokens;

  /* Chunks first (they fix which chunks each tile sees), then count CTAs, scratch rows and combine
   * items. */
  int64_t total_chunks = 0;
  for (int32_t r = 0; r < n; r++) total_chunks += chunks_for(b->kvlen[r], choice.chunk_tokens[r]);
  pl->chunk_offset = malloc((size_t)(n + 1) * sizeof *pl->chunk_offset);
  pl->chunks = malloc((size_t)total_chunks * sizeof *pl->chunks);
  if (!pl->chunk_offset || !pl->chunks) {
    free(choice.chunk_tokens);
    skv_plan_free(pl);
    snprintf(err, errlen, "plan: out of memory (%" PRId64 " chunks)", total_chunks);
    return false;
  }
  int64_t ci = 0, work = 0, combines = 0;
  for (int32_t r = 0; r < n; r++) {
    const int64_t L = b->kvlen[r], cs = choice.chunk_tokens[r], c = chunks_for(L, cs);
    pl->chunk_offset[r] = ci;
    for (int64_t k = 0; k < c; k++) {
      int64_t begin = k * cs, end = begin + cs < L ? begin + cs : L;
      pl->chunks[ci + k] = (skv_chunk){begin, end};
    }
    for (int64_t t = 0; t < tiles_for(b, r, tt); t++) {
      const int64_t qe = (t + 1) * tt < b->qlen[r] ? (t + 1) * tt : b->qlen[r];
      const int64_t v = visible_chunks(b, r, pl->chunks + ci, c, qe);
      work += v * hkv;
      if (v > 1) combines += hkv;
    }
    ci += c;
  }
  pl->chunk_offset[n] = ci;
  pl->num_chunks = ci;
  pl->work = malloc((size_t)(work > 0 ? work : 1) * sizeof *pl->work);
  pl->combine = malloc((size_t)(combines > 0 ? combines : 1) * sizeof *pl->combine);
  if (!pl->work || !pl->combine) {
    free(choice.chunk_tokens);
    skv_plan_free(pl);
    snprintf(err, errlen, "plan: out of memory (%" PRId64 " CTAs)", work);
    return false;
  }

  int64_t wi = 0, pi = 0, mi = 0, q_start = 0;
  for (int32_t r = 0; r < n; r++) {
    const skv_chunk *ch = pl->chunks + pl->chunk_offset[r];
    const int64_t c = skv_plan_num_splits(pl, r);
    for (int64_t t = 0; t < tiles_for(b, r, tt); t++) {
      const int32_t qb = (int32_t)(t * tt), qe = (int32_t)((t + 1) * tt < b->qlen[r] ? (t + 1) * tt : b->qlen[r]);
      const int64_t v = visible_chunks(b, r, ch, c, qe), rows = skv_tile_rows(qb, qe, group);
      /* Scratch rows of a split tile: kv head major, then chunk, then packed row, so that a combine
       * item reads its chunks' rows at a fixed stride. */
      for (int64_t k = 0; k < v; k++)
        for (int32_t h = 0; h < hkv; h++)
          pl->work[wi++] = (skv_work){.request = r, .kv_head = h, .chunk = (int32_t)k, .num_chunks = (int32_t)v,
                                      .kv_begin = ch[k].begin, .kv_end = ch[k].end,
                                      .partial = v > 1 ? pi + ((int64_t)h * v + k) * rows : -1,
                                      .q_begin = qb, .q_end = qe, .q_start = q_start,
                                      .key_end = skv_batch_key_end(b, r, qb)};
      if (v > 1) {
        for (int32_t h = 0; h < hkv; h++)
          pl->combine[mi++] = (skv_combine_item){.request = r, .kv_head = h, .num_chunks = (int32_t)v, .q_begin = qb,
                                                 .q_end = qe, .first_partial = pi + (int64_t)h * v * rows,
                                                 .q_start = q_start};
        pi += v * hkv * rows;
      }
    }
    q_start += b->qlen[r];
  }
  pl->num_work = wi;
  pl->num_combine = mi;
  pl->num_partials = pi;
  pl->scratch_o_bytes = pi * b->head_dim * 4;
  pl->scratch_lse_bytes = pi * 4;
  pl->grid_ctas = choice.grid_ctas > wi ? choice.grid_ctas : wi;
  pl->waves = (double)wi / ((double)num_sms * opts.blocks_per_sm);
  pl->full_waves = (int64_t)ceil(pl->waves);
  free(choice.chunk_tokens);
  return true;
}

#define CHECK_FAIL(...)                      \
  do {                                       \
    snprintf(err, errlen, __VA_ARGS__);      \
    goto fail;                               \
  } while (0)

bool skv_plan_check(const skv_plan *pl, const skv_batch *b, char *err, size_t errlen) {
  const int32_t hkv = b->num_kv_heads, group = skv_batch_group(b);
  int64_t *tile_first = NULL, *item_of = NULL, *starts = NULL;
  char *seen = NULL, *done = NULL;
  if (pl->num_requests != b->num_requests) {
    snprintf(err, errlen, "plan has %d requests, batch %d", pl->num_requests, b->num_requests);
    return false;
  }
  if (pl->mask != b->mask) {
    snprintf(err, errlen, "plan was made for another mask than the batch's");
    return false;
  }
  const int32_t tt = pl->tile_tokens;
  if (tt < 1 || pl->tile_rows < SKV_TILE_ROWS_MIN || pl->tile_rows > SKV_TILE_ROWS_MAX ||
      tt != (pl->tile_rows / group > 1 ? pl->tile_rows / group : 1)) {
    snprintf(err, errlen, "tile of %d rows / %d tokens does not fit group %d", pl->tile_rows, tt, group);
    return false;
  }
  /* Expected counts, chunk by chunk and tile by tile; tile_first[T]: the global index of request
   * T's first tile, so (tile, kv head) pairs have one slot each. */
  tile_first = malloc((size_t)(b->num_requests + 1) * sizeof *tile_first);
  if (!tile_first) CHECK_FAIL("check: out of memory");
  int64_t partials = 0, work = 0, combines = 0, tiles = 0;
  for (int32_t r = 0; r < b->num_requests; r++) {
    const int64_t c = skv_plan_num_splits(pl, r), L = b->kvlen[r];
    const skv_chunk *ch = skv_plan_chunks(pl, r);
    if (c < 1) CHECK_FAIL("request %d has no chunk", r);
    int64_t pos = 0;
    for (int64_t k = 0; k < c; k++) {
      if (ch[k].begin != pos)
        CHECK_FAIL("request %d chunk %" PRId64 " begins at %" PRId64 ", expected %" PRId64, r, k, ch[k].begin, pos);
      if (ch[k].end <= ch[k].begin && !(L == 0 && c == 1))
        CHECK_FAIL("request %d chunk %" PRId64 " is empty [%" PRId64 ", %" PRId64 ")", r, k, ch[k].begin, ch[k].end);
      pos = ch[k].end;
    }
    if (pos != L) CHECK_FAIL("request %d chunks end at %" PRId64 ", kv length is %" PRId64, r, pos, L);
    tile_first[r] = tiles;
    for (int64_t t = 0; t < tiles_for(b, r, tt); t++) {
      const int64_t qe = (t + 1) * tt < b->qlen[r] ? (t + 1) * tt : b->qlen[r];
      const int64_t v = visible_chunks(b, r, ch, c, qe), rows = (qe - t * tt) * group;
      work += v * hkv;
      if (v > 1) partials += v * hkv * rows, combines += hkv;
    }
    tiles += tiles_for(b, r, tt);
  }
  tile_first[b->num_requests] = tiles;
  if (pl->num_work != work) CHECK_FAIL("work list has %" PRId64 " CTAs, the tiles' visible chunks x kv heads are %" PRId64,
                                       pl->num_work, work);
  if (pl->num_partials != partials || pl->scratch_o_bytes != partials * b->head_dim * 4 ||
      pl->scratch_lse_bytes != partials * 4)
    CHECK_FAIL("scratch: %" PRId64 " rows / %" PRId64 " + %" PRId64 " bytes, the work list needs %" PRId64 " rows",
               pl->num_partials, pl->scratch_o_bytes, pl->scratch_lse_bytes, partials);
  if (pl->num_combine != combines)
    CHECK_FAIL("combine list has %" PRId64 " items, expected %" PRId64, pl->num_combine, combines);
  /* Each (tile, kv head) has at most one combine item, reading rows inside the scratch. */
  item_of = malloc((size_t)(tiles * hkv > 0 ? tiles * hkv : 1) * sizeof *item_of);
  seen = calloc((size_t)(partials > 0 ? partials : 1), 1);
  done = calloc((size_t)(tiles * hkv > 0 ? tiles * hkv : 1), 1);
  if (!item_of || !seen || !done) CHECK_FAIL("check: out of memory");
  for (int64_t i = 0; i < tiles * hkv; i++) item_of[i] = -1;
  int64_t q_start = 0;
  starts = malloc((size_t)(b->num_requests > 0 ? b->num_requests : 1) * sizeof *starts);
  if (!starts) CHECK_FAIL("check: out of memory");
  for (int32_t r = 0; r < b->num_requests; r++) starts[r] = q_start, q_start += b->qlen[r];
  for (int64_t j = 0; j < pl->num_combine; j++) {
    const skv_combine_item *m = &pl->combine[j];
    if (m->request < 0 || m->request >= b->num_requests || m->kv_head < 0 || m->kv_head >= hkv || m->q_begin < 0 ||
        m->q_begin % tt != 0 || m->q_begin >= b->qlen[m->request]) CHECK_FAIL("combine item %" PRId64 " names a request/head/tile out of range", j);
    const int64_t qe = m->q_begin + tt < b->qlen[m->request] ? m->q_begin + tt : b->qlen[m->request];
    const int64_t v = visible_chunks(b, m->request, skv_plan_chunks(pl, m->request), skv_plan_num_splits(pl, m->request), qe);
    const int64_t slot = (tile_first[m->request] + m->q_begin / tt) * hkv + m->kv_head;
    const int64_t rows = (qe - m->q_begin) * group;
    if (m->q_end != qe || m->num_chunks != v || v < 2 || m->q_start != starts[m->request] || item_of[slot] >= 0 ||
        m->first_partial < 0 || m->first_partial + v * rows > partials) CHECK_FAIL("combine item %" PRId64 " is inconsistent with its tile's chunks", j);
    item_of[slot] = j;
  }
  for (int64_t i = 0; i < pl->num_work; i++) {
    const skv_work *w = &pl->work[i];
    if (w->request < 0 || w->request >= b->num_requests || w->kv_head < 0 || w->kv_head >= hkv || w->chunk < 0 ||
        w->chunk >= skv_plan_num_splits(pl, w->request) || w->q_begin < 0 || w->q_begin % tt != 0 ||
        w->q_begin >= b->qlen[w->request]) CHECK_FAIL("work %" PRId64 " names a request/head/chunk/tile out of range", i);
    const int32_t r = w->request;
    const skv_chunk *ch = skv_plan_chunks(pl, r) + w->chunk;
    const int64_t qe = w->q_begin + tt < b->qlen[r] ? w->q_begin + tt : b->qlen[r];
    const int64_t v = visible_chunks(b, r, skv_plan_chunks(pl, r), skv_plan_num_splits(pl, r), qe);
    const int64_t rows = (qe - w->q_begin) * group;
    if (w->kv_begin != ch->begin || w->kv_end != ch->end) CHECK_FAIL("work %" PRId64 " range differs from its chunk", i);
    if (w->q_end != qe || w->q_start != starts[r] || w->key_end != skv_batch_key_end(b, r, w->q_begin)) CHECK_FAIL("work %" PRId64 ": query tile or key bound differs from the batch's", i);
    if (w->num_chunks != v || w->chunk >= v) CHECK_FAIL("work %" PRId64 ": the tile runs %" PRId64 " chunks, the work item says chunk %d of %d", i, v,
                 w->chunk, w->num_chunks);
    /* The slot (tile, kv head, chunk) once: the count check above then makes it a bijection. */
    const int64_t slot = (tile_first[r] + w->q_begin / tt) * hkv + w->kv_head;
    if (v == 1) {
      if (w->partial >= 0) CHECK_FAIL("work %" PRId64 ": partial row %" PRId64 " but its tile runs one chunk", i, w->partial);
      if (done[slot]) CHECK_FAIL("work %" PRId64 ": its (tile, kv head) appears twice", i);
      done[slot] = 1;
      continue;
    }
    const int64_t j = item_of[slot];
    if (w->partial < 0 || w->partial + rows > partials || j < 0 ||
        pl->combine[j].first_partial + w->chunk * rows != w->partial) CHECK_FAIL("work %" PRId64 " writes rows %" PRId64 ".. that no combine item reads in chunk order", i, w->partial);
    for (int64_t x = 0; x < rows; x++) {
      if (seen[w->partial + x]) CHECK_FAIL("work %" PRId64 ": scratch row %" PRId64 " written twice", i, w->partial + x);
      seen[w->partial + x] = 1;
    }
  }
  free(tile_first), free(item_of), free(seen), free(done), free(starts);
  return true;
fail:
  free(tile_first), free(item_of), free(seen), free(done), free(starts);
  return false;
}

int32_t skv_plan_max_tile_rows(const skv_plan *pl) {
  const int32_t G = pl->num_q_heads / pl->num_kv_heads;
  int64_t rows = G;
  for (int64_t i = 0; i < pl->num_work; i++) {
    const int64_t x = skv_tile_rows(pl->work[i].q_begin, pl->work[i].q_end, G);
    if (x > rows || i == 0) rows = x;
  }
  return (int32_t)rows;
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
