/* dump.h — --dump: a configuration's inputs and outputs as .npy files and its plan as plan.json. */
#ifndef SKV_DUMP_H
#define SKV_DUMP_H

#include <stdbool.h>
#include <stddef.h>

#include "layout.h"
#include "plan.h"
#include "workload.h"

/* Write into dir (it exists): q, the K and V pools as given, page table and indptr, KV lengths,
 * the scales, o (o_dtype) and lse (read through lse_layout into [hq, B]), and the plan. */
bool skv_dump_write(const char *dir, const skv_workload *w, const skv_plan *p, const void *kpool, const void *vpool,
                    const void *o, skv_dtype o_dtype, const float *lse, const skv_layout *lse_layout, char *err,
                    size_t errlen);

#endif /* SKV_DUMP_H */
