/* gpu_run.c — one `skv run` configuration on the GPU: checks (numerics, bitwise repeat, batch invariance, LSE layout), then timing. */
#include <cuda_runtime_api.h>
#include <cupti.h>
#include <math.h>
#include <nvtx3/nvToolsExt.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"
#include "gpu/gpu_ceiling.h"
#include "gpu/gpu_cupti.h"
#include "gpu/gpu_exec.h"
#include "gpu/gpu_graph.h"
#include "cascade_cost.h"
#include "gpu/gpu_cascade.h"
#include "gpu/gpu_timing.h"
#include "check/numerics.h"
#include "check/inv_pairs.h"
#include "check/lse_check.h"
#include "exec/exec.h"
#include "gpu/gpu_session.h"
#include "out/dump.h"

/* ---- session ---- */

bool skv_gpu_session_begin(bool use_cupti, skv_gpu_session *s, char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  if (!skv_gpu_present()) {
    snprintf(err, errlen, "no CUDA device");
    return false;
  }
  if (!skv_gpu_info_get(&s->info, err, errlen)) return false;
  if (use_cupti && !skv_cupti_start(err, errlen)) return false;
  s->use_cupti = use_cupti;
  s->info.cupti_version = use_cupti ? (int32_t)skv_cupti_version() : 0;
  /* The in-run ceilings on 2 GiB (less on a small GPU: at most a quarter of the memory). */
  int64_t bytes = (int64_t)2 << 30;
  if (bytes > s->info.mem_bytes / 8) bytes = s->info.mem_bytes / 8 / 16 * 16;
  s->ceiling_bytes = bytes;
  skv_ceilings c;
  if (!skv_gpu_measure_ceilings(s->ceiling_bytes, 10, s->use_cupti, &c, err, errlen)) return false;
  s->read_tbps = c.read_tbps, s->copy_tbps = c.copy_tbps;
  _Static_assert(SKV_READ_STREAM_VARIANTS <= SKV_SESSION_MAX_READERS, "the session records every reader");
  for (int v = 0; v < SKV_READ_STREAM_VARIANTS; v++) {
    if (c.reader_tbps[v] <= 0) continue;
    if (v == c.read_variant) s->best_reader = s->nreaders;
    snprintf(s->reader_name[s->nreaders], sizeof s->reader_name[0], "%s", skv_read_stream_name(v));
    s->reader_tbps[s->nreaders++] = c.reader_tbps[v];
  }
  s->free_bytes = skv_gpu_free_bytes(err, errlen);
  return s->free_bytes >= 0;
}

bool skv_gpu_session_remeasure(const skv_gpu_session *s, double *read_tbps, double *copy_tbps, char *err, size_t errlen) {
  skv_ceilings c;
  if (!skv_gpu_measure_ceilings(s->ceiling_bytes, 10, s->use_cupti, &c, err, errlen)) return false;
  *read_tbps = c.read_tbps;
  *copy_tbps = c.copy_tbps;
  return true;
}

void skv_gpu_session_end(skv_gpu_session *s) {
  if (s->use_cupti) skv_cupti_stop();
}

void skv_nvtx_push(const char *name) {
  static nvtxDomainHandle_t domain;
  if (!domain) domain = nvtxDomainCreateA("skv");
  nvtxEventAttributes_t a;
  memset(&a, 0, sizeof a);
  a.version = NVTX_VERSION;
  a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
  a.messageType = NVTX_MESSAGE_TYPE_ASCII;
  a.message.ascii = name;
  nvtxDomainRangePushEx(domain, &a);
}

void skv_nvtx_pop(void) {
  static nvtxDomainHandle_t domain;
  if (!domain) domain = nvtxDomainCreateA("skv"); /* the same handle: domains are registered by name */
  nvtxDomainRangePop(domain);
}

uint64_t skv_trace_clock_ns(void) {
  uint64_t t = 0;
  return cuptiGetTimestamp(&t) == CUPTI_SUCCESS ? t : 0;
}

/* ---- memory ---- */

int64_t skv_gpu_job_bytes(const skv_batch *b, const skv_plan *p, int64_t l2_bytes) {
  int64_t pages = 0;
  for (int32_t r = 0; r < b->num_requests; r++) pages += skv_batch_pages(b, r);
  const int64_t pool = pages * b->page_size * b->num_kv_heads * b->head_dim;
  const int64_t kv = pool * (skv_dtype_size(b->kv_dtype) + skv_dtype_size(b->v_dtype));
  const int64_t replicas = kv >= 4 * l2_bytes || kv == 0 ? 1 : (4 * l2_bytes + kv - 1) / kv;
  int64_t tokens = 0;
  for (int32_t r = 0; r < b->num_requests; r++) tokens += b->qlen[r];
  const int64_t out = tokens * b->num_q_heads * (b->head_dim * 6 + 8);
  const int64_t ref = tokens * b->num_q_heads * (b->head_dim + 1) * 4; /* the fp32 reference's outputs */
  return kv * (replicas + 1) + out + ref + p->scratch_o_bytes + p->scratch_lse_bytes + p->num_work * 64 +
         (64ll << 20);
}

/* ---- one job ---- */

static bool run_once(const skv_gpu_batch *g, const skv_gpu_plan *gp, void *o, float *lse, char *err, size_t errlen) {
  return skv_gpu_poison(g, err, errlen) && skv_gpu_run(g, gp, 0, err, errlen) &&
         skv_gpu_download(g, o, lse, err, errlen);
}

/* The GPU fp32 reference for every request (configurations too large for the CPU reference). */
static bool fp32_reference(const skv_gpu_batch *g, const void *o, const float *lse, skv_numerics *num, char *err,
                           size_t errlen) {
  const skv_decode_problem *p = &g->prob;
  float *d_o = NULL, *d_l = NULL;
  bool ok = cudaMalloc((void **)&d_o, (size_t)g->o_elems * sizeof(float)) == cudaSuccess &&
            cudaMalloc((void **)&d_l, (size_t)g->lse_elems * sizeof(float)) == cudaSuccess;
  float *ho = malloc(sizeof(float) * (size_t)g->o_elems), *hl = malloc(sizeof(float) * (size_t)g->lse_elems);
  if (!ok || !ho || !hl) {
    snprintf(err, errlen, "fp32 reference: out of memory");
    ok = false;
  }
  if (ok) ok = skv_ref_fp32_launch(p, g->d_kvlen, d_o, d_l, 0, err, errlen) == 0;
  if (ok) {
    cudaError_t e = cudaMemcpy(ho, d_o, (size_t)g->o_elems * sizeof(float), cudaMemcpyDeviceToHost);
    if (e == cudaSuccess) e = cudaMemcpy(hl, d_l, (size_t)g->lse_elems * sizeof(float), cudaMemcpyDeviceToHost);
    if (e != cudaSuccess) {
      snprintf(err, errlen, "%s:%d: fp32 reference: %s", __FILE__, __LINE__, cudaGetErrorString(e));
      ok = false;
    }
  }
  if (ok)
    skv_numerics_vs_fp32(p->total_q, p->num_q_heads, p->num_kv_heads, p->head_dim, p->o_dtype, o, lse,
                         &p->lse_layout, ho, hl, num);
  cudaFree(d_o), cudaFree(d_l);
  free(ho), free(hl);
  return ok;
}

/* Request 0 alone, on the batch's device pools: are its O and LSE the same bits? */
static bool batch_invariance(const skv_exec_job *job, const skv_gpu_batch *g, const uint16_t *o, const float *lse,
                             skv_check *out, char *err, size_t errlen) {
  skv_workload one;
  if (!skv_workload_extract(job->w, 0, &one, err, errlen)) return false;
  skv_plan p1;
  skv_gpu_batch g1;
  skv_gpu_plan gp1;
  bool ok = skv_plan_build(&one.batch, job->cfg->policy, &job->cfg->opts, job->model, &p1, err, errlen);
  if (ok) {
    ok = skv_gpu_batch_borrow(g, &one, &g1, err, errlen);
    if (ok) {
      ok = skv_gpu_plan_upload(&p1, one.page_indptr, &gp1, err, errlen);
      if (ok) {
        /* request 0's tokens come first: its q1 rows of O; LSE [hq, T] against [hq, q1] */
        const int64_t hq = g->prob.num_q_heads, d = g->prob.head_dim, T = g->prob.total_q, q1 = g1.prob.total_q;
        uint16_t *o1 = malloc(sizeof(uint16_t) * (size_t)(q1 * hq * d));
        float *l1 = malloc(sizeof(float) * (size_t)(q1 * hq));
        ok = o1 && l1 && run_once(&g1, &gp1, o1, l1, err, errlen);
        if (ok) {
          bool same = memcmp(o1, o, sizeof(uint16_t) * (size_t)(q1 * hq * d)) == 0;
          for (int64_t h = 0; h < hq && same; h++) same = memcmp(&l1[h * q1], &lse[h * T], sizeof(float) * (size_t)q1) == 0;
          *out = same ? SKV_CHECK_YES : SKV_CHECK_NO;
        }
        free(o1), free(l1);
        skv_gpu_plan_free(&gp1);
      }
      skv_gpu_batch_free(&g1);
    }
    skv_plan_free(&p1);
  }
  skv_workload_free(&one);
  return ok;
}

/* The invariance pairs: the probe (request 0) in each variant batch on the batch's device pools,
 * its O and LSE bits against those of the configuration's run (o, lse), beside the simulator's
 * prediction of the same pair. */
/* The probe's bits in a variant run (O [tokens, hq, d], its q0 tokens at `at`; LSE logical [hq,
 * tokens] when token_major is false, else [tokens, hq]) against the configuration's run (o, lse:
 * logical over T tokens). */
static bool probe_same(const uint16_t *ov, const float *lv, int64_t Tv, int64_t at, bool token_major, const uint16_t *o,
                       const float *lse, int64_t T, int64_t q0, int64_t hq, int64_t d) {
  bool same = memcmp(ov + at * hq * d, o, sizeof(uint16_t) * (size_t)(q0 * hq * d)) == 0;
  for (int64_t h = 0; h < hq && same; h++)
    for (int64_t t = 0; t < q0 && same; t++)
      same = memcmp(token_major ? &lv[(at + t) * hq + h] : &lv[h * Tv + at + t], &lse[h * T + t], sizeof(float)) == 0;
  return same;
}

/* The invariance pairs: the probe (request 0) in each variant batch on the batch's device pools,
 * its O and LSE bits against those of the configuration's run (o, lse), beside the simulator's
 * prediction of the same pair. With the suite's graph key, each variant that fits is also replayed
 * through one graph captured for the largest variant batch (SKV_INV_MAX_BATCH requests at the
 * batch's longest KV) under the policy's graph mode: the same pair, graph against eager. */
static bool invariance_pairs(const skv_exec_job *job, const skv_gpu_batch *g, const uint16_t *o, const float *lse,
                             skv_run_row *row, char *err, size_t errlen) {
  const int64_t hq = g->prob.num_q_heads, d = g->prob.head_dim, T = g->prob.total_q;
  const int64_t q0 = job->w->batch.qlen[0];
  int64_t pairs = 0, same_meas = 0, disagree = 0, gpairs = 0, gsame = 0;
  bool ok = true, have_graph = false;
  skv_gpu_graph gr;
  memset(&gr, 0, sizeof gr);
  if (job->suite->graph) {
    const skv_batch *b = &job->w->batch;
    const int64_t maxq = skv_batch_max_qlen(b), maxk = skv_batch_max_kvlen(b);
    skv_batch big;
    if (!skv_batch_uniform(b, SKV_INV_MAX_BATCH, maxq, maxk, &big)) {
      snprintf(err, errlen, "invariance pairs: out of memory");
      return false;
    }
    skv_graph_bound bound;
    char why[256];
    /* a policy that cannot plan the largest batch has no capture: its pairs stay eager only */
    have_graph = skv_graph_bound_make(&big, job->cfg->policy, &job->cfg->opts, job->model, maxk > 0 ? maxk : 1, &bound,
                                      why, sizeof why);
    skv_batch_free(&big);
    if (have_graph && !skv_gpu_graph_capture(g, &bound, &gr, err, errlen)) return false;
  }
  for (int32_t k = 0; ok && k < job->suite->invariance_pairs; k++) {
    skv_variant v;
    skv_plan vp;
    bool usable = false, predicted = false;
    ok = skv_inv_pair_plan(job, k, &v, &vp, &usable, &predicted, err, errlen);
    if (!ok || !usable) {
      if (ok) skv_variant_free(&v);
      continue;
    }
    skv_workload vw;
    ok = skv_workload_compose(job->w, &v.batch, v.source, &vw, err, errlen);
    if (ok) {
      skv_gpu_batch gv;
      skv_gpu_plan gpv;
      ok = skv_gpu_batch_borrow(g, &vw, &gv, err, errlen);
      if (ok) {
        ok = skv_gpu_plan_upload(&vp, vw.page_indptr, &gpv, err, errlen);
        if (ok) {
          const int64_t Tv = gv.prob.total_q, at = vw.cu_seqlens_q[v.probe];
          uint16_t *ov = malloc(sizeof(uint16_t) * (size_t)gv.o_elems);
          float *lv = malloc(sizeof(float) * (size_t)gv.lse_elems);
          ok = ov && lv && run_once(&gv, &gpv, ov, lv, err, errlen);
          if (!ov || !lv) snprintf(err, errlen, "invariance pairs: out of memory");
          if (ok) {
            const bool same = probe_same(ov, lv, Tv, at, false, o, lse, T, q0, hq, d);
            pairs++;
            same_meas += same;
            disagree += same != predicted;
          }
          char why[160];
          if (ok && have_graph && skv_graph_bound_fits(&gr.bound, &vp, &v.batch, why, sizeof why)) {
            ok = skv_gpu_graph_load(&gr, &vw, &vp, err, errlen) && skv_gpu_graph_run_once(&gr, ov, lv, err, errlen);
            if (ok) {
              const bool same = probe_same(ov, lv, Tv, at, true, o, lse, T, q0, hq, d);
              gpairs++;
              gsame += same;
              disagree += same != predicted;
            }
          }
          free(ov), free(lv);
          skv_gpu_plan_free(&gpv);
        }
        skv_gpu_batch_free(&gv);
      }
      skv_workload_free(&vw);
    }
    skv_plan_free(&vp);
    skv_variant_free(&v);
  }
  if (have_graph) skv_gpu_graph_free(&gr);
  if (ok) {
    row->inv_same_measured = same_meas;
    row->inv_disagree = disagree;
    if (job->suite->graph) row->inv_graph_pairs = gpairs, row->inv_graph_same = gsame;
    if (row->inv_pairs != pairs) {
      snprintf(err, errlen, "invariance pairs: the GPU ran %lld pairs where the simulator counted %lld",
               (long long)pairs, (long long)row->inv_pairs);
      ok = false;
    }
  }
  return ok;
}

/* The CUDA graph (suite key graph): decode + combine captured at the policy's bound, this batch and
 * plan loaded into it, replayed on poisoned outputs: the bits against the eager run's (o, lse:
 * logical [hq, tokens]; the graph's LSE is token-major), then a step's time replayed and eager. */
static bool graph_step(const skv_exec_job *job, const skv_gpu_batch *g, const skv_gpu_plan *gp, const uint16_t *o,
                       const float *lse, skv_run_row *row, char *err, size_t errlen) {
  skv_graph_bound b;
  if (!skv_graph_bound_make(&job->w->batch, job->cfg->policy, &job->cfg->opts, job->model, job->suite->graph_max_seqlen,
                            &b, err, errlen))
    return false;
  skv_gpu_graph gr;
  if (!skv_gpu_graph_capture(g, &b, &gr, err, errlen)) return false;
  const int64_t hq = g->prob.num_q_heads, T = g->prob.total_q;
  uint16_t *go = malloc(sizeof(uint16_t) * (size_t)g->o_elems);
  float *gl = malloc(sizeof(float) * (size_t)g->lse_elems);
  bool ok = go && gl;
  if (!ok) snprintf(err, errlen, "graph: out of memory");
  ok = ok && skv_gpu_graph_load(&gr, job->w, job->plan, err, errlen) && skv_gpu_graph_run_once(&gr, go, gl, err, errlen);
  if (ok) {
    bool same = memcmp(go, o, sizeof(uint16_t) * (size_t)g->o_elems) == 0;
    for (int64_t t = 0; t < T && same; t++)
      for (int64_t h = 0; h < hq && same; h++) same = memcmp(&gl[t * hq + h], &lse[h * T + t], sizeof(float)) == 0;
    row->graph_bits = same ? SKV_CHECK_YES : SKV_CHECK_NO;
    ok = skv_gpu_graph_time(&gr, g, gp, job->suite->warmup, job->suite->repeat, &row->graph_us, &row->eager_us, err,
                            errlen);
  }
  free(go), free(gl);
  skv_gpu_graph_free(&gr);
  return ok;
}

/* One cascade of a row's batch with sharing cs (both passes under the configuration's policy and
 * options): run on poisoned outputs and checked against the reference (the double CPU one where
 * affordable, else the fp32 GPU one), then timed over the same pool replicas as the flash-decoding
 * timing (rot), with its parts apart when parts is not NULL. *rel_err is the larger of itself and this run's error (INFINITY: outputs left
 * unwritten); *us its time. ext: the timing's external-id offset. */
static bool cascade_run(const skv_exec_job *job, skv_gpu_batch *g, const skv_gpu_rotation *rot, bool use_cupti,
                        const skv_share *cs, uint64_t ext, double *us, double *parts, double *rel_err, char *err,
                        size_t errlen) {
  const skv_config *c = job->cfg;
  skv_cascade_plan cp;
  if (!skv_cascade_plan_build(&job->w->batch, cs, c->policy, &c->opts, c->policy, &c->opts, job->model, &cp, err,
                              errlen))
    return false;
  void *co = malloc((size_t)g->o_elems * (size_t)skv_dtype_size(g->prob.o_dtype));
  float *cl = malloc(sizeof(float) * (size_t)g->lse_elems);
  bool ok = co && cl;
  if (!ok) snprintf(err, errlen, "cascade: out of memory");
  ok = ok && skv_gpu_poison(g, err, errlen) && skv_gpu_cascade_run(g, job->w, &cp, false, err, errlen) &&
       skv_gpu_download(g, co, cl, err, errlen);
  double e = NAN;
  if (ok && skv_count_nan(g->prob.o_dtype, co, g->o_elems, cl, g->lse_elems) > 0) {
    e = INFINITY; /* outputs left unwritten: the check fails */
  } else if (ok) {
    skv_numerics num;
    if (job->cpu_reference) {
      const skv_workload correct = skv_workload_view_correct(job->w);
      ok = skv_numerics_vs_reference(&correct, g->prob.o_dtype, co, cl, &g->prob.lse_layout, NULL, 0, &num);
      if (!ok) snprintf(err, errlen, "reference: out of memory");
    } else {
      ok = fp32_reference(g, co, cl, &num, err, errlen);
    }
    if (ok) e = num.o_rel_l2;
  }
  if (!isnan(e) && (isnan(*rel_err) || e > *rel_err)) *rel_err = e;
  free(co), free(cl);
  if (ok)
    ok = skv_gpu_cascade_time(g, job->w, &cp, rot, job->suite->warmup, job->suite->repeat, use_cupti, ext, us, parts,
                              err, errlen);
  skv_cascade_plan_free(&cp);
  return ok;
}

/* Cascade attention for a configuration with shared prefixes (suite key cascade): every level
 * cascaded (cascade_us), and with two levels the outer level alone and each deepest group's whole
 * prefix as one level (cascade_outer_us, cascade_merged_us; cascade_cost.h's choices), each checked
 * and timed (cascade_run); then flash decoding over distinct prefix pages. The caller sets
 * cascade_faster, the oracle and the regrets from these and the row's total_us. */
static bool cascade_step(const skv_exec_job *job, skv_gpu_batch *g, const skv_gpu_rotation *rot, bool use_cupti,
                         int64_t l2_bytes, skv_run_row *row, char *err, size_t errlen) {
  const skv_config *c = job->cfg;
  skv_share sh;
  if (!skv_config_share(c, &sh, err, errlen)) return false;
  bool ok = true;
  for (int ch = SKV_CASCADE_ALL; ok && ch < SKV_CASCADE_CHOICES; ch++) {
    if (!skv_cascade_choice_offered(&sh, (skv_cascade_choice)ch)) continue;
    skv_share cs;
    double *us = ch == SKV_CASCADE_ALL ? &row->cascade_us
                                       : (ch == SKV_CASCADE_OUTER ? &row->cascade_outer_us : &row->cascade_merged_us);
    ok = skv_cascade_choice_share(&sh, (skv_cascade_choice)ch, &cs, err, errlen);
    if (ok) {
      double parts[3];
      ok = cascade_run(job, g, rot, use_cupti, &cs, job->ext_id + ((uint64_t)(ch + 2) << 20), us,
                       ch == SKV_CASCADE_ALL ? parts : NULL, &row->cascade_o_rel_err, err, errlen);
      if (ok && ch == SKV_CASCADE_ALL)
        row->cascade_prefix_us = parts[0], row->cascade_suffix_us = parts[1], row->cascade_merge_us = parts[2];
      skv_share_free(&cs);
    }
  }
  skv_share_free(&sh);
  /* Flash decoding over distinct prefix pages: the same batch and plan with no page shared (each
   * request its own copy of the prefix: other values, the same work), timed by the row's rules. */
  if (ok) {
    skv_workload_opts wo = job->w->opts;
    wo.share = NULL, wo.shared_prefix = 0, wo.materialize = false, wo.poison_tails = false;
    skv_workload dw;
    skv_gpu_batch dg;
    skv_gpu_plan dp;
    skv_gpu_rotation drot;
    skv_timing t;
    ok = skv_workload_make(&job->w->batch, &wo, &dw, err, errlen);
    if (ok) {
      ok = skv_gpu_batch_upload(&dw, NULL, &dg, err, errlen);
      if (ok) {
        ok = skv_gpu_plan_upload(job->plan, dw.page_indptr, &dp, err, errlen);
        if (ok) {
          ok = skv_gpu_rotation_make(&dg, &dw, l2_bytes, &drot, err, errlen);
          if (ok) {
            ok = skv_gpu_time(&dg, &dp, &drot, job->suite->warmup, job->suite->repeat, use_cupti,
                              job->ext_id + (1u << 20), NULL, &t, err, errlen);
            if (ok) row->fd_distinct_us = t.total_us;
            skv_gpu_rotation_free(&drot);
          }
          skv_gpu_plan_free(&dp);
        }
        skv_gpu_batch_free(&dg);
      }
      skv_workload_free(&dw);
    }
  }
  return ok;
}

/* The measured choices of a cascade row: the oracle (the fastest) and each decision's regret. */
static void cascade_decisions(skv_run_row *row) {
  const double t[SKV_CASCADE_CHOICES] = {row->total_us, row->cascade_us, row->cascade_outer_us,
                                         row->cascade_merged_us};
  const skv_cascade_choice best = skv_cascade_oracle(t);
  snprintf(row->cascade_oracle, sizeof row->cascade_oracle, "%s", skv_cascade_choice_name(best));
  row->regret_never = skv_cascade_regret(t, SKV_CASCADE_FD);
  row->regret_always = skv_cascade_regret(t, SKV_CASCADE_ALL);
  if (row->cascade_vllm_choice >= 0) row->regret_vllm = skv_cascade_regret(t, (skv_cascade_choice)row->cascade_vllm_choice);
  if (row->cascade_lab_choice >= 0) row->regret_lab = skv_cascade_regret(t, (skv_cascade_choice)row->cascade_lab_choice);
}

static bool run_job(void *self, const skv_exec_job *job, skv_run_row *row, char *err, size_t errlen) {
  const skv_gpu_session *s = self;
  const skv_config *c = job->cfg;
  const skv_workload *w = job->w;
  const skv_batch *b = &w->batch;
  skv_gpu_batch g;
  skv_gpu_plan gp;
  if (!skv_gpu_batch_upload(w, NULL, &g, err, errlen)) return false;
  if (!skv_gpu_plan_upload(job->plan, w->page_indptr, &gp, err, errlen)) {
    skv_gpu_batch_free(&g);
    return false;
  }
  const int64_t no = g.o_elems, nl = g.lse_elems;
  uint16_t *o = malloc(sizeof(uint16_t) * (size_t)no), *o2 = malloc(sizeof(uint16_t) * (size_t)no);
  float *lse = malloc(sizeof(float) * (size_t)nl), *lse2 = malloc(sizeof(float) * (size_t)nl);
  double *logical = malloc(sizeof(double) * (size_t)nl), *delivered = malloc(sizeof(double) * (size_t)nl);
  bool ok = o && o2 && lse && lse2 && logical && delivered;
  if (!ok) snprintf(err, errlen, "gpu run: out of memory");

  /* 1. Run once on poisoned outputs; everything must be written. */
  if (ok) ok = run_once(&g, &gp, o, lse, err, errlen);
  if (ok) row->unwritten = skv_count_nan(g.prob.o_dtype, o, no, lse, nl);

  /* 2. Numerics: the double CPU reference where affordable, else the GPU fp32 reference (the
   * quantization error, quant_o_rel_err, needs the CPU's unquantized values: left empty then). */
  if (ok && job->suite->check_reference) {
    skv_numerics num;
    if (job->cpu_reference) {
      /* The kernel against the dequantized reference with every scale (its arithmetic alone); the
       * quantization error against the unquantized values, or, when the suite drops a scale to
       * emulate a kernel that ignored it, what that bug costs. */
      const skv_workload correct = skv_workload_view_correct(w), truth = skv_workload_view_unquantized(w);
      ok = skv_numerics_vs_reference(&correct, g.prob.o_dtype, o, lse, &g.prob.lse_layout, NULL, 0, &num);
      snprintf(row->reference, sizeof row->reference, "cpu-double");
      const bool dropped = w->opts.quant.drop_q_scale || w->opts.quant.drop_k_scale || w->opts.quant.drop_v_scale;
      const bool quant = dropped || g.prob.q_dtype == SKV_FP8_E4M3 || g.prob.k_dtype == SKV_FP8_E4M3 ||
                         g.prob.k_dtype == SKV_INT8;
      skv_numerics qn;
      if (ok && quant)
        ok = dropped ? skv_numerics_ref_vs_ref(w, &truth, &qn)
                     : skv_numerics_vs_reference(&truth, g.prob.o_dtype, o, lse, &g.prob.lse_layout, NULL, 0, &qn);
      if (ok && quant) row->quant_o_rel_err = qn.o_rel_l2;
      if (!ok) snprintf(err, errlen, "reference: out of memory");
    } else { /* too large for the CPU: the fp32 GPU reference, which reads every cache type */
      ok = fp32_reference(&g, o, lse, &num, err, errlen);
      snprintf(row->reference, sizeof row->reference, "gpu-fp32");
    }
    if (ok) {
      row->o_rel_err = num.o_rel_l2;
      row->o_max_abs = num.o_max_abs;
      row->lse_max_abs = num.lse_max_abs;
    }
  }

  /* 3. The same plan again: the same bits. */
  if (ok && job->suite->check_bitwise_repeat) {
    ok = run_once(&g, &gp, o2, lse2, err, errlen);
    if (ok)
      row->bitwise_repeat = memcmp(o, o2, sizeof(uint16_t) * (size_t)no) == 0 &&
                                    memcmp(lse, lse2, sizeof(float) * (size_t)nl) == 0
                                ? SKV_CHECK_YES
                                : SKV_CHECK_NO;
  }

  /* 4. Request 0 alone vs inside the batch. */
  if (ok && job->suite->check_batch_invariance && b->num_requests > 1)
    ok = batch_invariance(job, &g, o, lse, &row->batch_invariant, err, errlen);

  /* 4b. The probe in variant batches (checks: invariance_pairs). */
  if (ok && job->suite->invariance_pairs > 0) ok = invariance_pairs(job, &g, o, lse, row, err, errlen);

  /* 5. The configured LSE layout and host path: does the caller get the logical LSE? */
  skv_layout layout;
  skv_check predicted;
  if (ok) ok = skv_lse_check_setup(c, b, &layout, &predicted, err, errlen);
  if (ok && predicted != SKV_CHECK_NA) {
    const skv_layout L = g.prob.lse_layout;
    const int64_t G = skv_batch_group(b);
    for (int64_t r = 0; r < g.prob.total_q; r++) /* the logical run's LSE in (t, h, m) order */
      for (int64_t h = 0; h < b->num_kv_heads; h++)
        for (int64_t m = 0; m < G; m++) logical[(r * b->num_kv_heads + h) * G + m] = lse[skv_layout_offset3(&L, r, h, m)];
    g.prob.lse_layout = layout;
    ok = run_once(&g, &gp, o2, lse2, err, errlen) && skv_lse_check_deliver(c, b, lse2, delivered, err, errlen);
    g.prob.lse_layout = L;
    if (ok) row->lse_correct = memcmp(logical, delivered, sizeof(double) * (size_t)nl) == 0 ? SKV_CHECK_YES : SKV_CHECK_NO;
  }

  /* 6. --dump: the pools as the device holds them. */
  if (ok && job->dump_dir) {
    const size_t kb = (size_t)g.pool_elems * (size_t)skv_dtype_size(g.prob.k_dtype);
    const size_t vb = (size_t)g.pool_elems * (size_t)skv_dtype_size(g.prob.v_dtype);
    void *k = malloc(kb > 0 ? kb : 1), *v = malloc(vb > 0 ? vb : 1);
    ok = k && v && cudaMemcpy(k, g.prob.d_k, kb, cudaMemcpyDeviceToHost) == cudaSuccess &&
         cudaMemcpy(v, g.prob.d_v, vb, cudaMemcpyDeviceToHost) == cudaSuccess;
    if (!ok) snprintf(err, errlen, "dump: copying the pools failed");
    if (ok) ok = skv_dump_write(job->dump_dir, w, job->plan, k, v, o, g.prob.o_dtype, lse, &g.prob.lse_layout, err, errlen);
    free(k), free(v);
  }

  /* 6b. The CUDA graph (before the timing, which swaps the pools for their replicas). A plan the
   * bound does not hold runs eagerly, as the policy would (graph_fits "no"). */
  if (ok && job->suite->graph && row->graph_fits == SKV_CHECK_YES) ok = graph_step(job, &g, &gp, o, lse, row, err, errlen);

  /* 7. Timing over pool replicas past the L2. */
  if (ok && job->suite->repeat > 0) {
    skv_gpu_rotation rot;
    skv_timing t;
    ok = skv_gpu_rotation_make(&g, w, s->info.l2_bytes, &rot, err, errlen);
    if (ok) {
      ok = skv_gpu_time(&g, &gp, &rot, job->suite->warmup, job->suite->repeat, s->use_cupti, job->ext_id, job->trace,
                        &t, err, errlen);
      g.prob.d_page_table = g.d_own_page_table; /* replica 0: the batch's own bytes */
      /* 8. Cascade attention over the same replicas (suite key cascade). */
      if (ok && job->suite->cascade && (c->shared_prefix > 0 || c->group_size > 0))
        ok = cascade_step(job, &g, &rot, s->use_cupti, s->info.l2_bytes, row, err, errlen);
      skv_gpu_rotation_free(&rot);
    }
    if (ok) {
      snprintf(row->timer, sizeof row->timer, "%s", t.cupti ? "cupti" : "events");
      row->decode_us = t.decode_us;
      row->combine_us = t.combine_us;
      row->total_us = t.total_us;
      row->total_min_us = t.total_min_us;
      row->total_max_us = t.total_max_us;
      row->repeats = t.runs;
      row->total_q1_us = t.total_q1_us;
      row->total_q3_us = t.total_q3_us;
      row->spread = skv_spread_flag(t.total_q1_us, t.total_q3_us, t.total_us);
      row->tbps = (double)(g.kv_read.kv + g.kv_read.scales) / (t.total_us * 1e-6) / 1e12;
      row->read_ceiling_tbps = s->read_tbps;
      row->frac_of_read_ceiling = row->tbps / s->read_tbps;
      if (!isnan(row->cascade_us)) {
        row->cascade_faster = row->cascade_us < row->total_us ? SKV_CHECK_YES : SKV_CHECK_NO;
        cascade_decisions(row);
      }
    }
  }
  free(o), free(o2), free(lse), free(lse2), free(logical), free(delivered);
  skv_gpu_plan_free(&gp);
  skv_gpu_batch_free(&g);
  return ok;
}

skv_executor skv_exec_gpu(void *session) {
  skv_executor e = {.name = "gpu", .run = run_job, .self = session};
  return e;
}
