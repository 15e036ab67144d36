/* batch.c — batch description: allocation, validation, derived sizes. */
#include "batch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool skv_batch_alloc(skv_batch *b, int32_t n) {
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

bool skv_batch_slice(const skv_batch *b, int32_t first, int32_t count, skv_batch *out) {
  *out = *b;
  if (!skv_batch_alloc(out, count)) return false;
  memcpy(out->qlen, b->qlen + first, (size_t)count * sizeof *b->qlen);
  memcpy(out->kvlen, b->kvlen + first, (size_t)count * sizeof *b->kvlen);
  return true;
}

bool skv_batch_validate(const skv_batch *b, char *err, size_t errlen) {
  if (b->num_requests < 1) {
    snprintf(err, errlen, "batch: need at least 1 request (got %d)", b->num_requests);
    return false;
  }
  if (b->num_kv_heads < 1 || b->num_q_heads < 1) {
    snprintf(err, errlen, "heads: hq and hkv must be >= 1 (got hq=%d, hkv=%d)", b->num_q_heads, b->num_kv_heads);
    return false;
  }
  if (b->num_q_heads % b->num_kv_heads != 0) {
    snprintf(err, errlen, "heads: hq (%d) must be a multiple of hkv (%d)", b->num_q_heads, b->num_kv_heads);
    return false;
  }
  if (b->head_dim != 64 && b->head_dim != 128 && b->head_dim != 256) {
    snprintf(err, errlen, "head dim: %d is not supported (allowed: " SKV_HEAD_DIMS_ALLOWED ")", b->head_dim);
    return false;
  }
  if (b->page_size < SKV_PAGE_SIZE_MIN || b->page_size > SKV_PAGE_SIZE_MAX) {
    snprintf(err, errlen, "page size: %d is out of range (allowed: %d..%d)", b->page_size, SKV_PAGE_SIZE_MIN,
             SKV_PAGE_SIZE_MAX);
    return false;
  }
  for (int32_t r = 0; r < b->num_requests; r++) {
    if (b->qlen[r] < 1) {
      snprintf(err, errlen, "request %d: query length must be >= 1 (got %" PRId64 ")", r, b->qlen[r]);
      return false;
    }
    if (b->kvlen[r] < 0) {
      snprintf(err, errlen, "request %d: kv length must be >= 0 (got %" PRId64 ")", r, b->kvlen[r]);
      return false;
    }
    if (b->kvlen[r] > ((int64_t)1 << 40)) {
      snprintf(err, errlen, "request %d: kv length %" PRId64 " is beyond 2^40 tokens", r, b->kvlen[r]);
      return false;
    }
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

int64_t skv_batch_kv_bytes(const skv_batch *b) {
  int64_t tokens = 0;
  for (int32_t r = 0; r < b->num_requests; r++) tokens += b->kvlen[r];
  return tokens * 2 * (int64_t)b->num_kv_heads * b->head_dim * skv_dtype_size(b->kv_dtype);
}
