/* dcp_handoff.c — the DCP LSE hand-off model (dcp_handoff.h). */
#include "dcp_handoff.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *skv_dcp_lse_layout_name(skv_dcp_lse_layout l) { return l == SKV_DCP_LSE_HEADS_TOKENS ? "[H,T]" : "[T,H]"; }

void skv_dcp_case_of(int32_t i, skv_dcp_case *c) {
  c->returned = (i >> 4) & 1 ? SKV_DCP_LSE_TOKENS_HEADS : SKV_DCP_LSE_HEADS_TOKENS;
  c->host_transposes = (i >> 3) & 1;
  c->returned_base2 = (i >> 2) & 1;
  c->merge_base2 = (i >> 1) & 1;
  c->guard_empty = i & 1;
}

void skv_dcp_case_eval(const skv_dcp_case *c, int32_t W, int64_t T, int32_t H, int32_t d, const double *rank_o,
                       const double *rank_lse, const double *ref_o, skv_dcp_case_result *out) {
  memset(out, 0, sizeof *out);
  /* The buffer the merge gets is [T, H] exactly when the returned layout, transposed or not, ends as [T, H]. */
  const bool ends_th = (c->returned == SKV_DCP_LSE_TOKENS_HEADS) != c->host_transposes;
  out->layout_right = ends_th;
  out->base_right = c->returned_base2 == c->merge_base2;
  if (!ends_th && T != H) {
    out->shape_error = true;
    out->o_rel = NAN;
    return;
  }
  const double ln2 = 0.69314718055994530942, log2e = 1.44269504088896340736;
  double num = 0, den = 0;
  double *o = malloc(sizeof(double) * (size_t)d), *l = malloc(sizeof(double) * (size_t)W);
  double *ow = malloc(sizeof(double) * (size_t)W * (size_t)d);
  if (!o || !l || !ow) {
    free(o), free(l), free(ow);
    out->o_rel = NAN;
    return;
  }
  for (int64_t t = 0; t < T; t++)
    for (int32_t h = 0; h < H; h++) {
      /* what the merge reads at (t, h): the element (t, h) of a [T, H] buffer, or of an [H, T] buffer read as
       * [T, H] (T == H here: the element (h, t)), in the returned base, taken in the base it assumes */
      const int64_t st = ends_th ? t : h, sh = ends_th ? h : (int32_t)t;
      for (int32_t w = 0; w < W; w++) {
        const double nat = rank_lse[((size_t)w * H + (size_t)sh) * (size_t)T + (size_t)st];
        const double returned = c->returned_base2 ? nat * log2e : nat;
        l[w] = c->merge_base2 ? returned * ln2 : returned; /* the merge's natural log of what it read */
      }
      /* cp_lse_ag_out_rs (skv_dcp_merge_states, whose scale of a (token, head) no shard holds is 0 — the
       * guard); without the guard that row's scale exp(-inf - -inf) is NaN */
      bool all_empty = true;
      for (int32_t w = 0; w < W; w++) {
        all_empty = all_empty && isinf(l[w]) && l[w] < 0;
        for (int32_t i = 0; i < d; i++) ow[(size_t)w * d + i] = rank_o[(((size_t)w * (size_t)T + (size_t)t) * H + h) * d + i];
      }
      double merged_lse;
      skv_dcp_merge_states(SKV_DCP_MERGE_AG_RS, W, d, ow, l, o, &merged_lse);
      if (all_empty && !c->guard_empty)
        for (int32_t i = 0; i < d; i++) o[i] = NAN;
      const double *ref = ref_o + ((size_t)t * H + h) * d;
      for (int32_t i = 0; i < d; i++) {
        if (isnan(o[i])) {
          out->nan_outputs++;
          continue;
        }
        num += (o[i] - ref[i]) * (o[i] - ref[i]);
        den += ref[i] * ref[i];
      }
    }
  free(o), free(l), free(ow);
  out->o_rel = den > 0 ? sqrt(num / den) : sqrt(num);
  out->correct = out->nan_outputs == 0 && out->o_rel < 1e-12;
}
