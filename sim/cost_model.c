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

int32_t skv_decode_ctas_per_sm(int32_t head_dim, int32_t kv_elem_bytes, int32_t group) {
  if (kv_elem_bytes == 1 && group <= 8) return head_dim <= 64 ? 6 : (head_dim <= 128 ? 4 : 3);
  if (kv_elem_bytes == 1) return head_dim <= 64 ? 5 : (head_dim <= 128 ? 3 : 2);
  return head_dim <= 64 ? 3 : (head_dim <= 128 ? 2 : 1);
}

/* A min-heap of slot finish times. */
static void sift_down(double *h, int64_t n, int64_t i) {
  for (;;) {
    int64_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && h[l] < h[m]) m = l;
    if (r < n && h[r] < h[m]) m = r;
    if (m == i) return;
    double t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
}

void skv_cost_predict(const skv_plan *p, const skv_batch *b, const skv_gpu_params *g, bool fused,
                      skv_prediction *out) {
  const int64_t token_bytes = 2 * (int64_t)b->head_dim * skv_dtype_size(b->kv_dtype);
  const int64_t slots = (int64_t)g->sms * skv_decode_ctas_per_sm(b->head_dim, (int32_t)skv_dtype_size(b->kv_dtype),
                                                                   skv_batch_group(b));
  const double read_bpus = g->read_tbps * 1e6, cta_bpus =
      (skv_dtype_size(b->kv_dtype) == 1 ? g->cta_gbps_8bit : g->cta_gbps) * 1e3; /* bytes per us */
  int64_t kv_bytes = 0;
  for (int64_t i = 0; i < p->num_work; i++) kv_bytes += (p->work[i].kv_end - p->work[i].kv_begin) * token_bytes;
  /* List scheduling over the slots. */
  double makespan = 0;
  double *heap = calloc((size_t)(slots > 0 ? slots : 1), sizeof *heap);
  if (heap) {
    for (int64_t i = 0; i < p->num_work; i++) {
      const double t = g->cta_fixed_us + (double)((p->work[i].kv_end - p->work[i].kv_begin) * token_bytes) / cta_bpus;
      heap[0] += t; /* the earliest free slot takes the next CTA */
      if (heap[0] > makespan) makespan = heap[0];
      sift_down(heap, slots, 0);
    }
    free(heap);
  }
  out->kv_bytes = kv_bytes;
  /* The resident CTAs together stream at most n * cta_bw and at most read_bw; near the knee, where
   * n * cta_bw ~ read_bw, they reach less than either (each CTA's loads queue behind the others'):
   * a soft minimum, ((n cta_bw)^-k + read_bw^-k)^(-1/k). */
  const double active = (double)(p->num_work < slots ? p->num_work : slots);
  const double agg_bpus = active > 0 ? pow(pow(active * cta_bpus, -SKV_COST_KNEE) + pow(read_bpus, -SKV_COST_KNEE),
                                           -1.0 / SKV_COST_KNEE)
                                     : read_bpus;
  out->bandwidth_us = g->cta_fixed_us + (double)kv_bytes / agg_bpus;
  out->makespan_us = makespan;
  out->decode_us = p->num_work > 0 ? g->launch_us + fmax(out->bandwidth_us, makespan) : 0.0;
  out->combine_us = 0;
  if (p->num_combine > 0) {
    const double waves = ceil((double)p->num_combine / (double)slots);
    const double partial = (double)(p->scratch_o_bytes + p->scratch_lse_bytes);
    out->combine_us = g->combine_item_us * waves + partial / read_bpus + (fused ? 0.0 : g->launch_us);
  }
  out->total_us = out->decode_us + out->combine_us;
}
