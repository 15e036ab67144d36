/* lse_check.c — a configuration's LSE write layout and host path (sim/lse_layout.h): the prediction, and the path applied to a buffer. */
#include "check/lse_check.h"

#include <stdio.h>
#include <string.h>

#include "lse_layout.h"

/* Query tokens of the batch: the LSE's first dimension (decode: the requests). */
static int64_t tokens(const skv_batch *b) {
  int64_t n = 0;
  for (int32_t r = 0; r < b->num_requests; r++) n += b->qlen[r];
  return n;
}

static skv_layout logical_layout(const skv_batch *b) {
  return skv_lse_layout_logical(tokens(b), b->num_kv_heads, skv_batch_group(b));
}

static bool lse_case(const skv_config *c, const skv_batch *b, skv_lse_case *lc) {
  memset(lc, 0, sizeof *lc);
  if (strcmp(c->lse_layout, "logical") == 0) return false;
  const int32_t G = skv_batch_group(b);
  lc->swapped = skv_batch_max_qlen(b) == 1 && G > 1;
  lc->unpadded = strcmp(c->lse_layout, "fa2-padded") != 0;
  lc->kernel = strcmp(c->lse_layout, "fa2-split1") == 0 ? SKV_LSE_SPLIT1 : SKV_LSE_COMBINE;
  lc->host = strcmp(c->host_path, "fa2-upstream") == 0           ? SKV_LSE_HOST_UPSTREAM
             : strcmp(c->host_path, "vllm-fork-before-fix") == 0 ? SKV_LSE_HOST_FORK_BEFORE
                                                                  : SKV_LSE_HOST_FORK_AFTER;
  lc->batch = b->num_requests;
  lc->kv_heads = b->num_kv_heads;
  lc->groups = G;
  lc->qlen = 1;
  return true;
}

bool skv_lse_check_setup(const skv_config *c, const skv_batch *b, skv_layout *layout, skv_check *predicted, char *err,
                         size_t errlen) {
  skv_lse_case lc;
  *layout = logical_layout(b);
  *predicted = SKV_CHECK_NA;
  if (!lse_case(c, b, &lc)) return true;
  int64_t B, H, SQ;
  skv_lse_case_dims(&lc, &B, &H, &SQ);
  if (!skv_lse_write_layout(lc.kernel, skv_lse_case_kernel_swapped(&lc), lc.unpadded, B, H, SQ, layout, err, errlen))
    return false;
  if (strcmp(c->host_path, "none") == 0) {
    /* No host op: the caller reads the buffer as [hq, B]; right exactly when the kernel wrote that. */
    const skv_layout L = logical_layout(b);
    bool same = true;
    for (int64_t i = 0; i < B && same; i++)
      for (int64_t h = 0; h < H && same; h++)
        for (int64_t m = 0; m < SQ && same; m++)
          same = skv_layout_offset3(layout, i, h, m) == skv_layout_offset3(&L, i, h, m);
    *predicted = same ? SKV_CHECK_YES : SKV_CHECK_NO;
    return true;
  }
  skv_lse_row row;
  if (!skv_lse_evaluate(&lc, &row, err, errlen)) return false;
  *predicted = row.correct ? SKV_CHECK_YES : SKV_CHECK_NO;
  return true;
}

bool skv_lse_check_deliver(const skv_config *c, const skv_batch *b, const float *buf, double *out, char *err,
                           size_t errlen) {
  const int64_t n = tokens(b) * b->num_q_heads;
  skv_lse_case lc;
  if (!lse_case(c, b, &lc) || strcmp(c->host_path, "none") == 0) {
    /* The caller reads [hq, T]: element (t, h, g) at (h*G + g)*T + t. */
    const skv_layout L = logical_layout(b);
    for (int64_t r = 0; r < tokens(b); r++)
      for (int64_t h = 0; h < b->num_kv_heads; h++)
        for (int64_t g = 0; g < skv_batch_group(b); g++)
          out[(r * b->num_kv_heads + h) * skv_batch_group(b) + g] = buf[skv_layout_offset3(&L, r, h, g)];
    return true;
  }
  /* The host path's torch ops on the buffer, then the caller's logical view, back in (b, h, m) order. */
  skv_lse_host_seq seq;
  skv_lse_host_seq_of(&lc, &seq);
  skv_host_tensor t;
  if (!skv_host_tensor_empty(&t, seq.alloc_rank, seq.alloc_shape) || t.numel != n) {
    snprintf(err, errlen, "lse: host tensor of %lld elements, buffer of %lld", (long long)t.numel, (long long)n);
    skv_host_tensor_free(&t);
    return false;
  }
  for (int64_t i = 0; i < n; i++) t.data[i] = buf[i];
  bool ok = true;
  for (int k = 0; k < seq.num_ops && ok; k++)
    ok = seq.ops[k].kind == SKV_HOST_RESHAPE ? skv_host_tensor_reshape(&t, seq.ops[k].rank, seq.ops[k].shape)
                                             : skv_host_tensor_transpose(&t, seq.ops[k].dim0, seq.ops[k].dim1);
  skv_lse_caller caller;
  skv_lse_caller_of(&lc, &caller);
  int64_t B, H, SQ;
  skv_lse_case_dims(&lc, &B, &H, &SQ);
  for (int64_t r = 0; r < B && ok; r++)
    for (int64_t h = 0; h < H; h++)
      for (int64_t m = 0; m < SQ; m++) {
        int64_t coord[SKV_LAYOUT_MAX_RANK];
        skv_layout_coord_row_major(&t.view, skv_layout_offset3(&caller.index, r, h, m), coord);
        out[(r * H + h) * SQ + m] = skv_host_tensor_get(&t, coord);
      }
  if (!ok) snprintf(err, errlen, "lse: a host op failed");
  skv_host_tensor_free(&t);
  return ok;
}

