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

#endif /* SKV_PEERS_H */
