/* gpus.h — GPU models (experiments/gpus.yaml): SMs, read bandwidth, cost-model constants for sim-only runs. */
#ifndef SKV_GPUS_H
#define SKV_GPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One GPU as the simulator and the cost model see it. */
typedef struct skv_gpu_model {
  char name[32];          /* [A-Za-z0-9_.-]{1,31}: a suite's gpu_model and a configuration name part */
  int32_t sms;            /* streaming multiprocessors */
  double read_tbps;       /* sustained HBM read stream, TB/s (measured where the file says so) */
  double launch_us;       /* cost of one kernel launch (the combine kernel is a second one) */
  double cta_fixed_us;    /* per-CTA fixed cost: prologue, Q load, epilogue */
  double combine_item_us; /* combine kernel per (request, head) item */
  double cta_gbps;        /* what one decode CTA streams on its own, GB/s (its pipeline depth over the latency) */
  double cta_gbps_8bit;   /* the same over an fp8 / int8 cache (more work per byte: a lower byte rate) */
} skv_gpu_model;

/* Load a models file: "models:" a list of mappings with every field above.
 * On error err = "PATH:LINE:COL: message", false, *models NULL. The caller
 * frees *models with free(). */
bool skv_gpu_models_load(const char *path, skv_gpu_model **models, int32_t *n, char *err, size_t errlen);
/* The model called name, or NULL. */
const skv_gpu_model *skv_gpu_model_find(const skv_gpu_model *m, int32_t n, const char *name);
/* name is usable as a GPU model name: [A-Za-z0-9_.-], 1..31 characters. */
bool skv_gpu_model_name_ok(const char *name);

#endif /* SKV_GPUS_H */
