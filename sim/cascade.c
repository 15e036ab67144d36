/* cascade.c — the cascade plan as a prefix batch and a suffix batch, their workloads, the merge, the CPU executor, vLLM's decision (cascade.h). */
#include "cascade.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_exec.h"
#include "intmath.h"
#include "merge.h"

void skv_cascade_plan_free(skv_cascade_plan *c) {
  skv_batch_free(&c->prefix);
  skv_batch_free(&c->suffix);
  skv_plan_free(&c->prefix_plan);
  skv_plan_free(&c->suffix_plan);
  free(c->prefix_row);
  free(c->prefix_q_src);
  free(c->prefix_page_src);
  free(c->prefix_page_first);
  free(c->suffix_page_first);
  memset(c, 0, sizeof *c);
}

bool skv_cascade_plan_build(const skv_batch *b, const skv_share *s, skv_policy pp, const skv_policy_opts *po,
                            skv_policy sp, const skv_policy_opts *so, const skv_gpu *gpu, skv_cascade_plan *out,
                            char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  if (!skv_batch_validate(b, err, errlen) || !skv_share_check(s, b, err, errlen)) return false;
  const int32_t n = b->num_requests, G = s->num_groups, ps = b->page_size;
  int64_t *cu = malloc(sizeof(int64_t) * (size_t)(n + 1)); /* the batch's query offsets */
  if (!cu) goto oom;
  cu[0] = 0;
  for (int32_t r = 0; r < n; r++) cu[r + 1] = cu[r] + b->qlen[r];
  const int64_t T = cu[n];
  out->levels = s->levels;
  out->total_q = T;
  /* the prefix batch: a request per group, its queries its members' tokens in request order */
  if (G > 0 && !skv_batch_alloc(&out->prefix, G)) goto oom;
  if (!skv_batch_alloc(&out->suffix, n)) goto oom;
  out->prefix_row = malloc(sizeof(int64_t) * (size_t)(s->levels * T > 0 ? s->levels * T : 1));
  out->prefix_page_src = malloc(sizeof(int32_t) * (size_t)(G > 0 ? G : 1));
  out->prefix_page_first = malloc(sizeof(int64_t) * (size_t)(G > 0 ? G : 1));
  out->suffix_page_first = malloc(sizeof(int64_t) * (size_t)n);
  if (!out->prefix_row || !out->prefix_page_src || !out->prefix_page_first || !out->suffix_page_first) goto oom;
  for (int64_t i = 0; i < s->levels * T; i++) out->prefix_row[i] = -1;
  int64_t ptokens = 0;
  for (int32_t g = 0; g < G; g++) {
    int64_t q = 0;
    out->prefix_page_src[g] = -1;
    for (int32_t r = 0; r < n; r++)
      if (s->group_of[s->level[g] * n + r] == g) {
        q += b->qlen[r];
        if (out->prefix_page_src[g] < 0) out->prefix_page_src[g] = r;
      }
    if (q == 0) {
      snprintf(err, errlen, "cascade: group %d has no member", g);
      free(cu);
      skv_cascade_plan_free(out);
      return false;
    }
    out->prefix.qlen[g] = q;
    out->prefix.kvlen[g] = s->end[g] - s->begin[g];
    out->prefix_page_first[g] = s->begin[g] / ps;
    ptokens += q;
  }
  out->prefix_q_src = malloc(sizeof(int64_t) * (size_t)(ptokens > 0 ? ptokens : 1));
  if (!out->prefix_q_src) goto oom;
  for (int64_t g = 0, row = 0; g < G; g++)
    for (int32_t r = 0; r < n; r++)
      if (s->group_of[s->level[g] * n + r] == g)
        for (int64_t i = 0; i < b->qlen[r]; i++, row++) {
          out->prefix_q_src[row] = cu[r] + i;
          out->prefix_row[(int64_t)s->level[g] * T + cu[r] + i] = row;
        }
  {
    int64_t *pq = out->prefix.qlen, *pk = out->prefix.kvlen, *sq = out->suffix.qlen, *sk = out->suffix.kvlen;
    if (G > 0) {
      out->prefix = *b;
      out->prefix.num_requests = G, out->prefix.qlen = pq, out->prefix.kvlen = pk, out->prefix.mask = SKV_MASK_NONE;
    }
    out->suffix = *b;
    out->suffix.qlen = sq, out->suffix.kvlen = sk;
    for (int32_t r = 0; r < n; r++) {
      const int64_t e = skv_share_prefix_end(s, r);
      sq[r] = b->qlen[r], sk[r] = b->kvlen[r] - e;
      out->suffix_page_first[r] = e / ps;
    }
  }
  free(cu);
  cu = NULL;
  if (G > 0 && !skv_plan_build(&out->prefix, pp, po, gpu, &out->prefix_plan, err, errlen)) {
    skv_cascade_plan_free(out);
    return false;
  }
  if (!skv_plan_build(&out->suffix, sp, so, gpu, &out->suffix_plan, err, errlen)) {
    skv_cascade_plan_free(out);
    return false;
  }
  return true;
oom:
  free(cu);
  skv_cascade_plan_free(out);
  snprintf(err, errlen, "cascade: out of memory");
  return false;
}

bool skv_cascade_workloads(const skv_workload *w, const skv_cascade_plan *c, skv_workload *prefix,
                           skv_workload *suffix, char *err, size_t errlen) {
  memset(prefix, 0, sizeof *prefix);
  const int32_t n = c->suffix.num_requests;
  int32_t *self = malloc(sizeof(int32_t) * (size_t)n);
  int64_t *sq = malloc(sizeof(int64_t) * (size_t)(c->total_q > 0 ? c->total_q : 1));
  if (!self || !sq) {
    free(self), free(sq);
    snprintf(err, errlen, "cascade: out of memory");
    return false;
  }
  for (int32_t r = 0; r < n; r++) self[r] = r;
  for (int64_t t = 0; t < c->total_q; t++) sq[t] = t;
  bool ok = skv_workload_gather(w, &c->suffix, sq, self, c->suffix_page_first, suffix, err, errlen);
  if (ok && c->prefix.num_requests > 0) {
    ok = skv_workload_gather(w, &c->prefix, c->prefix_q_src, c->prefix_page_src, c->prefix_page_first, prefix, err,
                             errlen);
    if (!ok) skv_workload_free(suffix);
  }
  free(self), free(sq);
  return ok;
}

void skv_cascade_merge(const skv_cascade_plan *c, int32_t hq, int32_t d, const double *po, const double *plse,
                       const double *so, const double *slse, double *o, double *lse) {
  const int64_t T = c->total_q;
  int64_t ptok = 0;
  for (int32_t g = 0; g < c->prefix.num_requests; g++) ptok += c->prefix.qlen[g];
  for (int64_t t = 0; t < T; t++)
    for (int32_t h = 0; h < hq; h++) {
      double *ot = o + (t * hq + h) * d;
      double l = -INFINITY;
      for (int32_t k = 0; k < d; k++) ot[k] = 0;
      for (int32_t lev = 0; lev < c->levels; lev++) {
        const int64_t row = c->prefix_row[(int64_t)lev * T + t];
        if (row < 0) break;
        skv_merge_states(d, ot, l, po + (row * hq + h) * d, plse[h * ptok + row], ot, &l, false);
      }
      skv_merge_states(d, ot, l, so + (t * hq + h) * d, slse[h * T + t], ot, &l, false);
      lse[h * T + t] = l;
    }
}

bool skv_cascade_cpu_execute(const skv_workload *w, const skv_cascade_plan *c, double *o, double *lse, char *err,
                             size_t errlen) {
  skv_workload pw, sw;
  if (!skv_cascade_workloads(w, c, &pw, &sw, err, errlen)) return false;
  const int32_t hq = w->batch.num_q_heads, d = w->batch.head_dim;
  int64_t ptok = 0;
  for (int32_t g = 0; g < c->prefix.num_requests; g++) ptok += c->prefix.qlen[g];
  const int64_t T = c->total_q;
  double *po = malloc(sizeof(double) * (size_t)(ptok > 0 ? ptok * hq * d : 1));
  double *pl = malloc(sizeof(double) * (size_t)(ptok > 0 ? ptok * hq : 1));
  double *so = malloc(sizeof(double) * (size_t)(T * hq * d > 0 ? T * hq * d : 1));
  double *sl = malloc(sizeof(double) * (size_t)(T * hq > 0 ? T * hq : 1));
  bool ok = po && pl && so && sl;
  if (ok && c->prefix.num_requests > 0) ok = skv_cpu_execute(&pw, &c->prefix_plan, NULL, po, pl);
  if (ok) ok = skv_cpu_execute(&sw, &c->suffix_plan, NULL, so, sl);
  if (ok) skv_cascade_merge(c, hq, d, po, pl, so, sl, o, lse);
  else snprintf(err, errlen, "cascade: out of memory");
  free(po), free(pl), free(so), free(sl);
  if (c->prefix.num_requests > 0) skv_workload_free(&pw);
  skv_workload_free(&sw);
  return ok;
}

bool skv_cascade_vllm_decides(int64_t common_prefix, const int64_t *qlen, int32_t num_requests, int32_t hq,
                              int32_t hkv, int32_t num_sms, bool alibi, bool sliding_window, bool local_attention,
                              int32_t dcp_world_size) {
  if (common_prefix < 256) return false; /* "too short common prefix": an arbitrary 256 */
  if (alibi || sliding_window || local_attention) return false;
  if (num_requests < 8) return false;    /* "too few queries": an arbitrary 8 */
  if (dcp_world_size > 1) return false;
  const int64_t group = hq / hkv;
  bool all_decode = true;
  for (int32_t r = 0; r < num_requests && all_decode; r++) all_decode = qlen[r] == 1;
  const bool flash_decoding = group > 1 && !sliding_window && !alibi && all_decode;
  if (!flash_decoding) return true;
  /* the "very rough" model: 128 x 128 tiles, waves of CTAs over the SMs */
  const int64_t tile = 128, prefix_tiles = skv_ceil_div(common_prefix, tile);
  const int64_t cascade_ctas = (int64_t)hq * skv_ceil_div(num_requests, tile);
  const int64_t cascade_time = skv_ceil_div(cascade_ctas, num_sms) * prefix_tiles;
  const int64_t fd_ctas = (int64_t)num_requests * hkv * skv_ceil_div(group, tile) * prefix_tiles;
  const int64_t fd_time = skv_ceil_div(fd_ctas, num_sms);
  return cascade_time < fd_time;
}
