/* cmd_bench.c — `skv bench decode`: the decode benchmark grid with bandwidth ceilings (flags; the work is in gpu_bench.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/args.h"
#include "runner/run.h"
#include "cli/batch_flags.h"
#include "gpu/bench.h"
#include "prof/sim_bench.h"
#include "cli/commands.h"
#include "runner/version.h"


/* The grid: (B, L) points of hq 32, hkv 8, d 128, bf16, page 16. */
static const skv_bench_point default_grid[] = {{1, 4096},  {1, 32768}, {1, 131072}, {8, 4096},  {8, 32768},
                                               {32, 4096}, {32, 16384}, {128, 2048}, {128, 8192}};

static void usage(FILE *f, const skv_arg_spec *specs, size_t n) {
  fprintf(f, "usage: skv bench decode [flags]\n"
             "       skv bench sim [flags]    (the planner's speed on the CPU: skv bench sim --help)\n\n"
             "Measure the read-only and copy bandwidth ceilings, then for every (B, L) point and\n"
             "policy: check the kernels against the double reference, time decode + combine (CUPTI\n"
             "kernel durations, or CUDA events with --no-cupti; median), and print time, TB/s of the\n"
             "bytes read (K and V elements and their scales), the fraction of the in-run read ceiling,\n"
             "tokens per second and the combine's share; no peer figures, no targets. Flags the\n"
             "kernels cannot run are refused before any GPU work. Needs a GPU.\n\nflags:\n");
  skv_args_print_help(f, specs, n);
}

static bool parse_points(const char *text, skv_bench_point **out, int *count, char *err, size_t errlen) {
  int n = 1;
  for (const char *p = text; *p; p++) n += *p == ',';
  skv_bench_point *pts = calloc((size_t)n, sizeof *pts);
  if (!pts) return false;
  const char *p = text;
  for (int i = 0; i < n; i++) {
    long long b, l;
    int used = 0;
    if (sscanf(p, "%lldx%lld%n", &b, &l, &used) != 2 || b < 1 || b > 100000 || l < 1 || l > (1ll << 32) ||
        (p[used] != ',' && p[used] != '\0')) {
      snprintf(err, errlen, "--grid: item %d of '%s' is not BxL (e.g. 8x4096)", i + 1, text);
      free(pts);
      return false;
    }
    pts[i].batch = (int32_t)b;
    pts[i].seqlen = l;
    p += used + (p[used] == ',');
  }
  *out = pts;
  *count = n;
  return true;
}

/* A type flag's value: a name dtype.h knows (the rules of sim/support.h then say where it may go). */
static bool parse_type(const char *flag, const char *name, skv_dtype *out, char *err, size_t errlen) {
  if (skv_dtype_parse(name, out)) return true;
  snprintf(err, errlen, "%s: unknown type '%s' (allowed: bf16, fp16, fp8_e4m3, int8)", flag, name);
  return false;
}

/* "a,b,c" of policy names; false with err naming --policies. */
static bool parse_policies(const char *text, skv_policy *pols, int cap, int *n, char *err, size_t errlen) {
  *n = 0;
  for (const char *p = text; *p;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char name[32];
    if (len == 0 || len >= sizeof name || *n == cap) {
      snprintf(err, errlen, "--policies: '%s' is not a list of policies (allowed: %s)", text, skv_policy_names());
      return false;
    }
    memcpy(name, p, len);
    name[len] = '\0';
    if (!skv_policy_parse(name, &pols[*n])) {
      snprintf(err, errlen, "--policies: unknown policy '%s' (allowed: %s)", name, skv_policy_names());
      return false;
    }
    (*n)++;
    p = comma ? comma + 1 : p + len;
  }
  if (*n == 0) snprintf(err, errlen, "--policies: empty list");
  return *n > 0;
}

/* `skv bench sim`: the planner and cost model's speed (sim_bench.h). */
static int bench_sim(int argc, char **argv) {
  const char *batches = "1,8,64,256", *policies = "none,fixed,fa2,fa3,flashinfer,vllm,lab", *gpu_name = NULL;
  const char *gpus_path = NULL;
  int64_t max_seqlen = 131072, seqlen = 0;
  int32_t compositions = 16;
  double seconds = 0.2;
  skv_arg_spec specs[] = {
      {"batches", SKV_ARG_STRING, &batches, "B,..", "batch sizes (default 1,8,64,256)", 0, 0, NULL},
      {"policies", SKV_ARG_STRING, &policies, "P,..", "policies (default all seven)", 0, 0, NULL},
      {"max-seqlen", SKV_ARG_INT64, &max_seqlen, "L", "request lengths uniform in [1, L] (default 131072)", 1,
       (double)SKV_MAX_KVLEN, NULL},
      {"seqlen", SKV_ARG_INT64, &seqlen, "L", "every request L tokens instead (default: random lengths)", 1,
       (double)SKV_MAX_KVLEN, NULL},
      {"compositions", SKV_ARG_INT, &compositions, "N", "distinct batches per size, cycled (default 16)", 1, 100000,
       NULL},
      {"seconds", SKV_ARG_DOUBLE, &seconds, "S", "time per policy and size, at least (default 0.2)", 0, 3600, NULL},
      {"gpu", SKV_ARG_STRING, &gpu_name, "NAME", "GPU model to plan for (default the models file's home)", 0, 0, NULL},
      {"gpus", SKV_ARG_STRING, &gpus_path, "FILE", "GPU models file (default experiments/gpus.yaml)", 0, 0, NULL},
  };
  const size_t n = sizeof specs / sizeof specs[0];
  char err[1024];
  const char *pos[1];
  int npos;
  bool help;
  if (!skv_args_parse(argc, argv, specs, n, pos, 0, &npos, &help, err, sizeof err)) {
    fprintf(stderr, "skv bench sim: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  if (help) {
    printf("usage: skv bench sim [flags]\n\n"
           "Time the planner and the cost model on the CPU: for every policy and batch size, plan and\n"
           "predict batches of random lengths for a while and print plans per second and microseconds\n"
           "per plan. No GPU.\n\nflags:\n");
    skv_args_print_help(stdout, specs, n);
    return SKV_EXIT_OK;
  }
  skv_policy pols[SKV_POLICY_COUNT * 4];
  int np;
  int64_t *bl = NULL;
  int32_t nb = 0;
  if (!parse_policies(policies, pols, (int)(sizeof pols / sizeof pols[0]), &np, err, sizeof err) ||
      !skv_args_int64_list("--batches", batches, 1, 1 << 20, &bl, &nb, err, sizeof err)) {
    fprintf(stderr, "skv bench sim: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  int32_t *bs = malloc(sizeof *bs * (size_t)nb);
  if (!bs) {
    free(bl);
    fprintf(stderr, "skv bench sim: out of memory\n");
    return SKV_EXIT_FAIL;
  }
  for (int32_t i = 0; i < nb; i++) bs[i] = (int32_t)bl[i];
  free(bl);
  skv_batch_flags bf;
  skv_batch_flags_default(&bf);
  bf.gpu = gpu_name, bf.gpus = gpus_path;
  skv_gpus gpus;
  skv_gpu gpu;
  if (!skv_batch_flags_gpu(&bf, &gpus, &gpu, err, sizeof err)) {
    fprintf(stderr, "skv bench sim: %s\n", err);
    free(bs);
    return SKV_EXIT_USAGE;
  }
  skv_gpus_free(&gpus);
  const skv_sim_bench_opts o = {.batches = bs, .nbatches = nb, .policies = pols, .npolicies = np,
                                .max_seqlen = max_seqlen, .seqlen = seqlen, .compositions = compositions, .seconds = seconds, .gpu = &gpu};
  const int rc = skv_sim_bench_run(&o, stdout);
  free(bs);
  return rc == 0 ? SKV_EXIT_OK : SKV_EXIT_FAIL;
}

int skv_cmd_bench(int argc, char **argv) {
  if (argc > 0 && strcmp(argv[0], "sim") == 0) return bench_sim(argc - 1, argv + 1);
  const char *grid = NULL, *policies = "fa2,fa3,flashinfer,vllm,fixed,none,lab", *dtype = "bf16", *csv = NULL;
  const char *kv_dtype = NULL, *v_dtype = NULL, *scales = "per_tensor";
  int32_t hq = 32, hkv = 8, d = 128, ps = 16, repeat = 50, warmup = 5, taper = SKV_LAB_TAPER_DEFAULT;
  int64_t ceiling_mib = 2048;
  bool no_cupti = false, graph = false, pdl = false, persistent = false;
  const char *combine = "both";
  const char *timeline = NULL, *gpus_path = NULL;
  skv_arg_spec specs[] = {
      {"grid", SKV_ARG_STRING, &grid, "BxL,..", "points (default the 9-point grid 1x4096 .. 128x8192)", 0, 0, NULL},
      {"policies", SKV_ARG_STRING, &policies, "P,..", "policies to run (default all seven: fa2,fa3,flashinfer,vllm,fixed,none,lab)", 0, 0, NULL},
      {"hq", SKV_ARG_INT, &hq, "H", "query heads (default 32)", 1, 4096, NULL},
      {"hkv", SKV_ARG_INT, &hkv, "K", "KV heads (default 8)", 1, 4096, NULL},
      {"head-dim", SKV_ARG_INT, &d, "D", "64, 128 or 256 (default 128)", 1, 4096, NULL},
      {"page-size", SKV_ARG_INT, &ps, "P", "tokens per page (default 16)", 1, 256, NULL},
      {"dtype", SKV_ARG_STRING, &dtype, "T", "q (and by default KV) type: bf16, fp16, fp8_e4m3 (default bf16)", 0,
       0, NULL},
      {"kv-dtype", SKV_ARG_STRING, &kv_dtype, "T", "KV cache type: bf16, fp16, fp8_e4m3, int8 (default --dtype)", 0,
       0, NULL},
      {"v-dtype", SKV_ARG_STRING, &v_dtype, "T", "int8 K only: keep V in bf16/fp16 (default int8)", 0, 0, NULL},
      {"scales", SKV_ARG_STRING, &scales, "MODE", "fp8 KV: per_tensor or per_token_head (default per_tensor)", 0,
       0, NULL},
      {"repeat", SKV_ARG_INT, &repeat, "N", "timed runs per point, >= 20 (default 50)", 20, 100000, NULL},
      {"warmup", SKV_ARG_INT, &warmup, "N", "untimed runs first (default 5)", 1, 100000, NULL},
      {"ceiling-mib", SKV_ARG_INT64, &ceiling_mib, "MiB", "buffer of the bandwidth ceilings (default 2048)", 64,
       65536, NULL},
      {"csv", SKV_ARG_STRING, &csv, "FILE", "also write the rows as CSV", 0, 0, NULL},
      {"combine", SKV_ARG_STRING, &combine, "MODE",
       "split plans: kernel (combine kernel), fused (last CTA merges), both (default)", 0, 0, NULL},
      {"no-cupti", SKV_ARG_FLAG, &no_cupti, NULL, "time with CUDA events (needed beside ncu / compute-sanitizer)", 0, 0,
       NULL},
      {"pdl", SKV_ARG_FLAG, &pdl, NULL,
       "also time each split plan with the combine kernel launched as decode's programmatic dependent (its "
       "launch and prologue overlap decode's tail; compute capability 9.0+)", 0, 0, NULL},
      {"persistent", SKV_ARG_FLAG, &persistent, NULL,
       "run decode on the persistent grid: as many CTAs as fit the GPU, each taking work items from a queue, "
       "the next item's work record and first page ids fetched while the current one streams (decode "
       "tiles of at most 16 rows)", 0, 0, NULL},
      {"graph", SKV_ARG_FLAG, &graph, NULL,
       "also capture each row in a CUDA graph at its policy's bound: replayed bits against eager, a step's time "
       "replayed and eager (CUDA events)", 0, 0, NULL},
      {"gpus", SKV_ARG_STRING, &gpus_path, "FILE",
       "GPU models file: the device's model plans lab (default experiments/gpus.yaml)", 0, 0, NULL},
      {"taper", SKV_ARG_INT, &taper, "D",
       "lab's taper option: 0 = cut only a part-filled last wave's requests, D >= 1 = the tail in chunks of the "
       "work left over D x the slots (default 0; skv plan --help)", 0, SKV_LAB_TAPER_MAX, NULL},
      {"timeline", SKV_ARG_STRING, &timeline, "DIR",
       "CTA timelines: after timing each row, one more run recording when every decode CTA "
       "started, streamed, ended and on which SM (CSV per row in DIR, a summary line)",
       0, 0, NULL},
  };
  const size_t n = sizeof specs / sizeof specs[0];
  char err[512];
  const char *pos[1];
  int npos;
  bool help;
  if (!skv_args_parse(argc, argv, specs, n, pos, 1, &npos, &help, err, sizeof err)) {
    fprintf(stderr, "skv bench: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  if (help) {
    usage(stdout, specs, n);
    return SKV_EXIT_OK;
  }
  if (npos != 1 || strcmp(pos[0], "decode") != 0) {
    fprintf(stderr, "skv bench: expected the benchmark name 'decode' or 'sim' (skv bench decode|sim [flags])\n");
    return SKV_EXIT_USAGE;
  }
  skv_bench_opts o;
  memset(&o, 0, sizeof o);
  skv_bench_point *pts = NULL;
  if (grid) {
    if (!parse_points(grid, &pts, &o.npoints, err, sizeof err)) {
      fprintf(stderr, "skv bench: %s\n", err);
      return SKV_EXIT_USAGE;
    }
    o.points = pts;
  } else {
    o.points = default_grid;
    o.npoints = (int)(sizeof default_grid / sizeof default_grid[0]);
  }
  skv_policy pols[SKV_POLICY_COUNT * 4];
  int np = 0;
  if (!parse_policies(policies, pols, (int)(sizeof pols / sizeof pols[0]), &np, err, sizeof err)) {
    fprintf(stderr, "skv bench: %s\n", err);
    free(pts);
    return SKV_EXIT_USAGE;
  }
  o.v_dtype = SKV_DTYPE_COUNT;
  if (!parse_type("--dtype", dtype, &o.dtype, err, sizeof err) ||
      !parse_type("--kv-dtype", kv_dtype ? kv_dtype : dtype, &o.kv_dtype, err, sizeof err) ||
      (v_dtype && !parse_type("--v-dtype", v_dtype, &o.v_dtype, err, sizeof err))) {
    fprintf(stderr, "skv bench: %s\n", err);
    free(pts);
    return SKV_EXIT_USAGE;
  }
  if (strcmp(scales, "per_tensor") != 0 && strcmp(scales, "per_token_head") != 0) {
    fprintf(stderr, "skv bench: --scales: '%s' is not per_tensor or per_token_head\n", scales);
    free(pts);
    return SKV_EXIT_USAGE;
  }
  o.per_token_head = strcmp(scales, "per_token_head") == 0;
  /* Every point under the kernels' rules (sim/support.h), before the GPU is looked for. */
  static const char *const flags[SKV_FIELD_COUNT] = {
      [SKV_FIELD_HQ] = "--hq",         [SKV_FIELD_HKV] = "--hkv",         [SKV_FIELD_HEAD_DIM] = "--head-dim",
      [SKV_FIELD_PAGE_SIZE] = "--page-size", [SKV_FIELD_SEQLEN] = "--grid", [SKV_FIELD_Q_DTYPE] = "--dtype",
      [SKV_FIELD_KV_DTYPE] = "--kv-dtype", [SKV_FIELD_V_DTYPE] = "--v-dtype", [SKV_FIELD_KV_SCALE_MODE] = "--scales",
  };
  for (int i = 0; i < o.npoints; i++) {
    const skv_shape shape = {.hq = hq, .hkv = hkv, .head_dim = d, .page_size = ps, .qlen = 1,
                             .kvlen_min = o.points[i].seqlen, .kvlen_max = o.points[i].seqlen,
                             .pages = o.points[i].batch * ((o.points[i].seqlen + ps - 1) / ps), .q_dtype = o.dtype,
                             .k_dtype = o.kv_dtype, .v_dtype = o.v_dtype == SKV_DTYPE_COUNT ? o.kv_dtype : o.v_dtype,
                             .o_dtype = skv_output_dtype(o.dtype),
                             .kv_scale_mode = o.per_token_head ? SKV_SCALE_PER_TOKEN_HEAD : SKV_SCALE_PER_TENSOR};
    if (!skv_flags_check_shape(&shape, flags, SKV_SUPPORT_GPU, err, sizeof err)) {
      fprintf(stderr, "skv bench: %s\n", err);
      free(pts);
      return SKV_EXIT_USAGE;
    }
  }
  o.policies = pols;
  if (persistent && graph) {
    fprintf(stderr, "skv bench: --persistent with --graph: the graph captures one CTA per work item; time them in separate runs\n");
    free(pts);
    return SKV_EXIT_USAGE;
  }
  o.taper = taper;
  o.persistent = persistent;
  o.npolicies = np;
  o.hq = hq, o.hkv = hkv, o.head_dim = d, o.page_size = ps;
  o.repeat = repeat, o.warmup = warmup;
  o.ceiling_bytes = ceiling_mib << 20;
  o.csv_path = csv;
  o.version = skv_version;
  o.use_cupti = !no_cupti;
  o.graph = graph;
  o.pdl = pdl;
  if (strcmp(combine, "both") == 0) o.combine_modes = SKV_BENCH_COMBINE_BOTH;
  else if (strcmp(combine, "kernel") == 0) o.combine_modes = SKV_BENCH_COMBINE_KERNEL;
  else if (strcmp(combine, "fused") == 0) o.combine_modes = SKV_BENCH_COMBINE_FUSED;
  else {
    fprintf(stderr, "skv bench: --combine: '%s' is not kernel, fused or both\n", combine);
    free(pts);
    return SKV_EXIT_USAGE;
  }
  struct stat st;
  if (timeline && (stat(timeline, &st) != 0 || !S_ISDIR(st.st_mode) || access(timeline, W_OK) != 0)) {
    fprintf(stderr, "skv bench: --timeline %s: not a writable directory\n", timeline);
    free(pts);
    return SKV_EXIT_USAGE;
  }
  o.timeline_dir = timeline;
  char default_gpus[1024];
  skv_gpus_default_path(default_gpus, sizeof default_gpus);
  skv_gpus gpus;
  if (!skv_gpus_load(gpus_path ? gpus_path : default_gpus, &gpus, err, sizeof err)) {
    fprintf(stderr, "skv bench: --gpus: %s\n", err);
    free(pts);
    return SKV_EXIT_USAGE;
  }
  o.gpus = &gpus;
  int rc = skv_bench_decode_run(&o, stdout);
  skv_gpus_free(&gpus);
  free(pts);
  return rc == 0 ? SKV_EXIT_OK : SKV_EXIT_FAIL;
}
