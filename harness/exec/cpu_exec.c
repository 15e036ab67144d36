/* cpu_exec.c — the CPU executor of `skv run`: the plan run in double precision through its work list (sim/cpu_exec.h), checked against the unsplit reference. */
#include "exec/exec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/numerics.h"
#include "cpu_exec.h"
#include "lse_layout.h"
#include "out/dump.h"
#include "reference.h"
#include "support.h"

/* The plan executed as the GPU executes it, against the unsplit reference: every request and KV
 * head when that fits the budget (reference "plan-cpu"); else a sample (reference
 * "plan-cpu-sample"): the first and last request with all their KV heads, or only their first and
 * last KV head when that is still over the budget. It checks that the plan partitions each request
 * and that its work list, scratch rows and combine list merge the chunks back exactly. */
static bool plan_numerics(const skv_workload *w, const skv_plan *p, bool whole, skv_run_row *row, char *err,
                          size_t errlen) {
  const skv_batch *b = &w->batch;
  const int32_t B = b->num_requests, H = b->num_kv_heads, d = b->head_dim, G = skv_batch_group(b);
  const int64_t total_q = w->cu_seqlens_q[B], hq = b->num_q_heads;
  int32_t reqs[2] = {0, B - 1}, heads[2] = {0, H - 1};
  int32_t nr = B > 1 ? 2 : 1, nh = H;
  const bool sample = !whole;
  if (sample) {
    double c = 0;
    for (int32_t i = 0; i < nr; i++) c += (double)b->kvlen[reqs[i]] * (double)b->qlen[reqs[i]];
    if (2 * c * hq * d > SKV_CPU_REF_BUDGET_SIM) nh = H > 1 ? 2 : 1;
  } else {
    nr = B;
  }
  const int64_t no = total_q * hq * d, nl = total_q * hq, rows = skv_batch_max_qlen(b) * G;
  double *ro = calloc((size_t)no, sizeof(double)), *rl = calloc((size_t)nl, sizeof(double));
  double *po = calloc((size_t)no, sizeof(double)), *pl = calloc((size_t)nl, sizeof(double));
  double *so = malloc(sizeof(double) * (size_t)(rows * d)), *sl = malloc(sizeof(double) * (size_t)rows);
  bool *keep = calloc((size_t)B * (size_t)H, sizeof(bool));
  bool ok = ro && rl && po && pl && so && sl && keep;
  for (int32_t i = 0; i < nr && ok; i++)
    for (int32_t j = 0; j < nh && ok; j++) {
      const int32_t r = sample ? reqs[i] : i, h = nh == H ? j : heads[j];
      keep[(int64_t)r * H + h] = true;
      ok = skv_ref_states(w, r, h, 0, b->kvlen[r], so, sl);
      if (ok) skv_ref_scatter(w, r, h, so, sl, false, ro, rl);
    }
  if (ok) ok = skv_cpu_execute(w, p, keep, po, pl);
  double num = 0, den = 0, mx = 0, lmx = 0;
  for (int32_t i = 0; i < nr && ok; i++)
    for (int32_t j = 0; j < nh; j++) {
      const int32_t r = sample ? reqs[i] : i, h = nh == H ? j : heads[j];
      for (int64_t t = w->cu_seqlens_q[r]; t < w->cu_seqlens_q[r + 1]; t++)
        for (int32_t g = 0; g < G; g++) {
          const int64_t qh = (int64_t)h * G + g, at = (t * hq + qh) * d;
          for (int32_t c = 0; c < d; c++) {
            const double e = fabs(po[at + c] - ro[at + c]);
            num += e * e, den += ro[at + c] * ro[at + c];
            if (e > mx) mx = e;
          }
          const double a = pl[qh * total_q + t], want = rl[qh * total_q + t];
          if (!(isinf(want) && a == want) && fabs(a - want) > lmx) lmx = fabs(a - want);
        }
    }
  if (ok) {
    row->o_rel_err = den > 0 ? sqrt(num / den) : sqrt(num);
    row->o_max_abs = mx;
    row->lse_max_abs = lmx;
    snprintf(row->reference, sizeof row->reference, "%s", sample ? "plan-cpu-sample" : "plan-cpu");
  } else {
    snprintf(err, errlen, "reference: out of memory");
  }
  free(ro), free(rl), free(po), free(pl), free(so), free(sl), free(keep);
  return ok;
}

/* Quantized (or a scale dropped to emulate a bug): the quant_o_rel_err column applies. */
static bool quantized(const skv_config *c) {
  return c->q_dtype == SKV_FP8_E4M3 || c->kv_dtype == SKV_FP8_E4M3 || c->kv_dtype == SKV_INT8 ||
         c->quant.drop_q_scale || c->quant.drop_k_scale || c->quant.drop_v_scale;
}

/* The quantization error: the reference on the stored values (with a dropped scale when the
 * suite emulates that bug) against the reference on the unquantized values. */
static bool quant_error(const skv_workload *w, skv_run_row *row, char *err, size_t errlen) {
  const skv_workload truth = skv_workload_view_unquantized(w);
  skv_numerics n;
  if (!skv_numerics_ref_vs_ref(w, &truth, &n)) {
    snprintf(err, errlen, "reference: out of memory");
    return false;
  }
  row->quant_o_rel_err = n.o_rel_l2;
  return true;
}

/* --dump in a simulated run: the outputs are the CPU executor's, O rounded to the output type. */
static bool dump(const skv_exec_job *job, char *err, size_t errlen) {
  const skv_workload *w = job->w;
  const skv_batch *b = &w->batch;
  const int64_t no = (int64_t)b->num_requests * b->num_q_heads * b->head_dim, nl = (int64_t)b->num_requests * b->num_q_heads;
  double *ro = malloc(sizeof(double) * (size_t)no), *rl = malloc(sizeof(double) * (size_t)nl);
  float *lse = malloc(sizeof(float) * (size_t)nl);
  uint16_t *ob = malloc(sizeof(uint16_t) * (size_t)no);
  bool ok = ro && rl && lse && ob && skv_cpu_execute(w, job->plan, NULL, ro, rl);
  if (ok) {
    const skv_dtype od = skv_output_dtype(job->cfg->q_dtype);
    for (int64_t k = 0; k < no; k++) skv_store_from_float(od, ob, k, (float)ro[k]);
    for (int64_t k = 0; k < nl; k++) lse[k] = (float)rl[k];
    const skv_layout L = skv_lse_layout_logical(b->num_requests, b->num_kv_heads, skv_batch_group(b));
    ok = skv_dump_write(job->dump_dir, w, job->plan, w->k, w->v, ob, od, lse, &L, err, errlen);
  } else {
    snprintf(err, errlen, "dump: out of memory");
  }
  free(ro), free(rl), free(lse), free(ob);
  return ok;
}

static bool run(void *self, const skv_exec_job *job, skv_run_row *row, char *err, size_t errlen) {
  (void)self;
  bool ok = !job->suite->check_reference || plan_numerics(job->w, job->plan, job->cpu_reference, row, err, errlen);
  if (ok && job->cpu_reference && quantized(job->cfg)) ok = quant_error(job->w, row, err, errlen);
  if (ok && job->dump_dir) ok = dump(job, err, errlen);
  return ok;
}

skv_executor skv_exec_cpu(void) {
  skv_executor e = {.name = "cpu", .run = run, .self = NULL};
  return e;
}
