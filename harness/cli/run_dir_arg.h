/* run_dir_arg.h — the commands that take one run folder and no flags (skv summary, report,
 * model-error): their argument handling and their results.csv, said once. */
#ifndef SKV_RUN_DIR_ARG_H
#define SKV_RUN_DIR_ARG_H

#include <stdbool.h>

#include "out/csv.h"

/* Parse `skv CMD RUN_DIR`: true with *dir to go on; false with *exit_code set when --help was
 * printed (help, exit 0) or a usage error said on stderr as "skv CMD: ..." (exit 2). */
bool skv_cli_run_dir(int argc, char **argv, const char *cmd, const char *help, const char **dir, int *exit_code);
/* DIR/results.csv into t; false with "skv CMD: ..." said on stderr. */
bool skv_cli_load_results(const char *cmd, const char *dir, skv_csv_table *t);

#endif /* SKV_RUN_DIR_ARG_H */
