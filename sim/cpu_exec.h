/* cpu_exec.h — the CPU executor: a plan run in double precision the way the GPU runs it (work list, scratch rows, combine list). */
#ifndef SKV_CPU_EXEC_H
#define SKV_CPU_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "plan.h"
#include "workload.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Execute plan p on workload w as the kernels do, with the double-precision reference's states
 * (reference.h) in place of the kernels' arithmetic:
 *   1. every work item (request, KV head, query tile [q_begin, q_end), chunk [kv_begin, kv_end))
 *      computes the states of its tile's packed rows over its range under the batch's mask; an
 *      item of a tile that runs one chunk writes them to the outputs, any other to its scratch
 *      rows from `partial` (as decode_kernel.cuh does);
 *   2. every combine item merges, row by row, its chunks' scratch rows in chunk order
 *      (skv_merge_states folded from the first: the order of merge.cuh) into the outputs of its
 *      (request, KV head, tile).
 * So a plan whose work list, scratch rows or combine list are wrong gives wrong outputs here, as
 * on the GPU. Outputs as skv_ref_attention's: o[total_q][hq][head_dim], lse[hq][total_q]
 * (natural log). keep, if not NULL, is [num_requests * num_kv_heads]: only the work and combine
 * items of the (request, KV head) pairs it marks run (a sample); the other outputs are left as
 * they were. False when out of memory. */
bool skv_cpu_execute(const skv_workload *w, const skv_plan *p, const bool *keep, double *o, double *lse);

#ifdef __cplusplus
}
#endif

#endif /* SKV_CPU_EXEC_H */
