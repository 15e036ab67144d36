/* workload.c — seeded data for a batch: q, paged K/V pools (materialized or regenerated), page table, scales. */
#include "workload.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datagen.h"
#include "rng.h"

void skv_workload_opts_default(skv_workload_opts *o) {
  memset(o, 0, sizeof *o);
  o->seed = 1;
  o->q_dtype = SKV_BF16;
  o->q_amp = 2.0f;
  o->materialize = true;
  skv_quant_params_default(&o->quant);
}

int64_t skv_workload_pool_elems(const skv_workload *w) {
  return w->num_pages * w->batch.page_size * w->batch.num_kv_heads * w->batch.head_dim;
}

int64_t skv_workload_q_elems(const skv_workload *w) {
  return w->cu_seqlens_q[w->batch.num_requests] * w->batch.num_q_heads * w->batch.head_dim;
}

void skv_workload_kv_gen(const skv_workload *w, skv_kv_gen *g) {
  g->seed = w->opts.seed;
  g->head_dim = w->batch.head_dim;
  g->num_kv_heads = w->batch.num_kv_heads;
  g->k_dtype = w->batch.kv_dtype;
  g->v_dtype = w->batch.v_dtype;
  g->per_token_head = w->batch.kv_scale_mode == SKV_SCALE_PER_TOKEN_HEAD;
  g->k_scale = w->opts.quant.k_scale;
  g->v_scale = w->opts.quant.v_scale;
}

static double decode(skv_dtype t, uint32_t bits) {
  switch (t) {
  case SKV_BF16: return skv_bf16_to_f32((uint16_t)bits);
  case SKV_FP16: return skv_fp16_to_f32((uint16_t)bits);
  case SKV_FP8_E4M3: return skv_e4m3_to_f32((uint8_t)bits);
  case SKV_INT8: return (int8_t)(uint8_t)bits;
  default: return NAN;
  }
}

static uint32_t load_bits(skv_dtype t, const void *buf, int64_t i) {
  return skv_dtype_size(t) == 2 ? ((const uint16_t *)buf)[i] : ((const uint8_t *)buf)[i];
}

static void store_bits(skv_dtype t, void *buf, int64_t i, uint32_t bits) {
  if (skv_dtype_size(t) == 2) ((uint16_t *)buf)[i] = (uint16_t)bits;
  else ((uint8_t *)buf)[i] = (uint8_t)bits;
}

uint32_t skv_workload_kv_bits(const skv_workload *w, bool is_v, int64_t flat) {
  const void *pool = is_v ? w->v : w->k;
  if (pool) return load_bits(is_v ? w->batch.v_dtype : w->batch.kv_dtype, pool, flat);
  skv_kv_gen g;
  skv_workload_kv_gen(w, &g);
  return skv_kv_gen_bits(&g, is_v, flat);
}

float skv_workload_kv_scale(const skv_workload *w, bool is_v, int64_t flat) {
  skv_kv_gen g;
  skv_workload_kv_gen(w, &g);
  return skv_kv_gen_scale(&g, is_v, flat);
}

static float q_true_value(const skv_workload *w, int64_t flat) {
  return skv_gen_uniform(w->opts.seed, SKV_TENSOR_Q, (uint64_t)flat) * w->opts.q_amp;
}

uint32_t skv_workload_q_bits(const skv_workload *w, int64_t flat) { return load_bits(w->opts.q_dtype, w->q, flat); }

void skv_workload_kv_row(const skv_workload *w, bool is_v, int32_t r, int64_t t, int32_t h, double *out) {
  const skv_batch *b = &w->batch;
  if (w->true_values) {
    skv_kv_gen g;
    skv_workload_kv_gen(w, &g);
    const int64_t page = skv_workload_page(w, r, t), slot = t % b->page_size;
    const int64_t base = ((page * b->page_size + slot) * b->num_kv_heads + h) * b->head_dim;
    for (int32_t c = 0; c < b->head_dim; c++) out[c] = skv_kv_gen_true(&g, is_v, base + c);
    return;
  }
  const skv_dtype dt = is_v ? w->batch.v_dtype : b->kv_dtype;
  const int64_t page = skv_workload_page(w, r, t), slot = t % b->page_size;
  const int64_t base = ((page * b->page_size + slot) * b->num_kv_heads + h) * b->head_dim;
  const bool drop = is_v ? w->opts.quant.drop_v_scale : w->opts.quant.drop_k_scale;
  const bool scaled = (dt == SKV_FP8_E4M3 || dt == SKV_INT8) && !drop;
  const void *pool = is_v ? w->v : w->k;
  skv_kv_gen g;
  skv_workload_kv_gen(w, &g);
  for (int32_t c = 0; c < b->head_dim; c++) {
    const uint32_t bits = pool ? load_bits(dt, pool, base + c) : skv_kv_gen_bits(&g, is_v, base + c);
    out[c] = decode(dt, bits) * (scaled ? (double)skv_kv_gen_scale(&g, is_v, base + c) : 1.0);
  }
}

void skv_workload_q_row(const skv_workload *w, int32_t r, int64_t qi, int32_t h, double *out) {
  const skv_batch *b = &w->batch;
  const int64_t base = ((w->cu_seqlens_q[r] + qi) * b->num_q_heads + h) * b->head_dim;
  if (w->true_values) {
    for (int32_t c = 0; c < b->head_dim; c++) out[c] = q_true_value(w, base + c);
    return;
  }
  const bool fp8 = w->opts.q_dtype == SKV_FP8_E4M3;
  const double s = (fp8 && !w->opts.quant.drop_q_scale) ? (double)w->opts.quant.q_scale : 1.0;
  for (int32_t c = 0; c < b->head_dim; c++) out[c] = decode(w->opts.q_dtype, skv_workload_q_bits(w, base + c)) * s;
}

void skv_workload_free(skv_workload *w) {
  skv_batch_free(&w->batch);
  free(w->cu_seqlens_q);
  free(w->page_indptr);
  free(w->page_table);
  free(w->q);
  if (!w->borrowed) {
    free(w->k);
    free(w->v);
    free(w->scales.k_token);
    free(w->scales.v_token);
    free(w->scales.v_channel);
  }
  memset(w, 0, sizeof *w);
}

static bool fail(skv_workload *w, char *err, size_t errlen, const char *msg) {
  snprintf(err, errlen, "%s", msg);
  skv_workload_free(w);
  return false;
}

static bool check_dtypes(const skv_workload_opts *o, const skv_batch *b, char *err, size_t errlen) {
  if (o->q_dtype != SKV_BF16 && o->q_dtype != SKV_FP16 && o->q_dtype != SKV_FP8_E4M3) {
    snprintf(err, errlen, "q_dtype: %s is not supported (allowed: bf16, fp16, fp8_e4m3)", skv_dtype_name(o->q_dtype));
    return false;
  }
  if (o->q_dtype == SKV_FP8_E4M3 && b->kv_dtype != SKV_FP8_E4M3) {
    snprintf(err, errlen, "q_dtype: fp8_e4m3 queries need an fp8_e4m3 KV cache");
    return false;
  }
  const skv_quant_params *qp = &o->quant;
  if (!(qp->q_scale > 0) || !(qp->k_scale > 0) || !(qp->v_scale > 0) || !isfinite(qp->q_scale) ||
      !isfinite(qp->k_scale) || !isfinite(qp->v_scale)) {
    snprintf(err, errlen, "scales: q/k/v scales must be finite and > 0");
    return false;
  }
  return true;
}

bool skv_workload_make(const skv_batch *b, const skv_workload_opts *o, skv_workload *w, char *err, size_t errlen) {
  memset(w, 0, sizeof *w);
  if (!skv_batch_validate(b, err, errlen) || !check_dtypes(o, b, err, errlen)) return false;
  const int32_t n = b->num_requests, ps = b->page_size;
  if (o->shared_prefix < 0 || o->shared_prefix % ps != 0) {
    snprintf(err, errlen, "shared prefix: %lld tokens is not a multiple of the page size %d",
             (long long)o->shared_prefix, ps);
    return false;
  }
  if (o->share && (o->shared_prefix > 0 || !skv_share_check(o->share, b, err, errlen))) {
    if (o->shared_prefix > 0) snprintf(err, errlen, "workload: give shared_prefix or share, not both");
    return false;
  }
  for (int32_t r = 0; r < n; r++) {
    if (b->kvlen[r] < o->shared_prefix) {
      snprintf(err, errlen, "shared prefix: %lld tokens is longer than request %d (%lld tokens)",
               (long long)o->shared_prefix, r, (long long)b->kvlen[r]);
      return false;
    }
  }
  if (!skv_batch_slice(b, 0, n, &w->batch)) return fail(w, err, errlen, "workload: out of memory");
  w->opts = *o;
  w->softmax_scale = 1.0 / sqrt((double)b->head_dim);

  const int64_t prefix_pages = o->shared_prefix / ps;
  w->cu_seqlens_q = calloc((size_t)n + 1, sizeof *w->cu_seqlens_q);
  w->page_indptr = calloc((size_t)n + 1, sizeof *w->page_indptr);
  if (!w->cu_seqlens_q || !w->page_indptr) return fail(w, err, errlen, "workload: out of memory");
  /* Shared pages: the common prefix's, or each group's (share.h), held once in the pool. */
  const skv_share *sh = o->share;
  int64_t shared_pages = prefix_pages;
  for (int32_t g = 0; sh && g < sh->num_groups; g++) shared_pages += (sh->end[g] - sh->begin[g]) / ps;
  int64_t own_pages = 0;
  for (int32_t r = 0; r < n; r++) {
    w->cu_seqlens_q[r + 1] = w->cu_seqlens_q[r] + b->qlen[r];
    w->page_indptr[r + 1] = w->page_indptr[r] + skv_batch_pages(b, r);
    own_pages += skv_batch_pages(b, r) - (sh ? skv_share_prefix_end(sh, r) / ps : prefix_pages);
  }
  w->num_pages = shared_pages + own_pages;
  if (w->num_pages < 1) w->num_pages = 1; /* a pool of all-empty requests still has one page */
  if (o->shape_only) return true;

  /* Pages come from the pool in a random order, so a kernel that assumes
   * contiguous pages fails. Prefix pages are shared by every request. */
  int32_t *perm = malloc((size_t)w->num_pages * sizeof *perm);
  w->page_table = malloc((size_t)(w->page_indptr[n] > 0 ? w->page_indptr[n] : 1) * sizeof *w->page_table);
  if (!perm || !w->page_table) {
    free(perm);
    return fail(w, err, errlen, "workload: out of memory (page table)");
  }
  if (w->num_pages > INT32_MAX) {
    free(perm);
    return fail(w, err, errlen, "workload: more than 2^31 pages");
  }
  skv_rng rng;
  skv_rng_seed(&rng, o->seed ^ 0x5EEDBA5Eull);
  for (int64_t i = 0; i < w->num_pages; i++) perm[i] = (int32_t)i;
  for (int64_t i = w->num_pages - 1; i > 0; i--) {
    int64_t j = skv_rng_range(&rng, 0, i);
    int32_t t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  int64_t next = shared_pages;
  /* group g's pages are perm[group_first[g] ..): after the common prefix's, group by group */
  int64_t *group_first = sh ? malloc(sizeof(int64_t) * (size_t)(sh->num_groups > 0 ? sh->num_groups : 1)) : NULL;
  if (sh && !group_first) {
    free(perm);
    return fail(w, err, errlen, "workload: out of memory (page table)");
  }
  for (int32_t g = 0, at = (int32_t)prefix_pages; sh && g < sh->num_groups; g++) {
    group_first[g] = at;
    at += (int32_t)((sh->end[g] - sh->begin[g]) / ps);
  }
  for (int32_t r = 0; r < n; r++) {
    int32_t *pt = w->page_table + w->page_indptr[r];
    int64_t np = skv_batch_pages(b, r), p = 0;
    for (int32_t l = 0; sh && l < sh->levels; l++) {
      const int32_t g = sh->group_of[l * n + r];
      if (g < 0) break;
      for (int64_t k = sh->begin[g] / ps; k < sh->end[g] / ps; k++) pt[p++] = perm[group_first[g] + k - sh->begin[g] / ps];
    }
    for (; p < np; p++) pt[p] = p < prefix_pages ? perm[p] : perm[next++];
  }
  free(group_first);
  free(perm);

  /* Scale arrays the kernels read. */
  const int64_t tokens = w->num_pages * ps * b->num_kv_heads;
  const skv_kv_scales sc = skv_batch_scales(b);
  if (sc.k_token && !(w->scales.k_token = malloc((size_t)tokens * sizeof(float))))
    return fail(w, err, errlen, "workload: out of memory (scales)");
  if (sc.v_token && !(w->scales.v_token = malloc((size_t)tokens * sizeof(float))))
    return fail(w, err, errlen, "workload: out of memory (scales)");
  if (sc.v_channel && !(w->scales.v_channel = malloc((size_t)b->num_kv_heads * b->head_dim * sizeof(float))))
    return fail(w, err, errlen, "workload: out of memory (scales)");
  for (int64_t i = 0; i < tokens; i++) {
    if (w->scales.k_token) w->scales.k_token[i] = skv_workload_kv_scale(w, false, i * b->head_dim);
    if (w->scales.v_token) w->scales.v_token[i] = skv_workload_kv_scale(w, true, i * b->head_dim);
  }
  if (w->scales.v_channel)
    for (int64_t i = 0; i < (int64_t)b->num_kv_heads * b->head_dim; i++)
      w->scales.v_channel[i] = skv_workload_kv_scale(w, true, i);

  /* q is always held; quantized q is e4m3(q / q_scale). */
  const int64_t qe = skv_workload_q_elems(w);
  w->q = malloc((size_t)(qe > 0 ? qe : 1) * (size_t)skv_dtype_size(o->q_dtype));
  if (!w->q) return fail(w, err, errlen, "workload: out of memory (q)");
  for (int64_t i = 0; i < qe; i++)
    store_bits(o->q_dtype, w->q, i, skv_encode(o->q_dtype, q_true_value(w, i), o->quant.q_scale));

  if (o->materialize) {
    const int64_t pe = skv_workload_pool_elems(w);
    w->k = malloc((size_t)pe * (size_t)skv_dtype_size(b->kv_dtype));
    w->v = malloc((size_t)pe * (size_t)skv_dtype_size(b->v_dtype));
    if (!w->k || !w->v) return fail(w, err, errlen, "workload: out of memory (KV pools)");
    void *k = w->k, *v = w->v;
    w->k = w->v = NULL; /* generate through the same path as the virtual pool */
    for (int64_t i = 0; i < pe; i++) {
      store_bits(b->kv_dtype, k, i, skv_workload_kv_bits(w, false, i));
      store_bits(b->v_dtype, v, i, skv_workload_kv_bits(w, true, i));
    }
    w->k = k;
    w->v = v;
    if (o->poison_tails) {
      /* NaN in the unused slots of each request's last page. int8 has no
       * NaN: its tails get +-127, far off the data, so reading them shows. */
      const int64_t row = (int64_t)b->num_kv_heads * b->head_dim;
      for (int32_t r = 0; r < n; r++) {
        if (b->kvlen[r] % ps == 0) continue;
        int64_t page = skv_workload_page(w, r, b->kvlen[r] - 1);
        for (int64_t s = b->kvlen[r] % ps; s < ps; s++)
          for (int64_t e = 0; e < row; e++) {
            int64_t i = (page * ps + s) * row + e;
            store_bits(b->kv_dtype, w->k, i, skv_dtype_size(b->kv_dtype) == 2 ? 0x7FFFu : 0x7Fu);
            store_bits(b->v_dtype, w->v, i, skv_dtype_size(b->v_dtype) == 2 ? 0x7FFFu : 0x7Fu);
          }
      }
    }
  }
  return true;
}

skv_workload skv_workload_view_correct(const skv_workload *w) {
  skv_workload v = *w;
  v.opts.quant.drop_q_scale = v.opts.quant.drop_k_scale = v.opts.quant.drop_v_scale = false;
  v.true_values = false;
  return v;
}

skv_workload skv_workload_view_unquantized(const skv_workload *w) {
  skv_workload v = *w;
  v.true_values = true;
  return v;
}

bool skv_workload_extract(const skv_workload *w, int32_t r, skv_workload *out, char *err, size_t errlen) {
  skv_batch one;
  if (!skv_batch_slice(&w->batch, r, 1, &one)) {
    memset(out, 0, sizeof *out);
    snprintf(err, errlen, "workload: out of memory");
    return false;
  }
  const bool ok = skv_workload_compose(w, &one, &r, out, err, errlen);
  skv_batch_free(&one);
  return ok;
}

bool skv_workload_gather(const skv_workload *w, const skv_batch *b, const int64_t *q_src, const int32_t *page_src,
                         const int64_t *page_first, skv_workload *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  const skv_batch *wb = &w->batch;
  const int64_t wtokens = w->cu_seqlens_q[wb->num_requests];
  for (int32_t i = 0; i < b->num_requests; i++) {
    const int32_t j = page_src[i];
    if (j < 0 || j >= wb->num_requests || page_first[i] < 0 ||
        page_first[i] + skv_batch_pages(b, i) > w->page_indptr[j + 1] - w->page_indptr[j]) {
      snprintf(err, errlen, "workload: request %d's pages are not within request %d's", i, j);
      return false;
    }
  }
  skv_workload_opts o = w->opts;
  o.materialize = false;
  o.poison_tails = false;
  o.shared_prefix = 0;
  o.share = NULL;
  if (!skv_workload_make(b, &o, out, err, errlen)) return false;
  const int64_t qrow = (int64_t)wb->num_q_heads * wb->head_dim, qsz = skv_dtype_size(o.q_dtype);
  const int64_t tokens = out->cu_seqlens_q[b->num_requests];
  for (int64_t t = 0; t < tokens; t++) {
    if (q_src[t] < 0 || q_src[t] >= wtokens) {
      skv_workload_free(out);
      snprintf(err, errlen, "workload: query row %lld takes token %lld of %lld", (long long)t, (long long)q_src[t],
               (long long)wtokens);
      return false;
    }
    memcpy((char *)out->q + t * qrow * qsz, (const char *)w->q + q_src[t] * qrow * qsz, (size_t)(qrow * qsz));
  }
  for (int32_t i = 0; i < b->num_requests; i++) {
    const int64_t np = out->page_indptr[i + 1] - out->page_indptr[i];
    memcpy(out->page_table + out->page_indptr[i], w->page_table + w->page_indptr[page_src[i]] + page_first[i],
           (size_t)np * sizeof *out->page_table);
  }
  free(out->scales.k_token);
  free(out->scales.v_token);
  free(out->scales.v_channel);
  out->num_pages = w->num_pages;
  out->opts.materialize = w->opts.materialize;
  out->opts.poison_tails = w->opts.poison_tails;
  out->k = w->k;
  out->v = w->v;
  out->scales = w->scales;
  out->borrowed = true;
  return true;
}

bool skv_workload_compose(const skv_workload *w, const skv_batch *b, const int32_t *source, skv_workload *out,
                          char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  const skv_batch *wb = &w->batch;
  int64_t tokens = 0;
  for (int32_t i = 0; i < b->num_requests; i++) {
    const int32_t j = source[i];
    if (j < 0 || j >= wb->num_requests || b->kvlen[i] > wb->kvlen[j] || b->qlen[i] > wb->qlen[j]) {
      snprintf(err, errlen, "workload: request %d cannot take its data from request %d", i, j);
      return false;
    }
    tokens += b->qlen[i];
  }
  /* request i: its source's first q rows and the start of its page list */
  int64_t *q_src = malloc(sizeof(int64_t) * (size_t)(tokens > 0 ? tokens : 1));
  int64_t *first = calloc((size_t)(b->num_requests > 0 ? b->num_requests : 1), sizeof(int64_t));
  if (!q_src || !first) {
    free(q_src), free(first);
    snprintf(err, errlen, "workload: out of memory");
    return false;
  }
  int64_t t = 0;
  for (int32_t i = 0; i < b->num_requests; i++)
    for (int64_t k = 0; k < b->qlen[i]; k++) q_src[t++] = w->cu_seqlens_q[source[i]] + k;
  const bool ok = skv_workload_gather(w, b, q_src, source, first, out, err, errlen);
  free(q_src), free(first);
  return ok;
}
