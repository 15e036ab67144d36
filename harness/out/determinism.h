/* determinism.h — the latency-vs-determinism study of a run (issue 17): each policy's slowdown against the best non-invariant policy, beside its measured invariance. */
#ifndef SKV_DETERMINISM_H
#define SKV_DETERMINISM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "out/csv.h"

/* One policy of the study: a policy with its options (its `policy` and `policy_options` columns). */
typedef struct skv_det_policy {
  char label[200];
  int64_t pairs, same;  /* invariance pairs over every shape, and those bitwise equal (measured;
                           simulated: predicted) */
  bool invariant;       /* pairs > 0 and every one equal */
  int64_t shapes;       /* shapes with a time for it and for a baseline */
  double geomean, worst;/* time over the shape's baseline: geometric mean and largest, over shapes */
  char worst_shape[160];
} skv_det_policy;

/* The study: the baseline of a shape (skv_summary_group_key: every configuration column but the
 * policy) is the least time there of a policy found non-invariant (a pair differed); shapes where
 * none was are left out. Times: total_us (measured) or predicted_us (simulated). */
typedef struct skv_det_study {
  skv_det_policy *p;
  int32_t n;
  int64_t shapes;       /* shapes with a baseline */
  bool measured;
} skv_det_study;

/* Compute the study of results table t; false with err when a column is missing, no row has
 * invariance pairs, or out of memory. */
bool skv_det_study_make(const skv_csv_table *t, bool measured, skv_det_study *s, char *err, size_t errlen);
void skv_det_study_free(skv_det_study *s);

/* The study as a Markdown table (the policies in order of geometric-mean slowdown). */
void skv_det_study_write_md(FILE *f, const skv_det_study *s);

#endif /* SKV_DETERMINISM_H */
