/* meta.c — a run's meta.json as a jansson object: its identity, the device and ceilings, progress, resumes. */
#include "runner/meta.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runner/version.h"
#include "out/results.h"
#include "runner/run_dir.h"

void skv_utc_now(char *buf, size_t len, const char *fmt) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, len, fmt, &tm);
}

/* A new run's meta.json: its identity (suite file and hash, run id, commit, command, start), the
 * mode and the device with its in-run ceilings, the GPU model, the column kinds. Progress fields
 * (complete, configurations_done, end_utc, plots) are set by meta_progress. */
json_t *skv_meta_gpu_model(const skv_gpu *g, const char *source) {
  json_t *j = json_object(), *ctas = json_object();
  json_object_set_new(j, "name", json_string(g->name));
  json_object_set_new(j, "device", json_string(g->device));
  json_object_set_new(j, "arch", json_string(g->arch));
  json_object_set_new(j, "sms", json_integer(g->sms));
  json_object_set_new(j, "read_tbps", json_real(g->read_tbps));
  json_object_set_new(j, "launch_us", json_real(g->launch_us));
  json_object_set_new(j, "combine_item_us", json_real(g->combine_item_us));
  json_object_set_new(j, "combine_chunk_us", json_real(g->combine_chunk_us));
  json_object_set_new(j, "cta_us", json_real(g->cta_us));
  json_object_set_new(j, "l2_tbps", json_real(g->l2_tbps));
  json_object_set_new(j, "mma_tflops", json_real(g->mma_tflops));
  json_object_set_new(j, "peak_tflops", json_real(g->peak_tflops));
  json_object_set_new(j, "merge_us", json_real(g->merge_us));
  json_object_set_new(j, "merge_pair_us", json_real(g->merge_pair_us));
  json_object_set_new(j, "prefix_us", json_real(g->prefix_us));
  json_object_set_new(j, "cta_tflops", json_real(g->cta_tflops));
  json_t *streams = json_object();
  for (int k = 0; k < SKV_STREAM_COUNT; k++) {
    const skv_gpu_stream *s = &g->stream[k];
    json_t *js = json_pack("{s:f}", "fixed_sm_us", s->fixed_sm_us);
    static const char *const tables[3] = {"fixed_us", "cta_gbps", "stream_tbps"};
    for (int t = 0; t < 3; t++) {
      json_t *tab = json_object();
      for (int d = 0; d < SKV_GPU_HEAD_DIMS; d++) {
        const double *row = t == 0 ? s->fixed_us[d] : (t == 1 ? s->cta_gbps[d] : s->stream_tbps[d]);
        char key[8];
        snprintf(key, sizeof key, "d%d", 64 << d);
        json_object_set_new(tab, key, json_pack("[ffff]", row[0], row[1], row[2], row[3]));
      }
      json_object_set_new(js, tables[t], tab);
    }
    json_object_set_new(streams, skv_stream_kind_name((skv_stream_kind)k), js);
  }
  json_object_set_new(j, "streams", streams);
  for (int f = 0; f < SKV_FORM_COUNT; f++)
    json_object_set_new(ctas, skv_decode_form_name((skv_decode_form)f),
                        json_pack("[iii]", g->ctas_per_sm[f][0], g->ctas_per_sm[f][1], g->ctas_per_sm[f][2]));
  json_object_set_new(j, "ctas_per_sm", ctas);
  json_object_set_new(j, "calibrated", json_string(g->calibrated));
  if (source) json_object_set_new(j, "source", json_string(source));
  return j;
}

bool skv_meta_gpu_model_read(const json_t *j, skv_gpu *g) {
  memset(g, 0, sizeof *g);
  const json_t *ctas = json_object_get(j, "ctas_per_sm"), *streams = json_object_get(j, "streams");
  if (!json_is_object(j) || !json_is_object(ctas) || !json_is_object(streams)) return false;
  snprintf(g->name, sizeof g->name, "%s", skv_meta_string(j, "name"));
  snprintf(g->device, sizeof g->device, "%s", skv_meta_string(j, "device"));
  snprintf(g->arch, sizeof g->arch, "%s", skv_meta_string(j, "arch"));
  snprintf(g->calibrated, sizeof g->calibrated, "%s", skv_meta_string(j, "calibrated"));
  g->sms = (int32_t)json_integer_value(json_object_get(j, "sms"));
  g->read_tbps = json_number_value(json_object_get(j, "read_tbps"));
  g->launch_us = json_number_value(json_object_get(j, "launch_us"));
  g->combine_item_us = json_number_value(json_object_get(j, "combine_item_us"));
  g->combine_chunk_us = json_number_value(json_object_get(j, "combine_chunk_us"));
  /* absent in runs made before these terms: 0, not modelled */
  g->cta_us = json_number_value(json_object_get(j, "cta_us"));
  g->l2_tbps = json_number_value(json_object_get(j, "l2_tbps"));
  g->mma_tflops = json_number_value(json_object_get(j, "mma_tflops"));
  g->peak_tflops = json_number_value(json_object_get(j, "peak_tflops"));
  g->merge_us = json_number_value(json_object_get(j, "merge_us"));
  g->merge_pair_us = json_number_value(json_object_get(j, "merge_pair_us"));
  g->prefix_us = json_number_value(json_object_get(j, "prefix_us"));
  g->cta_tflops = json_number_value(json_object_get(j, "cta_tflops"));
  for (int k = 0; k < SKV_STREAM_COUNT; k++) {
    const json_t *s = json_object_get(streams, skv_stream_kind_name((skv_stream_kind)k));
    if (!json_is_object(s)) return false;
    g->stream[k].fixed_sm_us = json_number_value(json_object_get(s, "fixed_sm_us"));
    static const char *const tables[3] = {"fixed_us", "cta_gbps", "stream_tbps"};
    for (int t = 0; t < 3; t++) {
      const json_t *tab = json_object_get(s, tables[t]);
      for (int d = 0; d < SKV_GPU_HEAD_DIMS; d++) {
        char key[8];
        snprintf(key, sizeof key, "d%d", 64 << d);
        const json_t *row = json_object_get(tab, key);
        if (!json_is_array(row) || json_array_size(row) != SKV_GPU_GROUPS) return false;
        for (int q = 0; q < SKV_GPU_GROUPS; q++)
          (t == 0 ? g->stream[k].fixed_us : (t == 1 ? g->stream[k].cta_gbps : g->stream[k].stream_tbps))[d][q] =
              json_number_value(json_array_get(row, (size_t)q));
      }
    }
  }
  for (int f = 0; f < SKV_FORM_COUNT; f++) {
    const json_t *a = json_object_get(ctas, skv_decode_form_name((skv_decode_form)f));
    if (!json_is_array(a) || json_array_size(a) != SKV_GPU_HEAD_DIMS) return false;
    for (int d = 0; d < SKV_GPU_HEAD_DIMS; d++) g->ctas_per_sm[f][d] = (int32_t)json_integer_value(json_array_get(a, (size_t)d));
  }
  char err[256];
  return skv_gpu_check(g, err, sizeof err);
}

json_t *skv_meta_new(const skv_run_opts *o, const skv_suite *s, const char *run_id, const char *mode_text,
                     const skv_gpu_session *gpu, const skv_gpu *model, const char *source, const char *started) {
  json_t *m = json_object();
  char hash[32], host[256] = "";
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)s->file_hash);
  gethostname(host, sizeof host - 1);
  json_object_set_new(m, "suite", json_string(s->name));
  json_object_set_new(m, "suite_file", json_string(s->path));
  json_object_set_new(m, "suite_hash_fnv1a64", json_string(hash));
  json_object_set_new(m, "run_id", json_string(run_id));
  json_object_set_new(m, "skv_commit", json_string(skv_version));
  json_object_set_new(m, "command", json_string(o->command ? o->command : ""));
  json_object_set_new(m, "mode", json_string(gpu ? "measured" : "sim"));
  json_object_set_new(m, "mode_reason", json_string(mode_text));
  json_object_set_new(m, "start_utc", json_string(started));
  json_object_set_new(m, "end_utc", json_string(""));
  json_object_set_new(m, "complete", json_false());
  json_object_set_new(m, "configurations", json_integer(s->nconfigs));
  json_object_set_new(m, "configurations_done", json_integer(0));
  json_object_set_new(m, "repeat", json_integer(s->repeat));
  json_object_set_new(m, "warmup", json_integer(s->warmup));
  json_object_set_new(m, "host", json_string(host));
  if (gpu) {
    const skv_gpu_info *g = &gpu->info;
    char cc[16];
    snprintf(cc, sizeof cc, "%d.%d", g->cc_major, g->cc_minor);
    json_t *j = json_object();
    json_object_set_new(j, "name", json_string(g->name));
    json_object_set_new(j, "sm_count", json_integer(g->sm_count));
    json_object_set_new(j, "compute_capability", json_string(cc));
    json_object_set_new(j, "l2_bytes", json_integer(g->l2_bytes));
    json_object_set_new(j, "memory_bytes", json_integer(g->mem_bytes));
    json_object_set_new(j, "sm_clock_max_mhz", json_integer(g->sm_clock_mhz));
    json_object_set_new(j, "memory_clock_max_mhz", json_integer(g->mem_clock_mhz));
    json_object_set_new(j, "memory_bus_bits", json_integer(g->mem_bus_bits));
    json_object_set_new(j, "driver_version", json_integer(g->driver_version));
    json_object_set_new(j, "cuda_runtime_version", json_integer(g->runtime_version));
    json_object_set_new(j, "cupti_version", json_integer(g->cupti_version));
    json_object_set_new(j, "cupti_timing", json_boolean(gpu->use_cupti));
    json_object_set_new(j, "read_ceiling_tbps", json_real(gpu->read_tbps));
    json_object_set_new(j, "copy_ceiling_tbps", json_real(gpu->copy_tbps));
    if (gpu->nreaders > 0) {
      json_object_set_new(j, "read_ceiling_reader", json_string(gpu->reader_name[gpu->best_reader]));
      json_t *rd = json_object();
      for (int i = 0; i < gpu->nreaders; i++) json_object_set_new(rd, gpu->reader_name[i], json_real(gpu->reader_tbps[i]));
      json_object_set_new(j, "read_readers_tbps", rd);
    }
    json_object_set_new(m, "gpu", j);
  } else {
    json_object_set_new(m, "gpu", json_null());
  }
  json_object_set_new(m, "gpu_model", skv_meta_gpu_model(model, source));
  json_t *measured = json_array(), *predicted = json_array();
  for (int i = 0; skv_results_measured[i]; i++) json_array_append_new(measured, json_string(skv_results_measured[i]));
  for (int i = 0; skv_results_predicted[i]; i++) json_array_append_new(predicted, json_string(skv_results_predicted[i]));
  json_object_set_new(m, "measured_columns", measured);
  json_object_set_new(m, "predicted_columns", predicted);
  json_object_set_new(m, "resumes", json_array());
  json_object_set_new(m, "plots", json_string("not drawn yet"));
  return m;
}

void skv_meta_progress(json_t *m, int64_t done, bool complete, const char *plots_note) {
  char ended[32];
  skv_utc_now(ended, sizeof ended, "%Y-%m-%dT%H:%M:%SZ");
  json_object_set_new(m, "configurations_done", json_integer(done));
  json_object_set_new(m, "complete", json_boolean(complete));
  json_object_set_new(m, "end_utc", json_string(ended));
  if (plots_note) json_object_set_new(m, "plots", json_string(plots_note));
}

/* A resume may continue only the run it continues: the same suite file (bytes), mode, skv build
 * and, measured, the same GPU. Returns false with err (the caller exits 2). */
bool skv_meta_same_run(const json_t *m, const skv_suite *s, const skv_gpu_session *gpu, const char *dir, char *err,
                          size_t errlen) {
  char hash[32];
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)s->file_hash);
  const char *mode = gpu ? "measured" : "sim";
  const json_t *g = json_object_get(m, "gpu");
  const char *gname = json_is_object(g) ? skv_meta_string(g, "name") : "";
  if (strcmp(skv_meta_string(m, "suite_hash_fnv1a64"), hash) != 0)
    snprintf(err, errlen, "--resume: %s was made by another suite file or another version of it (%s, hash %s; %s has hash %s)",
             dir, skv_meta_string(m, "suite_file"), skv_meta_string(m, "suite_hash_fnv1a64"), s->path, hash);
  else if (strcmp(skv_meta_string(m, "mode"), mode) != 0)
    snprintf(err, errlen, "--resume: %s is a %s run; this one would be %s", dir, skv_meta_string(m, "mode"), mode);
  else if (strcmp(skv_meta_string(m, "skv_commit"), skv_version) != 0)
    snprintf(err, errlen, "--resume: %s was made by skv %s; this is skv %s (rows of two builds would mix)", dir,
             skv_meta_string(m, "skv_commit"), skv_version);
  else if (gpu && strcmp(gname, gpu->info.name) != 0)
    snprintf(err, errlen, "--resume: %s was measured on %s; this GPU is %s", dir, gname, gpu->info.name);
  else return true;
  return false;
}

