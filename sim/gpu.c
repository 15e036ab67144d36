/* gpu.c — the decode kernel's forms and a GPU description's lookups and checks. */
#include "gpu.h"

#include <math.h>
#include <stdio.h>

#include "dtype.h"

skv_decode_form skv_decode_form_of(const skv_batch *b) {
  const int32_t k = skv_dtype_size(b->kv_dtype), v = skv_dtype_size(b->v_dtype);
  if (k == 1 && v == 1) return skv_decode_column_form(k, v, skv_batch_group(b)) ? SKV_FORM_8BIT_COLS : SKV_FORM_8BIT_ROWS;
  return k == 1 ? SKV_FORM_INT8K_16V : SKV_FORM_16BIT;
}

const char *skv_decode_form_name(skv_decode_form f) {
  static const char *const names[SKV_FORM_COUNT] = {"16bit", "8bit_cols", "8bit_rows", "int8k_16v"};
  return f >= 0 && f < SKV_FORM_COUNT ? names[f] : "?";
}

skv_stream_kind skv_stream_kind_of(const skv_batch *b) {
  const int32_t k = skv_dtype_size(b->kv_dtype), v = skv_dtype_size(b->v_dtype);
  if (k != 1) return SKV_STREAM_16BIT;
  if (v != 1) return SKV_STREAM_INT8K_16V;
  return b->kv_dtype == SKV_INT8 ? SKV_STREAM_INT8 : SKV_STREAM_FP8;
}

const char *skv_stream_kind_name(skv_stream_kind k) {
  static const char *const names[SKV_STREAM_COUNT] = {"16bit", "fp8", "int8", "int8k_16v"};
  return k >= 0 && k < SKV_STREAM_COUNT ? names[k] : "?";
}

int32_t skv_gpu_group_slot(int32_t group) { return group <= 1 ? 0 : (group <= 4 ? 1 : (group <= 8 ? 2 : 3)); }

int32_t skv_gpu_group_of_slot(int32_t slot) {
  static const int32_t groups[SKV_GPU_GROUPS] = {1, 4, 8, 16};
  return groups[slot];
}

skv_gpu_rates skv_gpu_rates_of_rows(const skv_gpu *g, const skv_batch *b, int32_t rows) {
  const skv_gpu_stream *s = &g->stream[skv_stream_kind_of(b)];
  const int32_t d = skv_gpu_head_dim_slot(b->head_dim), q = skv_gpu_group_slot(rows);
  return (skv_gpu_rates){s->cta_gbps[d][q], s->stream_tbps[d][q], s->fixed_us[d][q], s->fixed_sm_us};
}

skv_gpu_rates skv_gpu_rates_of(const skv_gpu *g, const skv_batch *b) {
  return skv_gpu_rates_of_rows(g, b, skv_batch_group(b));
}

int32_t skv_gpu_head_dim_slot(int32_t head_dim) { return head_dim <= 64 ? 0 : (head_dim <= 128 ? 1 : 2); }

int32_t skv_gpu_ctas_per_sm(const skv_gpu *g, const skv_batch *b) {
  return g->ctas_per_sm[skv_decode_form_of(b)][skv_gpu_head_dim_slot(b->head_dim)];
}

int64_t skv_gpu_slots(const skv_gpu *g, const skv_batch *b) { return (int64_t)g->sms * skv_gpu_ctas_per_sm(g, b); }

static bool positive(double x) { return isfinite(x) && x > 0; }
static bool nonnegative(double x) { return isfinite(x) && x >= 0; }

bool skv_gpu_check(const skv_gpu *g, char *err, size_t errlen) {
  const char *bad = NULL;
  if (g->sms < 1 || g->sms > 4096) bad = "sms: must be 1..4096";
  else if (!positive(g->read_tbps)) bad = "read_tbps: must be > 0";
  else if (!nonnegative(g->launch_us)) bad = "launch_us: must be >= 0";
  else if (!nonnegative(g->combine_item_us)) bad = "combine_item_us: must be >= 0";
  else if (!nonnegative(g->combine_chunk_us)) bad = "combine_chunk_us: must be >= 0";
  else if (!nonnegative(g->cta_us)) bad = "cta_us: must be >= 0";
  else if (!nonnegative(g->l2_tbps)) bad = "l2_tbps: must be >= 0";
  else if (!nonnegative(g->mma_tflops)) bad = "mma_tflops: must be >= 0";
  else if (!nonnegative(g->peak_tflops)) bad = "peak_tflops: must be >= 0";
  else if (!nonnegative(g->cta_tflops)) bad = "cta_tflops: must be >= 0";
  else if (!nonnegative(g->merge_us)) bad = "merge_us: must be >= 0";
  else if (!nonnegative(g->merge_pair_us)) bad = "merge_pair_us: must be >= 0";
  else if (!nonnegative(g->prefix_us)) bad = "prefix_us: must be >= 0";
  for (int k = 0; !bad && k < SKV_STREAM_COUNT; k++) {
    const skv_gpu_stream *s = &g->stream[k];
    const char *field = !nonnegative(s->fixed_sm_us) ? "fixed_sm_us: must be >= 0" : NULL;
    for (int d = 0; !field && d < SKV_GPU_HEAD_DIMS; d++)
      for (int q = 0; !field && q < SKV_GPU_GROUPS; q++) {
        if (!positive(s->cta_gbps[d][q])) field = "cta_gbps: every entry must be > 0";
        else if (!positive(s->stream_tbps[d][q])) field = "stream_tbps: every entry must be > 0";
        else if (!nonnegative(s->fixed_us[d][q])) field = "fixed_us: every entry must be >= 0";
      }
    if (field) {
      snprintf(err, errlen, "GPU model '%s': streams %s: %s", g->name, skv_stream_kind_name((skv_stream_kind)k), field);
      return false;
    }
  }
  for (int f = 0; !bad && f < SKV_FORM_COUNT; f++)
    for (int d = 0; !bad && d < SKV_GPU_HEAD_DIMS; d++)
      if (g->ctas_per_sm[f][d] < 1 || g->ctas_per_sm[f][d] > 32) {
        snprintf(err, errlen, "GPU model '%s': ctas_per_sm %s: every entry must be 1..32 (got %d)", g->name,
                 skv_decode_form_name((skv_decode_form)f), g->ctas_per_sm[f][d]);
        return false;
      }
  if (bad) {
    snprintf(err, errlen, "GPU model '%s': %s", g->name, bad);
    return false;
  }
  return true;
}
