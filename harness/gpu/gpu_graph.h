/* gpu_graph.h — decode + combine captured once into a CUDA graph at a bound (sim/graph_bound.h), replayed for other batches by rewriting the device-side plan only. */
#ifndef SKV_GPU_GRAPH_H
#define SKV_GPU_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu/gpu_exec.h"
#include "graph_bound.h"

/* A captured graph and the buffers it reads and writes, sized for its bound. The pools and scales
 * are the batch's it was captured beside (borrowed). Outputs: O [tokens, hq, d] and LSE token-major
 * [tokens, hq] (element (t, h, g) at t * hq + h * group + g), a layout that does not depend on how
 * many tokens a replay holds. */
typedef struct skv_gpu_graph {
  skv_graph_bound bound;
  skv_decode_problem prob;    /* the captured problem */
  skv_plan_device dev;        /* num_work / num_combine: the bound's grids; d_counts: the loaded plan's */
  int64_t *d_counts;
  int64_t tokens;             /* query tokens of the loaded batch */
  struct CUstream_st *stream;
  struct CUgraph_st *graph;
  struct CUgraphExec_st *exec;
} skv_gpu_graph;

/* Capture decode + combine at bound b over g's pools (g's dtypes, scales and softmax scale). */
bool skv_gpu_graph_capture(const skv_gpu_batch *g, const skv_graph_bound *b, skv_gpu_graph *gr, char *err,
                           size_t errlen);
/* Load batch w (its pages are in g's pools) and its plan p into the graph's buffers: the queries,
 * page table, work and combine lists and the counts. False with err when p does not fit the bound
 * (skv_graph_bound_fits) or a copy fails. */
bool skv_gpu_graph_load(skv_gpu_graph *gr, const skv_workload *w, const skv_plan *p, char *err, size_t errlen);
/* Replay on the graph's stream (no synchronization). */
bool skv_gpu_graph_replay(const skv_gpu_graph *gr, char *err, size_t errlen);
/* Poison the outputs, replay, and copy the loaded batch's O (tokens x hq x d elements of the
 * output type) and LSE (tokens x hq, token-major) to the host; synchronizes. */
bool skv_gpu_graph_run_once(const skv_gpu_graph *gr, void *o, float *lse, char *err, size_t errlen);
/* Launch time per step over `iters` back-to-back steps on the graph's stream, CUDA events around
 * them: replays of the graph, and eager launches of decode + combine of g with plan gp (what a
 * step costs the GPU timeline, launch gaps included). */
bool skv_gpu_graph_time(const skv_gpu_graph *gr, const skv_gpu_batch *g, const skv_gpu_plan *gp, int warmup, int iters,
                        double *graph_us, double *eager_us, char *err, size_t errlen);
void skv_gpu_graph_free(skv_gpu_graph *gr);

#endif /* SKV_GPU_GRAPH_H */
