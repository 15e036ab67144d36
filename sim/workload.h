/* workload.h — a concrete batch: seeded Q, paged K/V pools and page table, as the reference and kernels read them. */
#ifndef SKV_WORKLOAD_H
#define SKV_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "datagen.h"
#include "quant.h"
#include "share.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How to make a workload. */
typedef struct skv_workload_opts {
  uint64_t seed;              /* every value is a function of (seed, tensor, index): datagen.h */
  skv_dtype q_dtype;          /* bf16, fp16 or fp8_e4m3 */
  float q_amp;                /* q values are uniform in [-q_amp, q_amp) (default 2: scores spread ~1) */
  int64_t shared_prefix;      /* tokens at the start of every request that share the same pages
                                 (cascade); a multiple of page_size, <= every kvlen; 0: none */
  const skv_share *share;     /* or groups of requests sharing prefixes, possibly nested (share.h): each
                                 group's tokens are the same pages in every member (NULL: none; not
                                 with shared_prefix); the caller keeps it alive while making */
  bool materialize;           /* hold K and V in host memory (else rows are regenerated on demand) */
  bool shape_only;            /* only the batch and its offsets (cu_seqlens_q, page_indptr): no page
                                 table, scales, q or pools, for a simulated run that reads no data */
  bool poison_tails;          /* materialized only: fill the unused slots of each request's last page
                                 with NaN, so reading past a request's end shows */
  skv_quant_params quant;     /* scales of quantized Q / KV (quant.h); ignored for bf16/fp16 */
} skv_workload_opts;

/* The batch with its data. K and V pools are NHD:
 * [num_pages, page_size, num_kv_heads, head_dim]; request r's pages are
 * page_table[page_indptr[r] .. page_indptr[r+1]), in token order, drawn at
 * random from the pool (shared prefix pages first). */
typedef struct skv_workload {
  skv_batch batch;            /* owned copy */
  skv_workload_opts opts;
  double softmax_scale;       /* 1 / sqrt(head_dim) */
  int64_t *cu_seqlens_q;      /* [num_requests + 1] */
  int64_t *page_indptr;       /* [num_requests + 1] */
  int32_t *page_table;        /* [page_indptr[num_requests]] */
  int64_t num_pages;          /* pages in the pool */
  void *q;                    /* [total_q, num_q_heads, head_dim] in opts.q_dtype */
  void *k, *v;                /* pools in batch.kv_dtype, or NULL when not materialized */
  skv_quant_tensors scales;   /* per-token / per-channel scale arrays (quant.h), when the mode needs them */
  bool borrowed;              /* k, v and scales belong to another workload (skv_workload_extract) */
  bool true_values;           /* reference only: rows give the unquantized values behind the stored ones
                                 (datagen.h), so a reference on them measures the quantization error */
} skv_workload;

void skv_workload_opts_default(skv_workload_opts *o);
/* Build a workload for batch b. False with a message in err on bad options or
 * out of memory (then *w is zeroed). */
bool skv_workload_make(const skv_batch *b, const skv_workload_opts *o, skv_workload *w, char *err, size_t errlen);
void skv_workload_free(skv_workload *w);

/* Elements of one K or V pool, and of q. */
int64_t skv_workload_pool_elems(const skv_workload *w);
int64_t skv_workload_q_elems(const skv_workload *w);

/* Pool page holding token t of request r, and its slot. */
static inline int32_t skv_workload_page(const skv_workload *w, int32_t r, int64_t t) {
  return w->page_table[w->page_indptr[r] + t / w->batch.page_size];
}

/* The stored element of K (is_v false) or V at a pool flat index, as raw
 * bits widened to 32 bits (bf16/fp16: 16 bits, fp8/int8: 8 bits), whether or
 * not the pool is materialized: the single definition of the pool contents. */
uint32_t skv_workload_kv_bits(const skv_workload *w, bool is_v, int64_t flat);
/* The generator settings of w's pools (for the GPU fill kernel), and the
 * stored scale of a pool element (1 for bf16/fp16). */
void skv_workload_kv_gen(const skv_workload *w, skv_kv_gen *g);
float skv_workload_kv_scale(const skv_workload *w, bool is_v, int64_t flat);
/* The same for q at a flat index of [total_q, hq, d]. */
uint32_t skv_workload_q_bits(const skv_workload *w, int64_t flat);

/* Dequantized value (double) of head_dim elements of K or V for token t of
 * request r and KV head h: exactly what the kernels must compute with (with
 * w->true_values: the unquantized values instead). */
void skv_workload_kv_row(const skv_workload *w, bool is_v, int32_t r, int64_t t, int32_t h, double *out);
/* Dequantized q row [head_dim] for query token qi (0-based within request r) of q head h. */
void skv_workload_q_row(const skv_workload *w, int32_t r, int64_t qi, int32_t h, double *out);

/* Views of w for the reference (struct copies sharing w's buffers; do not
 * free them): the stored values with every scale applied (drop_* flags
 * cleared: what a correct kernel computes), and the unquantized values. */
skv_workload skv_workload_view_correct(const skv_workload *w);
skv_workload skv_workload_view_unquantized(const skv_workload *w);

/* A one-request workload with request r's q rows and page list, borrowing
 * w's pools and scales (w must outlive it): the "request alone" of the
 * batch-invariance check reads exactly the bytes it read inside the batch. */
bool skv_workload_extract(const skv_workload *w, int32_t r, skv_workload *out, char *err, size_t errlen);
/* A workload for batch b (w's shape) made of pieces of w, borrowing w's pools and scales: query row
 * t of b is w's query token q_src[t] (an index into w's packed tokens), and request i's pages are
 * w's request page_src[i]'s from its page page_first[i] on, as many as b->kvlen[i] needs (all
 * within that request's). The passes of cascade attention (cascade.h): a shared prefix's queries
 * from several requests over one member's prefix pages; a request's queries over its own pages. */
bool skv_workload_gather(const skv_workload *w, const skv_batch *b, const int64_t *q_src, const int32_t *page_src,
                         const int64_t *page_first, skv_workload *out, char *err, size_t errlen);
/* A workload for batch b (w's shape) whose request i takes request source[i]'s first b->qlen[i] q
 * rows and the pages of its first b->kvlen[i] tokens (each at most the source's), borrowing w's
 * pools and scales: the variant batches of the invariance pairs (invariance.h). */
bool skv_workload_compose(const skv_workload *w, const skv_batch *b, const int32_t *source, skv_workload *out,
                          char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* SKV_WORKLOAD_H */
