/* cpu_exec.c — a plan executed in double precision through its work list, scratch rows and combine list. */
#include "cpu_exec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"
#include "reference.h"

bool skv_cpu_execute(const skv_workload *w, const skv_plan *p, const bool *keep, double *o, double *lse) {
  const skv_batch *b = &w->batch;
  const int32_t d = b->head_dim, H = b->num_kv_heads, G = skv_batch_group(b);
  /* State rows of the largest tile. */
  const int64_t maxq = skv_batch_max_qlen(b), rows = (maxq < p->tile_tokens ? maxq : p->tile_tokens) * G;
  /* Scratch as the GPU's: one state row per packed row of each split tile's chunk. */
  double *so = malloc(sizeof(double) * (size_t)(rows * d)), *sl = malloc(sizeof(double) * (size_t)rows);
  double *po = malloc(sizeof(double) * (size_t)(p->num_partials * d + 1));
  double *pl = malloc(sizeof(double) * (size_t)(p->num_partials + 1));
  bool ok = so && sl && po && pl;
  for (int64_t i = 0; i < p->num_work && ok; i++) {
    const skv_work *it = &p->work[i];
    if (keep && !keep[(int64_t)it->request * H + it->kv_head]) continue;
    ok = skv_ref_tile_states(w, it->request, it->kv_head, it->q_begin, it->q_end, it->kv_begin, it->kv_end, so, sl);
    if (!ok) break;
    const int64_t n = skv_tile_rows(it->q_begin, it->q_end, G);
    if (it->num_chunks == 1) {
      skv_ref_tile_scatter(w, it->request, it->kv_head, it->q_begin, it->q_end, so, sl, false, o, lse);
    } else {
      memcpy(po + it->partial * d, so, sizeof(double) * (size_t)(n * d));
      memcpy(pl + it->partial, sl, sizeof(double) * (size_t)n);
    }
  }
  for (int64_t i = 0; i < p->num_combine && ok; i++) {
    const skv_combine_item *c = &p->combine[i];
    if (keep && !keep[(int64_t)c->request * H + c->kv_head]) continue;
    const int64_t n = skv_tile_rows(c->q_begin, c->q_end, G);
    for (int64_t x = 0; x < n; x++) {
      sl[x] = -INFINITY; /* the empty state, merged away exactly */
      memset(so + x * d, 0, sizeof(double) * (size_t)d);
      for (int32_t k = 0; k < c->num_chunks; k++) {
        const int64_t row = c->first_partial + k * n + x;
        skv_merge_states(d, so + x * d, sl[x], po + row * d, pl[row], so + x * d, &sl[x], false);
      }
    }
    skv_ref_tile_scatter(w, c->request, c->kv_head, c->q_begin, c->q_end, so, sl, false, o, lse);
  }
  free(so), free(sl), free(po), free(pl);
  return ok;
}
