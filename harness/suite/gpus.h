/* gpus.h — the GPU models file (experiments/gpus.yaml): every GPU description (sim/gpu.h) the lab plans and predicts for. */
#ifndef SKV_GPUS_H
#define SKV_GPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A loaded models file. */
typedef struct skv_gpus {
  skv_gpu *models;
  int32_t n;
  const skv_gpu *home; /* the `home:` model: what sim-only runs and `skv plan` assume unless told */
  char path[1024];
} skv_gpus;

/* Load a models file: "home:" a model's name and "models:" a list of mappings with every field
 * of skv_gpu (calibrated optional). On error err = "PATH:LINE:COL: message" (or "PATH: ...")
 * and false, *out zeroed. skv_gpus_free releases it. */
bool skv_gpus_load(const char *path, skv_gpus *out, char *err, size_t errlen);
void skv_gpus_free(skv_gpus *g);
/* The model called name, or NULL. */
const skv_gpu *skv_gpus_find(const skv_gpus *g, const char *name);
/* The model of a CUDA device: the first whose `device` is a substring of the device's name and
 * whose SM count equals its SMs; NULL for a GPU the file does not know. */
const skv_gpu *skv_gpus_match(const skv_gpus *g, const char *device_name, int32_t sms);
/* "a, b, c": the names, for messages. */
void skv_gpus_names(const skv_gpus *g, char *buf, size_t len);
/* Write g as one entry of a models file's list ("  - name: ..."), every field, in the form
 * skv_gpus_load reads; false on a write error of f. */
bool skv_gpus_write_entry(FILE *f, const skv_gpu *g);
/* Put model g into the models file at path: the lines of the entry of the same name (from its
 * `- name:` line to the comments and blank lines before the next entry, or the end of the list)
 * become skv_gpus_write_entry's, or the entry is appended when the file has none of that name.
 * Everything else in the file is kept. The result is loaded and checked to hold g before it
 * replaces the file (atomically). False with err when the file does not load, the new text does
 * not, or a write fails; the file is then unchanged. *replaced says which of the two it did. */
bool skv_gpus_update(const char *path, const skv_gpu *g, bool *replaced, char *err, size_t errlen);
/* name is usable as a GPU model name: [A-Za-z0-9_.-], 1..31 characters. */
bool skv_gpu_model_name_ok(const char *name);
/* The models file a command uses without --gpus: experiments/gpus.yaml under the working directory,
 * else beside the running binary's repository (BINDIR/../experiments/gpus.yaml, as build/skv sits
 * in the checkout). The first path tried when neither exists. */
void skv_gpus_default_path(char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* SKV_GPUS_H */
