/* plan_lab_invariant.c — the lab's batch-invariant policy: a chunk length that depends on the
 * request's own length and the GPU only, chosen by the cost model, with a stated graph bound.
 *
 * Why: a request's bits depend on its chunk boundaries (invariance.h). `fixed` keeps them the same
 * in every batch with one chunk length for all lengths, which is slow where the GPU has few requests
 * to fill it (SGLang's deterministic mode, fixed tiles of 2048/4096 tokens: 34% on average by its
 * own report; vLLM's batch-invariant mode, one split: issue 17); `lab` picks the chunk from the whole
 * batch, so a request's boundaries move with its neighbours. Here the chunk of a request of KV
 * length L is a function c(L) of L and the GPU alone, so it is the same in every batch; the chunks
 * start at token 0 and are multiples of c(L), so a token's chunk is at an absolute position.
 *
 * The rule. L is rounded up to a bucket P (a power of two times 1, 1.25, 1.5 or 1.75, at least
 * 64): requests of about the same length share one decision, and a batch with many lengths needs
 * few. The candidates are one chunk of P tokens and every chunk of 64 * 2^j tokens (the kernel's
 * 64-token tile times a power of two, so chunk boundaries of two lengths line up) with at most
 * max_splits chunks over P. For each batch size B in 1, 2, 4, ..., 256 the cost model (cost_model.h)
 * predicts a batch of B requests of length P (the batch's heads, head dim, caches, page size and
 * query length: the model's shape, not the batch's mix) under each candidate; a candidate's regret
 * at B is its time over the best candidate's at B. c(L) is the candidate of least worst regret over
 * the batch sizes (ties to the longer chunk): the split that is never far from the best, whatever
 * the batch around the request turns out to be. Nothing of the batch but its shape enters.
 *
 * Graph bound: a request has at most max_splits chunks (P >= L), so a captured grid of
 * batch x hkv x query tiles x max_splits CTAs and scratch of batch x query rows x hq x max_splits
 * state rows holds every runtime batch of at most `batch` requests (the why line states it).
 *
 * The kernel form (row warps) follows the batch's largest query tile (invariance.h): a decode
 * request keeps its bits beside other decode requests; beside a longer query it runs another form. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cost_model.h"
#include "intmath.h"
#include "plan.h"
#include "policy.h"

#define INV_TILE 64          /* the decode kernel's token tile */
#define INV_BATCHES 9        /* batch sizes 1, 2, 4, ..., 256 */
#define INV_MAX_CANDIDATES 40

/* The decision bucket of a length: the least 2^k * (4 + i) / 4 (i = 0..3) >= L, at least 64. */
int64_t skv_lab_invariant_bucket(int64_t L) {
  if (L <= INV_TILE) return INV_TILE;
  int64_t p = INV_TILE;
  while (p * 2 < L) p *= 2; /* p < L <= 2p */
  for (int i = 1; i <= 4; i++)
    if (p * (4 + i) / 4 >= L) return p * (4 + i) / 4;
  return 2 * p;
}

/* c(P) for bucket P: the least-worst-regret candidate. False when out of memory. */
static bool choose_chunk(const skv_batch *shape, int64_t qlen, int64_t P, int32_t max_splits, const skv_gpu *gpu,
                         int32_t tile_rows, int64_t *chunk_out, double *regret_out) {
  int64_t cand[INV_MAX_CANDIDATES];
  int nc = 0;
  cand[nc++] = P; /* one chunk */
  for (int64_t c = INV_TILE; c < P && nc < INV_MAX_CANDIDATES; c *= 2)
    if (skv_ceil_div(P, c) <= max_splits) cand[nc++] = c;
  double t[INV_BATCHES][INV_MAX_CANDIDATES];
  bool ok = true;
  for (int bi = 0; ok && bi < INV_BATCHES; bi++) {
    const int32_t B = 1 << bi;
    skv_batch hb;
    if (!skv_batch_uniform(shape, B, qlen < P ? qlen : P, P, &hb)) return false;
    int64_t *chunks = malloc(sizeof(int64_t) * (size_t)B);
    skv_cost_ctx ctx;
    memset(&ctx, 0, sizeof ctx); /* freeable whether or not init runs */
    ok = chunks && skv_cost_ctx_init(&ctx, &hb, gpu);
    if (ok) {
      skv_cost_ctx_set_tile(&ctx, tile_rows > 0 ? tile_rows : skv_plan_default_tile_rows(&hb));
      for (int k = 0; ok && k < nc; k++) {
        for (int32_t r = 0; r < B; r++) chunks[r] = cand[k];
        skv_prediction pr;
        ok = skv_cost_predict_chunks(&ctx, chunks, 1e300, &pr);
        t[bi][k] = pr.total_us;
      }
    }
    skv_cost_ctx_free(&ctx);
    free(chunks);
    skv_batch_free(&hb);
  }
  if (!ok) return false;
  /* the objective: the geometric mean over the batch sizes of a candidate's time over the best
   * candidate's (the mean log regret), the same measure as issue 17's target; *regret_out is that
   * candidate's mean regret */
  int best = 0;
  double best_score = 0;
  for (int k = 0; k < nc; k++) {
    double score = 0;
    for (int bi = 0; bi < INV_BATCHES; bi++) {
      double lo = t[bi][0];
      for (int j = 1; j < nc; j++)
        if (t[bi][j] < lo) lo = t[bi][j];
      score += log(t[bi][k] / lo) / INV_BATCHES;
    }
    /* candidates come longest first after the whole one, so a tie keeps the longer chunk */
    if (k == 0 || score < best_score - 1e-12) best = k, best_score = score;
  }
  const double best_regret = exp(best_score) - 1;
  *chunk_out = cand[best];
  *regret_out = best_regret;
  return true;
}

bool skv_policy_lab_invariant(const skv_batch *b, const skv_policy_opts *o, const skv_gpu *gpu, skv_split_choice *c,
                              char *err, size_t errlen) {
  if (!skv_gpu_check(gpu, err, errlen)) return false;
  if (o->max_splits < 1) {
    snprintf(err, errlen, "max-splits: must be >= 1 (got %d)", o->max_splits);
    return false;
  }
  /* One decision per (bucket, query length) of the batch, memoized here only (a static cache would
   * make the planner's result depend on what it planned before, and on threads). */
  const int32_t n = b->num_requests;
  int64_t *keyP = malloc(sizeof(int64_t) * (size_t)n), *keyQ = malloc(sizeof(int64_t) * (size_t)n);
  int64_t *val = malloc(sizeof(int64_t) * (size_t)n);
  double *reg = malloc(sizeof(double) * (size_t)n);
  if (!keyP || !keyQ || !val || !reg) {
    free(keyP), free(keyQ), free(val), free(reg);
    snprintf(err, errlen, "lab-invariant: out of memory");
    return false;
  }
  int32_t known = 0;
  double worst = 0;
  bool ok = true;
  for (int32_t r = 0; ok && r < n; r++) {
    const int64_t L = b->kvlen[r];
    if (L == 0) {
      c->chunk_tokens[r] = 1;
      continue;
    }
    const int64_t P = skv_lab_invariant_bucket(L), Q = b->qlen[r];
    int32_t k = 0;
    while (k < known && !(keyP[k] == P && keyQ[k] == Q)) k++;
    if (k == known) {
      ok = choose_chunk(b, Q, P, o->max_splits, gpu, o->tile_rows, &val[k], &reg[k]);
      keyP[k] = P, keyQ[k] = Q;
      known++;
    }
    if (ok) {
      c->chunk_tokens[r] = val[k];
      if (reg[k] > worst) worst = reg[k];
    }
  }
  free(keyP), free(keyQ), free(val), free(reg);
  if (!ok) {
    snprintf(err, errlen, "lab-invariant: out of memory");
    return false;
  }
  int64_t cmin = 0, cmax = 0;
  for (int32_t r = 0; r < n; r++) {
    if (b->kvlen[r] == 0) continue;
    if (cmin == 0 || c->chunk_tokens[r] < cmin) cmin = c->chunk_tokens[r];
    if (c->chunk_tokens[r] > cmax) cmax = c->chunk_tokens[r];
  }
  snprintf(c->why, sizeof c->why,
           "chunks by own length (%s): %lld..%lld tokens, predicted +%.1f%% (geomean over batches 1..256, "
           "worst length); graph bound %d splits",
           gpu->name, (long long)cmin, (long long)cmax, 100 * worst, o->max_splits);
  return true;
}
