/* trace.c — Chrome trace event format ("X" complete events, "M" thread names), as Perfetto and
 * chrome://tracing read it. */
#include "prof/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/atomic_file.h"
#include "out/json.h"

bool skv_trace_add(skv_trace *t, const char *category, const char *name, uint64_t start_ns, uint64_t end_ns,
                   uint32_t track) {
  if (t->n == t->cap) {
    int64_t cap = t->cap ? 2 * t->cap : 256;
    skv_trace_event *e = realloc(t->ev, sizeof *e * (size_t)cap);
    if (!e) return false;
    t->ev = e;
    t->cap = cap;
  }
  skv_trace_event *e = &t->ev[t->n++];
  snprintf(e->name, sizeof e->name, "%s", name);
  snprintf(e->category, sizeof e->category, "%s", category);
  e->start_ns = start_ns;
  e->end_ns = end_ns >= start_ns ? end_ns : start_ns;
  e->track = track;
  return true;
}

bool skv_trace_write(const skv_trace *t, const char *path, char *err, size_t errlen) {
  skv_atomic_file a;
  if (!skv_atomic_open(&a, path, err, errlen)) return false;
  FILE *f = a.f;
  uint64_t t0 = UINT64_MAX;
  for (int64_t i = 0; i < t->n; i++)
    if (t->ev[i].start_ns < t0) t0 = t->ev[i].start_ns;
  skv_json j;
  skv_json_init(&j, f, 0);
  skv_json_object_begin(&j);
  skv_json_kv_string(&j, "displayTimeUnit", "ns");
  skv_json_key(&j, "traceEvents");
  skv_json_array_begin(&j);
  /* Name each track once. */
  for (int64_t i = 0; i < t->n; i++) {
    bool first = true;
    for (int64_t k = 0; k < i && first; k++) first = t->ev[k].track != t->ev[i].track;
    if (!first) continue;
    char tname[64];
    if (t->ev[i].track == 0) snprintf(tname, sizeof tname, "configurations (NVTX ranges, domain skv)");
    else snprintf(tname, sizeof tname, "CUDA stream %u", t->ev[i].track - 1);
    skv_json_object_begin(&j);
    skv_json_kv_string(&j, "ph", "M");
    skv_json_kv_string(&j, "name", "thread_name");
    skv_json_kv_int(&j, "pid", 1);
    skv_json_kv_int(&j, "tid", t->ev[i].track);
    skv_json_key(&j, "args");
    skv_json_object_begin(&j);
    skv_json_kv_string(&j, "name", tname);
    skv_json_object_end(&j);
    skv_json_object_end(&j);
  }
  for (int64_t i = 0; i < t->n; i++) {
    const skv_trace_event *e = &t->ev[i];
    skv_json_object_begin(&j);
    skv_json_kv_string(&j, "name", e->name);
    skv_json_kv_string(&j, "cat", e->category);
    skv_json_kv_string(&j, "ph", "X");
    skv_json_kv_int(&j, "pid", 1);
    skv_json_kv_int(&j, "tid", e->track);
    skv_json_kv_double(&j, "ts", (double)(e->start_ns - t0) / 1e3);
    skv_json_kv_double(&j, "dur", (double)(e->end_ns - e->start_ns) / 1e3);
    skv_json_object_end(&j);
  }
  skv_json_array_end(&j);
  skv_json_object_end(&j);
  return skv_atomic_commit(&a, true, err, errlen); /* a write error of f is seen there */
}

void skv_trace_free(skv_trace *t) {
  free(t->ev);
  memset(t, 0, sizeof *t);
}
