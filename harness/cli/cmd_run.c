/* cmd_run.c — `skv run SUITE.yaml`: flags of the main job (the work is in run.c). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "runner/merge.h"
#include "runner/run.h"
#include "runner/run_dir.h"

static void usage(FILE *f, const skv_arg_spec *specs, size_t n) {
  fprintf(f, "usage: skv run SUITE.yaml [flags]\n\n"
             "Run an experiment suite (experiments/README.md describes the format): for every\n"
             "configuration build the batch (seeded data), plan it, predict it with the cost model,\n"
             "run and check it on the GPU (numerics against the reference, and the checks the suite\n"
             "asks for), time it, and write results/<suite>/<run-id>/results.csv, meta.json and\n"
             "plots/. Without a GPU, or with --sim-only, the simulator runs instead: plans,\n"
             "predictions and CPU reference numerics; meta.json and the mode column say which\n"
             "columns were measured and which predicted. Bad YAML, an impossible configuration, one\n"
             "the GPU kernels refuse (on a GPU; a simulated run flags it), or a --dump/--trace path\n"
             "that cannot be written exits 2 before any GPU work and before the run directory exists.\n"
             "\nflags:\n");
  skv_args_print_help(f, specs, n);
}

/* --devices D,..: the suite in N shards, shard k in a child `skv run --shard k/N` with
 * CUDA_VISIBLE_DEVICES set to the k-th device and its output in OUT/shards/k.log, all at once; when
 * every shard is done, skv merge joins them into OUT and its summary is printed. */
static int run_on_devices(const skv_run_opts *o, const char *list, bool sharded) {
  if (sharded || o->plots_only || o->trace_path || o->dump_dir || !o->out_dir) {
    fprintf(stderr, "skv run: --devices: %s\n",
            !o->out_dir ? "needs --out DIR (the merged run; the shards go to DIR/shards/)"
                        : "not with --shard, --plots-only, --trace or --dump");
    return SKV_EXIT_USAGE;
  }
  enum { MAX_DEVICES = 64 };
  int dev[MAX_DEVICES], n = 0;
  for (const char *p = list; *p;) {
    char *end;
    const long d = strtol(p, &end, 10);
    if (end == p || d < 0 || d > 4095 || (*end != ',' && *end != '\0') || n == MAX_DEVICES) {
      fprintf(stderr, "skv run: --devices: '%s' is not a list of at most %d device numbers (0,1,2,3)\n", list, MAX_DEVICES);
      return SKV_EXIT_USAGE;
    }
    for (int k = 0; k < n; k++)
      if (dev[k] == d) {
        fprintf(stderr, "skv run: --devices: device %ld is listed twice\n", d);
        return SKV_EXIT_USAGE;
      }
    dev[n++] = (int)d;
    p = *end ? end + 1 : end;
  }
  char exe[1024], err[1024];
  const ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len <= 0) {
    fprintf(stderr, "skv run: --devices: cannot find this skv (/proc/self/exe)\n");
    return SKV_EXIT_FAIL;
  }
  exe[len] = '\0';
  char shards_dir[1100];
  snprintf(shards_dir, sizeof shards_dir, "%s/shards", o->out_dir);
  if (!skv_mkdirs(shards_dir, err, sizeof err)) {
    fprintf(stderr, "skv run: --devices: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  pid_t pids[MAX_DEVICES];
  static char dirs[MAX_DEVICES][1200];
  const char *dir_ptrs[MAX_DEVICES];
  for (int k = 0; k < n; k++) {
    snprintf(dirs[k], sizeof dirs[k], "%s/%d", shards_dir, k);
    dir_ptrs[k] = dirs[k];
    char shard[32], devenv[16], logp[1300];
    snprintf(shard, sizeof shard, "%d/%d", k, n);
    snprintf(devenv, sizeof devenv, "%d", dev[k]);
    snprintf(logp, sizeof logp, "%s/%d.log", shards_dir, k);
    const char *argv[20];
    int a = 0;
    argv[a++] = exe, argv[a++] = "run", argv[a++] = o->suite_path, argv[a++] = "--shard", argv[a++] = shard;
    argv[a++] = "--out", argv[a++] = dirs[k];
    if (o->sim_only) argv[a++] = "--sim-only";
    if (o->no_cupti) argv[a++] = "--no-cupti";
    if (o->resume) argv[a++] = "--resume";
    if (o->gpus_path) argv[a++] = "--gpus", argv[a++] = o->gpus_path;
    argv[a] = NULL;
    fflush(stdout);
    fflush(stderr);
    pids[k] = fork();
    if (pids[k] < 0) {
      fprintf(stderr, "skv run: --devices: fork: %s\n", strerror(errno));
      for (int j = 0; j < k; j++) kill(pids[j], SIGTERM), waitpid(pids[j], NULL, 0);
      return SKV_EXIT_FAIL;
    }
    if (pids[k] == 0) {
      const int fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0) _exit(SKV_EXIT_FAIL);
      dup2(fd, 1), dup2(fd, 2), close(fd);
      setenv("CUDA_VISIBLE_DEVICES", devenv, 1);
      execv(exe, (char *const *)argv);
      _exit(127);
    }
    fprintf(stderr, "skv run: shard %d/%d on device %d: %s (log %s)\n", k, n, dev[k], dirs[k], logp);
  }
  int rc = SKV_EXIT_OK;
  for (int k = 0; k < n; k++) {
    int status = 0;
    while (waitpid(pids[k], &status, 0) < 0 && errno == EINTR) {}
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    fprintf(stderr, "skv run: shard %d/%d on device %d: %s (exit %d)\n", k, n, dev[k], code == 0 ? "done" : "FAILED", code);
    if (code != 0 && rc != SKV_EXIT_FAIL) rc = code == SKV_EXIT_USAGE ? SKV_EXIT_USAGE : SKV_EXIT_FAIL;
  }
  if (rc != SKV_EXIT_OK) {
    fprintf(stderr, "skv run: --devices: a shard failed (its log says why); the finished shards are kept: rerun with "
                    "--resume to complete them\n");
    return rc;
  }
  rc = skv_merge_runs(dir_ptrs, n, o->out_dir);
  if (rc == SKV_EXIT_OK) {
    char path[1200];
    snprintf(path, sizeof path, "%s/summary.md", o->out_dir);
    FILE *f = fopen(path, "r");
    if (f) {
      char buf[4096];
      size_t k;
      while ((k = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, k, stdout);
      fclose(f);
    }
  }
  return rc;
}

int skv_cmd_run(int argc, char **argv) {
  skv_run_opts o;
  memset(&o, 0, sizeof o);
  const char *shard = NULL, *devices = NULL;
  skv_arg_spec specs[] = {
      {"out", SKV_ARG_STRING, &o.out_dir, "DIR", "the run directory (default results/<suite>/<run-id>)", 0, 0, NULL},
      {"sim-only", SKV_ARG_FLAG, &o.sim_only, NULL, "do not use the GPU: planner, cost model, CPU reference", 0, 0,
       NULL},
      {"no-cupti", SKV_ARG_FLAG, &o.no_cupti, NULL, "time with CUDA events (beside ncu or compute-sanitizer)", 0, 0,
       NULL},
      {"resume", SKV_ARG_FLAG, &o.resume, NULL,
       "continue an interrupted run (--out DIR, or the newest unfinished run of the suite)", 0, 0, NULL},
      {"trace", SKV_ARG_STRING, &o.trace_path, "FILE", "write a Chrome-trace JSON (kernels, ranges) for Perfetto; GPU runs only", 0,
       0, NULL},
      {"dump", SKV_ARG_STRING, &o.dump_dir, "DIR", "write each configuration's inputs/outputs as .npy + plan.json", 0,
       0, NULL},
      {"gpus", SKV_ARG_STRING, &o.gpus_path, "FILE", "GPU models (default experiments/gpus.yaml)", 0, 0, NULL},
      {"plots-only", SKV_ARG_FLAG, &o.plots_only, NULL, "redraw the plots of the run in --out DIR from its results.csv",
       0, 0, NULL},
      {"shard", SKV_ARG_STRING, &shard, "I/N",
       "run shard I of N: the configurations whose position in the suite is I mod N (skv merge joins the shards)", 0,
       0, NULL},
      {"devices", SKV_ARG_STRING, &devices, "D,..",
       "run the suite in shards, one process per CUDA device listed (CUDA_VISIBLE_DEVICES), then merge them into --out",
       0, 0, NULL},
  };
  const size_t n = sizeof specs / sizeof specs[0];
  char err[512];
  const char *pos[2];
  int npos;
  bool help;
  if (!skv_args_parse(argc, argv, specs, n, pos, 1, &npos, &help, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  if (help) {
    usage(stdout, specs, n);
    return SKV_EXIT_OK;
  }
  if (npos != 1) {
    fprintf(stderr, "skv run: expected one suite file (skv run SUITE.yaml [flags])\n");
    return SKV_EXIT_USAGE;
  }
  if (o.trace_path && o.no_cupti) {
    fprintf(stderr, "skv run: --trace: needs CUPTI's kernel records (drop --no-cupti)\n");
    return SKV_EXIT_USAGE;
  }
  if (shard) {
    int si = -1, sn = 0, used = 0;
    if (sscanf(shard, "%d/%d%n", &si, &sn, &used) != 2 || shard[used] != '\0' || sn < 1 || sn > 100000 || si < 0 ||
        si >= sn) {
      fprintf(stderr, "skv run: --shard: '%s' is not I/N with 0 <= I < N <= 100000\n", shard);
      return SKV_EXIT_USAGE;
    }
    if (o.plots_only) {
      fprintf(stderr, "skv run: --shard: not with --plots-only (redraw a shard's run with --out alone)\n");
      return SKV_EXIT_USAGE;
    }
    o.shard_index = si, o.shard_count = sn;
  }
  o.suite_path = pos[0];
  if (devices) return run_on_devices(&o, devices, shard != NULL);
  /* The command line, for meta.json. */
  char command[2048] = "skv run";
  for (int i = 0; i < argc; i++) {
    strncat(command, " ", sizeof command - strlen(command) - 1);
    strncat(command, argv[i], sizeof command - strlen(command) - 1);
  }
  o.command = command;
  return skv_run_suite(&o);
}
