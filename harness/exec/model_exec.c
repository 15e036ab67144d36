/* model_exec.c — the cost model as an executor: a plan's own columns, its predicted times, and the simulator's predicted bits. */
#include "exec/exec.h"

#include <stdio.h>

#include "check/inv_pairs.h"
#include "check/lse_check.h"
#include "cascade.h"
#include "cascade_cost.h"
#include "graph_bound.h"
#include "invariance.h"

/* Request 0 alone: does the policy give it the same chunks as inside the batch? */
static skv_check predicted_invariance(const skv_exec_job *job) {
  const skv_batch *b = &job->w->batch;
  bool same;
  char err[256];
  if (b->num_requests < 2 || !skv_predict_alone_vs_batch(b, job->plan, 0, job->cfg->policy, &job->cfg->opts,
                                                         job->model, &same, err, sizeof err))
    return SKV_CHECK_NA;
  return same ? SKV_CHECK_YES : SKV_CHECK_NO;
}

static bool run(void *self, const skv_exec_job *job, skv_run_row *row, char *err, size_t errlen) {
  (void)self;
  const skv_plan *p = job->plan;
  const skv_batch *b = &job->w->batch;
  row->sms = p->num_sms;
  skv_plan_split_stats(p, &row->num_splits_min, &row->num_splits_max, &row->num_splits_mean);
  row->ctas = p->num_work;
  row->grid_ctas = p->grid_ctas;
  row->waves = p->waves;
  row->scratch_bytes = p->scratch_o_bytes + p->scratch_lse_bytes;
  const skv_kv_read read = skv_batch_kv_read(b);
  row->kv_bytes = read.kv;
  row->scale_bytes = read.scales;
  /* Flash decoding over the batch's pages: pages shared by requests (shared_prefix, group_prefix)
   * are reread from L2 (cascade_cost.h); the same plan over distinct pages beside it. */
  skv_prediction pr, distinct;
  skv_share sh = {0};
  const bool shares = job->cfg->shared_prefix > 0 || job->cfg->group_size > 0;
  if (shares && !skv_config_share(job->cfg, &sh, err, errlen)) return false;
  if (!skv_fd_predict_shared(p, b, shares ? &sh : NULL, job->model, &pr) ||
      !skv_cost_predict(p, b, job->model, &distinct)) {
    skv_share_free(&sh);
    snprintf(err, errlen, "cost model: out of memory");
    return false;
  }
  if (shares) row->fd_distinct_predicted_us = distinct.total_us;
  row->predicted_decode_us = pr.decode_us;
  row->predicted_combine_us = pr.combine_us;
  row->predicted_us = pr.total_us;
  snprintf(row->combine, sizeof row->combine, "%s", p->num_combine > 0 ? "kernel" : "-");
  row->batch_invariant_predicted = predicted_invariance(job);
  if (!skv_inv_pairs_predict(job, &row->inv_pairs, &row->inv_same_predicted, err, errlen)) return false;
  /* Cascade: vLLM's decision (over the prefix every request shares; it has no nested groups) and
   * the lab's (every choice the sharing offers predicted, the least taken; both passes planned
   * under the row's policy, as the GPU runs them). */
  if (job->suite->cascade && shares) {
    const skv_cascade_choice v = skv_cascade_vllm_choice(&sh, b, job->model->sms);
    row->cascade_vllm_choice = (int32_t)v;
    row->cascade_vllm = v != SKV_CASCADE_FD ? SKV_CHECK_YES : SKV_CHECK_NO;
    skv_cascade_choice lab;
    double predicted[SKV_CASCADE_CHOICES];
    skv_cascade_prediction all;
    if (!skv_cascade_lab_decides(b, &sh, p, job->cfg->policy, &job->cfg->opts, job->cfg->policy, &job->cfg->opts,
                                 job->model, &lab, predicted, &all, err, errlen)) {
      skv_share_free(&sh);
      return false;
    }
    row->cascade_lab_choice = (int32_t)lab;
    snprintf(row->cascade_lab, sizeof row->cascade_lab, "%s", skv_cascade_choice_name(lab));
    row->cascade_predicted_us = all.total_us;
    row->cascade_prefix_predicted_us = all.prefix.total_us;
    row->cascade_suffix_predicted_us = all.suffix.total_us;
    row->cascade_bytes_bound_us = all.bytes_bound_us;
    row->cascade_flops_bound_us = all.flops_bound_us > 0 ? all.flops_bound_us : NAN;
  }
  skv_share_free(&sh);
  if (job->suite->graph) {
    /* The bound the policy's graph mode captures for this batch size, and whether the plan fits. A
     * bound the policy cannot plan (FlashInfer's fixed_split_size past its padding at the longest
     * length) leaves the bound empty: the row cannot be replayed. */
    skv_graph_bound g;
    char why[256];
    if (skv_graph_bound_make(b, job->cfg->policy, &job->cfg->opts, job->model, job->suite->graph_max_seqlen, &g, why,
                             sizeof why)) {
      row->graph_ctas = g.ctas;
      row->graph_partials = g.partials;
      row->graph_fits = skv_graph_bound_fits(&g, p, b, why, sizeof why) ? SKV_CHECK_YES : SKV_CHECK_NO;
    } else {
      row->graph_fits = SKV_CHECK_NO;
    }
  }
  skv_layout layout;
  return skv_lse_check_setup(job->cfg, b, &layout, &row->lse_correct_predicted, err, errlen);
}

skv_executor skv_exec_model(void) {
  skv_executor e = {.name = "model", .run = run, .self = NULL};
  return e;
}
