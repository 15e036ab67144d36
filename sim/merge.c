/* merge.c — state merge with the -inf conventions of docs/architecture.md. */
#include "merge.h"

#include <math.h>

void skv_merge_states(int32_t d, const double *o_a, double lse_a, const double *o_b, double lse_b, double *o_out,
                      double *lse_out, bool base2) {
  if (base2) {
    lse_a *= M_LN2;
    lse_b *= M_LN2;
  }
  double lse;
  if (lse_a == -INFINITY && lse_b == -INFINITY) {
    for (int32_t i = 0; i < d; i++) o_out[i] = 0.0;
    lse = -INFINITY;
  } else if (lse_b == -INFINITY) {
    for (int32_t i = 0; i < d; i++) o_out[i] = o_a[i];
    lse = lse_a;
  } else if (lse_a == -INFINITY) {
    for (int32_t i = 0; i < d; i++) o_out[i] = o_b[i];
    lse = lse_b;
  } else {
    const double m = lse_a > lse_b ? lse_a : lse_b;
    const double ea = exp(lse_a - m), eb = exp(lse_b - m), sum = ea + eb;
    const double wa = ea / sum, wb = eb / sum;
    for (int32_t i = 0; i < d; i++) o_out[i] = wa * o_a[i] + wb * o_b[i];
    lse = m + log(sum);
  }
  *lse_out = base2 ? lse / M_LN2 : lse;
}
