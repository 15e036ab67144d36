/* lse_layout.c — FA2's LSE write layouts, the host paths' torch ops, table rows, and the cascade demo.
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

#include "merge.h"
#include "plan.h"
#include "reference.h"
#include "workload.h"

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

/* ---------------------------------------------------------------- host tensor */

bool skv_host_tensor_empty(skv_host_tensor *t, int32_t rank, const int64_t *shape) {
  memset(t, 0, sizeof *t);
  t->view = skv_layout_row_major(rank, shape);
  t->numel = skv_layout_size(&t->view);
  t->data = malloc((size_t)t->numel * sizeof *t->data);
  if (!t->data) return false;
  for (int64_t i = 0; i < t->numel; i++) t->data[i] = NAN;
  return true;
}

void skv_host_tensor_free(skv_host_tensor *t) {
  free(t->data);
  memset(t, 0, sizeof *t);
}

bool skv_host_tensor_reshape(skv_host_tensor *t, int32_t rank, const int64_t *shape) {
  if (rank < 1 || rank > SKV_LAYOUT_MAX_RANK) return false;
  skv_layout v;
  if (skv_layout_view(&t->view, rank, shape, &v)) {
    t->view = v;
    return true;
  }
  const skv_layout want = skv_layout_row_major(rank, shape);
  const int64_t n = skv_layout_size(&t->view);
  if (skv_layout_size(&want) != n) return false;
  /* torch.reshape falls back to clone(contiguous) + view: copy in the
   * tensor's logical (row-major) order into fresh storage. */
  double *d = malloc((size_t)n * sizeof *d);
  if (!d) return false;
  int64_t c[SKV_LAYOUT_MAX_RANK];
  for (int64_t i = 0; i < n; i++) {
    skv_layout_coord_row_major(&t->view, i, c);
    d[i] = t->data[skv_layout_offset(&t->view, c)];
  }
  free(t->data);
  t->data = d;
  t->numel = n;
  t->view = want;
  t->copies++;
  return true;
}

bool skv_host_tensor_transpose(skv_host_tensor *t, int32_t d0, int32_t d1) {
  return skv_layout_transpose(&t->view, d0, d1, &t->view);
}

double skv_host_tensor_get(const skv_host_tensor *t, const int64_t *coord) {
  return t->data[skv_layout_offset(&t->view, coord)];
}

bool skv_host_tensor_is_contiguous(const skv_host_tensor *t) {
  int64_t expect = 1;
  for (int32_t k = t->view.rank - 1; k >= 0; k--) {
    if (t->view.shape[k] == 1) continue; /* torch ignores the stride of a size-1 dim */
    if (t->view.stride[k] != expect) return false;
    expect *= t->view.shape[k];
  }
  return true;
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

/* ---------------------------------------------------------------- cascade demo */

void skv_lse_demo_config_default(skv_lse_demo_config *c) {
  memset(c, 0, sizeof *c);
  c->num_sms = 108;
  c->batch = 8;
  c->kv_heads = 8;
  c->groups = 4;
  c->head_dim = 128;
  c->page_size = 16;
  c->prefix = 1024;
  c->suffix = 4096;
  c->q_amp = 8.0f;
  c->seed = 1;
}

/* The demo's buffers. Token t is request t (decode); q head q = kv head * G + m. */
typedef struct demo_bufs {
  double *o_pre, *o_suf, *o_ref;  /* [tokens][hq][d] */
  double *lse_suf;                /* suffix call, internal (b, h_kv, m) */
  double *lse_pre;                /* prefix call, internal (0, q head, token) */
  double *lse_ref;                /* [hq][tokens] */
  double *got_suf, *got_pre;      /* delivered [hq][tokens] */
  double *so, *sl, *acc, *accl, *o_out;
} demo_bufs;

static void demo_free(demo_bufs *m) {
  free(m->o_pre), free(m->o_suf), free(m->o_ref), free(m->lse_suf), free(m->lse_pre), free(m->lse_ref);
  free(m->got_suf), free(m->got_pre), free(m->so), free(m->sl), free(m->acc), free(m->accl), free(m->o_out);
  memset(m, 0, sizeof *m);
}

static bool demo_alloc(demo_bufs *m, int64_t tokens, int64_t hq, int64_t g, int64_t d) {
  memset(m, 0, sizeof *m);
  const size_t od = (size_t)(tokens * hq * d), l = (size_t)(tokens * hq);
  m->o_pre = malloc(od * sizeof(double)), m->o_suf = malloc(od * sizeof(double));
  m->o_ref = malloc(od * sizeof(double));
  m->lse_suf = malloc(l * sizeof(double)), m->lse_pre = malloc(l * sizeof(double));
  m->lse_ref = malloc(l * sizeof(double));
  m->got_suf = malloc(l * sizeof(double)), m->got_pre = malloc(l * sizeof(double));
  m->so = malloc((size_t)(g * d) * sizeof(double)), m->sl = malloc((size_t)g * sizeof(double));
  m->acc = malloc((size_t)(g * d) * sizeof(double)), m->accl = malloc((size_t)g * sizeof(double));
  m->o_out = malloc((size_t)d * sizeof(double));
  bool ok = m->o_pre && m->o_suf && m->o_ref && m->lse_suf && m->lse_pre && m->lse_ref && m->got_suf && m->got_pre &&
            m->so && m->sl && m->acc && m->accl && m->o_out;
  if (!ok) demo_free(m);
  return ok;
}

static bool demo_batch(const skv_lse_demo_config *c, int64_t kvlen, skv_batch *b, char *err, size_t errlen) {
  if (!skv_batch_alloc(b, c->batch)) {
    snprintf(err, errlen, "demo: out of memory");
    return false;
  }
  for (int32_t r = 0; r < c->batch; r++) b->qlen[r] = 1, b->kvlen[r] = kvlen;
  b->num_q_heads = c->kv_heads * c->groups;
  b->num_kv_heads = c->kv_heads;
  b->head_dim = c->head_dim;
  b->page_size = c->page_size;
  b->kv_dtype = b->v_dtype = SKV_BF16;
  return true;
}

/* Per (request, kv head): the prefix state and the suffix state merged from
 * the plan's chunks (suffix coordinates shifted by the prefix), as the split
 * kernel + combine compute them. */
static bool demo_states(const skv_workload *w, const skv_plan *p, const skv_lse_demo_config *c, demo_bufs *m) {
  const int64_t g = c->groups, d = c->head_dim, hq = c->kv_heads * g, tokens = c->batch;
  for (int32_t r = 0; r < c->batch; r++)
    for (int32_t kh = 0; kh < c->kv_heads; kh++) {
      if (!skv_ref_states(w, r, kh, 0, c->prefix, m->so, m->sl)) return false;
      for (int64_t j = 0; j < g; j++) {
        const int64_t q = kh * g + j;
        memcpy(m->o_pre + (r * hq + q) * d, m->so + j * d, (size_t)d * sizeof(double));
        m->lse_pre[q * tokens + r] = m->sl[j];
        m->accl[j] = -INFINITY;
      }
      memset(m->acc, 0, (size_t)(g * d) * sizeof(double));
      const skv_chunk *ch = skv_plan_chunks(p, r);
      for (int64_t k = 0; k < skv_plan_num_splits(p, r); k++) {
        if (!skv_ref_states(w, r, kh, c->prefix + ch[k].begin, c->prefix + ch[k].end, m->so, m->sl)) return false;
        for (int64_t j = 0; j < g; j++)
          skv_merge_states(c->head_dim, m->acc + j * d, m->accl[j], m->so + j * d, m->sl[j], m->acc + j * d,
                           &m->accl[j], false);
      }
      for (int64_t j = 0; j < g; j++) {
        memcpy(m->o_suf + (r * hq + kh * g + j) * d, m->acc + j * d, (size_t)d * sizeof(double));
        m->lse_suf[((int64_t)r * c->kv_heads + kh) * g + j] = m->accl[j];
      }
    }
  return true;
}

/* Deliver both LSEs through host path hp, merge as merge_attn_states does
 * (LSE read [num_heads, num_tokens]) and measure against the reference. */
static bool demo_host(const skv_lse_demo_config *c, skv_lse_kernel kernel, skv_lse_host hp, demo_bufs *m,
                      skv_lse_demo_host *out, char *err, size_t errlen) {
  const int64_t g = c->groups, d = c->head_dim, hq = c->kv_heads * g, tokens = c->batch;
  const skv_lse_case suffix = {.swapped = true, .unpadded = true, .kernel = kernel, .host = hp,
                               .batch = c->batch, .kv_heads = c->kv_heads, .groups = g, .qlen = 1};
  /* vLLM's prefix call: all tokens as one sequence of max_seqlen_q = tokens,
   * not swapped, not split, paged (block_table[:1]). */
  const skv_lse_case prefix = {.swapped = false, .unpadded = true, .kernel = SKV_LSE_SPLIT1, .host = hp,
                               .batch = 1, .kv_heads = c->kv_heads, .groups = g, .qlen = tokens};
  if (!skv_lse_deliver(&suffix, m->lse_suf, m->got_suf, NULL, err, errlen) ||
      !skv_lse_deliver(&prefix, m->lse_pre, m->got_pre, NULL, err, errlen))
    return false;
  double num = 0, den = 0;
  memset(out, 0, sizeof *out);
  for (int64_t t = 0; t < tokens; t++)
    for (int64_t q = 0; q < hq; q++) {
      const double ls = m->got_suf[q * tokens + t], lp = m->got_pre[q * tokens + t];
      if (ls != m->lse_suf[(t * c->kv_heads + q / g) * g + q % g]) out->lse_misplaced++;
      double l;
      skv_merge_states(c->head_dim, m->o_pre + (t * hq + q) * d, lp, m->o_suf + (t * hq + q) * d, ls, m->o_out, &l,
                       false);
      const double *ref = m->o_ref + (t * hq + q) * d;
      for (int64_t i = 0; i < d; i++) {
        const double e = m->o_out[i] - ref[i];
        num += e * e;
        den += ref[i] * ref[i];
        if (fabs(e) > out->o_max_abs) out->o_max_abs = fabs(e);
      }
      const double le = fabs(l - m->lse_ref[q * tokens + t]);
      if (le > out->lse_max_abs) out->lse_max_abs = le;
    }
  out->o_rel = den > 0 ? sqrt(num / den) : sqrt(num);
  return true;
}

bool skv_lse_demo_run(const skv_lse_demo_config *c, skv_lse_demo_result *res, char *err, size_t errlen) {
  memset(res, 0, sizeof *res);
  if (c->batch < 1 || c->kv_heads < 1 || c->groups < 2 || c->suffix < 1 || c->prefix < 0 || c->num_sms < 1) {
    snprintf(err, errlen, "demo: need batch >= 1, kv_heads >= 1, groups >= 2 (GQA swap), suffix >= 1, prefix >= 0");
    return false;
  }
  skv_batch full, suf;
  if (!demo_batch(c, c->prefix + c->suffix, &full, err, errlen)) return false;
  if (!demo_batch(c, c->suffix, &suf, err, errlen)) {
    skv_batch_free(&full);
    return false;
  }
  skv_workload_opts wo;
  skv_workload_opts_default(&wo);
  wo.seed = c->seed;
  wo.q_amp = c->q_amp;
  wo.shared_prefix = c->prefix;
  wo.materialize = false; /* KV rows are regenerated on demand: no pool in memory */
  skv_workload w;
  skv_plan p;
  demo_bufs m;
  bool have_w = false, have_p = false, have_m = false, ok;
  ok = have_w = skv_workload_make(&full, &wo, &w, err, errlen);
  ok = ok && (have_p = skv_plan_build(&suf, SKV_POLICY_FA2, NULL, c->num_sms, &p, err, errlen));
  if (ok && !(have_m = demo_alloc(&m, c->batch, (int64_t)c->kv_heads * c->groups, c->groups, c->head_dim))) {
    snprintf(err, errlen, "demo: out of memory");
    ok = false;
  }
  if (ok) {
    res->num_splits = p.batch_num_splits;
    res->kernel = p.batch_num_splits > 1 ? SKV_LSE_COMBINE : SKV_LSE_SPLIT1;
    snprintf(res->plan_why, sizeof res->plan_why, "%s", p.why);
    ok = demo_states(&w, &p, c, &m) && skv_ref_attention(&w, false, m.o_ref, m.lse_ref);
    if (!ok) snprintf(err, errlen, "demo: out of memory in the reference");
  }
  for (int32_t hp = 0; ok && hp < SKV_LSE_HOST_COUNT; hp++)
    ok = demo_host(c, res->kernel, (skv_lse_host)hp, &m, &res->host[hp], err, errlen);
  if (have_m) demo_free(&m);
  if (have_p) skv_plan_free(&p);
  if (have_w) skv_workload_free(&w);
  skv_batch_free(&full);
  skv_batch_free(&suf);
  return ok;
}

skv_layout skv_lse_layout_logical(int64_t num_requests, int64_t num_kv_heads, int64_t group) {
  return skv_layout3(num_requests, num_kv_heads, group, 1, group * num_requests, num_requests);
}
