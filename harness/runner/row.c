/* row.c — the columns of a results row that say which configuration it is (the executors fill the rest). */
#include "runner/row.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "support.h"

/* Append "key=value" to a ';'-separated list (commas are kept out of CSV fields). */
static void opt_add(char *buf, size_t len, const char *fmt, long long v, bool has_value) {
  const size_t n = strlen(buf);
  if (n + 2 >= len) return;
  if (n) strcat(buf, ";");
  char item[64];
  if (has_value) snprintf(item, sizeof item, fmt, v);
  else snprintf(item, sizeof item, "%s", fmt);
  strncat(buf, item, len - strlen(buf) - 1);
}

/* The options that differ from the defaults (and a fixed policy's split size). */
static void policy_options(const skv_config *c, char *buf, size_t len) {
  skv_policy_opts d;
  skv_policy_opts_default(&d);
  const skv_policy_opts *o = &c->opts;
  buf[0] = '\0';
  if (o->split_size != d.split_size || c->policy == SKV_POLICY_FIXED) opt_add(buf, len, "split_size=%lld", o->split_size, true);
  if (o->num_splits != d.num_splits) opt_add(buf, len, "num_splits=%lld", o->num_splits, true);
  if (o->max_splits != d.max_splits) opt_add(buf, len, "max_splits=%lld", o->max_splits, true);
  if (o->fixed_split_pages != d.fixed_split_pages) opt_add(buf, len, "fixed_split_pages=%lld", o->fixed_split_pages, true);
  if (o->disable_split_kv) opt_add(buf, len, "disable_split_kv", 0, false);
  if (o->cuda_graph) opt_add(buf, len, "cuda_graph", 0, false);
  if (o->batch_invariant) opt_add(buf, len, "batch_invariant", 0, false);
  if (o->blocks_per_sm != d.blocks_per_sm) opt_add(buf, len, "blocks_per_sm=%lld", o->blocks_per_sm, true);
  if (o->taper != d.taper) opt_add(buf, len, "taper=%lld", o->taper, true);
}

static void seqlen_text(const skv_config *c, char *buf, size_t len) {
  const skv_seqlen_spec *s = &c->seqlen;
  if (s->kind == SKV_SEQLEN_FIXED) snprintf(buf, len, "%lld", (long long)s->value);
  else if (s->kind == SKV_SEQLEN_UNIFORM)
    snprintf(buf, len, "uniform(%lld:%lld;seed=%llu)", (long long)s->lo, (long long)s->hi,
             (unsigned long long)s->seed);
  else snprintf(buf, len, "list(%d values)", s->nvalues);
}

void skv_row_identity(skv_run_row *row, const skv_suite *s, const char *run_id, bool measured, const skv_config *c,
                      const skv_batch *b) {
  skv_run_row_init(row);
  snprintf(row->config, sizeof row->config, "%s", c->name);
  snprintf(row->suite, sizeof row->suite, "%s", s->name);
  snprintf(row->run_id, sizeof row->run_id, "%.63s", run_id);
  snprintf(row->mode, sizeof row->mode, "%s", measured ? "measured" : "sim");
  row->batch = b->num_requests;
  seqlen_text(c, row->seqlen, sizeof row->seqlen);
  row->kvlen_min = INT64_MAX;
  double sum = 0;
  for (int32_t r = 0; r < b->num_requests; r++) {
    if (b->kvlen[r] < row->kvlen_min) row->kvlen_min = b->kvlen[r];
    if (b->kvlen[r] > row->kvlen_max) row->kvlen_max = b->kvlen[r];
    sum += (double)b->kvlen[r];
  }
  row->kvlen_mean = sum / b->num_requests;
  row->qlen = c->qlen;
  row->hq = b->num_q_heads, row->hkv = b->num_kv_heads, row->head_dim = b->head_dim, row->page_size = b->page_size;
  snprintf(row->q_dtype, sizeof row->q_dtype, "%s", skv_dtype_name(c->q_dtype));
  snprintf(row->kv_dtype, sizeof row->kv_dtype, "%s", skv_dtype_name(c->kv_dtype));
  snprintf(row->v_dtype, sizeof row->v_dtype, "%s", skv_dtype_name(b->v_dtype));
  snprintf(row->kv_scale_mode, sizeof row->kv_scale_mode, "%s", skv_scale_mode_name(c->kv_scale_mode));
  row->q_scale = c->quant.q_scale, row->k_scale = c->quant.k_scale, row->v_scale = c->quant.v_scale;
  snprintf(row->drop_scale, sizeof row->drop_scale, "%s",
           c->quant.drop_q_scale ? "q" : (c->quant.drop_k_scale ? "k" : (c->quant.drop_v_scale ? "v" : "none")));
  snprintf(row->policy, sizeof row->policy, "%s", skv_policy_name(c->policy));
  policy_options(c, row->policy_options, sizeof row->policy_options);
  snprintf(row->lse_layout, sizeof row->lse_layout, "%s", c->lse_layout);
  snprintf(row->host_path, sizeof row->host_path, "%s", c->host_path);
  snprintf(row->gpu_model, sizeof row->gpu_model, "%s", c->gpu_model);
  char why[256];
  row->gpu_supported = skv_config_validate(c, why, sizeof why) == SKV_SUPPORT_GPU ? SKV_CHECK_YES : SKV_CHECK_NO;
}

/* Whether any check ran on the row: a reference, a bitwise repeat, batch invariance or an LSE layout. */
static bool any_check_ran(const skv_run_row *row) {
  return strcmp(row->reference, "none") != 0 || row->bitwise_repeat != SKV_CHECK_NA ||
         row->batch_invariant != SKV_CHECK_NA || row->lse_correct != SKV_CHECK_NA || row->unwritten >= 0 ||
         row->inv_disagree >= 0 || row->graph_bits != SKV_CHECK_NA;
}

void skv_row_verdict(skv_run_row *row, const skv_suite *s, bool measured, const skv_config *c) {
  const bool failed = skv_row_failed(row, s, measured, c);
  snprintf(row->checks, sizeof row->checks, "%s", failed ? "fail" : (any_check_ran(row) ? "pass" : "none"));
}

bool skv_row_failed(const skv_run_row *row, const skv_suite *s, bool measured, const skv_config *c) {
  const bool not_run = (s->check_reference && strcmp(row->reference, "none") == 0) ||
                       (measured && s->check_bitwise_repeat && row->bitwise_repeat == SKV_CHECK_NA) ||
                       (measured && s->check_batch_invariance && row->batch > 1 && row->batch_invariant == SKV_CHECK_NA) ||
                       (measured && row->lse_correct_predicted != SKV_CHECK_NA && row->lse_correct == SKV_CHECK_NA) ||
                       (measured && s->invariance_pairs > 0 && row->inv_disagree < 0) ||
                       (measured && s->graph && row->graph_fits == SKV_CHECK_YES && row->graph_bits == SKV_CHECK_NA) ||
                       (measured && s->cascade && (c->shared_prefix > 0 || c->group_size > 0) &&
                        isnan(row->cascade_o_rel_err));
  const double tol = c->q_dtype == SKV_FP16 ? 2e-3 : 1e-2; /* bf16 (and fp8 queries, written as bf16): 1e-2 */
  return not_run || (!isnan(row->o_rel_err) && row->o_rel_err > tol) || row->unwritten > 0 || row->inv_disagree > 0 ||
         (!isnan(row->cascade_o_rel_err) && row->cascade_o_rel_err > tol) ||
         row->graph_bits == SKV_CHECK_NO ||
         row->bitwise_repeat == SKV_CHECK_NO ||
         (row->batch_invariant != SKV_CHECK_NA && row->batch_invariant_predicted != SKV_CHECK_NA &&
          row->batch_invariant != row->batch_invariant_predicted) ||
         (row->lse_correct != SKV_CHECK_NA && row->lse_correct != row->lse_correct_predicted);
}
