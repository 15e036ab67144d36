/* dump.c — `skv run --dump`: a configuration's inputs and outputs as .npy, its plan as JSON. */
#include "out/dump.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/json.h"
#include "out/npy.h"
#include "out/plan_print.h"

/* NumPy has no bf16 or e4m3: those are written as their raw bits ('<u2', '|u1'), which
 * torch.from_numpy(...).view(torch.bfloat16 / torch.float8_e4m3fn) turns back into values. */
static const char *npy_descr(skv_dtype t) {
  switch (t) {
  case SKV_BF16: return "<u2";
  case SKV_FP16: return "<f2";
  case SKV_FP8_E4M3: return "|u1";
  case SKV_INT8: return "|i1";
  default: return "<f4";
  }
}

bool skv_dump_write(const char *dir, const skv_workload *w, const skv_plan *p, const void *kpool, const void *vpool,
                    const void *o, skv_dtype o_dtype, const float *lse, const skv_layout *lse_layout, char *err,
                    size_t errlen) {
  const skv_batch *b = &w->batch;
  const int64_t n = b->num_requests, hq = b->num_q_heads, hkv = b->num_kv_heads, d = b->head_dim;
  const skv_dtype vt = b->v_dtype;
  char path[1400];
  bool ok = true;
#define NPY(name, descr, ndim, data, esize, ...)                                                            \
  do {                                                                                                    \
    const int64_t shape_[] = {__VA_ARGS__};                                                                \
    snprintf(path, sizeof path, "%s/%s", dir, name);                                                      \
    if (ok) ok = skv_npy_write(path, descr, shape_, ndim, data, esize, err, errlen);                      \
  } while (0)
  const int64_t tq = w->cu_seqlens_q[n];
  NPY("q.npy", npy_descr(w->opts.q_dtype), 3, w->q, (size_t)skv_dtype_size(w->opts.q_dtype), tq, hq, d);
  NPY("k_pages.npy", npy_descr(b->kv_dtype), 4, kpool, (size_t)skv_dtype_size(b->kv_dtype), w->num_pages,
      b->page_size, hkv, d);
  NPY("v_pages.npy", npy_descr(vt), 4, vpool, (size_t)skv_dtype_size(vt), w->num_pages, b->page_size, hkv, d);
  NPY("page_table.npy", "<i4", 1, w->page_table, 4, w->page_indptr[n]);
  NPY("page_indptr.npy", "<i8", 1, w->page_indptr, 8, n + 1);
  NPY("kv_lens.npy", "<i8", 1, b->kvlen, 8, n);
  NPY("cu_seqlens_q.npy", "<i8", 1, w->cu_seqlens_q, 8, n + 1);
  NPY("o.npy", npy_descr(o_dtype), 3, o, (size_t)skv_dtype_size(o_dtype), tq, hq, d);
  /* LSE in the logical [hq, total_q] order, whatever layout the kernels wrote it through. */
  float *logical = malloc(sizeof(float) * (size_t)(n * hq));
  if (!logical && ok) {
    snprintf(err, errlen, "dump: out of memory");
    ok = false;
  }
  for (int64_t r = 0; r < n && ok; r++)
    for (int64_t h = 0; h < hq; h++) logical[h * n + r] = lse[skv_layout_offset3(lse_layout, r, h / (hq / hkv), h % (hq / hkv))];
  NPY("lse.npy", "<f4", 2, logical, 4, hq, n);
  free(logical);
  if (w->scales.k_token) NPY("k_scale_per_token_head.npy", "<f4", 3, w->scales.k_token, 4, w->num_pages, b->page_size, hkv);
  if (w->scales.v_token) NPY("v_scale_per_token_head.npy", "<f4", 3, w->scales.v_token, 4, w->num_pages, b->page_size, hkv);
  if (w->scales.v_channel) NPY("v_scale_per_channel.npy", "<f4", 2, w->scales.v_channel, 4, hkv, d);
#undef NPY
  if (!ok) return false;
  snprintf(path, sizeof path, "%s/plan.json", dir);
  FILE *f = fopen(path, "w");
  if (!f) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return false;
  }
  skv_json j;
  skv_json_init(&j, f, 2);
  skv_json_object_begin(&j);
  skv_json_kv_double(&j, "softmax_scale", w->softmax_scale);
  skv_json_kv_string(&j, "q_dtype", skv_dtype_name(w->opts.q_dtype));
  skv_json_kv_string(&j, "kv_dtype", skv_dtype_name(b->kv_dtype));
  skv_json_kv_string(&j, "v_dtype", skv_dtype_name(vt));
  skv_json_kv_double(&j, "q_scale", w->opts.quant.q_scale);
  skv_json_kv_double(&j, "k_scale", w->opts.quant.k_scale);
  skv_json_kv_double(&j, "v_scale", w->opts.quant.v_scale);
  skv_json_kv_string(&j, "kv_scale_mode", skv_scale_mode_name(b->kv_scale_mode));
  skv_json_kv_string(&j, "layout_note", "k_pages/v_pages are [num_pages, page_size, num_kv_heads, head_dim]; request r "
                                         "owns page_table[page_indptr[r]:page_indptr[r+1]] in token order; lse is "
                                         "[num_q_heads, total_q], natural log");
  skv_json_key(&j, "plan");
  skv_plan_write_json(&j, p, b, true);
  skv_json_object_end(&j);
  const bool wok = !ferror(f);
  if (fclose(f) != 0 || !wok) {
    snprintf(err, errlen, "%s: write failed", path);
    return false;
  }
  return true;
}
