/* model_error.h — the cost model's error over a measured run: |predicted - measured| / measured of
 * each row's decode + combine time, summarized per cache (kv_dtype, with v_dtype when it differs). */
#ifndef SKV_MODEL_ERROR_H
#define SKV_MODEL_ERROR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "out/csv.h"

#define SKV_MODEL_ERROR_MAX_GROUPS 8

typedef struct skv_model_error_group {
  char cache[40];      /* "bf16", "fp8_e4m3", "int8", "int8/bf16" (K/V), or "all" */
  int64_t n;           /* rows with a measured time and a prediction */
  double median, p90, max; /* of |error|, in percent; p90 by nearest rank: the ceil(0.9 n)-th smallest */
  double bias;         /* median of the signed error, in percent (negative: the model is too fast) */
} skv_model_error_group;

typedef struct skv_model_error {
  skv_model_error_group g[SKV_MODEL_ERROR_MAX_GROUPS]; /* per cache in first-seen order, then "all" */
  int32_t ng;
  int64_t unmeasured; /* rows left out: no measured total_us or no predicted_us */
} skv_model_error;

/* Summarize table t (results.csv). False with err when a column is missing, a value is not a number,
 * there are more caches than groups, or out of memory. */
bool skv_model_error_of(const skv_csv_table *t, skv_model_error *out, char *err, size_t errlen);
/* The summary as a Markdown table (| cache | rows | median | p90 | max | bias |) and a line for
 * the rows left out. */
void skv_model_error_markdown(FILE *f, const skv_model_error *e);

#endif /* SKV_MODEL_ERROR_H */
