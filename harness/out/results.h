/* results.h — one run's results.csv: the column list, row formatting, one appended row per configuration, resume. */
#ifndef SKV_RESULTS_H
#define SKV_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "out/name_index.h"

/* A tri-state check result: not run, failed, passed. */
typedef enum skv_check { SKV_CHECK_NA = -1, SKV_CHECK_NO = 0, SKV_CHECK_YES = 1 } skv_check;

/* Everything one configuration contributes to results.csv. Strings are the
 * row's own copies; doubles that were not measured are NAN (written empty). */
typedef struct skv_run_row {
  char config[160], suite[65], run_id[64], mode[12]; /* mode: "measured" (GPU) or "sim" (no GPU / --sim-only) */
  int64_t batch;
  char seqlen[96];
  int64_t kvlen_min, kvlen_max;
  double kvlen_mean;
  int64_t qlen, hq, hkv, head_dim, page_size;
  char q_dtype[12], kv_dtype[12], v_dtype[12], kv_scale_mode[16];
  double q_scale, k_scale, v_scale;
  char drop_scale[8], policy[16], policy_options[160], lse_layout[16], host_path[24], gpu_model[32];
  char device_model[32];        /* measured: the model of the GPU the row ran on ("" simulated) */
  int64_t sms;
  int64_t num_splits_min, num_splits_max;
  double num_splits_mean;
  int64_t ctas, grid_ctas;
  double waves;
  int64_t scratch_bytes, kv_bytes, scale_bytes; /* kv_bytes: K and V elements; scale_bytes: their scales */
  double predicted_decode_us, predicted_combine_us, predicted_us;
  char combine[8], timer[8];      /* combine: kernel / fused / - ; timer: cupti / events / - */
  double decode_us, combine_us, total_us, total_min_us, total_max_us;
  int64_t repeats;                /* timed runs behind the medians (-1: not measured) */
  double total_q1_us, total_q3_us;  /* the totals' 25th and 75th percentiles */
  skv_check spread;               /* the interquartile range over SKV_SPREAD_LIMIT of the median */
  double tbps, read_ceiling_tbps, frac_of_read_ceiling;
  char reference[16];             /* cpu-double / gpu-fp32 / plan-cpu (sim) / none */
  double o_rel_err, o_max_abs, lse_max_abs, quant_o_rel_err;
  int64_t unwritten;
  skv_check bitwise_repeat, batch_invariant, batch_invariant_predicted, lse_correct, lse_correct_predicted;
  /* Invariance pairs (checks: invariance_pairs; invariance.h): pairs of the probe (request 0) in the
   * configuration's batch and in a variant batch; how many the simulator predicts bitwise equal, how
   * many the GPU found equal, and on how many the two disagree (-1: not run). */
  int64_t inv_pairs, inv_same_predicted, inv_same_measured, inv_disagree;
  int64_t inv_graph_pairs, inv_graph_same; /* with the suite's graph key: the same pairs replayed through
                                              a graph (those whose plan fits its capture), and how many
                                              kept the bits; inv_disagree counts both kinds */
  /* CUDA graph (suite key graph; sim/graph_bound.h, gpu/gpu_graph.h): the bound captured (decode grid,
   * scratch state rows), whether the row's plan fits it (predicted), a step's time replayed and
   * launched eagerly (measured, CUDA events over back-to-back steps), and whether the replay gave the
   * eager launch's bits. */
  int64_t graph_ctas, graph_partials;
  skv_check graph_fits, graph_bits;
  double graph_us, eager_us;
  /* Cascade attention (suite key cascade, a configuration with shared prefixes; sim/cascade.h,
   * sim/cascade_cost.h): vLLM's use_cascade_attention over the prefix every request shares
   * (predicted; yes cascades that level alone), the cascade's kernel time with every level
   * cascaded and its error against the reference (measured; the largest over every cascade run of
   * the row), and whether it was faster than the row's flash decoding over the same shared pages
   * (measured). */
  skv_check cascade_vllm, cascade_faster;
  double cascade_us, cascade_o_rel_err;
  double fd_distinct_us; /* measured: the row's plan over a copy of the batch with no page shared */
  /* predicted: the cascade (every level), flash decoding over distinct pages, the cascade's bounds
   * (its HBM bytes at the read ceiling, its FLOPs at the data-sheet peak) and the lab's choice
   * (skv_cascade_choice_name: fd, cascade, outer, merged) */
  double cascade_predicted_us, fd_distinct_predicted_us, cascade_bytes_bound_us, cascade_flops_bound_us;
  char cascade_lab[8];
  /* measured, two-level sharing only: the outer level alone cascaded, each deepest group's whole
   * prefix cascaded as one level */
  double cascade_outer_us, cascade_merged_us;
  /* measured: the fastest choice, and each decision's regret against it ((chosen - best) / best;
   * never = flash decoding, always = every level cascaded) */
  char cascade_oracle[8];
  double regret_never, regret_always, regret_vllm, regret_lab;
  /* the cascade (every level) in parts: the prefix pass, the suffix pass (each decode and combine)
   * and the merge, measured (CUPTI only) and the passes predicted */
  double cascade_prefix_us, cascade_suffix_us, cascade_merge_us;
  double cascade_prefix_predicted_us, cascade_suffix_predicted_us;
  int32_t cascade_lab_choice, cascade_vllm_choice; /* not columns: the choices as skv_cascade_choice (-1: none) */
  skv_check gpu_supported;        /* the GPU kernels take the configuration (sim/support.h) */
  char checks[8];                 /* the row's verdict: "pass", "fail" (skv_row_failed) or "none" (no check ran) */
} skv_run_row;

/* A timed row whose totals' interquartile range exceeds this fraction of their median is flagged
 * (`spread` "yes"): its median is not good to a few percent, and a comparison should say so. */
#define SKV_SPREAD_LIMIT 0.05
static inline skv_check skv_spread_flag(double q1, double q3, double median) {
  return median > 0 && (q3 - q1) / median > SKV_SPREAD_LIMIT ? SKV_CHECK_YES : SKV_CHECK_NO;
}

/* The CSV columns, in order (README.md documents the same list). */
extern const char *const skv_results_columns[];
extern const int skv_results_ncolumns;
/* Columns measured on the GPU (empty in sim mode) and columns the simulator predicts. */
extern const char *const skv_results_measured[];
extern const char *const skv_results_predicted[];

/* An open results.csv: the configurations it holds, and where rows go. */
typedef struct skv_results {
  char path[1024];
  int fd;          /* open for appending (-1: closed) */
  char **configs;  /* config name of each row, in file order */
  char **run_ids;  /* run_id of each row */
  int64_t nrows, cap;
  skv_name_index index; /* configs[i] -> the first row i that holds it */
} skv_results;

/* Open dir/results.csv. Without resume the file must not exist: it is created with the header
 * alone (nothing is overwritten). With resume an existing file is read back (RFC 4180): its
 * header must be this skv's column list, and a last line without its newline (a row an
 * interrupted run was writing) is cut off and reported in note (empty when nothing was cut). */
bool skv_results_open(skv_results *r, const char *dir, bool resume, char *note, size_t notelen, char *err,
                      size_t errlen);
/* Whether a configuration already has a row (constant time). */
bool skv_results_has(const skv_results *r, const char *config);
/* The first row holding a configuration, or -1. */
int64_t skv_results_find(const skv_results *r, const char *config);
/* Append a row: one write of the whole line, flushed to the disk before returning, so a
 * configuration is in the file exactly when it is done. */
bool skv_results_append(skv_results *r, const skv_run_row *row, char *err, size_t errlen);
void skv_results_close(skv_results *r);

/* A blank row (every double NAN, checks NA, strings empty). */
void skv_run_row_init(skv_run_row *row);

/* The row as one CSV line with its newline (malloc'd; NULL when out of memory). */
char *skv_results_format_row(const skv_run_row *row);

#endif /* SKV_RESULTS_H */
