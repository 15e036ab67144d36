/* skv_kernels.h — the CUDA kernels of SplitKV Lab as a plain C interface (no C++ here).
 *
 * The kernels execute a plan from sim/ (plan.h): decode runs one CTA per work
 * item (a chunk of one request for one KV head, all q heads of the group
 * packed), combine merges each split request's partial states in ascending
 * chunk order. Every launch function checks its arguments first and reports an
 * unsupported combination without launching; CUDA errors come back as
 * "file:line: call: message" in err. Pointers named d_* are device memory. */
#ifndef SKV_KERNELS_H
#define SKV_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datagen.h"
#include "dtype.h"
#include "layout.h"
#include "plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* cudaStream_t without the CUDA headers (the same type). */
typedef struct CUstream_st *skv_stream;

/* One attention batch on the device: any query length per request (decode: 1), causal or not. */
typedef struct skv_decode_problem {
  int32_t num_requests, num_q_heads, num_kv_heads, head_dim, page_size;
  int64_t total_q;             /* query tokens of all requests (decode: num_requests) */
  skv_mask mask;               /* batch.h; the work items carry each tile's key bound, the fp32
                                  reference applies it itself */
  const int64_t *d_cu_seqlens_q; /* [num_requests + 1] request r's queries are tokens cu[r] .. cu[r+1] */
  skv_dtype q_dtype;           /* bf16, fp16 (fp8_e4m3: quantized variants) */
  skv_dtype k_dtype, v_dtype;  /* pools' storage types */
  const void *d_q;             /* [total_q, hq, head_dim] */
  const void *d_k, *d_v;       /* [num_pages, page_size, hkv, head_dim] */
  const int32_t *d_page_table; /* request r's pages at d_page_table[page_indptr[r] ..] */
  const int64_t *d_page_indptr;/* [num_requests + 1] */
  float softmax_scale;
  /* quantization (quant.h): per-tensor scales and per-token / per-channel arrays */
  float q_scale, k_scale, v_scale;
  bool per_token_head;
  const float *d_k_token_scale, *d_v_token_scale; /* [num_pages * page_size * hkv] */
  const float *d_v_channel_scale;                 /* [hkv * head_dim] */
  /* outputs */
  void *d_o;                   /* [total_q, hq, head_dim] in o_dtype */
  skv_dtype o_dtype;           /* bf16 or fp16 */
  float *d_lse;                /* natural-log LSE, element (query token, kv head, g) at lse_layout's offset */
  skv_layout lse_layout;       /* rank 3 over (query token, kv_head, g), shape (total_q, hkv, group) */
} skv_decode_problem;

/* One decode CTA's timeline, read from %globaltimer (ns) when skv_plan_device.d_cta_times is set
 * (harness/cta_timeline.h analyses it). */
typedef struct skv_cta_times {
  uint64_t start_ns;      /* the CTA began */
  uint64_t first_tile_ns; /* its first K/V tile had landed in shared memory (0: an empty range) */
  uint64_t loop_end_ns;   /* thread 0 consumed its last tile (the warps stay within a tile of it) */
  uint64_t end_ns;        /* its outputs were written (fused combine: and the merge, if it merged) */
  uint32_t sm;            /* %smid of the SM it ran on */
  uint32_t pad_;
} skv_cta_times;

/* A plan's work lists and scratch on the device. */
typedef struct skv_plan_device {
  const skv_work *d_work;
  const int64_t *d_work_pages; /* [num_work]: page_indptr[work[i].request], loaded beside the work item */
  int64_t num_work;
  const skv_combine_item *d_combine;
  int64_t num_combine;
  int32_t max_chunks;          /* most chunks of any combine item (sizes the merge's shared memory) */
  int32_t max_tile_rows;       /* most packed rows of any work item's tile (picks the CTA's row warps) */
  float *d_partial_o;          /* [num_partials, head_dim]: one state row per packed row */
  float *d_partial_lse;        /* [num_partials] (natural log) */
  /* Fused combine: the last decode CTA of a split (request, KV head) merges its partials, so no
   * combine launch is needed (skv_combine_launch does nothing). d_work_item maps each work item to
   * its combine item (-1: single chunk); d_arrivals counts finished CTAs per item and must start at
   * 0 (the merging CTA re-arms it). */
  bool fused_combine;
  /* Programmatic dependent launch (compute capability 9.0+; ignored below): the combine kernel is
   * launched as a programmatic dependent of decode, whose CTAs let it launch as they start, so the
   * combine's launch and prologue overlap decode's tail; it waits for decode's completion and memory
   * (griddepcontrol.wait) before it reads a partial. The outputs are the same bits. */
  bool pdl;
  const int32_t *d_work_item;  /* [num_work] */
  int32_t *d_arrivals;         /* [num_combine] */
  /* CUDA-graph replay (harness/gpu/gpu_graph.h): NULL, or the device's [2] = {work items, combine
   * items} of the plan loaded now; num_work and num_combine are then the captured grid's bounds, and
   * a CTA past the loaded count exits at once. */
  const int64_t *d_counts;
  /* Optional [num_work] CTA timelines (NULL: none recorded; a few clock reads per CTA either way).
   * Under the persistent grid, one record per work item (its start is the item's). */
  skv_cta_times *d_cta_times;
  /* Persistent grid (decode_kernel.cuh): min(work items, resident CTAs) CTAs, each running work
   * items until none is left: its first is its own index, every next one claimed from the queue
   * d_queue[0] (an atomic counter) a few tiles before the one before it ends, and that item's work
   * record and the page ids of its first tiles copied into shared memory meanwhile. d_queue ([1])
   * must start at 0; the launch's last claim re-arms it. Same bits as one CTA per item. */
  bool persistent;
  int32_t *d_queue;
} skv_plan_device;

/* Whether the kernels support p: the rules of sim/support.h (head dim, group, page size, dtypes),
 * then the scale arrays, the layout and the softmax scale; false with a one-line reason. */
bool skv_decode_supported(const skv_decode_problem *p, char *err, size_t errlen);

/* Decode: one CTA per work item. Writes final O/LSE for tiles that run one chunk,
 * partial states to scratch for the others (and, with fused_combine, the
 * last CTA of each split tile merges them). Returns 0 or a CUDA error code. */
int skv_decode_launch(const skv_decode_problem *p, const skv_plan_device *pd, skv_stream s, char *err, size_t errlen);
/* Resident CTAs per SM of the decode kernel instantiation p selects (head dim, dtypes), as
 * cudaOccupancyMaxActiveBlocksPerMultiprocessor reports it with the kernel's shared memory.
 * Returns 0 or a CUDA error code (*ctas_per_sm = 0). */
int skv_decode_occupancy(const skv_decode_problem *p, int *ctas_per_sm, char *err, size_t errlen);
/* Version 1 of decode (decode_v1.cu): the same plans and outputs as skv_decode_launch, one plain
 * fp32 thread block per work item, no tensor cores; the combine kernel merges its split requests
 * (it refuses fused_combine). For reading the algorithm and checking new variants, not for speed. */
int skv_decode_v1_launch(const skv_decode_problem *p, const skv_plan_device *pd, skv_stream s, char *err,
                         size_t errlen);
/* Combine: one CTA per combine item (no launch when there is none, or when
 * the decode kernel fuses it). */
int skv_combine_launch(const skv_decode_problem *p, const skv_plan_device *pd, skv_stream s, char *err,
                       size_t errlen);

/* Cascade attention's merge (sim/cascade.h): for every query token t and q head h, the states of
 * its rows in the prefix batch at each level (prefix_row[l * total_q + t], -1: none, and none deeper)
 * and of its row t in the suffix batch, merged in that order (outermost prefix first, suffix last)
 * with the combine's arithmetic (softmax_state.cuh): vLLM's merge_attn_states semantics, O in the
 * output type [tokens, hq, d], LSE [hq, tokens] (natural log; a state with LSE -inf weighs 0, all
 * -inf give LSE -inf and O 0), or FlashInfer's merge_state with base2 (every LSE in and out log2). */
typedef struct skv_cascade_merge_args {
  int32_t num_q_heads, head_dim, levels;
  int64_t total_q, prefix_q;   /* query tokens of the batch and of the prefix batch */
  skv_dtype o_dtype;           /* bf16 or fp16: every O here */
  bool base2;
  const void *d_prefix_o;      /* [prefix_q, hq, d] */
  const float *d_prefix_lse;   /* [hq, prefix_q] */
  const void *d_suffix_o;      /* [total_q, hq, d] */
  const float *d_suffix_lse;   /* [hq, total_q] */
  const int64_t *d_prefix_row; /* [levels * total_q] */
  void *d_o;                   /* [total_q, hq, d] */
  float *d_lse;                /* [hq, total_q] */
} skv_cascade_merge_args;
int skv_cascade_merge_launch(const skv_cascade_merge_args *a, skv_stream s, char *err, size_t errlen);

/* Fill a K (is_v false) or V pool of n elements on the device with the
 * generator's bits (datagen.h): the same bytes the host would make. */
int skv_fill_kv_launch(void *d_dst, bool is_v, const skv_kv_gen *g, int64_t n, skv_stream s, char *err,
                       size_t errlen);

/* Bandwidth ceiling: read `bytes` (a multiple of 16) once, folding words into
 * d_sink[0..1024) so the reads cannot be dropped. variant 0 ..
 * SKV_READ_STREAM_VARIANTS-1 picks the reader (vector loads at several shapes,
 * with and without cache hints, and bulk asynchronous copies on compute
 * capability 9.0+): time every supported one and take the fastest. */
#define SKV_READ_STREAM_VARIANTS 8
int skv_read_stream_launch(const void *d_buf, int64_t bytes, uint32_t *d_sink, int32_t num_sms, int32_t variant,
                           skv_stream s, char *err, size_t errlen);
const char *skv_read_stream_name(int32_t variant);
bool skv_read_stream_supported(int32_t variant, int32_t cc_major);

/* A plain fp32 reference on the GPU (for configurations too large for the
 * CPU reference): one CTA per (query token, q head) over the keys it sees
 * (p->mask), two passes, no scratch. d_o is fp32 [total_q, hq, head_dim],
 * d_lse [hq, total_q]. */
int skv_ref_fp32_launch(const skv_decode_problem *p, const int64_t *d_kvlen, float *d_o, float *d_lse, skv_stream s,
                        char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* SKV_KERNELS_H */
