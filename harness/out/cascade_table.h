/* cascade_table.h — a run's cascade rows as decisions: each decision policy's regret against the fastest of flash decoding and the cascades measured, and the cost model's error on both paths (issue 16). */
#ifndef SKV_CASCADE_TABLE_H
#define SKV_CASCADE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cascade_cost.h"
#include "out/csv.h"

/* The measured times of row r's choices (skv_cascade_choice order: total_us, cascade_us,
 * cascade_outer_us, cascade_merged_us; NAN where absent), and the choice of decision policy p:
 * 0 never (FD), 1 always (every level: ALL), 2 vllm (cascade_vllm "yes": the outer level, ALL when
 * the row has one level; "no": FD; empty: -1, no decision), 3 lab (cascade_lab's name; -1 when
 * empty), 4 oracle (the fastest). */
enum { SKV_CASCADE_DECISIONS = 5 };
void skv_cascade_row_times(const skv_csv_table *t, int64_t r, double times[SKV_CASCADE_CHOICES]);
int skv_cascade_row_choice(const skv_csv_table *t, int64_t r, int p, const double times[SKV_CASCADE_CHOICES]);
const char *skv_cascade_decision_name(int p);

/* Markdown to f: per decision policy (never, always, vllm, lab, oracle) its regret ((chosen -
 * fastest) / fastest) over the rows that have flash decoding and cascade times: rows, median, 90th
 * percentile, largest and where, rows it chose the fastest; the cost model's error (predicted -
 * measured) / measured for flash decoding over the shared pages (predicted_us) and the cascade
 * (cascade_predicted_us): median and largest |error|; then every row: flash decoding over shared and
 * over distinct pages against the cascade, measured and predicted, and each decision. False with err
 * when a column is missing or no row has a cascade time. */
bool skv_cascade_table_write(FILE *f, const skv_csv_table *t, char *err, size_t errlen);

#endif /* SKV_CASCADE_TABLE_H */
