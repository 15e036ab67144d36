/* lse_layout.c — FA2's LSE write layouts, the host paths' torch ops on them, and the table rows of `skv layout`.
 *
 * Sources (the research notes quote them; the code here restates the rules):
 * - Dao-AILab/flash-attention and vllm-project/flash-attention,
 *   csrc/flash_attn/src/flash_fwd_kernel.h: get_lse_tile (standard kernel),
 *   compute_attn_1rowblock_splitkv (row_offset_lseaccum, Split=false),
 *   combine_attn_seqk_parallel (gLSE, gLSE_unpadded = final_layout).
 * - csrc/flash_attn/flash_api.cpp: mha_varlen_fwd (swap, softmax_lse
 *   {num_heads, total_q}, unpadded_lse = true, the return reshape), mha_fwd and
 *   mha_fwd_kvcache (softmax_lse {b, h, sq}, no kernel swap flag, return
 *   reshape(b, h*sq, 1)), run_mha_fwd (force_split_kernel for paged KV).
 * - vllm-project/flash-attention PR #34 (the transpose) and PR #87 (made
 *   conditional on num_splits; its diff is reconstructed, not quoted).
 * - vllm csrc/attention/merge_attn_states.cu: LSE read as [num_heads, num_tokens]. */
#include "lse_layout.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


const char *skv_lse_kernel_name(skv_lse_kernel k) {
  static const char *names[SKV_LSE_KERNEL_COUNT] = {"standard", "split-1", "combine"};
  return (unsigned)k < SKV_LSE_KERNEL_COUNT ? names[k] : "?";
}

const char *skv_lse_host_name(skv_lse_host h) {
  static const char *names[SKV_LSE_HOST_COUNT] = {"fa2-upstream", "vllm-fork-before-fix", "vllm-fork-after-fix"};
  return (unsigned)h < SKV_LSE_HOST_COUNT ? names[h] : "?";
}

/* ---------------------------------------------------------------- kernel write layouts */

/* The combine kernel's unpadded write, built the way the kernel builds it.
 * Its threads are indexed by the flat accumulator row
 * i = (bidb * h + bidh) * sq + m; orig_layout = make_layout((sq, h, b))
 * (colex: the same order, so orig o flat is the identity),
 * remapped_layout = (sq, h, b) with transposed_stride =
 * swapped ? (b, sq*b, 1) : (1, sq*b, sq), and
 * gLSE_unpadded(i) = final_layout(i) = (remapped o (orig o flat))(i).
 * Composing once more with (bidb, bidh, m) -> i, the layout
 * (b,h,sq):(h*sq,sq,1), turns it into a layout over the coordinate. */
static bool combine_unpadded_layout(bool swapped, int64_t b, int64_t h, int64_t sq, skv_layout *out, char *err,
                                    size_t errlen) {
  const int64_t n = b * h * sq, qhb[3] = {sq, h, b};
  const skv_layout flat = skv_layout_col_major(1, &n);
  const skv_layout orig = skv_layout_col_major(3, qhb);
  const skv_layout remapped = swapped ? skv_layout3(sq, h, b, b, sq * b, 1) : skv_layout3(sq, h, b, 1, sq * b, sq);
  const skv_layout by_coord = skv_layout3(b, h, sq, h * sq, sq, 1);
  skv_layout of, fin, r;
  if (!skv_layout_compose(&orig, &flat, &of, err, errlen) || !skv_layout_compose(&remapped, &of, &fin, err, errlen) ||
      !skv_layout_compose(&fin, &by_coord, &r, err, errlen))
    return false;
  if (r.rank != 3 || r.shape[0] != b || r.shape[1] != h || r.shape[2] != sq) {
    char s[160];
    skv_layout_format(&r, s, sizeof s);
    snprintf(err, errlen, "combine layout: final_layout over (b, h, m) is %s, not rank 3", s);
    return false;
  }
  *out = r;
  return true;
}

bool skv_lse_write_layout(skv_lse_kernel k, bool ngroups_swapped, bool unpadded_lse, int64_t batch, int64_t heads,
                          int64_t seqlen_q, skv_layout *out, char *err, size_t errlen) {
  const int64_t b = batch, h = heads, sq = seqlen_q;
  if (b < 1 || h < 1 || sq < 1 || b > INT32_MAX || h > INT32_MAX || sq > INT32_MAX ||
      b * h > INT64_MAX / sq) {
    snprintf(err, errlen, "lse layout: batch %" PRId64 ", heads %" PRId64 ", seqlen_q %" PRId64 " out of range", b, h,
             sq);
    return false;
  }
  /* (b, h, sq) row-major: the accumulator order, and every padded write. */
  const skv_layout padded = skv_layout3(b, h, sq, h * sq, sq, 1);
  /* (h, total_q) with token = bidb*sq + m: offset bidh*total_q +
   * q_offset(bidb) + m, where q_offset = bidb*sq both when cu_seqlens_q is
   * null (swapped: batch stride sq) and when every request has sq rows. */
  const skv_layout varlen = skv_layout3(b, h, sq, sq, b * sq, 1);
  switch (k) {
  case SKV_LSE_STANDARD:
    /* get_lse_tile: stride over (b, h, sq) is (1, sq*b, b) when swapped,
     * whether or not the LSE is unpadded; else varlen or padded. */
    if (ngroups_swapped) *out = skv_layout3(b, h, sq, 1, sq * b, b);
    else *out = unpadded_lse ? varlen : padded;
    return true;
  case SKV_LSE_SPLIT1:
    /* row_offset_lseaccum with Split=false: padded order unless
     * unpadded_lse, then bidh*total_q + q_offset: the swap flag plays no part. */
    *out = unpadded_lse ? varlen : padded;
    return true;
  case SKV_LSE_COMBINE:
    /* gLSE(flat i) when padded; gLSE_unpadded = final_layout(i) otherwise. */
    if (!unpadded_lse) {
      *out = padded;
      return true;
    }
    return combine_unpadded_layout(ngroups_swapped, b, h, sq, out, err, errlen);
  default: break;
  }
  snprintf(err, errlen, "lse layout: unknown kernel path %d", (int)k);
  return false;
}

/* ---------------------------------------------------------------- cases */

void skv_lse_case_dims(const skv_lse_case *c, int64_t *b, int64_t *h, int64_t *sq) {
  *b = c->batch;
  *h = c->swapped ? c->kv_heads : c->kv_heads * c->groups;
  *sq = c->swapped ? c->groups : c->qlen;
}

bool skv_lse_case_kernel_swapped(const skv_lse_case *c) { return c->swapped && c->unpadded; }

static bool case_write_layout(const skv_lse_case *c, skv_layout *out, char *err, size_t errlen) {
  int64_t b, h, sq;
  skv_lse_case_dims(c, &b, &h, &sq);
  return skv_lse_write_layout(c->kernel, skv_lse_case_kernel_swapped(c), c->unpadded, b, h, sq, out, err, errlen);
}

const char *skv_lse_case_api(const skv_lse_case *c, bool *vllm) {
  static const char *api[2][2][SKV_LSE_KERNEL_COUNT] = {
      /* padded: mha_fwd (contiguous KV) and mha_fwd_kvcache */
      {{"mha_fwd / mha_fwd_kvcache, contiguous KV, 1 split", "mha_fwd_kvcache, paged or new KV, 1 split",
        "mha_fwd / mha_fwd_kvcache, num_splits > 1"},
       {"mha_fwd / mha_fwd_kvcache, contiguous KV, 1 split (GQA decode)",
        "mha_fwd_kvcache, paged or new KV, 1 split (GQA decode)",
        "mha_fwd / mha_fwd_kvcache, num_splits > 1 (GQA decode)"}},
      /* varlen: mha_varlen_fwd; vLLM always passes a block table (paged) */
      {{"mha_varlen_fwd, contiguous KV (prefill)", "mha_varlen_fwd, paged KV (vLLM prefill, cascade prefix)",
        "none: mha_varlen_fwd splits only the swapped decode"},
       {"mha_varlen_fwd, contiguous KV, 1 split (GQA decode)", "mha_varlen_fwd, paged KV, 1 split (vLLM decode)",
        "mha_varlen_fwd, num_splits > 1 (vLLM decode)"}},
  };
  if (vllm) *vllm = c->unpadded && (c->kernel == SKV_LSE_SPLIT1 || (c->swapped && c->kernel == SKV_LSE_COMBINE));
  return api[c->unpadded][c->swapped][c->kernel];
}

void skv_lse_caller_of(const skv_lse_case *c, skv_lse_caller *out) {
  int64_t b, h, sq;
  skv_lse_case_dims(c, &b, &h, &sq);
  memset(out, 0, sizeof *out);
  if (c->unpadded) {
    out->rank = 2;
    out->shape[0] = c->swapped ? h * sq : h;
    out->shape[1] = c->swapped ? b : b * sq;
    out->axes[0] = "head", out->axes[1] = "token";
    out->name = "[hq,tokens]";
    out->index = c->swapped ? skv_layout3(b, h, sq, 1, sq * b, b) : skv_layout3(b, h, sq, sq, b * sq, 1);
  } else {
    out->rank = 3;
    out->shape[0] = b;
    out->shape[1] = c->swapped ? h * sq : h;
    out->shape[2] = c->swapped ? 1 : sq;
    out->axes[0] = "b", out->axes[1] = "head", out->axes[2] = "q";
    out->name = c->swapped ? "[b,hq,1]" : "[b,hq,sq]";
    out->index = skv_layout3(b, h, sq, h * sq, sq, 1);
  }
}

static void op_reshape(skv_lse_host_seq *s, int32_t rank, int64_t d0, int64_t d1, int64_t d2) {
  skv_host_op *o = &s->ops[s->num_ops++];
  memset(o, 0, sizeof *o);
  o->kind = SKV_HOST_RESHAPE;
  o->rank = rank;
  o->shape[0] = d0, o->shape[1] = d1, o->shape[2] = d2;
}

void skv_lse_host_seq_of(const skv_lse_case *c, skv_lse_host_seq *s) {
  int64_t b, h, sq;
  skv_lse_case_dims(c, &b, &h, &sq);
  memset(s, 0, sizeof *s);
  if (c->unpadded) {
    s->alloc_rank = 2;
    s->alloc_shape[0] = h, s->alloc_shape[1] = b * sq;
  } else {
    s->alloc_rank = 3;
    s->alloc_shape[0] = b, s->alloc_shape[1] = h, s->alloc_shape[2] = sq;
  }
  if (!c->swapped) {
    snprintf(s->text, sizeof s->text, "none");
    return;
  }
  if (!c->unpadded) { /* mha_fwd / mha_fwd_kvcache, both repositories */
    op_reshape(s, 3, b, h * sq, 1);
    snprintf(s->text, sizeof s->text, "reshape(b,h*sq,1)");
    return;
  }
  const bool transpose =
      c->host == SKV_LSE_HOST_FORK_BEFORE || (c->host == SKV_LSE_HOST_FORK_AFTER && c->kernel != SKV_LSE_COMBINE);
  if (transpose) {
    op_reshape(s, 3, h, b, sq);
    skv_host_op *o = &s->ops[s->num_ops++];
    memset(o, 0, sizeof *o);
    o->kind = SKV_HOST_TRANSPOSE;
    o->dim0 = 1, o->dim1 = 2;
    op_reshape(s, 2, h * sq, b, 0);
    snprintf(s->text, sizeof s->text, "reshape(h,b,sq).transpose(1,2).reshape(h*sq,b)");
  } else {
    op_reshape(s, 2, h * sq, b, 0);
    snprintf(s->text, sizeof s->text, "reshape(h*sq,b)");
  }
}

bool skv_lse_deliver(const skv_lse_case *c, const double *internal, double *caller, skv_lse_delivery *info, char *err,
                     size_t errlen) {
  int64_t b, h, sq;
  skv_lse_case_dims(c, &b, &h, &sq);
  skv_layout w;
  if (!case_write_layout(c, &w, err, errlen)) return false;
  skv_lse_host_seq seq;
  skv_lse_host_seq_of(c, &seq);
  skv_host_tensor t;
  if (!skv_host_tensor_empty(&t, seq.alloc_rank, seq.alloc_shape)) {
    snprintf(err, errlen, "lse: out of memory");
    return false;
  }
  if (skv_layout_cosize(&w) > t.numel) {
    snprintf(err, errlen, "lse: the %s write reaches past softmax_lse (%" PRId64 " elements)",
             skv_lse_kernel_name(c->kernel), t.numel);
    skv_host_tensor_free(&t);
    return false;
  }
  for (int64_t bi = 0; bi < b; bi++)
    for (int64_t hi = 0; hi < h; hi++)
      for (int64_t m = 0; m < sq; m++) t.data[skv_layout_offset3(&w, bi, hi, m)] = internal[(bi * h + hi) * sq + m];
  for (int32_t i = 0; i < seq.num_ops; i++) {
    const skv_host_op *o = &seq.ops[i];
    bool ok = o->kind == SKV_HOST_RESHAPE ? skv_host_tensor_reshape(&t, o->rank, o->shape)
                                          : skv_host_tensor_transpose(&t, o->dim0, o->dim1);
    if (!ok) {
      snprintf(err, errlen, "lse: host op %d of '%s' failed (shape mismatch or out of memory)", i + 1, seq.text);
      skv_host_tensor_free(&t);
      return false;
    }
  }
  skv_lse_caller cl;
  skv_lse_caller_of(c, &cl);
  bool same = t.view.rank == cl.rank;
  for (int32_t k = 0; same && k < cl.rank; k++) same = t.view.shape[k] == cl.shape[k];
  if (!same) {
    char s[160];
    skv_layout_format(&t.view, s, sizeof s);
    snprintf(err, errlen, "lse: the host returns %s, the caller expects %s", s, cl.name);
    skv_host_tensor_free(&t);
    return false;
  }
  int64_t coord[SKV_LAYOUT_MAX_RANK];
  const int64_t n = b * h * sq;
  for (int64_t f = 0; f < n; f++) {
    skv_layout_coord_row_major(&t.view, f, coord);
    caller[f] = skv_host_tensor_get(&t, coord);
  }
  if (info) {
    info->copies = t.copies;
    info->contiguous = skv_host_tensor_is_contiguous(&t);
  }
  skv_host_tensor_free(&t);
  return true;
}

void skv_lse_axis_order(const skv_layout *l, char *buf, size_t len) {
  static const char *names[3] = {"b", "h", "sq"};
  int32_t idx[3] = {0, 1, 2};
  for (int32_t i = 1; i < 3; i++)
    for (int32_t j = i; j > 0 && l->stride[idx[j]] > l->stride[idx[j - 1]]; j--) {
      int32_t t = idx[j];
      idx[j] = idx[j - 1];
      idx[j - 1] = t;
    }
  int64_t expect = 1;
  bool compact = true;
  for (int32_t k = 2; k >= 0 && compact; k--) {
    const int32_t a = idx[k];
    if (l->shape[a] == 1) continue;
    compact = l->stride[a] == expect;
    expect *= l->shape[a];
  }
  if (compact) snprintf(buf, len, "(%s,%s,%s)", names[idx[0]], names[idx[1]], names[idx[2]]);
  else skv_layout_format(l, buf, len);
}

/* "(head 1, token 0)": a caller flat index as its named coordinate (size-1 axes left out). */
static int caller_coord_text(const skv_lse_caller *cl, int64_t f, char *buf, size_t len) {
  int64_t c[3] = {0, 0, 0};
  for (int32_t k = cl->rank - 1; k >= 0; k--) {
    c[k] = f % cl->shape[k];
    f /= cl->shape[k];
  }
  size_t p = 0;
  p += (size_t)snprintf(buf, len, "(");
  bool first = true;
  for (int32_t k = 0; k < cl->rank && p < len; k++) {
    if (cl->shape[k] == 1) continue;
    p += (size_t)snprintf(buf + p, len - p, "%s%s %" PRId64, first ? "" : ", ", cl->axes[k], c[k]);
    first = false;
  }
  if (p < len) p += (size_t)snprintf(buf + p, len - p, ")");
  return (int)p;
}

bool skv_lse_evaluate(const skv_lse_case *c, skv_lse_row *row, char *err, size_t errlen) {
  memset(row, 0, sizeof *row);
  row->c = *c;
  int64_t b, h, sq;
  skv_lse_case_dims(c, &b, &h, &sq);
  if (!case_write_layout(c, &row->kernel, err, errlen)) return false;
  skv_lse_caller cl;
  skv_lse_caller_of(c, &cl);
  const int64_t n = b * h * sq;
  double *in = calloc((size_t)n, sizeof *in), *got = calloc((size_t)n, sizeof *got);
  if (!in || !got) {
    free(in), free(got);
    snprintf(err, errlen, "lse: out of memory");
    return false;
  }
  /* 1. Unique ids: element (b, h, m) carries its own caller index. */
  for (int64_t bi = 0; bi < b; bi++)
    for (int64_t hi = 0; hi < h; hi++)
      for (int64_t m = 0; m < sq; m++) in[(bi * h + hi) * sq + m] = (double)skv_layout_offset3(&cl.index, bi, hi, m);
  skv_lse_delivery info;
  bool ok = skv_lse_deliver(c, in, got, &info, err, errlen);
  for (int64_t f = 0; ok && f < n; f++) {
    if (got[f] == (double)f) continue;
    if (row->misplaced++ == 0) {
      char a[64], s[64];
      caller_coord_text(&cl, f, a, sizeof a);
      if (isnan(got[f])) snprintf(s, sizeof s, "nothing (never written)");
      else caller_coord_text(&cl, (int64_t)got[f], s, sizeof s);
      snprintf(row->example, sizeof row->example, "%s holds %s", a, s);
    }
  }
  /* 2. Offsets as values: what the caller reads at (b, h, m) is the offset
   * of softmax_lse the host's view takes it from. */
  for (int64_t bi = 0; ok && bi < b; bi++)
    for (int64_t hi = 0; hi < h; hi++)
      for (int64_t m = 0; m < sq; m++) in[(bi * h + hi) * sq + m] = (double)skv_layout_offset3(&row->kernel, bi, hi, m);
  ok = ok && skv_lse_deliver(c, in, got, NULL, err, errlen);
  for (int64_t f = 0; ok && f < n; f++)
    if (isnan(got[f])) {
      snprintf(err, errlen, "lse: caller element %" PRId64 " was never written", f);
      ok = false;
    }
  if (ok) {
    const int64_t origin = (int64_t)got[0];
    const int64_t unit[3] = {skv_layout_offset3(&cl.index, 1, 0, 0), skv_layout_offset3(&cl.index, 0, 1, 0),
                             skv_layout_offset3(&cl.index, 0, 0, 1)};
    const int64_t ext[3] = {b, h, sq};
    int64_t st[3];
    for (int32_t k = 0; k < 3; k++) st[k] = ext[k] > 1 ? (int64_t)got[unit[k]] - origin : 0;
    row->host_reads = skv_layout3(b, h, sq, st[0], st[1], st[2]);
    row->host_reads_strided = origin == 0;
    for (int64_t bi = 0; bi < b && row->host_reads_strided; bi++)
      for (int64_t hi = 0; hi < h; hi++)
        for (int64_t m = 0; m < sq; m++)
          if (got[skv_layout_offset3(&cl.index, bi, hi, m)] != (double)skv_layout_offset3(&row->host_reads, bi, hi, m))
            row->host_reads_strided = false;
  }
  free(in), free(got);
  if (!ok) return false;
  row->elements = n;
  row->correct = row->misplaced == 0;
  row->copies = info.copies;
  row->contiguous = info.contiguous;
  skv_lse_axis_order(&row->kernel, row->kernel_order, sizeof row->kernel_order);
  if (row->host_reads_strided) skv_lse_axis_order(&row->host_reads, row->host_order, sizeof row->host_order);
  else snprintf(row->host_order, sizeof row->host_order, "not strided");
  snprintf(row->caller, sizeof row->caller, "%s", cl.name);
  skv_lse_host_seq seq;
  skv_lse_host_seq_of(c, &seq);
  snprintf(row->ops, sizeof row->ops, "%s", seq.text);
  row->api = skv_lse_case_api(c, &row->vllm);
  return true;
}

bool skv_lse_table(int64_t batch, int64_t kv_heads, int64_t groups, int64_t qlen, skv_lse_row *rows, char *err,
                   size_t errlen) {
  int32_t i = 0;
  for (int32_t sw = 1; sw >= 0; sw--)
    for (int32_t un = 1; un >= 0; un--)
      for (int32_t k = 0; k < SKV_LSE_KERNEL_COUNT; k++)
        for (int32_t hp = 0; hp < SKV_LSE_HOST_COUNT; hp++) {
          const skv_lse_case c = {.swapped = sw, .unpadded = un, .kernel = (skv_lse_kernel)k,
                                  .host = (skv_lse_host)hp, .batch = batch, .kv_heads = kv_heads,
                                  .groups = groups, .qlen = sw ? 1 : qlen};
          if (!skv_lse_evaluate(&c, &rows[i++], err, errlen)) return false;
        }
  return true;
}

skv_layout skv_lse_layout_logical(int64_t num_requests, int64_t num_kv_heads, int64_t group) {
  return skv_layout3(num_requests, num_kv_heads, group, 1, group * num_requests, num_requests);
}
