/* cost_model.c — bandwidth, CTA-schedule and combine terms of the split-KV cost model. */
#include "cost_model.h"

#include <math.h>
#include <stdlib.h>

void skv_gpu_params_h100(skv_gpu_params *g) {
  /* Fitted to skv bench decode on an H100 80GB HBM3 (CUPTI kernel times): the
   * read-stream ceiling 3.06 TB/s; one CTA alone (policy none, 1 request, 8 CTAs
   * of 16.8 / 67.1 MB at 32k / 131k tokens: 419 / 1662 us) streams 40-41 GB/s;
   * decode of 16.8 MB in 256 CTAs takes 10.9 us against 5.5 us of bytes, so
   * launch + per-CTA fixed ~ 5.4 us; the combine kernel of 8 items takes 4.9 us. */
  g->sms = 132;
  g->read_tbps = 3.06;
  g->cta_gbps = 41.0;
  /* One CTA over an 8-bit cache (policy none, 1 request of 131k tokens, 8 CTAs of 33.5 MB; the
   * column form of kernels/warp_cols.cuh): fp8 1268 us = 26.5 GB/s, int8 1409 us = 23.8 GB/s. */
  g->cta_gbps_8bit = 25.0;
  g->launch_us = 3.0;
  g->cta_fixed_us = 2.4;
  g->combine_item_us = 1.9;
}

int32_t skv_decode_ctas_per_sm(const skv_batch *b) {
  const int32_t d = b->head_dim, k = skv_dtype_size(b->kv_dtype), v = skv_dtype_size(b->v_dtype);
  if (k == 1 && v == 1 && skv_batch_group(b) <= 8) return d <= 64 ? 6 : (d <= 128 ? 4 : 3);
  if (k == 1 && v == 1) return d <= 64 ? 5 : (d <= 128 ? 3 : 2);
  if (k == 1) return d <= 64 ? 4 : 2;
  return d <= 64 ? 3 : (d <= 128 ? 2 : 1);
}

/* A binary min-heap of finish points. */
static void heap_push(double *h, int64_t *n, double x) {
  int64_t i = (*n)++;
  while (i > 0 && h[(i - 1) / 2] > x) {
    h[i] = h[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  h[i] = x;
}

static void heap_pop(double *h, int64_t *n) {
  const double last = h[--*n];
  int64_t i = 0;
  for (;;) {
    int64_t c = 2 * i + 1;
    if (c >= *n) break;
    if (c + 1 < *n && h[c + 1] < h[c]) c++;
    if (h[c] >= last) break;
    h[i] = h[c];
    i = c;
  }
  if (*n > 0) h[i] = last;
}

/* Bytes of K and V that work item i reads. */
static double work_bytes(const skv_plan *p, int64_t i, int64_t token_bytes) {
  return (double)((p->work[i].kv_end - p->work[i].kv_begin) * token_bytes);
}

/* The resident CTAs' aggregate rate (bytes/us) when n of them stream: at most n * cta and at
 * most read; near the knee, where n * cta ~ read, less than either (each CTA's loads queue behind
 * the others'): the soft minimum ((n cta)^-k + read^-k)^(-1/k). */
static double aggregate_rate(double n, double cta, double read) {
  return pow(pow(n * cta, -SKV_COST_KNEE) + pow(read, -SKV_COST_KNEE), -1.0 / SKV_COST_KNEE);
}

/* The decode schedule: CTAs start in work-list order in the first free of `slots` slots and
 * stream their bytes while the n resident CTAs share aggregate_rate(n) equally (processor
 * sharing). All of them gain service at one rate, so the next to finish is the one with the least
 * bytes left: kept as finish points on the shared service clock v (bytes each resident CTA has
 * had since time 0). Returns the time the last CTA ends; 0 when p has no work, -1 when out of
 * memory. A CTA's fixed cost is not in here: CTAs desynchronize, so one CTA's fixed phase
 * overlaps the others' streaming, and skv_cost_predict adds it once. */
static double shared_schedule(const skv_plan *p, int64_t token_bytes, int64_t slots, double cta, double read) {
  if (p->num_work == 0) return 0.0;
  const int64_t cap = slots < p->num_work ? slots : p->num_work;
  double *resident = malloc(sizeof *resident * (size_t)cap);
  if (!resident) return -1.0;
  int64_t n = 0, next = 0;
  double t = 0.0, v = 0.0;
  for (; next < cap; next++) heap_push(resident, &n, work_bytes(p, next, token_bytes));
  while (n > 0) {
    const double rate = aggregate_rate((double)n, cta, read) / (double)n; /* bytes/us for each */
    t += (resident[0] - v) / rate;
    v = resident[0];
    heap_pop(resident, &n);
    if (next < p->num_work) {
      heap_push(resident, &n, v + work_bytes(p, next, token_bytes));
      next++;
    }
  }
  free(resident);
  return t;
}

void skv_cost_predict(const skv_plan *p, const skv_batch *b, const skv_gpu_params *g, skv_prediction *out) {
  /* A work item reads, per token of its KV head, the K and V elements and the per-token scales
   * beside them (batch.h); a per-channel V scale array is read once per CTA, from L2: not counted. */
  const int64_t token_bytes = skv_batch_token_kv_bytes(b) + skv_batch_token_scale_bytes(b);
  const int64_t slots = (int64_t)g->sms * skv_decode_ctas_per_sm(b);
  const double read_bpus = g->read_tbps * 1e6, cta_bpus =
      (skv_dtype_size(b->kv_dtype) == 1 ? g->cta_gbps_8bit : g->cta_gbps) * 1e3; /* bytes per us */
  int64_t kv_bytes = 0;
  for (int64_t i = 0; i < p->num_work; i++) kv_bytes += (p->work[i].kv_end - p->work[i].kv_begin) * token_bytes;
  out->kv_bytes = kv_bytes;
  out->bandwidth_us = g->cta_fixed_us + (double)kv_bytes / read_bpus;
  const double sched = shared_schedule(p, token_bytes, slots > 0 ? slots : 1, cta_bpus, read_bpus);
  out->makespan_us = sched >= 0 ? g->cta_fixed_us + sched : out->bandwidth_us; /* no memory: the bandwidth bound */
  out->decode_us = p->num_work > 0 ? g->launch_us + fmax(out->bandwidth_us, out->makespan_us) : 0.0;
  out->combine_us = 0;
  if (p->num_combine > 0) {
    const double waves = ceil((double)p->num_combine / (double)slots);
    const double partial = (double)(p->scratch_o_bytes + p->scratch_lse_bytes);
    out->combine_us = g->launch_us + g->combine_item_us * waves + partial / read_bpus;
  }
  out->total_us = out->decode_us + out->combine_us;
}
