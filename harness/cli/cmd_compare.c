/* cmd_compare.c — `skv compare RUN_A RUN_B`: two runs row by row (harness/out/compare.h). */
#include <jansson.h>
#include <stdio.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "out/compare.h"
#include "out/csv.h"
#include "runner/run.h"

/* meta.json and results.csv of a run directory; false with err. */
static bool load_run(const char *dir, json_t **meta, skv_csv_table *t, char *err, size_t errlen) {
  char path[1100];
  snprintf(path, sizeof path, "%s/meta.json", dir);
  json_error_t je;
  *meta = json_load_file(path, 0, &je);
  if (!*meta) {
    snprintf(err, errlen, "%.900s:%d: %.100s", path, je.line, je.text);
    return false;
  }
  snprintf(path, sizeof path, "%s/results.csv", dir);
  if (!skv_csv_load(path, t, err, errlen)) {
    json_decref(*meta);
    return false;
  }
  return true;
}

int skv_cmd_compare(int argc, char **argv) {
  bool cross_gpu = false;
  skv_arg_spec specs[] = {
      {"cross-gpu", SKV_ARG_FLAG, &cross_gpu, NULL, "compare runs made on different GPUs (refused otherwise)", 0, 0, NULL},
  };
  const size_t n = sizeof specs / sizeof specs[0];
  char err[1024];
  const char *pos[2];
  int npos;
  bool help;
  if (!skv_args_parse(argc, argv, specs, n, pos, 2, &npos, &help, err, sizeof err)) {
    fprintf(stderr, "skv compare: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  if (help) {
    printf("usage: skv compare RUN_A RUN_B [--cross-gpu]\n\n"
           "Compare two runs row by row: what differs between them (commit, suite hash, GPU, read\n"
           "ceiling), each configuration both hold with its times and B / A, a verdict against the runs'\n"
           "own spread (\"noise\" when the min-max ranges over the repeats overlap), and the geometric\n"
           "mean of B / A per policy, per shape group and over all rows, as Markdown. Runs made on\n"
           "different GPUs are refused unless --cross-gpu.\n\nflags:\n");
    skv_args_print_help(stdout, specs, n);
    return SKV_EXIT_OK;
  }
  if (npos != 2) {
    fprintf(stderr, "skv compare: expected two run directories, RUN_A RUN_B\n");
    return SKV_EXIT_USAGE;
  }
  json_t *ma = NULL, *mb = NULL;
  skv_csv_table ta, tb;
  if (!load_run(pos[0], &ma, &ta, err, sizeof err)) {
    fprintf(stderr, "skv compare: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  if (!load_run(pos[1], &mb, &tb, err, sizeof err)) {
    fprintf(stderr, "skv compare: %s\n", err);
    json_decref(ma);
    skv_csv_free(&ta);
    return SKV_EXIT_USAGE;
  }
  const skv_compare_run a = {pos[0], ma, &ta}, b = {pos[1], mb, &tb};
  int rc = SKV_EXIT_OK;
  char what[400];
  if (skv_compare_gpus_differ(&a, &b, what, sizeof what) && !cross_gpu) {
    fprintf(stderr, "skv compare: the runs were made on different GPUs (%s): pass --cross-gpu to compare them\n", what);
    rc = SKV_EXIT_USAGE;
  } else if (!skv_compare_write(stdout, &a, &b, err, sizeof err)) {
    fprintf(stderr, "skv compare: %s\n", err);
    rc = SKV_EXIT_USAGE;
  }
  json_decref(ma);
  json_decref(mb);
  skv_csv_free(&ta);
  skv_csv_free(&tb);
  return rc;
}
