/* cascade_table.h — a run's cascade rows as decisions: each decision policy's regret against the faster of flash decoding and cascade (issue 16). */
#ifndef SKV_CASCADE_TABLE_H
#define SKV_CASCADE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "out/csv.h"

/* Markdown to f: per decision policy — never (flash decoding over the shared pages: total_us),
 * always (cascade_us), vllm (cascade where cascade_vllm is "yes", rows without it left out), oracle
 * (the faster) — its regret (chosen time / oracle time - 1): rows, median, largest and where; then
 * every row's flash decoding over shared and over distinct pages against cascade. False with err
 * when a column is missing or no row has a cascade time. */
bool skv_cascade_table_write(FILE *f, const skv_csv_table *t, char *err, size_t errlen);

#endif /* SKV_CASCADE_TABLE_H */
