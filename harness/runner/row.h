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

/* Whether the row fails its run: a check the suite asked for did not run (no reference; measured:
 * no bitwise repeat, no batch-invariance run of a batch of two or more, no LSE-layout run where the
 * configuration has one), or a check failed (the error over the output type's tolerance, an output
 * left unwritten, the same plan giving other bits, an invariance or LSE layout other than the
 * simulator predicts). A simulated run has no measured checks to miss. */
bool skv_row_failed(const skv_run_row *row, const skv_suite *s, bool measured, const skv_config *c);
/* Set row->checks from skv_row_failed: "fail", else "pass" when a check ran, else "none". */
void skv_row_verdict(skv_run_row *row, const skv_suite *s, bool measured, const skv_config *c);

#endif /* SKV_ROW_H */
