/* merge.h — merging two attention states (O, LSE) computed over disjoint key sets. */
#ifndef SKV_MERGE_H
#define SKV_MERGE_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* (o_a, lse_a) and (o_b, lse_b) are softmax-weighted outputs over disjoint key
 * sets A and B with lse = log(sum exp(score)). Over A u B:
 *   lse = m + log(exp(lse_a - m) + exp(lse_b - m)),  m = max(lse_a, lse_b)
 *   o   = (exp(lse_a - lse) o_a + exp(lse_b - lse) o_b)
 * Conventions (docs/architecture.md): an empty set has lse = -inf and o = 0; merging with
 * it returns the other state unchanged; two empty states give -inf and o = 0,
 * never NaN. o_out may alias o_a or o_b. base2: LSEs are log2 (FlashInfer's
 * convention), converted to natural log at the edge. */
void skv_merge_states(int32_t d, const double *o_a, double lse_a, const double *o_b, double lse_b, double *o_out,
                      double *lse_out, bool base2);

#ifdef __cplusplus
}
#endif

#endif /* SKV_MERGE_H */
