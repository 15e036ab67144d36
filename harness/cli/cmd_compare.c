/* cmd_compare.c — `skv compare RUN_A RUN_B`: two runs row by row (harness/out/compare.h). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "out/compare.h"
#include "out/atomic_file.h"
#include "out/csv.h"
#include "out/peers.h"
#include "out/plots.h"
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
  const char *out_dir = NULL, *peer = NULL;
  skv_arg_spec specs[] = {
      {"cross-gpu", SKV_ARG_FLAG, &cross_gpu, NULL, "compare runs made on different GPUs (refused otherwise)", 0, 0, NULL},
      {"out", SKV_ARG_STRING, &out_dir, "DIR", "also write compare.md and draw compare.png / .svg into DIR (made if missing)",
       0, 0, NULL},
      {"peer", SKV_ARG_STRING, &peer, "NAME",
       "one run: A = the lab's best row per shape group, B = peer NAME's row from RUN/peers.csv", 0, 0, NULL},
  };
  const size_t n = sizeof specs / sizeof specs[0];
  char err[1024] = "";
  const char *pos[2];
  int npos;
  bool help;
  if (!skv_args_parse(argc, argv, specs, n, pos, 2, &npos, &help, err, sizeof err)) {
    fprintf(stderr, "skv compare: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  if (help) {
    printf("usage: skv compare RUN_A RUN_B [--cross-gpu] [--out DIR]\n"
           "       skv compare RUN --peer NAME [--out DIR]\n\n"
           "Compare two runs row by row: what differs between them (commit, suite hash, GPU, read\n"
           "ceiling), each configuration both hold with its times and B / A, a verdict against the runs'\n"
           "own spread (\"noise\" when the min-max ranges over the repeats overlap), and the geometric\n"
           "mean of B / A per policy, per shape group and over all rows, as Markdown. Runs made on\n"
           "different GPUs are refused unless --cross-gpu. With --peer, one run and a peer the peer\n"
           "runner timed beside it (RUN/peers.csv, peers/skv_peers.py): A is the lab's best checked row\n"
           "of each shape group the peer ran (its cascade where that was faster), B the peer's row,\n"
           "both named by the group; B / A under 1: the peer is faster.\n\nflags:\n");
    skv_args_print_help(stdout, specs, n);
    return SKV_EXIT_OK;
  }
  if (peer ? npos != 1 : npos != 2) {
    fprintf(stderr, peer ? "skv compare: --peer takes one run directory, RUN\n"
                         : "skv compare: expected two run directories, RUN_A RUN_B\n");
    return SKV_EXIT_USAGE;
  }
  json_t *ma = NULL, *mb = NULL;
  skv_csv_table ta, tb;
  if (!load_run(pos[0], &ma, &ta, err, sizeof err)) {
    fprintf(stderr, "skv compare: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  char name_a[1100], name_b[1100];
  if (peer) { /* A and B from one run: its lab rows and a peer's (out/peers.h) */
    skv_csv_table all = ta, peers;
    bool present = false;
    bool ok = skv_peers_load(pos[0], &all, &peers, &present, err, sizeof err);
    if (ok && !present) {
      snprintf(err, sizeof err, "%s has no peers.csv (peers/skv_peers.py writes it)", pos[0]);
      ok = false;
    }
    if (ok) {
      ok = skv_peers_pair_tables(&all, &peers, peer, &ta, &tb, err, sizeof err);
      skv_csv_free(&peers);
    }
    skv_csv_free(&all);
    if (!ok) {
      fprintf(stderr, "skv compare: --peer: %s\n", err);
      json_decref(ma);
      return SKV_EXIT_USAGE;
    }
    mb = json_incref(ma);
    snprintf(name_a, sizeof name_a, "%s (the lab's best per shape group)", pos[0]);
    snprintf(name_b, sizeof name_b, "%s (peer %s)", pos[0], peer);
  } else if (!load_run(pos[1], &mb, &tb, err, sizeof err)) {
    fprintf(stderr, "skv compare: %s\n", err);
    json_decref(ma);
    skv_csv_free(&ta);
    return SKV_EXIT_USAGE;
  }
  const skv_compare_run a = {peer ? name_a : pos[0], ma, &ta}, b = {peer ? name_b : pos[1], mb, &tb};
  int rc = SKV_EXIT_OK;
  char what[400];
  if (skv_compare_gpus_differ(&a, &b, what, sizeof what) && !cross_gpu) {
    fprintf(stderr, "skv compare: the runs were made on different GPUs (%s): pass --cross-gpu to compare them\n", what);
    rc = SKV_EXIT_USAGE;
  } else if (!skv_compare_write(stdout, &a, &b, err, sizeof err)) {
    fprintf(stderr, "skv compare: %s\n", err);
    rc = SKV_EXIT_USAGE;
  } else if (out_dir) {
    char path[1100];
    snprintf(path, sizeof path, "%s/compare.md", out_dir);
    skv_atomic_file af;
    bool ok = (mkdir(out_dir, 0755) == 0 || errno == EEXIST) && skv_atomic_open(&af, path, err, sizeof err);
    if (!ok && !err[0]) snprintf(err, sizeof err, "%s: %s", out_dir, strerror(errno));
    if (ok) ok = skv_atomic_commit(&af, skv_compare_write(af.f, &a, &b, err, sizeof err), err, sizeof err);
    if (ok && !skv_gnuplot_available()) {
      snprintf(err, sizeof err, "gnuplot not found (install gnuplot-nox): compare.md written, no plot");
      ok = false;
    }
    if (ok) ok = skv_compare_plot(out_dir, &a, &b, err, sizeof err);
    if (!ok) {
      fprintf(stderr, "skv compare: --out: %s\n", err);
      rc = SKV_EXIT_FAIL;
    } else {
      fprintf(stderr, "skv compare: %s/compare.md, compare.png, compare.svg\n", out_dir);
    }
  }
  json_decref(ma);
  json_decref(mb);
  skv_csv_free(&ta);
  skv_csv_free(&tb);
  return rc;
}
