/* cascade_cost.c — cascade and shared-page flash decoding priced by the cost model, and the decisions (cascade_cost.h). */
#include "cascade_cost.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int64_t skv_share_reread_bytes(const skv_share *s, const skv_batch *b) {
  const int64_t token = (skv_batch_token_kv_bytes(b) + skv_batch_token_scale_bytes(b)) * b->num_kv_heads;
  int64_t bytes = 0;
  for (int32_t g = 0; g < s->num_groups; g++) {
    int64_t members = 0;
    for (int32_t r = 0; r < s->num_requests; r++) members += s->group_of[(int64_t)s->level[g] * s->num_requests + r] == g;
    if (members > 1) bytes += (members - 1) * (s->end[g] - s->begin[g]) * token;
  }
  return bytes;
}

bool skv_fd_predict_shared(const skv_plan *p, const skv_batch *b, const skv_share *s, const skv_gpu *g,
                           skv_prediction *out) {
  return skv_cost_predict_shared(p, b, g, s ? skv_share_reread_bytes(s, b) : 0, out);
}

bool skv_cascade_predict(const skv_cascade_plan *c, const skv_batch *b, const skv_gpu *g,
                         skv_cascade_prediction *out) {
  memset(out, 0, sizeof *out);
  if (c->prefix.num_requests > 0) {
    if (!skv_cost_predict(&c->prefix_plan, &c->prefix, g, &out->prefix)) return false;
    out->prefix.total_us += g->prefix_us; /* gpu.h: the prefix pass's measured excess */
  }
  if (!skv_cost_predict(&c->suffix_plan, &c->suffix, g, &out->suffix)) return false;
  /* The merge (kernels/cascade_merge.cu): per query token and q head, each level's prefix state
   * and the suffix state read (O in the output type, LSE in float), the merged one written. */
  const int64_t hq = b->num_q_heads, d = b->head_dim;
  const int64_t state = d * 2 + (int64_t)sizeof(float); /* O is 16-bit (the queries' type), LSE float */
  const int64_t merge_bytes = c->total_q * hq * state * ((int64_t)c->levels + 2);
  out->merge_us = g->launch_us + g->merge_us + g->merge_pair_us * (double)(c->total_q * hq) +
                 (double)merge_bytes / (g->read_tbps * 1e6);
  out->total_us = out->prefix.total_us + out->suffix.total_us + out->merge_us;
  /* The bound: each KV byte from HBM once (both passes' first reads), the merge's bytes, and the
   * passes' own outputs written; FLOPs at the data-sheet peak. */
  const int64_t pass_out = c->total_q * hq * state * ((int64_t)c->levels + 1);
  out->dram_bytes = out->prefix.dram_bytes + out->suffix.dram_bytes + merge_bytes + pass_out;
  out->flops = out->prefix.flops + out->suffix.flops;
  out->bytes_bound_us = (double)out->dram_bytes / (g->read_tbps * 1e6);
  out->flops_bound_us = g->peak_tflops > 0 ? out->flops / (g->peak_tflops * 1e6) : 0.0;
  return true;
}

const char *skv_cascade_choice_name(skv_cascade_choice ch) {
  static const char *const n[SKV_CASCADE_CHOICES] = {"fd", "cascade", "outer", "merged"};
  return ch >= 0 && ch < SKV_CASCADE_CHOICES ? n[ch] : "?";
}

bool skv_cascade_choice_offered(const skv_share *s, skv_cascade_choice ch) {
  switch (ch) {
  case SKV_CASCADE_FD: return true;
  case SKV_CASCADE_ALL: return s->levels >= 1;
  case SKV_CASCADE_OUTER:
  case SKV_CASCADE_MERGED: return s->levels >= 2;
  default: return false;
  }
}

bool skv_cascade_choice_share(const skv_share *s, skv_cascade_choice ch, skv_share *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  if (ch == SKV_CASCADE_FD || !skv_cascade_choice_offered(s, ch)) {
    snprintf(err, errlen, "cascade choice '%s' is not offered by a sharing of %d levels", skv_cascade_choice_name(ch),
             s->levels);
    return false;
  }
  const int32_t n = s->num_requests, levels = ch == SKV_CASCADE_ALL ? s->levels : 1;
  out->num_requests = n, out->levels = levels;
  out->group_of = malloc(sizeof(int32_t) * (size_t)(levels * n > 0 ? levels * n : 1));
  out->begin = malloc(sizeof(int64_t) * (size_t)(s->num_groups > 0 ? s->num_groups : 1));
  out->end = malloc(sizeof(int64_t) * (size_t)(s->num_groups > 0 ? s->num_groups : 1));
  out->level = malloc(sizeof(int32_t) * (size_t)(s->num_groups > 0 ? s->num_groups : 1));
  int32_t *map = malloc(sizeof(int32_t) * (size_t)(s->num_groups > 0 ? s->num_groups : 1));
  if (!out->group_of || !out->begin || !out->end || !out->level || !map) {
    free(map);
    skv_share_free(out);
    snprintf(err, errlen, "cascade choice: out of memory");
    return false;
  }
  for (int32_t g = 0; g < s->num_groups; g++) map[g] = -1;
  for (int32_t l = 0; l < levels; l++)
    for (int32_t r = 0; r < n; r++) {
      /* ALL and OUTER keep level l's group; MERGED takes the request's deepest, from token 0 */
      int32_t g = s->group_of[(int64_t)l * n + r];
      if (ch == SKV_CASCADE_MERGED)
        for (int32_t k = 1; k < s->levels && s->group_of[(int64_t)k * n + r] >= 0; k++) g = s->group_of[(int64_t)k * n + r];
      if (g >= 0 && map[g] < 0) {
        map[g] = out->num_groups++;
        out->begin[map[g]] = ch == SKV_CASCADE_MERGED ? 0 : s->begin[g];
        out->end[map[g]] = s->end[g];
        out->level[map[g]] = l;
      }
      out->group_of[(int64_t)l * n + r] = g >= 0 ? map[g] : -1;
    }
  free(map);
  return true;
}

bool skv_cascade_lab_decides(const skv_batch *b, const skv_share *s, const skv_plan *fd_plan, skv_policy pp,
                             const skv_policy_opts *po, skv_policy sp, const skv_policy_opts *so, const skv_gpu *g,
                             skv_cascade_choice *choice, double predicted[SKV_CASCADE_CHOICES],
                             skv_cascade_prediction *all, char *err, size_t errlen) {
  for (int ch = 0; ch < SKV_CASCADE_CHOICES; ch++) predicted[ch] = NAN;
  skv_prediction fd;
  if (!skv_fd_predict_shared(fd_plan, b, s, g, &fd)) {
    snprintf(err, errlen, "cost model: out of memory");
    return false;
  }
  predicted[SKV_CASCADE_FD] = fd.total_us;
  *choice = SKV_CASCADE_FD;
  for (int ch = SKV_CASCADE_ALL; ch < SKV_CASCADE_CHOICES; ch++) {
    if (!skv_cascade_choice_offered(s, (skv_cascade_choice)ch)) continue;
    skv_share cs;
    skv_cascade_plan cp;
    skv_cascade_prediction pr;
    if (!skv_cascade_choice_share(s, (skv_cascade_choice)ch, &cs, err, errlen)) return false;
    bool ok = skv_cascade_plan_build(b, &cs, pp, po, sp, so, g, &cp, err, errlen);
    skv_share_free(&cs);
    if (!ok) return false;
    ok = skv_cascade_predict(&cp, b, g, &pr);
    skv_cascade_plan_free(&cp);
    if (!ok) {
      snprintf(err, errlen, "cost model: out of memory");
      return false;
    }
    predicted[ch] = pr.total_us;
    if (all && ch == SKV_CASCADE_ALL) *all = pr;
    if (pr.total_us < predicted[*choice]) *choice = (skv_cascade_choice)ch;
  }
  return true;
}

skv_cascade_choice skv_cascade_vllm_choice(const skv_share *s, const skv_batch *b, int32_t num_sms) {
  if (s->levels < 1) return SKV_CASCADE_FD;
  /* the prefix every request shares: level 0 when one group holds every request */
  const int32_t g0 = s->group_of[0];
  for (int32_t r = 0; r < s->num_requests; r++)
    if (g0 < 0 || s->group_of[r] != g0) return SKV_CASCADE_FD;
  const bool yes = skv_cascade_vllm_decides(s->end[g0] - s->begin[g0], b->qlen, b->num_requests, b->num_q_heads,
                                            b->num_kv_heads, num_sms, false, false, false, 1);
  return !yes ? SKV_CASCADE_FD : (s->levels == 1 ? SKV_CASCADE_ALL : SKV_CASCADE_OUTER);
}

skv_cascade_choice skv_cascade_oracle(const double t[SKV_CASCADE_CHOICES]) {
  int best = -1;
  for (int ch = 0; ch < SKV_CASCADE_CHOICES; ch++)
    if (isfinite(t[ch]) && (best < 0 || t[ch] < t[best])) best = ch;
  return best < 0 ? SKV_CASCADE_FD : (skv_cascade_choice)best;
}

double skv_cascade_regret(const double t[SKV_CASCADE_CHOICES], skv_cascade_choice choice) {
  if (choice < 0 || choice >= SKV_CASCADE_CHOICES || !isfinite(t[choice])) return NAN;
  const double best = t[skv_cascade_oracle(t)];
  return (t[choice] - best) / best;
}
