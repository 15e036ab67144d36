/* cost_model.c — bandwidth, CTA-schedule and combine terms of the split-KV cost model. */
#include "cost_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "intmath.h"

/* `count` consecutive CTAs of the work list that read `bytes` each. */
typedef struct skv_cost_run {
  double bytes;
  int64_t count;
} skv_cost_run;

/* CTAs that finish at one point of the shared service clock (below). */
typedef struct skv_cost_event {
  double finish;
  int64_t count;
} skv_cost_event;

/* Written for k = 4: x^-4 by two squarings of 1/x, y^(-1/4) by two square roots (a tenth of pow's
 * cost; the lab policy evaluates it for every resident count of every candidate). */
_Static_assert((int)SKV_COST_KNEE == 4, "skv_cost_aggregate_rate is written for SKV_COST_KNEE 4");

double skv_cost_aggregate_rate(double n, double cta, double read) {
  const double a = 1.0 / (n * cta), b = 1.0 / read;
  return 1.0 / sqrt(sqrt(a * a * a * a + b * b * b * b));
}

/* table[n] = microseconds per byte of each of n resident CTAs sharing aggregate_rate(n) under
 * ceiling (bytes/us), n = 0..slots. */
static void fill_rate_table(const skv_cost_ctx *ctx, double *table, double ceiling) {
  table[0] = 0;
  for (int64_t n = 1; n <= ctx->slots; n++)
    table[n] = (double)n / skv_cost_aggregate_rate((double)n, ctx->cta_bpus, ceiling);
}

bool skv_cost_ctx_init(skv_cost_ctx *ctx, const skv_batch *b, const skv_gpu *g) {
  memset(ctx, 0, sizeof *ctx);
  ctx->b = b;
  ctx->g = g;
  /* A work item reads, per token of its KV head, the K and V elements and the per-token scales
   * beside them (batch.h); a per-channel V scale array is read once per CTA, from L2: not counted. */
  ctx->token_bytes = skv_batch_token_kv_bytes(b) + skv_batch_token_scale_bytes(b);
  ctx->slots = skv_gpu_slots(g, b);
  if (ctx->slots < 1) ctx->slots = 1;
  ctx->read_bpus = g->read_tbps * 1e6;
  ctx->inv_rate = malloc(sizeof *ctx->inv_rate * (size_t)(ctx->slots + 1));
  if (!ctx->inv_rate) return false;
  skv_cost_ctx_set_tile(ctx, SKV_TILE_ROWS_MIN); /* the rates, and the table from them */
  return true;
}

void skv_cost_ctx_set_tile(skv_cost_ctx *ctx, int32_t tile_rows) {
  const int32_t G = skv_batch_group(ctx->b);
  ctx->tile_tokens = tile_rows / G > 1 ? tile_rows / G : 1;
  const int64_t maxq = skv_batch_max_qlen(ctx->b);
  ctx->tile_rows = (int32_t)((maxq < ctx->tile_tokens ? maxq : ctx->tile_tokens) * G);
  /* The per-CTA terms by the rows a CTA holds (decode: the group's q heads; a query tile: its
   * packed rows, the class of 9 and more for 16 to 64), not by the group alone. */
  const skv_gpu_rates r = skv_gpu_rates_of_rows(ctx->g, ctx->b, ctx->tile_rows);
  const bool same = ctx->cta_bpus == r.cta_gbps * 1e3 && ctx->stream_bpus == r.stream_tbps * 1e6;
  ctx->rates = r;
  ctx->stream_bpus = r.stream_tbps * 1e6;
  ctx->cta_bpus = r.cta_gbps * 1e3;
  if (!same && ctx->inv_rate) {
    fill_rate_table(ctx, ctx->inv_rate, ctx->stream_bpus);
    ctx->blend_bpus = 0; /* the reread table, made for the old rates, is made again when needed */
  }
}

/* Keys a work item reads: its chunk up to its last query's bound (decode_kernel.cuh). */
static int64_t work_keys(const skv_work *w) {
  const int64_t last = w->key_end + (w->q_end - 1 - w->q_begin);
  const int64_t end = w->kv_end < last ? w->kv_end : last;
  return end > w->kv_begin ? end - w->kv_begin : 0;
}

void skv_cost_ctx_free(skv_cost_ctx *ctx) {
  free(ctx->inv_rate);
  free(ctx->inv_blend);
  free(ctx->runs);
  free(ctx->heap);
  memset(ctx, 0, sizeof *ctx);
}

/* Append `count` CTAs of `bytes` each to the runs, joining the last run when it reads the same. */
static bool add_run(skv_cost_ctx *ctx, double bytes, int64_t count) {
  if (count <= 0) return true;
  if (ctx->nruns > 0 && ctx->runs[ctx->nruns - 1].bytes == bytes) {
    ctx->runs[ctx->nruns - 1].count += count;
    return true;
  }
  if (ctx->nruns == ctx->cap_runs) {
    const int64_t cap = ctx->cap_runs ? 2 * ctx->cap_runs : 64;
    skv_cost_run *r = realloc(ctx->runs, sizeof *r * (size_t)cap);
    if (!r) return false;
    ctx->runs = r;
    ctx->cap_runs = cap;
  }
  ctx->runs[ctx->nruns++] = (skv_cost_run){bytes, count};
  return true;
}

/* A binary min-heap of events by finish point. */
static void heap_push(skv_cost_event *h, int64_t *n, skv_cost_event x) {
  int64_t i = (*n)++;
  while (i > 0 && h[(i - 1) / 2].finish > x.finish) {
    h[i] = h[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  h[i] = x;
}

static void heap_pop(skv_cost_event *h, int64_t *n) {
  const skv_cost_event last = h[--*n];
  int64_t i = 0;
  for (;;) {
    int64_t c = 2 * i + 1;
    if (c >= *n) break;
    if (c + 1 < *n && h[c + 1].finish < h[c].finish) c++;
    if (h[c].finish >= last.finish) break;
    h[i] = h[c];
    i = c;
  }
  if (*n > 0) h[i] = last;
}

/* The decode schedule of ctx's runs: CTAs start in work-list order in the first free of the
 * slots and stream their bytes while the n resident CTAs share aggregate_rate(n) equally
 * (processor sharing). All of them gain service at one rate, so the next to finish is the one
 * with the least bytes left: kept as finish points on the shared service clock v (bytes each
 * resident CTA has had since time 0). CTAs admitted at one instant with equal bytes share a
 * finish point, so one event stands for all of them, and events that end together are taken
 * together: the time advances by the same steps as a CTA-by-CTA simulation (which would add
 * zero-length steps between CTAs finishing together); whole rounds inside a long run of equal CTAs
 * are taken at once (below), equal to the rounds one by one up to rounding.
 * Returns the time the last CTA ends; 0 without work, -1 when out of memory. A CTA's fixed cost
 * is not in here: CTAs desynchronize, so one CTA's fixed phase overlaps the others' streaming,
 * and skv_cost_predict adds it once. */
static double shared_schedule(skv_cost_ctx *ctx, const double *inv_rate, double limit) {
  int64_t total = 0, most = 0;
  double unstarted = 0; /* bytes of the CTAs not started yet */
  double fifo_bytes = -1; /* the bytes of the largest run: its events go to a queue, not the heap (below) */
  for (int64_t i = 0; i < ctx->nruns; i++) {
    total += ctx->runs[i].count, unstarted += (double)ctx->runs[i].count * ctx->runs[i].bytes;
    if (ctx->runs[i].count > most) most = ctx->runs[i].count, fifo_bytes = ctx->runs[i].bytes;
  }
  if (total == 0) return 0.0;
  /* Every event holds at least one resident CTA: the heap and the queue hold at most `bound`. */
  const int64_t bound = ctx->slots < total ? ctx->slots : total;
  if (2 * bound > ctx->cap_heap) {
    skv_cost_event *h = realloc(ctx->heap, sizeof *h * (size_t)(2 * bound));
    if (!h) return -1.0;
    ctx->heap = h;
    ctx->cap_heap = 2 * bound;
  }
  /* Events of fifo_bytes are pushed at non-decreasing service points v, so their finish points
   * (v + fifo_bytes) come in order: a ring queue keeps them sorted at O(1) a push and a pop, and the
   * heap holds only the others (with random request lengths, most events are full chunks). */
  skv_cost_event *heap = ctx->heap, *fifo = ctx->heap + bound;
  int64_t nheap = 0, fhead = 0, nfifo = 0, resident = 0, run = 0, taken = 0; /* taken: CTAs of runs[run] started */
  double t = 0.0, v = 0.0, last = 0.0;                 /* last: the latest finish point pushed */
  double sum_finish = 0.0; /* sum over resident CTAs of their finish points: their bytes left are sum - resident v */
  /* No schedule streams faster than every slot at once: bytes left times this is a lower bound. */
  const double fastest = inv_rate[bound] / (double)bound;
  int64_t admit = bound;
  for (;;) {
    /* Start `admit` CTAs at service point v, run by run. */
    while (admit > 0 && run < ctx->nruns) {
      const int64_t left = ctx->runs[run].count - taken, k = admit < left ? admit : left;
      const double f = v + ctx->runs[run].bytes;
      if (ctx->runs[run].bytes == fifo_bytes) {
        /* the same finish point as the queue's newest event (admitted at this v): one event */
        if (nfifo > 0 && fifo[(fhead + nfifo - 1) % bound].finish == f) fifo[(fhead + nfifo - 1) % bound].count += k;
        else fifo[(fhead + nfifo++) % bound] = (skv_cost_event){f, k};
      } else {
        heap_push(heap, &nheap, (skv_cost_event){f, k});
      }
      if (f > last) last = f;
      sum_finish += (double)k * f;
      unstarted -= (double)k * ctx->runs[run].bytes;
      resident += k, admit -= k, taken += k;
      if (taken == ctx->runs[run].count) run++, taken = 0;
    }
    /* Whole rounds inside a long run: when every resident CTA ends within one CTA of the run
     * (last <= v + bytes) and the run still holds `resident` CTAs or more, each resident event ends
     * and restarts with one of them in turn, K times, at an unchanged resident count: the state
     * after K rounds is this one shifted by K * bytes on the service clock. */
    if (run < ctx->nruns && nheap + nfifo > 0 && ctx->runs[run].count - taken >= resident &&
        last <= v + ctx->runs[run].bytes && ctx->runs[run].bytes > 0) {
      const double bytes = ctx->runs[run].bytes;
      const int64_t k = (ctx->runs[run].count - taken) / resident;
      const double shift = (double)k * bytes;
      for (int64_t i = 0; i < nheap; i++) heap[i].finish += shift;
      for (int64_t i = 0; i < nfifo; i++) fifo[(fhead + i) % bound].finish += shift;
      sum_finish += (double)resident * shift;
      unstarted -= (double)(k * resident) * bytes;
      t += shift * inv_rate[resident];
      v += shift, last += shift, taken += k * resident;
      if (taken == ctx->runs[run].count) run++, taken = 0;
    }
    if (nheap + nfifo == 0) break;
    /* A schedule that can no longer end within limit is not finished (the lab policy's search). */
    if (t + (sum_finish - (double)resident * v + unstarted) * fastest > limit) return -2.0;
    /* The next finish point, every event ending there at once (from the heap and the queue). */
    double next = INFINITY;
    if (nheap > 0) next = heap[0].finish;
    if (nfifo > 0 && fifo[fhead].finish < next) next = fifo[fhead].finish;
    int64_t count = 0;
    while (nheap > 0 && heap[0].finish == next) {
      count += heap[0].count;
      heap_pop(heap, &nheap);
    }
    while (nfifo > 0 && fifo[fhead].finish == next) {
      count += fifo[fhead].count;
      fhead = (fhead + 1) % bound, nfifo--;
    }
    t += (next - v) * inv_rate[resident];
    v = next;
    sum_finish -= (double)count * next;
    resident -= count;
    admit = count;
  }
  return t;
}

/* The CTAs' fixed cost when num_work of them are launched: the stream's own plus its part per
 * resident CTA per SM of the first wave. */
static double fixed_cost(const skv_cost_ctx *ctx, int64_t num_work) {
  const int64_t first = num_work < ctx->slots ? num_work : ctx->slots;
  return ctx->rates.fixed_us + ctx->rates.fixed_sm_us * (double)first / (double)ctx->g->sms;
}

/* The CTAs past the first wave: each costs its slot cta_us beyond its bytes, so together
 * cta_us x (CTAs - slots) / slots (gpu.h; what skv calibrate measures as the many-wave plan's
 * excess over the same bytes in one wave). */
static double later_waves_cost(const skv_cost_ctx *ctx, int64_t num_work) {
  return num_work > ctx->slots ? ctx->g->cta_us * (double)(num_work - ctx->slots) / (double)ctx->slots : 0.0;
}

/* The combine's time: its CTAs in waves of the slots, each wave as long as its largest CTA. A
 * combine item's rows merge on ceil(rows / (4 threads / head_dim)) CTAs, each of whose
 * SKV_MERGE_THREADS threads takes 4 columns of one row over every chunk (kernels/merge.cuh,
 * combine.cu; decode: the rows are the group's q heads). */
static double combine_cost(const skv_cost_ctx *ctx, int64_t num_combine, int64_t max_chunks, double partial_bytes) {
  if (num_combine <= 0) return 0;
  const skv_gpu *g = ctx->g;
  int64_t per = 4 * SKV_MERGE_THREADS / ctx->b->head_dim;
  if (per < 1) per = 1;
  const int64_t ctas = num_combine * ((ctx->tile_rows + per - 1) / per);
  const double waves = ceil((double)ctas / (double)ctx->slots);
  return g->launch_us + waves * (g->combine_item_us + g->combine_chunk_us * (double)max_chunks) +
         partial_bytes / ctx->read_bpus;
}

/* The tensor work's time: no less than the whole work at the GPU's rate, nor than the largest CTA
 * at one CTA's rate (its warps issue its MMAs; gpu.h cta_tflops, 0: not modelled). */
static double compute_time(const skv_cost_ctx *ctx, double flops, double max_cta_flops) {
  const double all = flops / (ctx->g->mma_tflops * 1e6);
  return ctx->g->cta_tflops > 0 ? fmax(all, max_cta_flops / (ctx->g->cta_tflops * 1e6)) : all;
}

/* The per-byte times of the resident CTAs when their stream ceiling is `ceiling` bytes/us (what
 * reads from HBM and from L2 together reach: below, predict): ctx's table for the HBM ceiling
 * alone, else one made (and kept) for this ceiling; NULL when out of memory. */
static const double *rate_table(skv_cost_ctx *ctx, double ceiling) {
  if (ceiling == ctx->stream_bpus) return ctx->inv_rate;
  if (ctx->inv_blend && ctx->blend_bpus == ceiling) return ctx->inv_blend;
  if (!ctx->inv_blend) {
    ctx->inv_blend = malloc(sizeof *ctx->inv_blend * (size_t)(ctx->slots + 1));
    if (!ctx->inv_blend) return NULL;
  }
  fill_rate_table(ctx, ctx->inv_blend, ceiling);
  ctx->blend_bpus = ceiling;
  return ctx->inv_blend;
}

/* The reads' time: dram_bytes of the kv_bytes first reads at the stream ceiling, the rest rereads
 * at the GPU's L2 rate (every byte at the ceiling when the GPU has none). */
static double reads_time(const skv_cost_ctx *ctx, int64_t kv_bytes, int64_t dram_bytes) {
  const double reread = (double)(kv_bytes - dram_bytes);
  return ctx->g->l2_tbps > 0 && reread > 0
             ? (double)dram_bytes / ctx->stream_bpus + reread / (ctx->g->l2_tbps * 1e6)
             : (double)kv_bytes / ctx->stream_bpus;
}

/* The terms from the work (ctx's runs, the bytes they read, dram_bytes of them first reads, their
 * flops) and the combine (items, the largest one's chunks, partial bytes); a total not below bound
 * is INFINITY (and the schedule stops once it cannot be). The reads' time: first reads at the
 * stream ceiling, rereads at the GPU's L2 rate; the schedule's CTAs share the ceiling that both
 * together give (kv_bytes over that time). */
static void predict(skv_cost_ctx *ctx, int64_t kv_bytes, int64_t dram_bytes, double flops, double max_cta_flops,
                    int64_t num_work, int64_t num_combine, int64_t max_chunks, double partial_bytes, double bound,
                    skv_prediction *out) {
  const skv_gpu *g = ctx->g;
  const double fixed = fixed_cost(ctx, num_work) + later_waves_cost(ctx, num_work);
  if (dram_bytes > kv_bytes) dram_bytes = kv_bytes;
  if (dram_bytes < 0) dram_bytes = 0;
  const double reads_us = reads_time(ctx, kv_bytes, dram_bytes);
  const double *inv = rate_table(ctx, kv_bytes > dram_bytes && g->l2_tbps > 0 && reads_us > 0
                                          ? (double)kv_bytes / reads_us
                                          : ctx->stream_bpus);
  out->kv_bytes = kv_bytes;
  out->dram_bytes = dram_bytes;
  out->flops = flops;
  out->combine_us = combine_cost(ctx, num_combine, max_chunks, partial_bytes);
  out->bandwidth_us = fixed + reads_us;
  out->compute_us = g->mma_tflops > 0 ? fixed + compute_time(ctx, flops, max_cta_flops) : 0.0;
  /* the schedule matters below bound only if it ends before bound less everything else */
  const double sched = inv ? shared_schedule(ctx, inv, bound - out->combine_us - g->launch_us - fixed) : -1.0;
  out->makespan_us = sched >= 0 ? fixed + sched : sched; /* -1: out of memory, -2: past the bound */
  out->decode_us =
      num_work > 0 ? g->launch_us + fmax(fmax(out->bandwidth_us, out->makespan_us), out->compute_us) : 0.0;
  out->total_us = out->decode_us + out->combine_us;
  if (sched == -2.0 || out->total_us >= bound) out->total_us = INFINITY;
}

/* The flops of a work item: QK^T and PV over the keys it reads, for its real rows. */
static double work_flops(const skv_work *w, int32_t group, int32_t head_dim) {
  return 4.0 * (double)skv_tile_rows(w->q_begin, w->q_end, group) * (double)work_keys(w) * (double)head_dim;
}

bool skv_cost_predict_shared(const skv_plan *p, const skv_batch *b, const skv_gpu *g, int64_t shared_bytes,
                             skv_prediction *out) {
  skv_cost_ctx ctx;
  bool ok = skv_cost_ctx_init(&ctx, b, g);
  if (ok) skv_cost_ctx_set_tile(&ctx, p->tile_rows);
  const int32_t group = skv_batch_group(b);
  int64_t kv_bytes = 0, max_chunks = 0;
  double flops = 0, max_cta_flops = 0;
  /* first reads: each request's keys once per KV head, the furthest any of its items reads (its
   * chunks cover the keys from 0; the query tiles of one chunk read the same keys) */
  int64_t *furthest = ok ? calloc((size_t)(b->num_requests > 0 ? b->num_requests : 1), sizeof *furthest) : NULL;
  ok = ok && furthest;
  for (int64_t i = 0; i < p->num_combine; i++)
    if (p->combine[i].num_chunks > max_chunks) max_chunks = p->combine[i].num_chunks;
  for (int64_t i = 0; ok && i < p->num_work; i++) {
    const skv_work *w = &p->work[i];
    const int64_t keys = work_keys(w), bytes = keys * ctx.token_bytes;
    kv_bytes += bytes;
    const double wf = work_flops(w, group, b->head_dim);
    flops += wf;
    if (wf > max_cta_flops) max_cta_flops = wf;
    if (keys > 0 && w->kv_begin + keys > furthest[w->request]) furthest[w->request] = w->kv_begin + keys;
    ok = add_run(&ctx, (double)bytes, 1);
  }
  int64_t dram = 0;
  for (int32_t r = 0; ok && r < b->num_requests; r++) dram += furthest[r] * b->num_kv_heads * ctx.token_bytes;
  if (ok)
    predict(&ctx, kv_bytes, dram - shared_bytes, flops, max_cta_flops, p->num_work, p->num_combine, max_chunks,
            (double)(p->scratch_o_bytes + p->scratch_lse_bytes), INFINITY, out);
  free(furthest);
  skv_cost_ctx_free(&ctx);
  return ok && out->makespan_us >= 0;
}

bool skv_cost_predict(const skv_plan *p, const skv_batch *b, const skv_gpu *g, skv_prediction *out) {
  return skv_cost_predict_shared(p, b, g, 0, out);
}

/* What the chunk lengths give without the schedule: CTAs, bytes, combine items, partial bytes; and
 * the work as runs when runs is set. False when out of memory. */
typedef struct chunk_totals {
  int64_t kv_bytes, dram_bytes, work, combine, max_chunks;
  double partial_bytes, flops, max_cta_flops;
} chunk_totals;

static bool chunk_plan(skv_cost_ctx *ctx, const int64_t *chunk_tokens, bool runs, chunk_totals *t) {
  const skv_batch *b = ctx->b;
  const int64_t hkv = b->num_kv_heads, group = skv_batch_group(b);
  int64_t partials = 0;
  memset(t, 0, sizeof *t);
  ctx->nruns = 0;
  for (int32_t r = 0; r < b->num_requests; r++) {
    const int64_t L = b->kvlen[r], c = chunk_tokens[r], Q = b->qlen[r];
    const int64_t chunks = L == 0 ? 1 : skv_ceil_div(L, c), full = L / c, rest = L - full * c;
    if (Q == 1) {
      /* decode: one tile that sees every key. Chunk, then KV head: the full chunks' CTAs, then the
       * clipped last one's (an empty request: one chunk of nothing) */
      if (runs && (!add_run(ctx, (double)(c * ctx->token_bytes), full * hkv) ||
                   !add_run(ctx, (double)(rest * ctx->token_bytes), (rest > 0 || L == 0) ? hkv : 0)))
        return false;
      t->kv_bytes += L * hkv * ctx->token_bytes;
      t->dram_bytes += L * hkv * ctx->token_bytes;
      t->flops += 4.0 * (double)(group * L * hkv) * (double)b->head_dim;
      const double cta = 4.0 * (double)(group * (L < c ? L : c)) * (double)b->head_dim;
      if (cta > t->max_cta_flops) t->max_cta_flops = cta;
      t->work += chunks * hkv;
      if (chunks > 1) t->combine += hkv, partials += chunks * hkv * group;
      if (chunks > 1 && chunks > t->max_chunks) t->max_chunks = chunks;
      continue;
    }
    /* query tiles: each runs the chunks its last query sees, reading keys up to that query's bound;
     * the request's keys come from HBM once (the furthest tile's), the other tiles' from L2 */
    int64_t furthest = 0;
    for (int64_t q0 = 0; q0 < Q; q0 += ctx->tile_tokens) {
      const int64_t qe = q0 + ctx->tile_tokens < Q ? q0 + ctx->tile_tokens : Q;
      const int64_t end = skv_batch_key_end(b, r, qe - 1);
      int64_t v = 0;
      for (int64_t k = 0; k < chunks && (k == 0 || k * c < end); k++, v++) {
        const int64_t kb = k * c, ke = kb + c < L ? kb + c : L, keys = (ke < end ? ke : end) - kb;
        if (runs && !add_run(ctx, (double)((keys > 0 ? keys : 0) * ctx->token_bytes), hkv)) return false;
        t->kv_bytes += (keys > 0 ? keys : 0) * hkv * ctx->token_bytes;
        const double cta = 4.0 * (double)((qe - q0) * group * (keys > 0 ? keys : 0)) * (double)b->head_dim;
        t->flops += cta * (double)hkv;
        if (cta > t->max_cta_flops) t->max_cta_flops = cta;
        if (keys > 0 && kb + keys > furthest) furthest = kb + keys;
      }
      t->work += v * hkv;
      if (v > 1) t->combine += hkv, partials += v * hkv * (qe - q0) * group;
      if (v > 1 && v > t->max_chunks) t->max_chunks = v;
    }
    t->dram_bytes += furthest * hkv * ctx->token_bytes;
  }
  t->partial_bytes = (double)(partials * b->head_dim * 4 + partials * 4); /* state rows: O and LSE */
  return true;
}

bool skv_cost_predict_chunks(skv_cost_ctx *ctx, const int64_t *chunk_tokens, double bound, skv_prediction *out) {
  chunk_totals t;
  if (!chunk_plan(ctx, chunk_tokens, true, &t)) return false;
  predict(ctx, t.kv_bytes, t.dram_bytes, t.flops, t.max_cta_flops, t.work, t.combine, t.max_chunks, t.partial_bytes, bound, out);
  return out->makespan_us != -1.0;
}

double skv_cost_lower_bound_chunks(skv_cost_ctx *ctx, const int64_t *chunk_tokens) {
  chunk_totals t;
  chunk_plan(ctx, chunk_tokens, false, &t);
  if (t.work == 0) return 0;
  /* At most min(slots, CTAs) stream at once, and the aggregate rate rises with their number; the
   * reads take no less than at the ceiling first reads and rereads give together (predict), nor
   * than the tensor-core bound. */
  const int64_t n = t.work < ctx->slots ? t.work : ctx->slots;
  const skv_gpu *g = ctx->g;
  const double reads_us = reads_time(ctx, t.kv_bytes, t.dram_bytes);
  const double ceiling = reads_us > 0 ? (double)t.kv_bytes / reads_us : ctx->stream_bpus;
  double stream = (double)t.kv_bytes / skv_cost_aggregate_rate((double)n, ctx->cta_bpus, ceiling);
  if (g->mma_tflops > 0) stream = fmax(stream, compute_time(ctx, t.flops, t.max_cta_flops));
  return g->launch_us + fixed_cost(ctx, t.work) + later_waves_cost(ctx, t.work) + stream +
         combine_cost(ctx, t.combine, t.max_chunks, t.partial_bytes);
}
