/* meta.h — a run's meta.json: a new run's identity and device, its progress, and whether a resume continues the same run. */
#ifndef SKV_META_H
#define SKV_META_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu/gpu_session.h"
#include "runner/run.h"
#include "suite/gpus.h"
#include "suite/suite.h"

/* The UTC time now in strftime's fmt. */
void skv_utc_now(char *buf, size_t len, const char *fmt);

/* A new run's meta.json: its identity (suite file and hash, run id, commit, command, start), the
 * mode and, measured (gpu not NULL), the device with its in-run ceilings, the run's GPU model, which
 * columns are measured and which predicted, an empty list of resumes. */
json_t *skv_meta_new(const skv_run_opts *o, const skv_suite *s, const char *run_id, const char *mode_text,
                     const skv_gpu_session *gpu, const skv_gpu *model, const char *source, const char *started);
/* A GPU model as meta.json records it (every field, and how the run chose it when source is not
 * NULL), and back (false when a field is missing or out of range). */
json_t *skv_meta_gpu_model(const skv_gpu *g, const char *source);
bool skv_meta_gpu_model_read(const json_t *j, skv_gpu *g);
/* The progress fields: configurations done, complete, the end time now, the plots note (kept when NULL). */
void skv_meta_progress(json_t *m, int64_t done, bool complete, const char *plots_note);
/* A resume continues only the run it continues: the same suite file (bytes), mode, skv build and,
 * measured, the same GPU. False with err (the caller exits 2). */
bool skv_meta_same_run(const json_t *m, const skv_suite *s, const skv_gpu_session *gpu, const char *dir, char *err,
                       size_t errlen);

#endif /* SKV_META_H */
