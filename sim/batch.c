/* batch.c — batch description: allocation, validation, derived sizes. */
#include "batch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

bool skv_batch_alloc(skv_batch *b, int32_t n) {
  memset(b, 0, sizeof *b); /* every other field zero: bf16 K and V, per-tensor scales, until set */
  b->num_requests = n;
  b->qlen = calloc((size_t)(n > 0 ? n : 1), sizeof *b->qlen);
  b->kvlen = calloc((size_t)(n > 0 ? n : 1), sizeof *b->kvlen);
  if (!b->qlen || !b->kvlen) {
    skv_batch_free(b);
    return false;
  }
  return true;
}

void skv_batch_free(skv_batch *b) {
  free(b->qlen);
  free(b->kvlen);
  b->qlen = b->kvlen = NULL;
  b->num_requests = 0;
}

bool skv_batch_uniform(const skv_batch *b, int32_t n, int64_t q, int64_t kv, skv_batch *out) {
  if (!skv_batch_alloc(out, n)) return false;
  int64_t *qs = out->qlen, *kvs = out->kvlen;
  *out = *b;
  out->num_requests = n, out->qlen = qs, out->kvlen = kvs;
  for (int32_t r = 0; r < n; r++) qs[r] = q, kvs[r] = kv;
  return true;
}

bool skv_batch_slice(const skv_batch *b, int32_t first, int32_t count, skv_batch *out) {
  if (!skv_batch_alloc(out, count)) return false;
  int64_t *q = out->qlen, *kv = out->kvlen;
  *out = *b;
  out->num_requests = count, out->qlen = q, out->kvlen = kv;
  memcpy(out->qlen, b->qlen + first, (size_t)count * sizeof *b->qlen);
  memcpy(out->kvlen, b->kvlen + first, (size_t)count * sizeof *b->kvlen);
  return true;
}

bool skv_batch_validate(const skv_batch *b, char *err, size_t errlen) {
  if (b->num_requests < 1) {
    snprintf(err, errlen, "batch: need at least 1 request (got %d)", b->num_requests);
    return false;
  }
  if (b->kv_scale_mode != SKV_SCALE_PER_TENSOR && b->kv_scale_mode != SKV_SCALE_PER_TOKEN_HEAD) {
    snprintf(err, errlen, "kv_scale_mode: %d is not a scale mode", (int)b->kv_scale_mode);
    return false;
  }
  if (b->mask != SKV_MASK_CAUSAL && b->mask != SKV_MASK_NONE) {
    snprintf(err, errlen, "mask: %d is not a mask", (int)b->mask);
    return false;
  }
  int64_t pages = 0;
  for (int32_t r = 0; r < b->num_requests; r++) pages += b->kvlen[r] > 0 ? skv_batch_pages(b, r) : 0;
  /* The rules are sim/support.c's, each request as its own shape. A batch fixes no query type:
   * the one its cache implies stands in (K's or V's 16-bit type, else bf16), so only rules about
   * what nothing can run (level NONE) refuse it here. */
  const skv_dtype q = skv_dtype_size(b->kv_dtype) == 2 ? b->kv_dtype
                      : skv_dtype_size(b->v_dtype) == 2 ? b->v_dtype
                                                         : SKV_BF16;
  for (int32_t r = 0; r < b->num_requests; r++) {
    const skv_shape s = {.hq = b->num_q_heads, .hkv = b->num_kv_heads, .head_dim = b->head_dim,
                         .page_size = b->page_size, .qlen = b->qlen[r], .kvlen_min = b->kvlen[r],
                         .kvlen_max = b->kvlen[r], .pages = pages, .q_dtype = q, .k_dtype = b->kv_dtype,
                         .v_dtype = b->v_dtype, .o_dtype = skv_output_dtype(q), .kv_scale_mode = b->kv_scale_mode,
                         .unmasked = b->mask == SKV_MASK_NONE};
    skv_field field;
    char why[256];
    if (skv_support_check(&s, &field, why, sizeof why) != SKV_SUPPORT_NONE) continue;
    if (field == SKV_FIELD_QLEN || field == SKV_FIELD_SEQLEN) snprintf(err, errlen, "request %d: %s", r, why);
    else snprintf(err, errlen, "%s", why);
    return false;
  }
  return true;
}

int64_t skv_batch_max_qlen(const skv_batch *b) {
  int64_t m = 0;
  for (int32_t r = 0; r < b->num_requests; r++)
    if (b->qlen[r] > m) m = b->qlen[r];
  return m;
}

int64_t skv_batch_max_kvlen(const skv_batch *b) {
  int64_t m = 0;
  for (int32_t r = 0; r < b->num_requests; r++)
    if (b->kvlen[r] > m) m = b->kvlen[r];
  return m;
}

int64_t skv_batch_pages(const skv_batch *b, int32_t r) { return (b->kvlen[r] + b->page_size - 1) / b->page_size; }

skv_kv_scales skv_batch_scales(const skv_batch *b) {
  const bool per_token = b->kv_scale_mode == SKV_SCALE_PER_TOKEN_HEAD;
  skv_kv_scales s = {
      .k_token = b->kv_dtype == SKV_INT8 || (b->kv_dtype == SKV_FP8_E4M3 && per_token),
      .v_token = b->v_dtype == SKV_FP8_E4M3 && per_token,
      .v_channel = b->v_dtype == SKV_INT8,
  };
  return s;
}

int64_t skv_batch_token_kv_bytes(const skv_batch *b) {
  return (int64_t)b->head_dim * (skv_dtype_size(b->kv_dtype) + skv_dtype_size(b->v_dtype));
}

int64_t skv_batch_token_scale_bytes(const skv_batch *b) {
  const skv_kv_scales s = skv_batch_scales(b);
  return (int64_t)sizeof(float) * ((s.k_token ? 1 : 0) + (s.v_token ? 1 : 0));
}

skv_kv_read skv_batch_kv_read(const skv_batch *b) {
  int64_t tokens = 0;
  for (int32_t r = 0; r < b->num_requests; r++) tokens += b->kvlen[r];
  const int64_t token_heads = tokens * b->num_kv_heads;
  skv_kv_read out = {.kv = token_heads * skv_batch_token_kv_bytes(b),
                     .scales = token_heads * skv_batch_token_scale_bytes(b)};
  if (skv_batch_scales(b).v_channel) out.scales += (int64_t)b->num_kv_heads * b->head_dim * (int64_t)sizeof(float);
  return out;
}
