/* gpu.h — a GPU as the planner and the cost model see it: one description, read from
 * experiments/gpus.yaml (harness/suite/gpus.c) or measured by `skv calibrate`; no GPU's numbers
 * live in C. */
#ifndef SKV_GPU_H
#define SKV_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The decode kernel's variants by their occupancy (kernels/decode_kernel.cuh): the 16-bit caches;
 * 8-bit K and V with the q heads as MMA columns (groups up to 8, kernels/warp_cols.cuh) or as rows
 * (larger groups, kernels/warp_rows.cuh); an int8 K with a 16-bit V (rows). */
typedef enum skv_decode_form {
  SKV_FORM_16BIT = 0,
  SKV_FORM_8BIT_COLS,
  SKV_FORM_8BIT_ROWS,
  SKV_FORM_INT8K_16V,
  SKV_FORM_COUNT
} skv_decode_form;

/* The caches by how the decode kernel streams them, each with its own rates and fixed costs
 * (skv_gpu_stream): 16-bit K and V; fp8 K and V; int8 K and V (per-token scales); int8 K with a
 * 16-bit V. */
typedef enum skv_stream_kind {
  SKV_STREAM_16BIT = 0,
  SKV_STREAM_FP8,
  SKV_STREAM_INT8,
  SKV_STREAM_INT8K_16V,
  SKV_STREAM_COUNT
} skv_stream_kind;

/* The head dims the kernels are built for: 64, 128, 256 (slot 0, 1, 2). */
#define SKV_GPU_HEAD_DIMS 3
/* GQA group classes of the rates: group 1, 2..4, 5..8, 9..16 and more (slot 0..3; each class is
 * measured at its largest group, 16 for the last). */
#define SKV_GPU_GROUPS 4

/* How one kind of cache streams (sim/cost_model.h uses every field), per head dim and group class
 * where the kernel's work per byte differs:
 *   cta_gbps     what one decode CTA streams on its own, GB/s (its loads in flight over the latency,
 *                or its MMAs and softmax when they take longer);
 *   stream_tbps  what all resident CTAs stream together at most, TB/s (at or below the read
 *                ceiling: dequantization, wide groups or one CTA per SM keep them below it);
 *   fixed_us     the CTAs' fixed cost (work item, page table and Q loads, pipeline fill, the
 *                first tile's MMAs, final stores) when few CTAs share an SM;
 *   fixed_sm_us  added per resident CTA per SM at launch: CTAs that start together on one SM fill
 *                their pipelines one after another (one value per cache kind). */
typedef struct skv_gpu_stream {
  double cta_gbps[SKV_GPU_HEAD_DIMS][SKV_GPU_GROUPS];
  double stream_tbps[SKV_GPU_HEAD_DIMS][SKV_GPU_GROUPS];
  double fixed_us[SKV_GPU_HEAD_DIMS][SKV_GPU_GROUPS];
  double fixed_sm_us;
} skv_gpu_stream;

/* The terms of one batch's kernel variant: its stream kind's at its head dim and group class. */
typedef struct skv_gpu_rates {
  double cta_gbps, stream_tbps, fixed_us, fixed_sm_us;
} skv_gpu_rates;

/* The rule that picks the column form, written once for the kernels' dispatch and the model:
 * 8-bit K and V and tiles of at most 8 packed rows (decode: 8 q heads per KV head; an MMA's 8
 * columns). rows: the launch's largest tile (decode: the group). */
static inline bool skv_decode_column_form(int32_t k_bytes, int32_t v_bytes, int32_t rows) {
  return k_bytes == 1 && v_bytes == 1 && rows <= 8;
}

/* The row form's row warps for a launch whose largest tile has `rows` packed rows: 1, 2 or 4 warps
 * of 16 rows (kernels/decode_kernel.cuh; the other warps of the CTA's 4 split each tile's tokens). */
static inline int32_t skv_decode_row_warps(int32_t rows) { return rows <= 16 ? 1 : (rows <= 32 ? 2 : 4); }

typedef struct skv_gpu {
  char name[32];          /* [A-Za-z0-9_.-]{1,31}: gpus.yaml's name, a suite's gpu_model */
  char device[64];        /* identifies the device: a substring of its CUDA name, with sms equal ("" = none) */
  char arch[16];          /* the kernels' build target whose registers and shared memory give
                             ctas_per_sm: "sm_90" or "sm_80" */
  int32_t sms;            /* streaming multiprocessors */
  double read_tbps;        /* the HBM read-stream ceiling, TB/s (1e12 bytes/s): the combine's partials */
  double launch_us;        /* a kernel launch as a kernel time (first CTA start to last CTA end) */
  double combine_item_us;  /* one combine item (a request's chunks for one KV head), per wave of items */
  double combine_chunk_us; /* added per chunk of the largest item, per wave */
  double cta_us;           /* decode: what a CTA launched past the first wave costs its slot beyond its
                              bytes (its prologue and epilogue, which the first wave's overlap and the
                              fixed terms price once); 0 when a model does not give it */
  double l2_tbps;          /* what the CTAs read together, TB/s, of KV bytes another CTA of the launch read
                              shortly before (shared prefix pages, query tiles of one chunk): served from
                              L2, not HBM; 0: not modelled (every byte at the stream ceiling) */
  double mma_tflops;       /* the tiles' QK^T and PV tensor-core work the kernels sustain together,
                              TFLOP/s (a 64-row query tile over a long chunk is bound by it, not by
                              bytes); 0: not modelled */
  double merge_us;         /* cascade's merge kernel (kernels/cascade_merge.cu) beyond its launch: a fixed
                              part, and merge_pair_us per (query token, q head) it merges (latency-
                              bound: one warp per pair, a chain of dependent loads); 0: not modelled */
  double merge_pair_us;
  double prefix_us;        /* cascade's prefix pass beyond what the model prices for its plan: the
                              measured excess of its decode and combine on skv calibrate's cascades
                              (query tiles of up to 64 rows under no mask pay prologues the decode
                              terms do not hold); 0: not modelled */
  double cta_tflops;       /* the same for one CTA of a query tile, TFLOP/s: what its own warps issue,
                              whatever the other CTAs do (0: the GPU's rate alone) */
  double peak_tflops;      /* the GPU's dense 16-bit tensor-core peak, TFLOP/s, from its data sheet: the
                              FLOPs bound printed beside a measurement (never a fitted number); 0: none */
  skv_gpu_stream stream[SKV_STREAM_COUNT];
  /* Resident decode CTAs per SM, by form and head dim (64 / 128 / 256): what the kernels' shared
   * memory and registers allow on arch (make test-occupancy checks every model's table against the
   * compiled kernels; the GPU tests against the occupancy API). */
  int32_t ctas_per_sm[SKV_FORM_COUNT][SKV_GPU_HEAD_DIMS];
  char calibrated[192];   /* provenance of the numbers: "skv calibrate <commit> <date>" or a note ("" = none) */
} skv_gpu;

/* The stream kind of batch b's cache, and its name in gpus.yaml ("16bit", "fp8", "int8", "int8k_16v"). */
skv_stream_kind skv_stream_kind_of(const skv_batch *b);
const char *skv_stream_kind_name(skv_stream_kind k);
/* The group class of a GQA group (0..3, SKV_GPU_GROUPS) and the group each class is measured at. */
int32_t skv_gpu_group_slot(int32_t group);
int32_t skv_gpu_group_of_slot(int32_t slot);
skv_gpu_rates skv_gpu_rates_of(const skv_gpu *g, const skv_batch *b);
/* The same for CTAs of `rows` packed rows (a query tile's; decode's are the group's): the class of
 * the rows in place of the group's. */
skv_gpu_rates skv_gpu_rates_of_rows(const skv_gpu *g, const skv_batch *b, int32_t rows);

/* The form batch b runs in, and its name in gpus.yaml ("16bit", "8bit_cols", "8bit_rows", "int8k_16v"). */
skv_decode_form skv_decode_form_of(const skv_batch *b);
const char *skv_decode_form_name(skv_decode_form f);
/* The table slot of a head dim: d <= 64 -> 0, <= 128 -> 1, else 2 (the kernel instantiated for it). */
int32_t skv_gpu_head_dim_slot(int32_t head_dim);
/* Resident decode CTAs per SM for batch b, and the slots of the GPU (sms times that). */
int32_t skv_gpu_ctas_per_sm(const skv_gpu *g, const skv_batch *b);
int64_t skv_gpu_slots(const skv_gpu *g, const skv_batch *b);
/* Every number in range (sms >= 1, rates > 0, costs >= 0, ctas_per_sm 1..32): false with the field
 * named in err. */
bool skv_gpu_check(const skv_gpu *g, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* SKV_GPU_H */
