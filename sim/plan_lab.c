/* plan_lab.c — the lab's own policy: the chunk length that the cost model (cost_model.h) predicts fastest.
 *
 * Candidates: one chunk per request, and every chunk length ceil(max_kvlen / s)
 * rounded up to the decode kernel's 64-token tile, for s = 2 .. 128. Each
 * candidate is the plan `fixed` would make with that chunk, predicted by the
 * cost model for the GPU the caller plans for (gpu.h: its SMs, read ceiling,
 * per-CTA rates, fixed costs and the kernel's residency; the combine priced the
 * same whether fused into decode or not, cost_model.h) without building the
 * plan (skv_cost_predict_chunks); the fastest wins, ties to the longer chunk. The choice depends on the whole batch (its longest request and its
 * size), so it is not batch-invariant: `fixed` is the lab's batch-invariant
 * policy.
 *
 * Then one rule the model does not see: fill the last wave. When the chosen plan
 * has more CTAs than the GPU's slots (SMs x resident decode CTAs per SM) and its
 * last wave is at most half full, the requests whose CTAs all fall in that wave
 * are cut into k times shorter chunks (rounded up to the tile), the least k
 * from 2 to 8 that gives them half a wave of CTAs or more. The model does not
 * price this step (it predicts the uniform plan a little faster). Why:
 * the hardware gives a late CTA the slot of an SM that finished, up to 4 to an
 * SM for 8-bit caches, and one SM reads at most ~28 GB/s (H100 CTA timelines:
 * the per-SM maximum of results/bench_decode/20261122-1356-548eafd-timelines),
 * so a part-filled last wave on few SMs cannot reach the read ceiling. Measured
 * on the H100 (fp8, 96 x 8192: 768 CTAs on 528 slots, a last wave of 240):
 * 0.873-0.878 of the read ceiling unsplit, 0.936-0.947 with that wave's
 * requests in halves (k = 2; two calls), 0.908 in thirds
 * (results/bench_decode/20261122-1430-65f0053-fill-last-wave). That is option taper = 0.
 *
 * Option taper = d >= 1 cuts the whole tail instead: in a plan of more CTAs than slots, each
 * request r, in work-list order (the order CTAs start in), gets chunks of about R_r / (d S) tokens,
 * R_r the token-heads of requests r.. (the work not yet started when r's CTAs start) and S the
 * slots: never longer than the model's chunk, never under 512 tokens (8 tiles: a CTA's fixed part,
 * 3-5 us of prologue and epilogue on the H200 timelines, stays a small part of its time), equal
 * within the request. In integers: k_r = ceil(L_r d S / R_r) chunks of ceil(L_r / k_r) tokens
 * rounded up to the tile. For a batch of equal lengths that is k = ceil(d S / (H m)) with m the
 * requests left: the requests still to start, cut that way, give every slot at least d CTAs more.
 * So the CTAs that start last are short and the SMs run out of work together. This is the
 * "factoring" rule of loop scheduling (Hummel, Schonberg and Flynn, CACM 35(8), 1992: each batch
 * of P chunks takes half the work left; guided self-scheduling, d = 1, takes all of it,
 * Polychronopoulos and Kuck, IEEE TC 36(12), 1987) applied to the hardware's CTA queue: the block
 * scheduler starts CTAs in order as slots free up, which is already the dynamic distribution a
 * persistent grid with an atomic work counter gives (FlashAttention-3's dynamic tile scheduler,
 * hopper/tile_scheduler.hpp); what it lacks is short work at the end. Why: on the H200 the SMs
 * stream at different rates (29.5-34.8 GB/s at fp8 128 x 8192, cc73ba2 CTA timelines,
 * results/bench_decode/20261129-1055-cc73ba2-timelines), so with whole 8192-token requests the
 * first SM runs dry 39 us (fp8) and 50 us (int8) before the last, and the drain reads at ~0.95
 * TB/s. The model does not price the taper (it predicts the uniform plan as fast or faster).
 * Measured (H200, 0ab8e8d, results/bench_decode/20261129-1510-0ab8e8d-taper): the drain shrinks
 * (fp8 / int8 128 x 8192: 37.6 / 49.8 -> 8.4 / 9.8 us) but the rate before it falls (4.41 / 4.33 ->
 * 4.23 / 4.12 TB/s): every extra CTA waits 6-7 us under full load for its first tile while its slot
 * streams nothing. Totals level at 128 x 8192, 2-7% slower at 128 x 2048: hence 0 by default.
 *
 * Query length > 1: the plan's default tiles (plan.h: the fewest rows, 16, 32 or 64, that hold the
 * longest query times the group, so that a speculative verify step reads each K/V byte once); the
 * candidates are predicted with those tiles (each running the chunks its last query
 * sees, cost_model.h). The last-wave rule is a decode rule and is not applied. The model prices
 * bytes only: a prefill tile's tensor-core work is not in it (README, "The cost model"). */
#include <math.h>
#include <stdio.h>

#include "cost_model.h"
#include "intmath.h"
#include "plan.h"
#include "policy.h"

#define LAB_TILE 64
#define LAB_MAX_SPLITS 128

/* CTAs of request r in chunks of `chunk` tokens (an empty request still has one chunk). */
static int64_t request_ctas(const skv_batch *b, int32_t r, int64_t chunk) {
  const int64_t chunks = b->kvlen[r] == 0 ? 1 : skv_ceil_div(b->kvlen[r], chunk);
  return chunks * b->num_kv_heads;
}

/* The rule above: cut the requests of a part-filled last wave into shorter chunks (in
 * chunk_tokens). Returns the new chunk length and their count in *requests (0: no change). */
static int64_t fill_last_wave(const skv_batch *b, const skv_gpu *gpu, int64_t chunk, int64_t *chunk_tokens,
                              int32_t *requests) {
  *requests = 0;
  const int64_t slots = skv_gpu_slots(gpu, b);
  if (slots <= 0) return chunk;
  int64_t total = 0;
  for (int32_t r = 0; r < b->num_requests; r++) total += request_ctas(b, r, chunk);
  const int64_t last = total % slots;
  if (total <= slots || last == 0 || 2 * last > slots) return chunk;
  /* CTAs start in work-list order (request by request): the last wave starts at CTA total - last,
   * and the requests whose CTAs all start there make it up. The least k (2..8) whose chunks,
   * rounded to the tile, give those requests half a wave of CTAs or more. */
  int32_t first_tail = b->num_requests;
  for (int64_t first = 0, r = 0; r < b->num_requests; r++) {
    if (first >= total - last) {
      first_tail = (int32_t)r;
      break;
    }
    first += request_ctas(b, (int32_t)r, chunk);
  }
  int64_t shorter = chunk;
  for (int64_t k = 2; k <= 8; k++) {
    shorter = skv_ceil_div(skv_ceil_div(chunk, k), LAB_TILE) * LAB_TILE;
    int64_t tail = 0;
    for (int32_t r = first_tail; r < b->num_requests; r++) tail += request_ctas(b, r, shorter);
    if (2 * tail >= slots) break;
  }
  if (shorter >= chunk) return chunk;
  for (int32_t r = first_tail; r < b->num_requests; r++)
    if (b->kvlen[r] > shorter) {
      chunk_tokens[r] = shorter;
      (*requests)++;
    }
  return *requests > 0 ? shorter : chunk;
}

#define TAPER_MIN_TOKENS 512

/* The taper (option taper = d >= 1, above): chunk_tokens of each request of a plan over one wave.
 * Returns the shortest chunk and the requests cut shorter than `chunk` in *requests. */
static int64_t taper_tail(const skv_batch *b, const skv_gpu *gpu, int64_t chunk, int32_t d, int64_t *chunk_tokens,
                          int32_t *requests) {
  *requests = 0;
  const int64_t slots = skv_gpu_slots(gpu, b);
  int64_t total = 0, left = 0; /* CTAs; token-heads of the requests not yet passed */
  for (int32_t r = 0; r < b->num_requests; r++) {
    total += request_ctas(b, r, chunk);
    left += b->kvlen[r] * b->num_kv_heads;
  }
  if (slots <= 0 || total <= slots) return chunk;
  int64_t shortest = chunk;
  for (int32_t r = 0; r < b->num_requests; r++) {
    const int64_t L = b->kvlen[r];
    if (L > 0) { /* then left >= L H > 0 */
      const int64_t at_least = skv_ceil_div(L, chunk);                      /* never longer than chunk */
      const int64_t at_most = L / TAPER_MIN_TOKENS > 1 ? L / TAPER_MIN_TOKENS : 1; /* never under 512 */
      int64_t k = skv_ceil_div(L * d * slots, left);
      if (k > at_most) k = at_most;
      if (k < at_least) k = at_least;
      int64_t c = skv_ceil_div(skv_ceil_div(L, k), LAB_TILE) * LAB_TILE;
      if (c > chunk) c = chunk;
      chunk_tokens[r] = c;
      if (c < chunk && c < L) {
        (*requests)++;
        if (c < shortest) shortest = c;
      }
    }
    left -= L * b->num_kv_heads;
  }
  return shortest;
}

bool skv_policy_lab(const skv_batch *b, const skv_policy_opts *o, const skv_gpu *gpu, skv_split_choice *c, char *err,
                    size_t errlen) {
  if (!skv_gpu_check(gpu, err, errlen)) return false;
  skv_cost_ctx ctx;
  if (!skv_cost_ctx_init(&ctx, b, gpu)) {
    skv_cost_ctx_free(&ctx);
    snprintf(err, errlen, "lab: out of memory");
    return false;
  }
  const int64_t max_q = skv_batch_max_qlen(b);
  skv_cost_ctx_set_tile(&ctx, o->tile_rows > 0 ? o->tile_rows : skv_plan_default_tile_rows(b)); /* plan.h's tile */
  const int64_t max_k = skv_batch_max_kvlen(b);
  int64_t best_chunk = max_k > 0 ? max_k : 1, tried = 0;
  double best_us = -1;
  bool ok = true;
  /* Every candidate, in two passes: a spread of split counts first, so that a good plan is known
   * early, then the rest; a candidate stops as soon as it cannot beat the best so far (its lower
   * bound, then its schedule's running bound). The choice is that of trying all in order: the
   * least predicted time, ties (within 1e-9 us) to the longer chunk. */
  static const int8_t spread[] = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128};
  const int nspread = (int)(sizeof spread / sizeof spread[0]);
  for (int pass = 0; ok && pass < 2; pass++) {
    int64_t previous = 0;
    for (int64_t s = 1; ok && s <= LAB_MAX_SPLITS; s++) {
      bool in_spread = false;
      for (int i = 0; i < nspread && !in_spread; i++) in_spread = spread[i] == s;
      const int64_t chunk = s == 1 ? (max_k > 0 ? max_k : 1) : skv_ceil_div(skv_ceil_div(max_k, s), LAB_TILE) * LAB_TILE;
      if (s > 1 && chunk < LAB_TILE) break;
      if (chunk == previous) continue; /* several split counts round to the same tile multiple */
      previous = chunk;
      if (in_spread != (pass == 0)) continue;
      for (int32_t r = 0; r < b->num_requests; r++) c->chunk_tokens[r] = chunk;
      tried++;
      /* what this candidate must stay below to win: a longer chunk also wins a tie */
      const double bar = best_us < 0 ? INFINITY : (chunk > best_chunk ? best_us + 1e-9 : best_us - 1e-9);
      if (skv_cost_lower_bound_chunks(&ctx, c->chunk_tokens) >= bar) continue;
      skv_prediction pr;
      ok = skv_cost_predict_chunks(&ctx, c->chunk_tokens, bar, &pr);
      if (ok && pr.total_us < bar) {
        best_us = pr.total_us;
        best_chunk = chunk;
      }
    }
  }
  skv_cost_ctx_free(&ctx);
  if (!ok) {
    snprintf(err, errlen, "lab: out of memory");
    return false;
  }
  for (int32_t r = 0; r < b->num_requests; r++) c->chunk_tokens[r] = best_chunk;
  int32_t tail_requests = 0;
  int64_t tail_chunk = best_chunk;
  if (max_q == 1)
    tail_chunk = o->taper > 0 ? taper_tail(b, gpu, best_chunk, o->taper, c->chunk_tokens, &tail_requests)
                              : fill_last_wave(b, gpu, best_chunk, c->chunk_tokens, &tail_requests);
  int n = snprintf(c->why, sizeof c->why, "cost model (%s, %d SMs, %d CTAs/SM): chunks of %lld tokens, "
                   "predicted %.1f us uniform (best of %lld candidates)",
                   gpu->name, gpu->sms, skv_gpu_ctas_per_sm(gpu, b), (long long)best_chunk, best_us, (long long)tried);
  if (tail_requests > 0 && n > 0 && (size_t)n < sizeof c->why) {
    if (o->taper > 0)
      snprintf(c->why + n, sizeof c->why - (size_t)n, "; tail tapered (taper %d): %d request%s in shorter chunks, down to %lld tokens",
               o->taper, tail_requests, tail_requests == 1 ? "" : "s", (long long)tail_chunk);
    else
      snprintf(c->why + n, sizeof c->why - (size_t)n, "; last wave filled: %d request%s in chunks of %lld tokens",
               tail_requests, tail_requests == 1 ? "" : "s", (long long)tail_chunk);
  }
  return true;
}
