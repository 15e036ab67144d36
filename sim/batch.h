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
  skv_dtype kv_dtype;   /* storage type of K and V (sets bytes per token) */
} skv_batch;

/* Allocate qlen/kvlen for n requests (zeroed); false when out of memory. */
bool skv_batch_alloc(skv_batch *b, int32_t n);
void skv_batch_free(skv_batch *b);
/* A deep copy of the request subset [first, first+count). */
bool skv_batch_slice(const skv_batch *b, int32_t first, int32_t count, skv_batch *out);

/* Check a batch; on failure write a one-line reason (naming the field and what
 * is allowed) into err and return false. */
bool skv_batch_validate(const skv_batch *b, char *err, size_t errlen);

/* q heads that share one KV head (the GQA group size). */
static inline int32_t skv_batch_group(const skv_batch *b) { return b->num_q_heads / b->num_kv_heads; }
/* Largest qlen / kvlen over the batch. */
int64_t skv_batch_max_qlen(const skv_batch *b);
int64_t skv_batch_max_kvlen(const skv_batch *b);
/* Pages request r occupies: ceil(kvlen / page_size). */
int64_t skv_batch_pages(const skv_batch *b, int32_t r);
/* Bytes of K and V the whole batch reads once (all kv heads). */
int64_t skv_batch_kv_bytes(const skv_batch *b);

#ifdef __cplusplus
}
#endif

#endif /* SKV_BATCH_H */
