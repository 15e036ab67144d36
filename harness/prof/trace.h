/* trace.h — a Chrome-trace JSON of a run (Perfetto opens it): kernels on their streams, one range per configuration. */
#ifndef SKV_TRACE_H
#define SKV_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct skv_trace_event {
  char name[160];
  uint64_t start_ns, end_ns;  /* CUPTI's clock (cuptiGetTimestamp), shared by ranges and kernels */
  uint32_t track;             /* 0: configuration ranges; else a CUDA stream id + 1 */
  char category[16];          /* "config" or "kernel" */
} skv_trace_event;

typedef struct skv_trace {
  skv_trace_event *ev;
  int64_t n, cap;
} skv_trace;

bool skv_trace_add(skv_trace *t, const char *category, const char *name, uint64_t start_ns, uint64_t end_ns,
                   uint32_t track);
/* Write {"traceEvents": [...]} with microsecond timestamps from the first
 * event, thread names for the tracks; to path.tmp, then renamed. */
bool skv_trace_write(const skv_trace *t, const char *path, char *err, size_t errlen);
void skv_trace_free(skv_trace *t);

#endif /* SKV_TRACE_H */
