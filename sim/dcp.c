/* dcp.c — decode context parallelism in the plan and the CPU executor (dcp.h). */
#include "dcp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"
#include "reference.h"

int64_t skv_dcp_local_len(int64_t L, int32_t w, int32_t W, int32_t I) {
  const int64_t round = (int64_t)W * I, left = L % round - (int64_t)w * I;
  return (L / round) * I + (left < 0 ? 0 : left > I ? I : left);
}

const char *skv_dcp_merge_name(skv_dcp_merge m) {
  switch (m) {
    case SKV_DCP_MERGE_AG_RS: return "ag-rs";
    case SKV_DCP_MERGE_AG_ORDERED: return "ag-ordered";
    default: return "?";
  }
}

void skv_dcp_plan_free(skv_dcp_plan *d) {
  for (int32_t w = 0; w < d->world; w++) {
    skv_plan_free(&d->rank_plan[w]);
    skv_batch_free(&d->rank_batch[w]);
  }
  memset(d, 0, sizeof *d);
}

bool skv_dcp_plan_build(const skv_batch *b, int32_t W, int32_t I, skv_policy p, const skv_policy_opts *po,
                        const skv_gpu *gpu, skv_dcp_plan *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  if (W < 1 || W > SKV_DCP_MAX_WORLD) {
    snprintf(err, errlen, "dcp: world size %d outside 1..%d", W, SKV_DCP_MAX_WORLD);
    return false;
  }
  if (I < 1) {
    snprintf(err, errlen, "dcp: interleave %d: must be at least 1 token", I);
    return false;
  }
  for (int32_t r = 0; r < b->num_requests; r++)
    if (b->qlen[r] != 1) {
      snprintf(err, errlen, "dcp: request %d has query length %lld: decode context parallelism is modelled for "
                            "decode (query length 1) only",
               r, (long long)b->qlen[r]);
      return false;
    }
  out->world = W, out->interleave = I;
  for (int32_t w = 0; w < W; w++) {
    skv_batch *rb = &out->rank_batch[w];
    if (!skv_batch_slice(b, 0, b->num_requests, rb)) {
      snprintf(err, errlen, "dcp: out of memory");
      out->world = w;
      skv_dcp_plan_free(out);
      return false;
    }
    for (int32_t r = 0; r < b->num_requests; r++) rb->kvlen[r] = skv_dcp_local_len(b->kvlen[r], w, W, I);
    if (!skv_plan_build(rb, p, po, gpu, &out->rank_plan[w], err, errlen)) {
      skv_batch_free(rb);
      out->world = w;
      skv_dcp_plan_free(out);
      return false;
    }
  }
  return true;
}

void skv_dcp_merge_states(skv_dcp_merge m, int32_t W, int32_t d, const double *o, const double *lse, double *out,
                          double *lse_out) {
  if (m == SKV_DCP_MERGE_AG_ORDERED) {
    /* pairwise, in rank order: the one merge rule (merge.h), empty states included */
    double l = -INFINITY;
    memset(out, 0, sizeof(double) * (size_t)d);
    for (int32_t w = 0; w < W; w++) skv_merge_states(d, out, l, o + (size_t)w * d, lse[w], out, &l, false);
    *lse_out = l;
    return;
  }
  /* cp_lse_ag_out_rs: lse = logsumexp of the gathered LSEs, each rank's O scaled by exp(lse_w - lse), summed over
   * the ranks in rank order (the reduce-scatter's sum); an empty shard's exp(-inf) is 0 */
  double mx = -INFINITY;
  for (int32_t w = 0; w < W; w++)
    if (lse[w] > mx) mx = lse[w];
  memset(out, 0, sizeof(double) * (size_t)d);
  if (mx == -INFINITY) {
    *lse_out = -INFINITY;
    return;
  }
  double s = 0;
  for (int32_t w = 0; w < W; w++) s += exp(lse[w] - mx);
  const double total = mx + log(s);
  for (int32_t w = 0; w < W; w++) {
    const double f = exp(lse[w] - total);
    for (int32_t i = 0; i < d; i++) out[i] += f * o[(size_t)w * d + i];
  }
  *lse_out = total;
}

/* Rank w's state of request r, KV head kh (o[group][d], lse[group]): its plan's chunks of local tokens in order,
 * each the merge of the runs of consecutive global tokens it holds. run_o/run_l, acc_o/acc_l: scratch of the same
 * shape. */
static bool rank_state(const skv_workload *wl, const skv_dcp_plan *d, int32_t w, int32_t r, int32_t kh, double *o,
                       double *lse, double *run_o, double *run_l, double *acc_o, double *acc_l) {
  const int32_t G = skv_batch_group(&wl->batch), D = wl->batch.head_dim, W = d->world, I = d->interleave;
  for (int32_t g = 0; g < G; g++) lse[g] = -INFINITY;
  memset(o, 0, sizeof(double) * (size_t)G * D);
  const skv_plan *pl = &d->rank_plan[w];
  const skv_chunk *ch = skv_plan_chunks(pl, r);
  for (int64_t k = 0; k < skv_plan_num_splits(pl, r); k++) {
    for (int32_t g = 0; g < G; g++) acc_l[g] = -INFINITY;
    memset(acc_o, 0, sizeof(double) * (size_t)G * D);
    for (int64_t t = ch[k].begin; t < ch[k].end;) {
      const int64_t block_end = (t / I + 1) * I, run_end = block_end < ch[k].end ? block_end : ch[k].end;
      const int64_t g0 = skv_dcp_global_pos(t, w, W, I);
      if (!skv_ref_states(wl, r, kh, g0, g0 + (run_end - t), run_o, run_l)) return false;
      for (int32_t g = 0; g < G; g++)
        skv_merge_states(D, acc_o + (size_t)g * D, acc_l[g], run_o + (size_t)g * D, run_l[g], acc_o + (size_t)g * D,
                         &acc_l[g], false);
      t = run_end;
    }
    for (int32_t g = 0; g < G; g++)
      skv_merge_states(D, o + (size_t)g * D, lse[g], acc_o + (size_t)g * D, acc_l[g], o + (size_t)g * D, &lse[g],
                       false);
  }
  return true;
}

bool skv_dcp_cpu_execute(const skv_workload *wl, const skv_dcp_plan *d, skv_dcp_merge m, double *o, double *lse,
                         double *rank_lse, char *err, size_t errlen) {
  return skv_dcp_cpu_execute_ranks(wl, d, m, o, lse, NULL, rank_lse, err, errlen);
}

bool skv_dcp_cpu_execute_ranks(const skv_workload *wl, const skv_dcp_plan *d, skv_dcp_merge m, double *o, double *lse,
                               double *rank_o, double *rank_lse, char *err, size_t errlen) {
  const skv_batch *b = &wl->batch;
  const int32_t G = skv_batch_group(b), D = b->head_dim, W = d->world, hq = b->num_q_heads, B = b->num_requests;
  for (int32_t r = 0; r < B; r++)
    if (b->qlen[r] != 1 || d->rank_batch[0].num_requests != B) {
      snprintf(err, errlen, "dcp: the plan is not of this workload's decode batch");
      return false;
    }
  const size_t gd = (size_t)G * D;
  double *st_o = malloc(sizeof(double) * gd * (size_t)W), *st_l = malloc(sizeof(double) * (size_t)G * (size_t)W);
  double *scratch = malloc(sizeof(double) * (gd * 2 + (size_t)G * 2));
  double *ow = malloc(sizeof(double) * (size_t)W * D), *lw = malloc(sizeof(double) * (size_t)W);
  bool ok = st_o && st_l && scratch && ow && lw;
  if (!ok) snprintf(err, errlen, "dcp: out of memory");
  for (int32_t r = 0; ok && r < B; r++)
    for (int32_t kh = 0; ok && kh < b->num_kv_heads; kh++) {
      for (int32_t w = 0; ok && w < W; w++)
        ok = rank_state(wl, d, w, r, kh, st_o + (size_t)w * gd, st_l + (size_t)w * G, scratch, scratch + gd,
                        scratch + gd + G, scratch + 2 * gd + G);
      if (!ok) {
        snprintf(err, errlen, "dcp: out of memory in the reference states");
        break;
      }
      for (int32_t g = 0; g < G; g++) {
        const int32_t q = kh * G + g;
        for (int32_t w = 0; w < W; w++) {
          memcpy(ow + (size_t)w * D, st_o + (size_t)w * gd + (size_t)g * D, sizeof(double) * (size_t)D);
          lw[w] = st_l[(size_t)w * G + g];
          if (rank_lse) rank_lse[((size_t)w * hq + q) * B + r] = lw[w];
          if (rank_o)
            memcpy(rank_o + (((size_t)w * B + r) * hq + q) * D, ow + (size_t)w * D, sizeof(double) * (size_t)D);
        }
        skv_dcp_merge_states(m, W, D, ow, lw, o + ((size_t)r * hq + q) * D, &lse[(size_t)q * B + r]);
      }
    }
  free(st_o), free(st_l), free(scratch), free(ow), free(lw);
  return ok;
}
