/* batch.h — the shape of one attention batch: per request query and KV lengths, heads, head dim, paging. */
#ifndef SKV_BATCH_H
#define SKV_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtype.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Head dims the reference and kernels support. */
#define SKV_HEAD_DIMS_ALLOWED "64, 128 or 256"
/* Page sizes the reference supports (kernels: see skv_kernels.h). */
#define SKV_PAGE_SIZE_MIN 1
#define SKV_PAGE_SIZE_MAX 256

/* Which keys a query sees. A request's query tokens are its last qlen KV positions, so under the
 * causal mask query i (0-based) of a request with KV length L and query length Q sees the keys
 * before position L - Q + i + 1 (decode: every key); without a mask every query sees all L keys
 * (cascade's shared-prefix pass: queries of many requests over one prefix). Causal is the zero
 * value: a batch set up field by field is causal unless it says otherwise. */
typedef enum skv_mask {
  SKV_MASK_CAUSAL = 0,
  SKV_MASK_NONE = 1,
} skv_mask;

/* One batch as a planner sees it. Lengths are in tokens. A request's query
 * tokens are its last qlen KV positions (decode: qlen = 1). */
typedef struct skv_batch {
  int32_t num_requests;
  int64_t *qlen;        /* [num_requests] query length, >= 1 */
  int64_t *kvlen;       /* [num_requests] KV length, >= 0 (0: empty KV) */
  int32_t num_q_heads;  /* a multiple of num_kv_heads */
  int32_t num_kv_heads;
  int32_t head_dim;     /* 64, 128 or 256 */
  int32_t page_size;    /* tokens per KV page, 1..256 */
  skv_dtype kv_dtype;   /* storage type of K, and of V unless v_dtype says otherwise */
  skv_dtype v_dtype;    /* storage type of V: kv_dtype, or bf16/fp16 beside an int8 K */
  skv_scale_mode kv_scale_mode; /* fp8 K/V: per tensor or per token-head (int8 K is always per token-head) */
  skv_mask mask;        /* causal (default) or none */
} skv_batch;

/* The scale arrays an 8-bit cache reads beside its elements (quant.h gives their values):
 *   per token-head K scales: an int8 K, or an fp8 K with per-token-head scales;
 *   per token-head V scales: an fp8 V with per-token-head scales;
 *   per-channel V scales ([hkv, head_dim], read once): an int8 V. */
typedef struct skv_kv_scales {
  bool k_token, v_token, v_channel;
} skv_kv_scales;

/* What a batch reads from its cache once (all KV heads), in bytes: the K and V elements, and
 * the scales beside them (4-byte floats), counted apart. */
typedef struct skv_kv_read {
  int64_t kv, scales;
} skv_kv_read;

/* Zero *b and allocate qlen/kvlen for n requests (zeroed); false when out of memory. */
bool skv_batch_alloc(skv_batch *b, int32_t n);
void skv_batch_free(skv_batch *b);
/* n requests of b's shape (heads, head dim, page size, caches, mask), each with query length q and
 * KV length kv (q at most kv, at least 1); false when out of memory. */
bool skv_batch_uniform(const skv_batch *b, int32_t n, int64_t q, int64_t kv, skv_batch *out);
/* A deep copy of the request subset [first, first+count). */
bool skv_batch_slice(const skv_batch *b, int32_t first, int32_t count, skv_batch *out);

/* Check a batch; on failure write a one-line reason (naming the field and what
 * is allowed) into err and return false. */
bool skv_batch_validate(const skv_batch *b, char *err, size_t errlen);

/* q heads that share one KV head (the GQA group size). */
static inline int32_t skv_batch_group(const skv_batch *b) { return b->num_q_heads / b->num_kv_heads; }
/* The end of the keys query qi of request r sees: L - Q + qi + 1 under the causal mask, L without. */
static inline int64_t skv_batch_key_end(const skv_batch *b, int32_t r, int64_t qi) {
  return b->mask == SKV_MASK_NONE ? b->kvlen[r] : b->kvlen[r] - b->qlen[r] + qi + 1;
}
/* Largest qlen / kvlen over the batch. */
int64_t skv_batch_max_qlen(const skv_batch *b);
int64_t skv_batch_max_kvlen(const skv_batch *b);
/* Pages request r occupies: ceil(kvlen / page_size). */
int64_t skv_batch_pages(const skv_batch *b, int32_t r);
/* K+V element bytes of one token of one KV head: head_dim x (K's size + V's size). */
int64_t skv_batch_token_kv_bytes(const skv_batch *b);
/* Scale bytes read per token of one KV head (per token-head scales; the per-channel array is
 * read once per batch and not counted here). */
int64_t skv_batch_token_scale_bytes(const skv_batch *b);
/* Which scale arrays the batch's cache has. */
skv_kv_scales skv_batch_scales(const skv_batch *b);
/* What the whole batch reads once: every token's K and V and scales, plus the per-channel scales. */
skv_kv_read skv_batch_kv_read(const skv_batch *b);

#ifdef __cplusplus
}
#endif

#endif /* SKV_BATCH_H */
