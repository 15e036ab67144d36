/* lse_check.h — a configuration's LSE output layout and host code path: what the simulator predicts the caller receives, and that path applied to a buffer. */
#ifndef SKV_LSE_CHECK_H
#define SKV_LSE_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "batch.h"
#include "layout.h"
#include "out/results.h"
#include "suite/suite.h"

/* The layout the kernels write the configuration's LSE through (its lse_layout key: the logical
 * [hq, B], or one of FA2's: sim/lse_layout.h), and whether the simulator predicts that its host
 * path delivers the logical LSE (SKV_CHECK_NA for the logical layout). */
bool skv_lse_check_setup(const skv_config *c, const skv_batch *b, skv_layout *layout, skv_check *predicted, char *err,
                         size_t errlen);
/* Apply the configuration's host path (sim/lse_layout.h) to an LSE buffer of B*hq floats written
 * through its layout; out receives what the caller reads, in (request, KV head, g) order. */
bool skv_lse_check_deliver(const skv_config *c, const skv_batch *b, const float *buf, double *out, char *err,
                           size_t errlen);

#endif /* SKV_LSE_CHECK_H */
