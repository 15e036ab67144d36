/* plan_print.h — a plan as a readable table or as JSON. */
#ifndef SKV_PLAN_PRINT_H
#define SKV_PLAN_PRINT_H

#include <stdbool.h>
#include <stdio.h>

#include "batch.h"
#include "out/json.h"
#include "plan.h"

/* Table: a header with the policy's reason, CTAs, waves, scratch; one row per
 * request with its chunks (long chunk lists are elided in the middle). */
void skv_plan_print_table(FILE *f, const skv_plan *p, const skv_batch *b);

/* JSON object: policy, options, shape, ctas, grid_ctas, waves, scratch bytes,
 * requests (num_splits, chunks as [begin, end] lists); with_work adds the CTA
 * work list and the combine list. */
void skv_plan_write_json(skv_json *j, const skv_plan *p, const skv_batch *b, bool with_work);

#endif /* SKV_PLAN_PRINT_H */
