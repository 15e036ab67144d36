/* compare.h — `skv compare RUN_A RUN_B`: did a change make things faster, where, and by how much
 * (issue 19). Rows are matched by configuration name; each matched row's B / A time ratio gets a
 * verdict against the runs' own spread over their repeats; ratios are summarized as geometric
 * means per policy and per shape group. */
#ifndef SKV_COMPARE_H
#define SKV_COMPARE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "out/csv.h"

/* A run as compare reads it: its meta.json and results.csv, and a name for headings. */
typedef struct skv_compare_run {
  const char *name;
  const json_t *meta;
  const skv_csv_table *t;
} skv_compare_run;

/* The verdict of one row: measured rows whose min–max ranges over the repeats overlap are "noise";
 * otherwise B is "faster" or "slower". Simulated rows (no spread) are "same" when equal. */
const char *skv_compare_verdict(double a, double a_min, double a_max, double b, double b_min, double b_max);

/* Whether the two runs ran on different GPUs (meta.json's gpu name or SM count; for simulated
 * runs, gpu_model's name); what differs in *what. */
bool skv_compare_gpus_differ(const skv_compare_run *a, const skv_compare_run *b, char *what, size_t len);

/* Write the comparison as Markdown: what differs between the runs (commit, suite and its hash,
 * mode, GPU, read ceiling), the rows matched and unmatched, one line per matched row, the geometric
 * mean of B / A with the count of faster / slower / noise rows per policy and per shape group, and
 * over all rows. False with err when the runs are of different modes or a needed column is missing. */
bool skv_compare_write(FILE *f, const skv_compare_run *a, const skv_compare_run *b, char *err, size_t errlen);

/* Draw the comparison into DIR/compare.png and .svg (gnuplot; the script is DIR/compare.gp): B / A
 * of every matched row on a log axis by configuration, coloured by verdict, with a line at 1 and,
 * for measured runs, one at the read ceilings' A / B. False with err. */
bool skv_compare_plot(const char *dir, const skv_compare_run *a, const skv_compare_run *b, char *err, size_t errlen);

#endif /* SKV_COMPARE_H */
