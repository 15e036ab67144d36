/* peers.h — a run's peers.csv: other libraries timed on the run's configurations by the optional peer runner
 * (peers/skv_peers.py), rows in results.csv's schema with the peer's name as the policy. */
#ifndef SKV_PEERS_H
#define SKV_PEERS_H

#include <stdbool.h>
#include <stddef.h>

#include "out/csv.h"

/* Load RUN_DIR/peers.csv into *peers when it exists (*present true); no file: *present false, true
 * returned. A peers.csv whose header is not results.csv's (t) is an error naming the first column
 * that differs. */
bool skv_peers_load(const char *run_dir, const skv_csv_table *t, skv_csv_table *peers, bool *present, char *err,
                    size_t errlen);

/* For `skv compare RUN --peer NAME`: two tables with results.csv's header, row i of each the same
 * shape group, named by the group's label (skv_summary_group_label) in the config column: lab gets
 * the best checked lab row of each group the peer ran (skv_summary_lab_time: its cascade where that
 * was faster, then with its time, no min-max and policy_options "cascade"), prow that peer's row.
 * A peer row whose check failed is left out. False with err (no row of that peer, out of memory). */
bool skv_peers_pair_tables(const skv_csv_table *t, const skv_csv_table *peers, const char *peer, skv_csv_table *lab,
                           skv_csv_table *prow, char *err, size_t errlen);

#endif /* SKV_PEERS_H */
