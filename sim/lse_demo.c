/* lse_demo.c — `skv layout --demo`: vLLM's cascade attention on the CPU in double precision through each host path of FA2's LSE (PR #87 in numbers). */
#include "lse_demo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"
#include "plan.h"
#include "reference.h"
#include "workload.h"

void skv_lse_demo_config_default(skv_lse_demo_config *c) {
  memset(c, 0, sizeof *c);
  c->num_sms = 108;
  c->batch = 8;
  c->kv_heads = 8;
  c->groups = 4;
  c->head_dim = 128;
  c->page_size = 16;
  c->prefix = 1024;
  c->suffix = 4096;
  c->q_amp = 8.0f;
  c->seed = 1;
}

/* The demo's buffers. Token t is request t (decode); q head q = kv head * G + m. */
typedef struct demo_bufs {
  double *o_pre, *o_suf, *o_ref;  /* [tokens][hq][d] */
  double *lse_suf;                /* suffix call, internal (b, h_kv, m) */
  double *lse_pre;                /* prefix call, internal (0, q head, token) */
  double *lse_ref;                /* [hq][tokens] */
  double *got_suf, *got_pre;      /* delivered [hq][tokens] */
  double *so, *sl, *acc, *accl, *o_out;
} demo_bufs;

static void demo_free(demo_bufs *m) {
  free(m->o_pre), free(m->o_suf), free(m->o_ref), free(m->lse_suf), free(m->lse_pre), free(m->lse_ref);
  free(m->got_suf), free(m->got_pre), free(m->so), free(m->sl), free(m->acc), free(m->accl), free(m->o_out);
  memset(m, 0, sizeof *m);
}

static bool demo_alloc(demo_bufs *m, int64_t tokens, int64_t hq, int64_t g, int64_t d) {
  memset(m, 0, sizeof *m);
  const size_t od = (size_t)(tokens * hq * d), l = (size_t)(tokens * hq);
  m->o_pre = malloc(od * sizeof(double)), m->o_suf = malloc(od * sizeof(double));
  m->o_ref = malloc(od * sizeof(double));
  m->lse_suf = malloc(l * sizeof(double)), m->lse_pre = malloc(l * sizeof(double));
  m->lse_ref = malloc(l * sizeof(double));
  m->got_suf = malloc(l * sizeof(double)), m->got_pre = malloc(l * sizeof(double));
  m->so = malloc((size_t)(g * d) * sizeof(double)), m->sl = malloc((size_t)g * sizeof(double));
  m->acc = malloc((size_t)(g * d) * sizeof(double)), m->accl = malloc((size_t)g * sizeof(double));
  m->o_out = malloc((size_t)d * sizeof(double));
  bool ok = m->o_pre && m->o_suf && m->o_ref && m->lse_suf && m->lse_pre && m->lse_ref && m->got_suf && m->got_pre &&
            m->so && m->sl && m->acc && m->accl && m->o_out;
  if (!ok) demo_free(m);
  return ok;
}

static bool demo_batch(const skv_lse_demo_config *c, int64_t kvlen, skv_batch *b, char *err, size_t errlen) {
  if (!skv_batch_alloc(b, c->batch)) {
    snprintf(err, errlen, "demo: out of memory");
    return false;
  }
  for (int32_t r = 0; r < c->batch; r++) b->qlen[r] = 1, b->kvlen[r] = kvlen;
  b->num_q_heads = c->kv_heads * c->groups;
  b->num_kv_heads = c->kv_heads;
  b->head_dim = c->head_dim;
  b->page_size = c->page_size;
  b->kv_dtype = b->v_dtype = SKV_BF16;
  return true;
}

/* Per (request, kv head): the prefix state and the suffix state merged from
 * the plan's chunks (suffix coordinates shifted by the prefix), as the split
 * kernel + combine compute them. */
static bool demo_states(const skv_workload *w, const skv_plan *p, const skv_lse_demo_config *c, demo_bufs *m) {
  const int64_t g = c->groups, d = c->head_dim, hq = c->kv_heads * g, tokens = c->batch;
  for (int32_t r = 0; r < c->batch; r++)
    for (int32_t kh = 0; kh < c->kv_heads; kh++) {
      if (!skv_ref_states(w, r, kh, 0, c->prefix, m->so, m->sl)) return false;
      for (int64_t j = 0; j < g; j++) {
        const int64_t q = kh * g + j;
        memcpy(m->o_pre + (r * hq + q) * d, m->so + j * d, (size_t)d * sizeof(double));
        m->lse_pre[q * tokens + r] = m->sl[j];
        m->accl[j] = -INFINITY;
      }
      memset(m->acc, 0, (size_t)(g * d) * sizeof(double));
      const skv_chunk *ch = skv_plan_chunks(p, r);
      for (int64_t k = 0; k < skv_plan_num_splits(p, r); k++) {
        if (!skv_ref_states(w, r, kh, c->prefix + ch[k].begin, c->prefix + ch[k].end, m->so, m->sl)) return false;
        for (int64_t j = 0; j < g; j++)
          skv_merge_states(c->head_dim, m->acc + j * d, m->accl[j], m->so + j * d, m->sl[j], m->acc + j * d,
                           &m->accl[j], false);
      }
      for (int64_t j = 0; j < g; j++) {
        memcpy(m->o_suf + (r * hq + kh * g + j) * d, m->acc + j * d, (size_t)d * sizeof(double));
        m->lse_suf[((int64_t)r * c->kv_heads + kh) * g + j] = m->accl[j];
      }
    }
  return true;
}

/* Deliver both LSEs through host path hp, merge as merge_attn_states does
 * (LSE read [num_heads, num_tokens]) and measure against the reference. */
static bool demo_host(const skv_lse_demo_config *c, skv_lse_kernel kernel, skv_lse_host hp, demo_bufs *m,
                      skv_lse_demo_host *out, char *err, size_t errlen) {
  const int64_t g = c->groups, d = c->head_dim, hq = c->kv_heads * g, tokens = c->batch;
  const skv_lse_case suffix = {.swapped = true, .unpadded = true, .kernel = kernel, .host = hp,
                               .batch = c->batch, .kv_heads = c->kv_heads, .groups = g, .qlen = 1};
  /* vLLM's prefix call: all tokens as one sequence of max_seqlen_q = tokens,
   * not swapped, not split, paged (block_table[:1]). */
  const skv_lse_case prefix = {.swapped = false, .unpadded = true, .kernel = SKV_LSE_SPLIT1, .host = hp,
                               .batch = 1, .kv_heads = c->kv_heads, .groups = g, .qlen = tokens};
  if (!skv_lse_deliver(&suffix, m->lse_suf, m->got_suf, NULL, err, errlen) ||
      !skv_lse_deliver(&prefix, m->lse_pre, m->got_pre, NULL, err, errlen))
    return false;
  double num = 0, den = 0;
  memset(out, 0, sizeof *out);
  for (int64_t t = 0; t < tokens; t++)
    for (int64_t q = 0; q < hq; q++) {
      const double ls = m->got_suf[q * tokens + t], lp = m->got_pre[q * tokens + t];
      if (ls != m->lse_suf[(t * c->kv_heads + q / g) * g + q % g]) out->lse_misplaced++;
      double l;
      skv_merge_states(c->head_dim, m->o_pre + (t * hq + q) * d, lp, m->o_suf + (t * hq + q) * d, ls, m->o_out, &l,
                       false);
      const double *ref = m->o_ref + (t * hq + q) * d;
      for (int64_t i = 0; i < d; i++) {
        const double e = m->o_out[i] - ref[i];
        num += e * e;
        den += ref[i] * ref[i];
        if (fabs(e) > out->o_max_abs) out->o_max_abs = fabs(e);
      }
      const double le = fabs(l - m->lse_ref[q * tokens + t]);
      if (le > out->lse_max_abs) out->lse_max_abs = le;
    }
  out->o_rel = den > 0 ? sqrt(num / den) : sqrt(num);
  return true;
}

bool skv_lse_demo_run(const skv_lse_demo_config *c, skv_lse_demo_result *res, char *err, size_t errlen) {
  memset(res, 0, sizeof *res);
  if (c->batch < 1 || c->kv_heads < 1 || c->groups < 2 || c->suffix < 1 || c->prefix < 0 || c->num_sms < 1) {
    snprintf(err, errlen, "demo: need batch >= 1, kv_heads >= 1, groups >= 2 (GQA swap), suffix >= 1, prefix >= 0");
    return false;
  }
  skv_batch full, suf;
  if (!demo_batch(c, c->prefix + c->suffix, &full, err, errlen)) return false;
  if (!demo_batch(c, c->suffix, &suf, err, errlen)) {
    skv_batch_free(&full);
    return false;
  }
  skv_workload_opts wo;
  skv_workload_opts_default(&wo);
  wo.seed = c->seed;
  wo.q_amp = c->q_amp;
  wo.shared_prefix = c->prefix;
  wo.materialize = false; /* KV rows are regenerated on demand: no pool in memory */
  skv_workload w;
  skv_plan p;
  demo_bufs m;
  bool have_w = false, have_p = false, have_m = false, ok;
  ok = have_w = skv_workload_make(&full, &wo, &w, err, errlen);
  /* FA2's heuristic reads a GPU's SM count only (plan_fa2.c) */
  skv_gpu gpu;
  memset(&gpu, 0, sizeof gpu);
  snprintf(gpu.name, sizeof gpu.name, "%d SMs", c->num_sms);
  gpu.sms = c->num_sms;
  ok = ok && (have_p = skv_plan_build(&suf, SKV_POLICY_FA2, NULL, &gpu, &p, err, errlen));
  if (ok && !(have_m = demo_alloc(&m, c->batch, (int64_t)c->kv_heads * c->groups, c->groups, c->head_dim))) {
    snprintf(err, errlen, "demo: out of memory");
    ok = false;
  }
  if (ok) {
    res->num_splits = p.batch_num_splits;
    res->kernel = p.batch_num_splits > 1 ? SKV_LSE_COMBINE : SKV_LSE_SPLIT1;
    snprintf(res->plan_why, sizeof res->plan_why, "%s", p.why);
    ok = demo_states(&w, &p, c, &m) && skv_ref_attention(&w, false, m.o_ref, m.lse_ref);
    if (!ok) snprintf(err, errlen, "demo: out of memory in the reference");
  }
  for (int32_t hp = 0; ok && hp < SKV_LSE_HOST_COUNT; hp++)
    ok = demo_host(c, res->kernel, (skv_lse_host)hp, &m, &res->host[hp], err, errlen);
  if (have_m) demo_free(&m);
  if (have_p) skv_plan_free(&p);
  if (have_w) skv_workload_free(&w);
  skv_batch_free(&full);
  skv_batch_free(&suf);
  return ok;
}

