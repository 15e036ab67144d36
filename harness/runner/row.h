/* row.h — the columns of a results row that name its configuration; the executors (exec/exec.h) fill the others. */
#ifndef SKV_ROW_H
#define SKV_ROW_H

#include <stdbool.h>

#include "batch.h"
#include "out/results.h"
#include "suite/suite.h"

/* Start row for configuration c of suite s (batch b): a blank row (skv_run_row_init), then the
 * configuration's columns, from config to gpu_model, and gpu_supported. */
void skv_row_identity(skv_run_row *row, const skv_suite *s, const char *run_id, bool measured, const skv_config *c,
                      const skv_batch *b);

#endif /* SKV_ROW_H */
