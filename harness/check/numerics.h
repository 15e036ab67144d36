/* numerics.h — errors of kernel outputs against a reference: relative L2 and max abs of O, max abs of LSE, unwritten outputs. */
#ifndef SKV_NUMERICS_H
#define SKV_NUMERICS_H

#include <stdbool.h>
#include <stdint.h>

#include "layout.h"
#include "workload.h"

typedef struct skv_numerics {
  double o_rel_l2;      /* ||O - ref|| / ||ref|| over the checked requests */
  double o_max_abs;     /* max |O - ref| */
  double lse_max_abs;   /* max |LSE - ref| (inf if one side is -inf and the other is not) */
  int64_t unwritten;    /* NaN outputs among the checked ones (outputs are poisoned before a run) */
  int64_t checked;      /* O elements compared */
} skv_numerics;

/* Decode outputs (query length 1): o is [B, hq, d] of o_dtype, lse is written
 * at lse_layout(request, kv head, g). Compare requests reqs[0..nreqs) (NULL:
 * all) with the double-precision reference. False when out of memory. */
bool skv_numerics_vs_reference(const skv_workload *w, skv_dtype o_dtype, const void *o, const float *lse,
                               const skv_layout *lse_layout, const int32_t *reqs, int32_t nreqs, skv_numerics *out);

/* The reference of requests reqs[0..nreqs) once, to compare several runs
 * with: *ref_o [T, hq, d] and *ref_lse [T, hq], T the selected requests' query
 * tokens in the order given (malloc'd; free them). */
bool skv_numerics_reference(const skv_workload *w, const int32_t *reqs, int32_t nreqs, double **ref_o,
                            double **ref_lse);
/* Compare the outputs of those requests (every query token) with that reference. */
void skv_numerics_compare(const skv_workload *w, skv_dtype o_dtype, const void *o, const float *lse,
                          const skv_layout *lse_layout, const int32_t *reqs, int32_t nreqs, const double *ref_o,
                          const double *ref_lse, skv_numerics *out);

/* The same against fp32 reference outputs (ref_o [T, hq, d], ref_lse [hq, T])
 * for all T query tokens of the batch. */
void skv_numerics_vs_fp32(int64_t num_tokens, int32_t hq, int32_t hkv, int32_t d, skv_dtype o_dtype, const void *o,
                          const float *lse, const skv_layout *lse_layout, const float *ref_o, const float *ref_lse,
                          skv_numerics *out);

/* Two references against each other (every request, double precision):
 * ||O_a - O_b|| / ||O_b|| etc. False when out of memory. */
bool skv_numerics_ref_vs_ref(const skv_workload *a, const skv_workload *b, skv_numerics *out);

/* NaN count over a whole output (o: n elements of o_dtype; lse: m floats). */
int64_t skv_count_nan(skv_dtype o_dtype, const void *o, int64_t n, const float *lse, int64_t m);

#endif /* SKV_NUMERICS_H */
