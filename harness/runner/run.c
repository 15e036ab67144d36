/* run.c — `skv run`: validate a suite, then plan, predict, execute (GPU or simulator), check and record each configuration. */
#include "runner/run.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runner/version.h"
#include "exec/exec.h"
#include "gpu/calibrate.h"
#include "gpu/gpu_session.h"
#include "out/atomic_file.h"
#include "out/csv.h"
#include "out/plots.h"
#include "out/report.h"
#include "out/peers.h"
#include "out/summary.h"
#include "out/results.h"
#include "reference.h"
#include "runner/meta.h"
#include "runner/progress.h"
#include "runner/row.h"
#include "runner/run_dir.h"
#include "suite/gpus.h"
#include "support.h"


/* ---- small helpers ---------------------------------------------------------------------------- */

/* A path the run will write, checked before the run directory exists: a file (--trace: written
 * as PATH.tmp and renamed, so its directory must exist and take new files) or a directory
 * (--dump: made with its parents, so it, or the nearest existing directory above it, must take new
 * entries). */
static bool check_output_path(const char *flag, const char *path, bool is_dir, char *err, size_t errlen) {
  if (path[0] == '\0') {
    snprintf(err, errlen, "--%s: an empty path", flag);
    return false;
  }
  struct stat st;
  const bool here = stat(path, &st) == 0;
  if ((here && !S_ISDIR(st.st_mode) != !is_dir) || (!here && errno != ENOENT)) {
    snprintf(err, errlen, "--%s: %s: %s", flag, path,
             here ? (is_dir ? "is not a directory" : "is a directory") : strerror(errno));
    return false;
  }
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", path);
  for (bool found = here && is_dir; !found;) {
    char *slash = strrchr(dir, '/');
    while (slash && slash > dir && slash[1] == '\0') { /* "a/b/": the parent of b */
      *slash = '\0';
      slash = strrchr(dir, '/');
    }
    if (!slash) snprintf(dir, sizeof dir, ".");
    else slash[slash == dir] = '\0'; /* "/x": the root */
    found = stat(dir, &st) == 0;
    if ((found && !S_ISDIR(st.st_mode)) ||
        (!found && (errno != ENOENT || !is_dir || !slash || strcmp(dir, "/") == 0))) {
      snprintf(err, errlen, "--%s: %s: %s: %s", flag, path, dir, found ? "is not a directory" : strerror(errno));
      return false;
    }
  }
  /* access() cannot tell (root passes it on a read-only or a virtual file system): make an entry
   * there and remove it. */
  char probe[1100];
  snprintf(probe, sizeof probe, "%s/.skv-write-probe-%ld", dir, (long)getpid());
  if (mkdir(probe, 0700) != 0 || rmdir(probe) != 0) {
    snprintf(err, errlen, "--%s: %s: cannot write in %s: %s", flag, path, dir, strerror(errno));
    return false;
  }
  return true;
}

static bool file_exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}


/* ---- the run ------------------------------------------------------------------------------------ */

static const char *default_gpus_path(const char *suite_path, char *buf, size_t len) {
  const char *slash = strrchr(suite_path, '/');
  if (slash) snprintf(buf, len, "%.*s/gpus.yaml", (int)(slash - suite_path), suite_path);
  else snprintf(buf, len, "gpus.yaml");
  if (file_exists(buf)) return buf;
  snprintf(buf, len, "experiments/gpus.yaml");
  return buf;
}

/* SIGINT / SIGTERM: the first one stops the run after the configuration in progress (its row is
 * written whole, meta.json says where it stopped, --resume continues it); a second one ends the
 * process at once. */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig) {
  interrupted = sig;
  signal(sig, SIG_DFL);
}

static void catch_interrupts(bool on) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on ? on_interrupt : SIG_DFL;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  interrupted = 0;
}

/* What is checked before the GPU is touched, beyond the suite itself: the paths the run writes
 * besides its directory (and --trace needs kernels to trace: a simulated run has none, and would
 * write nothing without a word); then the GPU kernels' rules (sim/support.h; the suite has refused
 * what nothing runs), naming every configuration only the simulator takes: an error for a GPU
 * run, a warning in a simulated one (its gpu_supported column says no). False after an error. */
static bool check_before_gpu(const skv_run_opts *o, const skv_suite *suite, bool simulated) {
  char err[2048];
  bool ok = (!o->trace_path || check_output_path("trace", o->trace_path, false, err, sizeof err)) &&
            (!o->dump_dir || check_output_path("dump", o->dump_dir, true, err, sizeof err));
  if (ok && o->trace_path && simulated) {
    snprintf(err, sizeof err, "--trace: %s, so there is nothing to trace (the trace holds GPU kernels)",
             o->sim_only ? "--sim-only runs no kernels" : "this host has no GPU");
    ok = false;
  }
  if (!ok) {
    fprintf(stderr, "skv run: %s\n", err);
    return false;
  }
  for (int32_t i = 0; i < suite->nconfigs; i++) {
    const skv_config *c = &suite->configs[i];
    if (skv_config_validate(c, err, sizeof err) == SKV_SUPPORT_GPU) continue;
    fprintf(stderr, "skv run: %s:%d:%d: %sconfiguration '%s': %s%s\n", suite->path, suite->sweep_line,
            suite->sweep_col, simulated ? "warning: " : "", c->name, err,
            simulated ? " (simulated only; its gpu_supported column says no)" : "");
    ok = ok && simulated;
  }
  return ok;
}

/* The run's summary (out/summary.h) into DIR/summary.md, and to stdout when print is set; then
 * DIR/report.html (out/report.h). */
static bool write_summary(const char *dir, bool print, char *err, size_t errlen) {
  char path[1100];
  snprintf(path, sizeof path, "%s/results.csv", dir);
  skv_csv_table t;
  if (!skv_csv_load(path, &t, err, errlen)) return false;
  snprintf(path, sizeof path, "%s/summary.md", dir);
  skv_atomic_file a;
  bool ok = skv_atomic_open(&a, path, err, errlen);
  skv_csv_table peers;
  bool have_peers = false;
  if (ok) ok = skv_peers_load(dir, &t, &peers, &have_peers, err, errlen);
  if (ok)
    ok = skv_atomic_commit(&a,
                           skv_summary_write(a.f, &t, err, errlen) &&
                               (!have_peers || skv_summary_write_peers(a.f, &t, &peers, err, errlen)) && !ferror(a.f),
                           err, errlen);
  if (ok && print) {
    ok = skv_summary_write(stdout, &t, err, errlen) && (!have_peers || skv_summary_write_peers(stdout, &t, &peers, err, errlen));
    fflush(stdout);
  }
  if (have_peers) skv_csv_free(&peers);
  skv_csv_free(&t);
  int nplots;
  return ok && skv_report_write(dir, &nplots, err, errlen);
}

/* --plots-only: draw the suite's plots from an existing run's results.csv (for a run made where
 * gnuplot was missing); the run must be this suite file's, and meta.json's plots note is updated. */
static int replot(const skv_suite *suite, const skv_run_opts *o, const skv_gpus *gpus) {
  char err[2048];
  if (!o->out_dir) {
    fprintf(stderr, "skv run: --plots-only: give the run directory with --out\n");
    return SKV_EXIT_USAGE;
  }
  skv_run_dir d;
  bool busy;
  char path[1100];
  snprintf(path, sizeof path, "%s/meta.json", o->out_dir);
  if (!file_exists(path)) {
    fprintf(stderr, "skv run: --plots-only: %s: no such run (no meta.json)\n", o->out_dir);
    return SKV_EXIT_USAGE;
  }
  if (!skv_run_dir_open(&d, o->out_dir, &busy, err, sizeof err) || !skv_run_dir_read_meta(&d, err, sizeof err)) {
    fprintf(stderr, "skv run: --plots-only: %s\n", err);
    skv_run_dir_close(&d);
    return SKV_EXIT_USAGE;
  }
  char hash[32];
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)suite->file_hash);
  if (strcmp(skv_meta_string(d.meta, "suite_hash_fnv1a64"), hash) != 0) {
    fprintf(stderr, "skv run: --plots-only: %s holds a run of %s (hash %s), not of %s (hash %s)\n", o->out_dir,
            skv_meta_string(d.meta, "suite_file"), skv_meta_string(d.meta, "suite_hash_fnv1a64"), suite->path, hash);
    skv_run_dir_close(&d);
    return SKV_EXIT_USAGE;
  }
  const bool measured = strcmp(skv_meta_string(d.meta, "mode"), "measured") == 0;
  /* the read ceiling of the model the run predicted with (meta.json), else the home model's */
  const json_t *jm = json_object_get(json_object_get(d.meta, "gpu_model"), "read_tbps");
  const double read_tbps = json_is_number(jm) ? json_number_value(jm) : gpus->home->read_tbps;
  int rc = SKV_EXIT_OK;
  if (!skv_gnuplot_available()) {
    fprintf(stderr, "skv run: --plots-only: gnuplot not found (install gnuplot-nox)\n");
    rc = SKV_EXIT_FAIL;
  } else if (!skv_plots_make(o->out_dir, (const char(*)[32])suite->plots, suite->nplots, measured, read_tbps, err,
                             sizeof err)) {
    fprintf(stderr, "skv run: plots: %s\n", err);
    rc = SKV_EXIT_FAIL;
  } else {
    json_object_set_new(d.meta, "plots", json_string("drawn in plots/ (PNG and SVG) by skv run --plots-only"));
    if (!write_summary(o->out_dir, false, err, sizeof err) || !skv_run_dir_write_meta(&d, err, sizeof err)) {
      fprintf(stderr, "skv run: %s\n", err);
      rc = SKV_EXIT_FAIL;
    } else {
      fprintf(stderr, "skv run: plots drawn in %s/plots/\n", o->out_dir);
    }
  }
  skv_run_dir_close(&d);
  return rc;
}

/* The rows already in a resumed results.csv belong to this run: each one a configuration of the
 * suite, with the run's id. */
/* rows_belong's checks, the suite's names indexed. */
static bool rows_belong_to(const skv_results *res, const skv_suite *s, const skv_name_index *names, const char *run_id,
                           char *err, size_t errlen) {
  for (int64_t i = 0; i < res->nrows; i++) {
    if (skv_name_index_find(names, res->configs[i]) < 0) {
      snprintf(err, errlen, "--resume: %s row %lld: configuration '%s' is not in %s", res->path, (long long)i + 1,
               res->configs[i], s->path);
      return false;
    }
    if (strcmp(res->run_ids[i], run_id) != 0) {
      snprintf(err, errlen, "--resume: %s row %lld: run id '%s', the run's is '%s'", res->path, (long long)i + 1,
               res->run_ids[i], run_id);
      return false;
    }
    const int64_t j = skv_results_find(res, res->configs[i]); /* the first row holding it */
    if (j != i) {
      snprintf(err, errlen, "--resume: %s rows %lld and %lld are both configuration '%s'", res->path, (long long)j + 1,
               (long long)i + 1, res->configs[i]);
      return false;
    }
  }
  return true;
}
static bool rows_belong(const skv_results *res, const skv_suite *s, const char *run_id, char *err, size_t errlen) {
  skv_name_index names;
  memset(&names, 0, sizeof names);
  for (int32_t c = 0; c < s->nconfigs; c++)
    if (!skv_name_index_add(&names, s->configs[c].name, c)) {
      skv_name_index_free(&names);
      snprintf(err, errlen, "--resume: out of memory");
      return false;
    }
  const bool ok = rows_belong_to(res, s, &names, run_id, err, errlen);
  skv_name_index_free(&names);
  return ok;
}

/* Everything one `skv run` holds while it runs. */
typedef struct run_ctx {
  const skv_run_opts *o;
  skv_suite suite;
  skv_gpus gpus;
  const skv_gpu *run_model; /* the device's model (measured), else gpus.yaml's home */
  const char *model_source; /* how run_model was chosen, for meta.json */
  int32_t suite_configurations; /* the whole suite's, before --shard kept its part */
  skv_gpu spot;             /* a model calibrated on the spot for a GPU gpus.yaml does not know */
  bool measured;
  skv_gpu_session gpu;
  char mode_text[256];
  char run_id[96];
  skv_run_dir dir;
  skv_results res;
  skv_trace trace;
  int failed_checks;
} run_ctx;

/* The GPU model configuration c plans and predicts with: its gpu_model, else the run's model; its
 * sms, when set, override the model's. */
static void config_gpu(const run_ctx *r, const skv_config *c, skv_gpu *g) {
  const skv_gpu *m = c->gpu_model[0] ? skv_gpus_find(&r->gpus, c->gpu_model) : r->run_model;
  *g = *(m ? m : r->run_model); /* skv_suite_check_models found every name */
  if (c->sms > 0) g->sms = c->sms;
}

/* On a GPU, a configuration's gpu_model other than the device's is a cross-GPU prediction: the
 * suite must say it wants one (cross_gpu: true); the CSV's gpu_model and device_model columns
 * then differ. */
static bool check_device_model(const run_ctx *r, const skv_config *c, char *err, size_t errlen) {
  if (!r->measured || !c->gpu_model[0] || strcmp(c->gpu_model, r->run_model->name) == 0 || r->suite.cross_gpu)
    return true;
  snprintf(err, errlen,
           "gpu_model '%s' is not this GPU's (%s, model '%s'): drop gpu_model to predict for this GPU, or set "
           "cross_gpu: true in the suite to predict for another",
           c->gpu_model, r->gpu.info.name, r->run_model->name);
  return false;
}

/* On a GPU: the model of the device (gpus.yaml's entry whose `device` and SMs match it), else one
 * calibrated on the spot (gpu/calibrate.h, without check points), said so in meta.json. */
static int device_model(run_ctx *r) {
  char err[1024];
  r->run_model = skv_gpus_match(&r->gpus, r->gpu.info.name, r->gpu.info.sm_count);
  if (r->run_model) {
    r->model_source = "gpus.yaml's entry for this device";
    return SKV_EXIT_OK;
  }
  fprintf(stderr, "skv run: %s (%d SMs) has no entry in %s: calibrating a model on the spot (skv calibrate)\n",
          r->gpu.info.name, r->gpu.info.sm_count, r->gpus.path);
  skv_calibrate_opts co;
  skv_calibrate_opts_default(&co);
  co.use_cupti = r->gpu.use_cupti;
  co.checks = false;
  co.version = skv_version;
  skv_calibration *cal = malloc(sizeof *cal);
  if (!cal || !skv_calibrate(&co, cal, NULL, err, sizeof err)) {
    fprintf(stderr, "skv run: calibrating this GPU failed: %s\n", cal ? err : "out of memory");
    free(cal);
    return SKV_EXIT_FAIL;
  }
  r->spot = cal->gpu;
  free(cal);
  r->run_model = &r->spot;
  r->model_source = "calibrated on the spot: this GPU has no entry in gpus.yaml";
  return SKV_EXIT_OK;
}

/* Every configuration before any GPU work: batch, plan, kernel support, memory. */
static int validate(run_ctx *r) {
  char err[2048];
  int rc = SKV_EXIT_OK;
  /* Validate every configuration before any GPU work: batch, plan, kernel support, memory. */
  for (int32_t i = 0; i < r->suite.nconfigs && rc == SKV_EXIT_OK; i++) {
    const skv_config *c = &r->suite.configs[i];
    skv_gpu g;
    config_gpu(r, c, &g);
    skv_batch b;
    skv_plan p;
    if (!check_device_model(r, c, err, sizeof err)) {
      fprintf(stderr, "skv run: %s:%d:%d: configuration '%s': %s\n", r->suite.path, c->line, c->col, c->name, err);
      rc = SKV_EXIT_USAGE;
      break;
    }
    bool ok = skv_config_make_batch(c, &b, err, sizeof err);
    if (ok) {
      ok = skv_plan_build(&b, c->policy, &c->opts, &g, &p, err, sizeof err);
      if (ok && r->measured) {
        const int64_t need = skv_gpu_job_bytes(&b, &p, r->gpu.info.l2_bytes);
        if (need > r->gpu.free_bytes) {
          snprintf(err, sizeof err, "needs %.2f GiB of GPU memory, %.2f GiB are free", (double)need / (1 << 30),
                   (double)r->gpu.free_bytes / (1 << 30));
          ok = false;
        }
      }
      if (ok) skv_plan_free(&p);
      skv_batch_free(&b);
    }
    if (!ok) {
      fprintf(stderr, "skv run: %s:%d:%d: configuration '%s': %s\n", r->suite.path, c->line, c->col, c->name, err);
      rc = SKV_EXIT_USAGE;
    }
  }

  return rc;
}

/* The models the suite names with gpu_model, each once, as meta.json records them. */
static json_t *named_models(const run_ctx *r) {
  json_t *a = json_array();
  for (int32_t i = 0; i < r->suite.nconfigs; i++) {
    const skv_config *c = &r->suite.configs[i];
    bool seen = !c->gpu_model[0];
    for (int32_t j = 0; j < i && !seen; j++) seen = strcmp(r->suite.configs[j].gpu_model, c->gpu_model) == 0;
    if (!seen) json_array_append_new(a, skv_meta_gpu_model(skv_gpus_find(&r->gpus, c->gpu_model), NULL));
  }
  return a;
}

/* A resume predicts with the models the run began with: a model calibrated on the spot is the run's
 * own (taken from meta.json); the gpus.yaml entries it used must be unchanged. */
static bool same_models(run_ctx *r, const char *dir, char *err, size_t errlen) {
  const json_t *was = json_object_get(r->dir.meta, "gpu_model");
  json_t *before = json_deep_copy(was), *now = skv_meta_gpu_model(r->run_model, NULL);
  if (before) json_object_del(before, "source");
  bool same = json_equal(before, now);
  json_decref(before);
  json_decref(now);
  if (!same && r->run_model == &r->spot && skv_meta_gpu_model_read(was, &r->spot)) same = true;
  if (!same) {
    snprintf(err, errlen, "--resume: the GPU model '%s' in %.500s changed since %.500s began (rows predicted by two models "
             "would mix)", r->run_model->name, r->gpus.path, dir);
    return false;
  }
  json_t *named = named_models(r);
  same = json_equal(named, json_object_get(r->dir.meta, "gpu_models_named"));
  json_decref(named);
  if (!same)
    snprintf(err, errlen, "--resume: a GPU model the suite names changed in %.500s since %.500s began (rows predicted "
             "by two models would mix)", r->gpus.path, dir);
  return same;
}

/* The run directory, locked; meta.json made (a new run) or read and checked (a resume);
 * results.csv opened. Exit code 2 for every refusal: nothing was run yet. */
static int open_run(run_ctx *r) {
  const skv_run_opts *o = r->o;
  char err[2048], dir[1024], started[32], stamp[32];
  skv_utc_now(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ");
  skv_utc_now(stamp, sizeof stamp, "%Y%m%d-%H%M%S");
  snprintf(r->run_id, sizeof r->run_id, "%s-%s%s", stamp, skv_version, r->measured ? "" : "-sim");
  if (o->shard_count > 0) {
    const size_t k = strlen(r->run_id);
    snprintf(r->run_id + k, sizeof r->run_id - k, "-shard%dof%d", o->shard_index, o->shard_count);
  }
  char hash[32], base[600];
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)r->suite.file_hash);
  snprintf(base, sizeof base, "results/%s", r->suite.name);
  if (o->out_dir) {
    snprintf(dir, sizeof dir, "%s", o->out_dir);
  } else if (o->resume) {
    if (!skv_run_dir_find_unfinished(base, hash, dir, sizeof dir, err, sizeof err)) {
      fprintf(stderr, "skv run: %s\n", err);
      return SKV_EXIT_USAGE;
    }
  } else {
    snprintf(dir, sizeof dir, "%s/%s", base, r->run_id);
  }
  bool busy;
  if (!skv_run_dir_open(&r->dir, dir, &busy, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  char meta_path[1100];
  snprintf(meta_path, sizeof meta_path, "%s/meta.json", dir);
  const bool resuming = o->resume && file_exists(meta_path);
  if (resuming) {
    if (!skv_run_dir_read_meta(&r->dir, err, sizeof err) ||
        !skv_meta_same_run(r->dir.meta, &r->suite, r->measured ? &r->gpu : NULL, dir, err, sizeof err)) {
      fprintf(stderr, "skv run: %s\n", err);
      return SKV_EXIT_USAGE;
    }
    if (!same_models(r, dir, err, sizeof err)) {
      fprintf(stderr, "skv run: %s\n", err);
      return SKV_EXIT_USAGE;
    }
    const json_t *sh = json_object_get(r->dir.meta, "shard");
    const int64_t was_i = json_is_object(sh) ? json_integer_value(json_object_get(sh, "index")) : 0,
                  was_n = json_is_object(sh) ? json_integer_value(json_object_get(sh, "count")) : 0;
    if (was_i != o->shard_index || was_n != o->shard_count) {
      fprintf(stderr, "skv run: --resume: %s holds %s%lld/%lld, not %s%d/%d: resume it with the same --shard\n", dir,
              was_n ? "shard " : "the whole suite", (long long)was_i, (long long)was_n, o->shard_count ? "shard " : "the whole suite",
              o->shard_index, o->shard_count);
      return SKV_EXIT_USAGE;
    }
    snprintf(r->run_id, sizeof r->run_id, "%s", skv_meta_string(r->dir.meta, "run_id"));
    json_t *entry = json_object(), *resumes = json_object_get(r->dir.meta, "resumes");
    if (!json_is_array(resumes)) json_object_set_new(r->dir.meta, "resumes", resumes = json_array());
    json_object_set_new(entry, "start_utc", json_string(started));
    json_object_set_new(entry, "command", json_string(o->command ? o->command : ""));
    json_object_set_new(entry, "configurations_done_before", json_integer(skv_meta_int(r->dir.meta, "configurations_done")));
    json_t *stop = json_object_get(r->dir.meta, "interrupted");
    if (stop) {
      json_object_set(entry, "after_interruption", stop);
      json_object_del(r->dir.meta, "interrupted");
    }
    if (r->measured) {
      json_object_set_new(entry, "read_ceiling_tbps", json_real(r->gpu.read_tbps));
      json_object_set_new(entry, "copy_ceiling_tbps", json_real(r->gpu.copy_tbps));
    }
    json_array_append_new(resumes, entry);
  } else {
    char csv[1100];
    snprintf(csv, sizeof csv, "%s/results.csv", dir);
    if (file_exists(meta_path) || file_exists(csv)) {
      fprintf(stderr, "skv run: %s holds a run: --resume to continue it, or another --out\n", dir);
      return SKV_EXIT_USAGE;
    }
    r->dir.meta = skv_meta_new(o, &r->suite, r->run_id, r->mode_text, r->measured ? &r->gpu : NULL, r->run_model,
                              r->model_source, started);
    json_object_set_new(r->dir.meta, "gpu_models_named", named_models(r));
    if (o->shard_count > 0)
      json_object_set_new(r->dir.meta, "shard",
                          json_pack("{s:i,s:i,s:i}", "index", o->shard_index, "count", o->shard_count,
                                    "suite_configurations", r->suite_configurations));
  }
  char note[256];
  if (!skv_results_open(&r->res, dir, resuming, note, sizeof note, err, sizeof err) ||
      !rows_belong(&r->res, &r->suite, r->run_id, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  if (note[0]) fprintf(stderr, "skv run: %s: %s\n", r->res.path, note);
  if (resuming && json_is_true(json_object_get(r->dir.meta, "complete"))) {
    fprintf(stderr, "skv run: %s is complete: nothing to resume\n", dir);
    return -1;
  }
  skv_meta_progress(r->dir.meta, r->res.nrows, false, NULL);
  if (!skv_run_dir_write_meta(&r->dir, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    return SKV_EXIT_FAIL;
  }
  fprintf(stderr, "skv run: results in %s/%s\n", dir, r->res.nrows ? " (resuming)" : "");
  return SKV_EXIT_OK;
}

/* One configuration: plan, predict, execute (GPU or simulator), check; its row in *row. */
static bool run_config(run_ctx *r, int32_t i, skv_run_row *row, bool *bad, char *err, size_t errlen) {
  const skv_run_opts *o = r->o;
  const skv_config *c = &r->suite.configs[i];
  const bool measured = r->measured;
  skv_gpu g;
  config_gpu(r, c, &g);
  skv_batch b;
  skv_plan p;
  skv_workload w;
  memset(&w, 0, sizeof w);
  memset(&p, 0, sizeof p);
  if (!skv_config_make_batch(c, &b, err, errlen)) return false;
  bool ok = skv_plan_build(&b, c->policy, &c->opts, &g, &p, err, errlen);
  const double budget = measured ? SKV_CPU_REF_BUDGET_GPU : SKV_CPU_REF_BUDGET_SIM;
  const bool cpu_ref = r->suite.check_reference && skv_ref_work(&b) <= budget;
  if (ok) {
    skv_workload_opts wo;
    skv_workload_opts_default(&wo);
    wo.seed = c->seed;
    wo.q_dtype = c->q_dtype;
    wo.quant = c->quant;
    wo.materialize = !measured && (cpu_ref || o->dump_dir);
    /* a simulated run that checks nothing against a reference and dumps nothing reads no data:
     * its cost is the plan and the prediction, whatever the batch's size */
    wo.shape_only = !measured && !r->suite.check_reference && !o->dump_dir;
    /* shared prefixes: the same pages in every member's page table (prefix caching) */
    skv_share share;
    memset(&share, 0, sizeof share);
    ok = skv_config_share(c, &share, err, errlen);
    if (ok && share.levels > 0) wo.share = &share;
    ok = ok && skv_workload_make(&b, &wo, &w, err, errlen);
    skv_share_free(&share);
    wo.share = NULL;
  }
  char cdir[1200] = "";
  if (ok && o->dump_dir) {
    snprintf(cdir, sizeof cdir, "%s/%s", o->dump_dir, c->name);
    ok = skv_mkdirs(cdir, err, errlen);
  }
  /* The configuration's own columns, then the cost model, then the GPU or the CPU executor. */
  skv_exec_job job = {.suite = &r->suite, .cfg = c, .w = &w, .plan = &p, .model = &g, .cpu_reference = cpu_ref,
                      .ext_id = ((uint64_t)(i + 1)) << 24, .trace = o->trace_path ? &r->trace : NULL,
                      .dump_dir = o->dump_dir ? cdir : NULL};
  if (ok) {
    skv_row_identity(row, &r->suite, r->run_id, measured, c, &b);
    snprintf(row->gpu_model, sizeof row->gpu_model, "%s", g.name);
    if (measured) snprintf(row->device_model, sizeof row->device_model, "%s", r->run_model->name);
    const skv_executor model = skv_exec_model();
    ok = model.run(model.self, &job, row, err, errlen);
  }
  if (ok) {
    const skv_executor e = measured ? skv_exec_gpu(&r->gpu) : skv_exec_cpu();
    const uint64_t t0 = measured ? skv_trace_clock_ns() : 0;
    if (measured) skv_nvtx_push(c->name);
    ok = e.run(e.self, &job, row, err, errlen);
    if (measured) skv_nvtx_pop();
    if (measured && o->trace_path && ok) ok = skv_trace_add(&r->trace, "config", c->name, t0, skv_trace_clock_ns(), 0);
  }
  if (ok) {
    skv_row_verdict(row, &r->suite, measured, c);
    *bad = strcmp(row->checks, "fail") == 0;
  }
  skv_workload_free(&w);
  skv_plan_free(&p);
  skv_batch_free(&b);
  return ok;
}

/* After the loop: the trace, the plots, the summary, meta.json's last word, the verdict. */
static int finish_run(run_ctx *r, int rc) {
  char err[2048], note[300] = "";
  const char *dir = r->dir.path;
  const bool stopped = interrupted != 0;
  if (rc == SKV_EXIT_OK && !stopped && r->o->trace_path && r->measured &&
      !skv_trace_write(&r->trace, r->o->trace_path, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    rc = SKV_EXIT_FAIL;
  }
  bool complete = false;
  if (r->measured && !stopped && rc == SKV_EXIT_OK) {
    /* the ceilings again: a drift of the clocks or the temperature over the run shows in meta.json */
    double rd, cp;
    if (!skv_gpu_session_remeasure(&r->gpu, &rd, &cp, err, sizeof err)) {
      fprintf(stderr, "skv run: ceilings at the end: %s\n", err);
      rc = SKV_EXIT_FAIL;
    } else {
      json_t *g = json_object_get(r->dir.meta, "gpu");
      json_object_set_new(g, "read_ceiling_tbps_end", json_real(rd));
      json_object_set_new(g, "copy_ceiling_tbps_end", json_real(cp));
      fprintf(stderr, "skv run: read ceiling %.3f TB/s at the start, %.3f at the end (%+.1f%%)\n", r->gpu.read_tbps, rd,
              100 * (rd - r->gpu.read_tbps) / r->gpu.read_tbps);
    }
  }
  if (rc == SKV_EXIT_OK && !stopped) {
    skv_gpu model0;
    config_gpu(r, &r->suite.configs[0], &model0);
    if (!skv_gnuplot_available()) {
      snprintf(note, sizeof note, "skipped: gnuplot not found (install gnuplot-nox)");
      fprintf(stderr, "skv run: plots skipped: gnuplot not found (install gnuplot-nox; make run does)\n");
    } else if (!skv_plots_make(dir, (const char(*)[32])r->suite.plots, r->suite.nplots, r->measured,
                               model0.read_tbps, err, sizeof err)) {
      fprintf(stderr, "skv run: plots: %s\n", err);
      snprintf(note, sizeof note, "failed: %.200s", err);
      rc = SKV_EXIT_FAIL;
    } else {
      snprintf(note, sizeof note, "drawn in plots/ (PNG and SVG)");
    }
    complete = rc == SKV_EXIT_OK;
  }
  if (stopped) {
    char what[128];
    snprintf(what, sizeof what, "signal %d after %lld of %d configurations", (int)interrupted,
             (long long)r->res.nrows, r->suite.nconfigs);
    json_object_set_new(r->dir.meta, "interrupted", json_string(what));
    fprintf(stderr, "skv run: interrupted (%s); continue with: skv run %s --resume --out %s\n", what, r->suite.path,
            dir);
    rc = 128 + (int)interrupted;
  }
  if (!stopped && (rc == SKV_EXIT_OK || r->failed_checks > 0) && !write_summary(dir, true, err, sizeof err)) {
    fprintf(stderr, "skv run: summary: %s\n", err);
    if (rc == SKV_EXIT_OK) rc = SKV_EXIT_FAIL;
  }
  skv_meta_progress(r->dir.meta, r->res.nrows, complete, note[0] ? note : NULL);
  if (!skv_run_dir_write_meta(&r->dir, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    if (rc == SKV_EXIT_OK) rc = SKV_EXIT_FAIL;
  }
  if (rc == SKV_EXIT_OK && r->failed_checks > 0) {
    fprintf(stderr, "skv run: %d configuration(s) failed a check (see results.csv)\n", r->failed_checks);
    rc = SKV_EXIT_FAIL;
  }
  if (rc == SKV_EXIT_OK) fprintf(stderr, "skv run: done: %s/results.csv, meta.json, summary.md, report.html, plots/\n", dir);
  return rc;
}

/* Seconds on the monotonic clock. */
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int run_loop(run_ctx *r) {
  char err[2048];
  int rc = SKV_EXIT_OK;
  /* A testing hook: raise SIGINT after this many configurations of this process (the real signal
   * path, at a chosen point); SKV_TEST_INTERRUPT_SIGNALS=2 raises it twice there, as a user
   * pressing Ctrl-C twice. */
  const char *stop_env = getenv("SKV_TEST_INTERRUPT_AFTER");
  const long stop_after = stop_env ? strtol(stop_env, NULL, 10) : -1;
  const char *signals_env = getenv("SKV_TEST_INTERRUPT_SIGNALS");
  const long stop_signals = signals_env ? strtol(signals_env, NULL, 10) : 1;
  long ran = 0;
  skv_progress prog;
  skv_progress_init(&prog, stderr, r->suite.nconfigs, r->res.nrows);
  double last_meta = now_s();
  for (int32_t i = 0; i < r->suite.nconfigs && rc == SKV_EXIT_OK && !interrupted; i++) {
    const skv_config *c = &r->suite.configs[i];
    if (skv_results_has(&r->res, c->name)) continue;
    skv_progress_begin(&prog, c->name);
    skv_run_row row;
    bool bad = false;
    bool ok = run_config(r, i, &row, &bad, err, sizeof err) && skv_results_append(&r->res, &row, err, sizeof err);
    if (ok) {
      r->failed_checks += bad;
      char result[600];
      if (r->measured)
        snprintf(result, sizeof result, "%s: %.2f us (predicted %.2f), %.3f of the read ceiling, err %.2e%s", c->name,
                 row.total_us, row.predicted_us, row.frac_of_read_ceiling, row.o_rel_err, bad ? "  CHECK FAILED" : "");
      else
        snprintf(result, sizeof result, "%s: predicted %.2f us, %lld CTAs, splits %lld..%lld%s%s", c->name,
                 row.predicted_us, (long long)row.ctas, (long long)row.num_splits_min, (long long)row.num_splits_max,
                 isnan(row.o_rel_err) ? "" : "; plan vs unsplit reference ok", bad ? "  CHECK FAILED" : "");
      skv_progress_end(&prog, result);
      /* meta.json's progress, at most once a second (and always at the end). */
      if (now_s() - last_meta >= 1.0) {
        skv_meta_progress(r->dir.meta, r->res.nrows, false, NULL);
        ok = skv_run_dir_write_meta(&r->dir, err, sizeof err);
        last_meta = now_s();
      }
      if (++ran == stop_after)
        for (long k = 0; k < stop_signals; k++) raise(SIGINT);
    }
    if (!ok) {
      skv_progress_finish(&prog);
      fprintf(stderr, "skv run: configuration '%s': %s\n", c->name, err);
      rc = SKV_EXIT_FAIL;
    }
    if (interrupted && i + 1 < r->suite.nconfigs) {
      skv_progress_finish(&prog);
      fprintf(stderr, "skv run: interrupt: stopping after '%s' (its row is written)\n", c->name);
    }
  }
  skv_progress_finish(&prog);
  return rc;
}

static void run_free(run_ctx *r) {
  skv_trace_free(&r->trace);
  skv_results_close(&r->res);
  skv_run_dir_close(&r->dir);
  if (r->measured) skv_gpu_session_end(&r->gpu);
  skv_gpus_free(&r->gpus);
  skv_suite_free(&r->suite);
}

int skv_run_suite(const skv_run_opts *o) {
  char err[2048];
  run_ctx *r = calloc(1, sizeof *r);
  if (!r) {
    fprintf(stderr, "skv run: out of memory\n");
    return SKV_EXIT_FAIL;
  }
  r->o = o;
  r->dir.lock_fd = -1;
  r->res.fd = -1;
  if (!skv_suite_load(o->suite_path, &r->suite, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    free(r);
    return SKV_EXIT_USAGE;
  }
  r->suite_configurations = r->suite.nconfigs;
  if (o->shard_count > 0) {
    skv_suite_shard(&r->suite, o->shard_index, o->shard_count);
    if (r->suite.nconfigs == 0) {
      fprintf(stderr, "skv run: --shard %d/%d: no configuration of the suite's %d is in it\n", o->shard_index,
              o->shard_count, r->suite_configurations);
      skv_suite_free(&r->suite);
      free(r);
      return SKV_EXIT_USAGE;
    }
  }
  char gpus_buf[1024];
  const char *gpus_path = o->gpus_path ? o->gpus_path : default_gpus_path(o->suite_path, gpus_buf, sizeof gpus_buf);
  int rc = SKV_EXIT_OK;
  if (!skv_gpus_load(gpus_path, &r->gpus, err, sizeof err) ||
      !skv_suite_check_models(&r->suite, &r->gpus, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    rc = SKV_EXIT_USAGE;
  } else if (o->plots_only) {
    rc = replot(&r->suite, o, &r->gpus);
  } else if (!check_before_gpu(o, &r->suite, o->sim_only || !skv_gpu_present())) {
    rc = SKV_EXIT_USAGE;
  } else if (o->sim_only) {
    snprintf(r->mode_text, sizeof r->mode_text, "--sim-only: planner, cost model and CPU reference; nothing measured");
  } else if (!skv_gpu_present()) {
    snprintf(r->mode_text, sizeof r->mode_text,
             "no GPU on this host: SIMULATOR ONLY (planner, cost model, CPU reference); nothing measured");
  } else if (!skv_gpu_session_begin(!o->no_cupti, &r->gpu, err, sizeof err)) {
    fprintf(stderr, "skv run: GPU setup failed: %s\n", err);
    rc = SKV_EXIT_FAIL;
  } else {
    r->measured = true;
    rc = device_model(r);
    snprintf(r->mode_text, sizeof r->mode_text, "GPU %.100s (%d SMs), kernel times by %s, model %s (%s)",
             r->gpu.info.name, r->gpu.info.sm_count, r->gpu.use_cupti ? "CUPTI" : "CUDA events",
             r->run_model ? r->run_model->name : "-", r->model_source);
  }
  if (rc == SKV_EXIT_OK && !r->measured) {
    r->run_model = r->gpus.home;
    r->model_source = "gpus.yaml's home model (simulated run)";
  }
  if (rc == SKV_EXIT_OK && !o->plots_only) {
    fprintf(stderr, "skv run: suite %s (%d configurations): %s\n", r->suite.name, r->suite.nconfigs, r->mode_text);
    rc = validate(r);
    if (rc == SKV_EXIT_OK) rc = open_run(r);
    if (rc == SKV_EXIT_OK) {
      catch_interrupts(true);
      rc = run_loop(r);
      rc = finish_run(r, rc);
      catch_interrupts(false);
    } else if (rc < 0) {
      rc = SKV_EXIT_OK; /* a resume of a complete run: nothing to do */
    }
  }
  run_free(r);
  free(r);
  return rc;
}
