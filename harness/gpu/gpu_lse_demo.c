/* gpu_lse_demo.c — vLLM PR #87's case end to end on the GPU (gpu_lse_demo.h). */
#include "gpu/gpu_lse_demo.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cascade.h"
#include "cuda_check.h"
#include "gpu/gpu_exec.h"
#include "gpu/gpu_info.h"
#include "lse_layout.h"
#include "reference.h"
#include "share.h"

/* Everything one demo owns; freed by demo_free whatever was made. */
typedef struct demo {
  skv_batch full;
  bool have_full, have_w, have_share, have_plan, have_g, have_parts, have_pb, have_sb, have_pp, have_sp;
  skv_workload w, pw, sw;
  skv_share share;
  skv_cascade_plan cp;
  skv_gpu_batch g, gpb, gsb;
  skv_gpu_plan gpp, gps;
  float *d_pl, *d_sl;
  int64_t *d_rows;
  float *raw_suf, *pre, *caller_f, *lse_out;
  double *internal_pre, *got_pre, *o_ref, *lse_ref;
  void *o_out;
} demo;

static void demo_free(demo *m) {
  cudaFree(m->d_pl), cudaFree(m->d_sl), cudaFree(m->d_rows);
  if (m->have_pp) skv_gpu_plan_free(&m->gpp);
  if (m->have_sp) skv_gpu_plan_free(&m->gps);
  if (m->have_pb) skv_gpu_batch_free(&m->gpb);
  if (m->have_sb) skv_gpu_batch_free(&m->gsb);
  if (m->have_parts) skv_workload_free(&m->pw), skv_workload_free(&m->sw);
  if (m->have_g) skv_gpu_batch_free(&m->g);
  if (m->have_plan) skv_cascade_plan_free(&m->cp);
  if (m->have_share) skv_share_free(&m->share);
  if (m->have_w) skv_workload_free(&m->w);
  if (m->have_full) skv_batch_free(&m->full);
  free(m->raw_suf), free(m->pre), free(m->caller_f), free(m->lse_out), free(m->internal_pre), free(m->got_pre);
  free(m->o_ref), free(m->lse_ref), free(m->o_out);
}

/* The batch, data, sharing, cascade plan (prefix pass: one split; suffix pass: FA2 on c->num_sms SMs)
 * and both passes on the device, run once; the suffix LSE through FA2's write layout. */
static bool demo_setup(const skv_lse_demo_config *c, demo *m, skv_lse_demo_result *res, char *err, size_t errlen) {
  const int32_t B = c->batch;
  if (!(m->have_full = skv_batch_alloc(&m->full, B))) {
    snprintf(err, errlen, "demo: out of memory");
    return false;
  }
  for (int32_t r = 0; r < B; r++) m->full.qlen[r] = 1, m->full.kvlen[r] = c->prefix + c->suffix;
  m->full.num_q_heads = c->kv_heads * c->groups, m->full.num_kv_heads = c->kv_heads;
  m->full.head_dim = c->head_dim, m->full.page_size = c->page_size;
  m->full.kv_dtype = m->full.v_dtype = SKV_BF16;
  skv_workload_opts wo; /* as skv_lse_demo_run's: the same data */
  skv_workload_opts_default(&wo);
  wo.seed = c->seed, wo.q_amp = c->q_amp, wo.shared_prefix = c->prefix, wo.materialize = false;
  if (!(m->have_w = skv_workload_make(&m->full, &wo, &m->w, err, errlen))) return false;
  const int32_t block[1] = {B};
  const int64_t len[1] = {c->prefix};
  if (!(m->have_share = skv_share_blocks(B, 1, block, len, &m->share, err, errlen))) return false;
  skv_gpu gpu; /* FA2's heuristic reads the SM count only (plan_fa2.c), as in the CPU demo */
  memset(&gpu, 0, sizeof gpu);
  snprintf(gpu.name, sizeof gpu.name, "%d SMs", c->num_sms);
  gpu.sms = c->num_sms;
  if (!(m->have_plan = skv_cascade_plan_build(&m->full, &m->share, SKV_POLICY_NONE, NULL, SKV_POLICY_FA2, NULL, &gpu,
                                              &m->cp, err, errlen)))
    return false;
  res->num_splits = m->cp.suffix_plan.batch_num_splits;
  res->kernel = res->num_splits > 1 ? SKV_LSE_COMBINE : SKV_LSE_SPLIT1;
  snprintf(res->plan_why, sizeof res->plan_why, "%s", m->cp.suffix_plan.why);
  skv_layout L;
  if (!skv_lse_write_layout(res->kernel, true, true, B, c->kv_heads, c->groups, &L, err, errlen)) return false;
  if (!(m->have_g = skv_gpu_batch_upload(&m->w, NULL, &m->g, err, errlen))) return false;
  if (!(m->have_parts = skv_cascade_workloads(&m->w, &m->cp, &m->pw, &m->sw, err, errlen))) return false;
  if (!(m->have_pb = skv_gpu_batch_borrow(&m->g, &m->pw, &m->gpb, err, errlen)) ||
      !(m->have_sb = skv_gpu_batch_borrow(&m->g, &m->sw, &m->gsb, err, errlen)) ||
      !(m->have_pp = skv_gpu_plan_upload(&m->cp.prefix_plan, m->pw.page_indptr, &m->gpp, err, errlen)) ||
      !(m->have_sp = skv_gpu_plan_upload(&m->cp.suffix_plan, m->sw.page_indptr, &m->gps, err, errlen)))
    return false;
  m->gsb.prob.lse_layout = L; /* the suffix kernel writes its LSE as FA2's would */
  return skv_gpu_poison(&m->gpb, err, errlen) && skv_gpu_poison(&m->gsb, err, errlen) &&
         skv_gpu_run(&m->gpb, &m->gpp, 0, err, errlen) && skv_gpu_run(&m->gsb, &m->gps, 0, err, errlen);
}

bool skv_gpu_lse_demo_run(const skv_lse_demo_config *c, skv_lse_demo_result *res, char *err, size_t errlen) {
  memset(res, 0, sizeof *res);
  if (c->batch < 1 || c->kv_heads < 1 || c->groups < 2 || c->suffix < 1 || c->prefix < c->page_size ||
      c->prefix % c->page_size != 0 || c->num_sms < 1) {
    snprintf(err, errlen, "demo --gpu: need batch >= 1, kv_heads >= 1, groups >= 2 (GQA swap), suffix >= 1 and a "
                          "prefix of whole pages");
    return false;
  }
  if (!skv_gpu_present()) {
    snprintf(err, errlen, "demo --gpu: no CUDA device");
    return false;
  }
  demo m;
  memset(&m, 0, sizeof m);
  const int64_t B = c->batch, hkv = c->kv_heads, G = c->groups, hq = hkv * G, d = c->head_dim, N = B * hq;
  bool ok = demo_setup(c, &m, res, err, errlen);
  if (ok) {
    m.raw_suf = malloc(sizeof(float) * (size_t)m.gsb.lse_elems);
    m.pre = malloc(sizeof(float) * (size_t)m.gpb.lse_elems);
    m.caller_f = malloc(sizeof(float) * (size_t)N), m.lse_out = malloc(sizeof(float) * (size_t)N);
    m.internal_pre = malloc(sizeof(double) * (size_t)N), m.got_pre = malloc(sizeof(double) * (size_t)N);
    m.o_ref = malloc(sizeof(double) * (size_t)(N * d)), m.lse_ref = malloc(sizeof(double) * (size_t)N);
    m.o_out = malloc((size_t)m.g.o_elems * 2);
    ok = m.raw_suf && m.pre && m.caller_f && m.lse_out && m.internal_pre && m.got_pre && m.o_ref && m.lse_ref && m.o_out;
    if (!ok) snprintf(err, errlen, "demo --gpu: out of memory");
  }
#define TRY(x)                                                                                            \
  do {                                                                                                    \
    const cudaError_t e_ = (x);                                                                           \
    if (ok && e_ != cudaSuccess) {                                                                        \
      snprintf(err, errlen, "%s:%d: %s: %s", __FILE__, __LINE__, #x, cudaGetErrorString(e_));             \
      ok = false;                                                                                         \
    }                                                                                                     \
  } while (0)
  TRY(cudaDeviceSynchronize());
  TRY(cudaMemcpy(m.raw_suf, m.gsb.prob.d_lse, sizeof(float) * (size_t)m.gsb.lse_elems, cudaMemcpyDeviceToHost));
  TRY(cudaMemcpy(m.pre, m.gpb.prob.d_lse, sizeof(float) * (size_t)m.gpb.lse_elems, cudaMemcpyDeviceToHost));
  TRY(cudaMalloc((void **)&m.d_pl, sizeof(float) * (size_t)N));
  TRY(cudaMalloc((void **)&m.d_sl, sizeof(float) * (size_t)N));
  TRY(cudaMalloc((void **)&m.d_rows, sizeof(int64_t) * (size_t)(m.cp.levels * B)));
  if (ok) TRY(cudaMemcpy(m.d_rows, m.cp.prefix_row, sizeof(int64_t) * (size_t)(m.cp.levels * B), cudaMemcpyHostToDevice));
  if (ok && !skv_ref_attention(&m.w, false, m.o_ref, m.lse_ref)) {
    snprintf(err, errlen, "demo --gpu: out of memory in the reference");
    ok = false;
  }
  /* the prefix pass's LSE is the logical [hq, tokens] its FA2 call (not swapped, one split) writes */
  for (int64_t i = 0; ok && i < N; i++) m.internal_pre[i] = m.pre[i];
  skv_layout L;
  ok = ok && skv_lse_write_layout(res->kernel, true, true, B, hkv, G, &L, err, errlen);
  skv_cascade_merge_args a;
  memset(&a, 0, sizeof a);
  a.num_q_heads = (int32_t)hq, a.head_dim = (int32_t)d, a.levels = m.cp.levels, a.total_q = B, a.prefix_q = B;
  a.o_dtype = m.g.prob.o_dtype, a.base2 = false;
  a.d_prefix_o = m.gpb.prob.d_o, a.d_prefix_lse = m.d_pl, a.d_suffix_o = m.gsb.prob.d_o, a.d_suffix_lse = m.d_sl;
  a.d_prefix_row = m.d_rows, a.d_o = m.g.prob.d_o, a.d_lse = m.g.prob.d_lse;
  for (int32_t hp = 0; ok && hp < SKV_LSE_HOST_COUNT; hp++) {
    const skv_lse_case sc = {.swapped = true, .unpadded = true, .kernel = res->kernel, .host = (skv_lse_host)hp,
                             .batch = B, .kv_heads = hkv, .groups = G, .qlen = 1};
    const skv_lse_case pc = {.swapped = false, .unpadded = true, .kernel = SKV_LSE_SPLIT1, .host = (skv_lse_host)hp,
                             .batch = 1, .kv_heads = hkv, .groups = G, .qlen = B};
    skv_lse_row row;
    skv_lse_caller cl;
    ok = skv_lse_evaluate(&sc, &row, err, errlen);
    if (ok && !row.host_reads_strided) {
      snprintf(err, errlen, "demo --gpu: host path %s reads no strided layout", skv_lse_host_name(sc.host));
      ok = false;
    }
    if (!ok) break;
    skv_lse_caller_of(&sc, &cl);
    skv_lse_demo_host *out = &res->host[hp];
    /* the caller's [hq, tokens]: each element from the GPU buffer's offset the host reads */
    for (int64_t b = 0; b < B; b++)
      for (int64_t h = 0; h < hkv; h++)
        for (int64_t g = 0; g < G; g++) {
          const float v = m.raw_suf[skv_layout_offset3(&row.host_reads, b, h, g)];
          m.caller_f[skv_layout_offset3(&cl.index, b, h, g)] = v;
          if (memcmp(&v, &m.raw_suf[skv_layout_offset3(&L, b, h, g)], sizeof v) != 0) out->lse_misplaced++;
        }
    ok = skv_lse_deliver(&pc, m.internal_pre, m.got_pre, NULL, err, errlen);
    for (int64_t i = 0; ok && i < N; i++) m.lse_out[i] = (float)m.got_pre[i];
    TRY(cudaMemcpy(m.d_sl, m.caller_f, sizeof(float) * (size_t)N, cudaMemcpyHostToDevice));
    TRY(cudaMemcpy(m.d_pl, m.lse_out, sizeof(float) * (size_t)N, cudaMemcpyHostToDevice));
    ok = ok && skv_gpu_poison(&m.g, err, errlen) && skv_cascade_merge_launch(&a, 0, err, errlen) == 0 &&
         skv_gpu_download(&m.g, m.o_out, m.lse_out, err, errlen);
    double num = 0, den = 0;
    for (int64_t t = 0; ok && t < B; t++)
      for (int64_t q = 0; q < hq; q++) {
        for (int64_t i = 0; i < d; i++) {
          const double ref = m.o_ref[(t * hq + q) * d + i];
          const double e = skv_load_as_double(m.g.prob.o_dtype, m.o_out, (t * hq + q) * d + i) - ref;
          num += e * e, den += ref * ref;
          if (!(fabs(e) <= out->o_max_abs)) out->o_max_abs = fabs(e); /* NaN (unwritten) stays NaN */
        }
        const double le = fabs((double)m.lse_out[q * B + t] - m.lse_ref[q * B + t]);
        if (!(le <= out->lse_max_abs)) out->lse_max_abs = le;
      }
    out->o_rel = den > 0 ? sqrt(num / den) : sqrt(num);
  }
#undef TRY
  demo_free(&m);
  return ok;
}
