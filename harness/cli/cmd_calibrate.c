/* cmd_calibrate.c — `skv calibrate`: the cost model's numbers for this GPU (flags and output; the work is in gpu/calibrate.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "gpu/calibrate.h"
#include "gpu/gpu_info.h"
#include "out/atomic_file.h"
#include "runner/run.h"
#include "runner/version.h"
#include "suite/gpus.h"

static void usage(FILE *f, const skv_arg_spec *specs, size_t n) {
  fprintf(f, "usage: skv calibrate [flags]\n\n"
             "Measure on this GPU what the cost model needs (the read-stream ceiling, each kernel form's\n"
             "resident CTAs per SM, the launch and combine costs, and per cache kind one CTA's streaming\n"
             "rate, the stream ceiling and the fixed costs), fit the model, print every measured point\n"
             "beside the fitted model's prediction (the residuals; check points the fit never saw are\n"
             "marked), then the experiments/gpus.yaml entry, with the commit and date (--update puts it\n"
             "into a models file). Needs a GPU.\n\nflags:\n");
  skv_args_print_help(f, specs, n);
}

int skv_cmd_calibrate(int argc, char **argv) {
  const char *name = NULL, *out_path = NULL, *update_path = NULL;
  int32_t repeat = 20, warmup = 3;
  int64_t ceiling_mib = 2048;
  bool no_cupti = false, no_checks = false;
  skv_arg_spec specs[] = {
      {"name", SKV_ARG_STRING, &name, "NAME", "the model's name (default from the device: NVIDIA H200 -> h200)", 0, 0, NULL},
      {"out", SKV_ARG_STRING, &out_path, "FILE", "also write the entry to FILE (a models-file list item)", 0, 0, NULL},
      {"update", SKV_ARG_STRING, &update_path, "FILE",
       "put the entry into the models file FILE (replacing the entry of its name, else appended)", 0, 0, NULL},
      {"repeat", SKV_ARG_INT, &repeat, "N", "timed runs per measurement, >= 20 (default 20)", 20, 100000, NULL},
      {"warmup", SKV_ARG_INT, &warmup, "N", "untimed runs first (default 3)", 1, 100000, NULL},
      {"ceiling-mib", SKV_ARG_INT64, &ceiling_mib, "MiB", "buffer of the read-stream ceiling (default 2048)", 64, 65536,
       NULL},
      {"no-checks", SKV_ARG_FLAG, &no_checks, NULL, "skip the check points (residuals of the fitted points only)", 0, 0,
       NULL},
      {"no-cupti", SKV_ARG_FLAG, &no_cupti, NULL, "time with CUDA events (needed beside ncu / compute-sanitizer)", 0, 0,
       NULL},
  };
  const size_t n = sizeof specs / sizeof specs[0];
  char err[1024];
  const char *pos[1];
  int npos;
  bool help;
  if (!skv_args_parse(argc, argv, specs, n, pos, 1, &npos, &help, err, sizeof err)) {
    fprintf(stderr, "skv calibrate: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  if (help) {
    usage(stdout, specs, n);
    return SKV_EXIT_OK;
  }
  if (npos != 0) {
    fprintf(stderr, "skv calibrate: unexpected argument '%s' (it takes flags only)\n", pos[0]);
    return SKV_EXIT_USAGE;
  }
  if (name && !skv_gpu_model_name_ok(name)) {
    fprintf(stderr, "skv calibrate: --name: '%s' is not a GPU model name ([A-Za-z0-9_.-], 1..31 characters)\n", name);
    return SKV_EXIT_USAGE;
  }
  if (update_path) { /* the file must load now: a bad one is refused before any GPU work */
    skv_gpus probe;
    if (!skv_gpus_load(update_path, &probe, err, sizeof err)) {
      fprintf(stderr, "skv calibrate: --update: %s\n", err);
      return SKV_EXIT_USAGE;
    }
    skv_gpus_free(&probe);
  }
  skv_atomic_file af;
  if (out_path && !skv_atomic_open(&af, out_path, err, sizeof err)) {
    fprintf(stderr, "skv calibrate: --out: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  skv_calibrate_opts o;
  skv_calibrate_opts_default(&o);
  if (name) snprintf(o.name, sizeof o.name, "%s", name);
  o.repeat = repeat, o.warmup = warmup, o.ceiling_bytes = ceiling_mib << 20;
  o.use_cupti = !no_cupti, o.checks = !no_checks, o.version = skv_version;
  if (!skv_gpu_present()) {
    fprintf(stderr, "skv calibrate: no CUDA device on this host\n");
    if (out_path) skv_atomic_commit(&af, false, err, sizeof err);
    return SKV_EXIT_FAIL;
  }
  skv_calibration *cal = malloc(sizeof *cal);
  bool ok = cal != NULL;
  if (!ok) snprintf(err, sizeof err, "out of memory");
  printf("# skv calibrate — skv %s, %s\n", skv_version, o.use_cupti ? "CUPTI kernel times" : "CUDA events");
  fflush(stdout);
  o.start_cupti = true;
  ok = ok && skv_calibrate(&o, cal, stdout, err, sizeof err);
  if (!ok) {
    fprintf(stderr, "skv calibrate: %s\n", err);
    if (out_path) skv_atomic_commit(&af, false, err, sizeof err);
    free(cal);
    return SKV_EXIT_FAIL;
  }
  printf("# residuals of the fitted model (%s, %s)\n", cal->gpu.name, cal->device_name);
  printf("%-48s %5s %12s %12s %8s\n", "point", "fit", "measured_us", "predicted_us", "error");
  double fit_max = 0, check_max = 0;
  for (int32_t i = 0; i < cal->npoints; i++) {
    const skv_calibration_point *p = &cal->points[i];
    const double e = (p->predicted_us - p->measured_us) / p->measured_us;
    printf("%-48s %5s %12.2f %12.2f %+7.1f%%\n", p->what, p->fitted ? "yes" : "check", p->measured_us, p->predicted_us,
           100 * e);
    if (p->fitted) fit_max = fmax(fit_max, fabs(e));
    else check_max = fmax(check_max, fabs(e));
  }
  printf("# largest |error|: %.1f%% over the fitted points, %.1f%% over the check points\n", 100 * fit_max,
         100 * check_max);
  printf("# the experiments/gpus.yaml entry:\n");
  ok = skv_gpus_write_entry(stdout, &cal->gpu);
  if (out_path) {
    ok = skv_gpus_write_entry(af.f, &cal->gpu) && ok;
    if (!skv_atomic_commit(&af, ok, err, sizeof err)) {
      fprintf(stderr, "skv calibrate: --out: %s\n", err);
      ok = false;
    }
  }
  if (ok && update_path) {
    /* the data-sheet peak is not measured: the replaced entry's is kept */
    skv_gpus prev;
    if (skv_gpus_load(update_path, &prev, err, sizeof err)) {
      const skv_gpu *was = skv_gpus_find(&prev, cal->gpu.name);
      if (was && cal->gpu.peak_tflops == 0) cal->gpu.peak_tflops = was->peak_tflops;
      skv_gpus_free(&prev);
    }
    bool replaced = false;
    if (!skv_gpus_update(update_path, &cal->gpu, &replaced, err, sizeof err)) {
      fprintf(stderr, "skv calibrate: --update: %s\n", err);
      ok = false;
    } else {
      printf("# %s model '%s' in %s\n", replaced ? "replaced the" : "added the", cal->gpu.name, update_path);
    }
  }
  free(cal);
  return ok ? SKV_EXIT_OK : SKV_EXIT_FAIL;
}
