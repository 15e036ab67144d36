/* summary.h — a run's results as Markdown tables a kernel engineer reads at a glance (issue 19):
 * one table per shape group (the configuration's columns other than the policy), each policy's
 * time, its ratio to the group's best, the fraction of the in-run read ceiling, the model's error
 * and the row's check verdict. What `skv run` prints at the end and `skv summary RUN_DIR` prints. */
#ifndef SKV_SUMMARY_H
#define SKV_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "out/csv.h"

/* The columns that tell one shape group from another: every configuration column of results.csv
 * but the policy and its options (and the row's names and ids), NULL-terminated. */
extern const char *const skv_summary_group_columns[];

/* Which of skv_summary_group_columns vary across t's rows (varies[i] for column i; t must hold
 * them all). */
void skv_summary_varying(const skv_csv_table *t, bool *varies);
/* The label of row r's shape group: "B=.. L=.." and every other group column that varies (the
 * lengths' min, max and mean only when L is a distribution). */
void skv_summary_group_label(const skv_csv_table *t, int64_t r, const bool *varies, char *buf, size_t len);
/* Row r's group key: its group columns' values joined (malloc'd; NULL when out of memory). */
char *skv_summary_group_key(const skv_csv_table *t, int64_t r);

/* Write the summary of table t (results.csv) to f. Measured rows are ranked by total_us and show
 * frac_of_read_ceiling and (predicted_us - total_us) / total_us; a simulated run's rows by
 * predicted_us. The heading of a group names its batch and seqlen and every other group column
 * whose value differs across the run. A closing line counts the rows by verdict (the `checks`
 * column; "n/a" for a results.csv from before it existed). False with err when a column the summary
 * needs is missing or out of memory. */
bool skv_summary_write(FILE *f, const skv_csv_table *t, char *err, size_t errlen);
/* The same as HTML elements (h2, h3, p, table with th/td, the best row's class "best"), text
 * escaped: report.html's summary. */
bool skv_summary_write_html(FILE *f, const skv_csv_table *t, char *err, size_t errlen);

/* A point: a shape group and, for cascade configurations, the sharing of its name (sp<n>, gs<n>,
 * gp<n>: no column holds it). The key (malloc'd; NULL when out of memory) and the label (the group's,
 * then those tokens). The peers' table, plot and `skv compare --peer` pair rows by point. */
char *skv_summary_point_key(const skv_csv_table *t, int64_t r);
void skv_summary_point_label(const skv_csv_table *t, int64_t r, const bool *varies, char *buf, size_t len);
/* A measured row's time as the lab's best way to run it: total_us, or cascade_us where the row ran
 * a cascade (shared prefixes) and it was faster (*cascade set). NAN when neither was measured. */
double skv_summary_lab_time(const skv_csv_table *t, int64_t r, bool *cascade);
/* The lab's best checked row of the point whose key (skv_summary_point_key) is key: the least
 * skv_summary_lab_time among its rows whose check did not fail, with that time and whether it is the
 * cascade's; -1 when the point has none, -2 when out of memory. */
int64_t skv_summary_lab_best(const skv_csv_table *t, const char *key, double *us, bool *cascade);
/* The peers' section (peers.csv, out/peers.h): per shape group a peer timed, the lab's best checked
 * row of t beside each peer's time and lab ÷ peer; as Markdown or as HTML elements. */
bool skv_summary_write_peers(FILE *f, const skv_csv_table *t, const skv_csv_table *peers, char *err, size_t errlen);
bool skv_summary_write_peers_html(FILE *f, const skv_csv_table *t, const skv_csv_table *peers, char *err,
                                  size_t errlen);

#endif /* SKV_SUMMARY_H */
