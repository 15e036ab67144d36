/* gpus.c — reading the GPU models file (experiments/gpus.yaml) with positioned errors. */
#include "suite/gpus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suite/yaml_doc.h"

enum {
  G_NAME,
  G_DEVICE,
  G_ARCH,
  G_SMS,
  G_READ_TBPS,
  G_LAUNCH_US,
  G_CTA_FIXED_US,
  G_COMBINE_ITEM_US,
  G_CTA_GBPS,
  G_CTA_GBPS_8BIT,
  G_CTAS_PER_SM,
  G_CALIBRATED,
  G_COUNT
};
static const char *const model_keys[G_COUNT] = {
    "name",         "device",          "arch",     "sms",           "read_tbps",     "launch_us",
    "cta_fixed_us", "combine_item_us", "cta_gbps", "cta_gbps_8bit", "ctas_per_sm", "calibrated",
};
/* The architectures the kernels are built for (Makefile NVCCFLAGS), whose residency the occupancy
 * check can derive. */
static const char *const arches[] = {"sm_90", "sm_80"};

bool skv_gpu_model_name_ok(const char *name) {
  const size_t n = strlen(name);
  if (n < 1 || n > 31) return false;
  for (size_t i = 0; i < n; i++) {
    const char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
          c == '-'))
      return false;
  }
  return true;
}

const skv_gpu *skv_gpus_find(const skv_gpus *g, const char *name) {
  for (int32_t i = 0; i < g->n; i++)
    if (strcmp(g->models[i].name, name) == 0) return &g->models[i];
  return NULL;
}

const skv_gpu *skv_gpus_match(const skv_gpus *g, const char *device_name, int32_t sms) {
  for (int32_t i = 0; i < g->n; i++)
    if (g->models[i].device[0] && g->models[i].sms == sms && strstr(device_name, g->models[i].device))
      return &g->models[i];
  return NULL;
}

void skv_gpus_names(const skv_gpus *g, char *buf, size_t len) {
  size_t at = 0;
  buf[0] = '\0';
  for (int32_t i = 0; i < g->n && at < len; i++) {
    const int k = snprintf(buf + at, len - at, "%s%s", i ? ", " : "", g->models[i].name);
    if (k < 0) break;
    at += (size_t)k;
  }
}

void skv_gpus_default_path(char *buf, size_t len) {
  snprintf(buf, len, "experiments/gpus.yaml");
  if (access(buf, F_OK) == 0) return;
  char exe[1024];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (!slash) return;
  *slash = '\0';
  char beside[1200];
  snprintf(beside, sizeof beside, "%s/../experiments/gpus.yaml", exe);
  if (access(beside, F_OK) == 0) snprintf(buf, len, "%s", beside);
}

/* ctas_per_sm: {16bit: [a, b, c], 8bit_cols: [..], 8bit_rows: [..], int8k_16v: [..]}, every form,
 * three entries each (head dims 64, 128, 256). */
static bool read_ctas(skv_ydoc *d, yaml_node_t *node, skv_gpu *m) {
  const char *names[SKV_FORM_COUNT];
  for (int f = 0; f < SKV_FORM_COUNT; f++) names[f] = skv_decode_form_name((skv_decode_form)f);
  skv_ykv f[SKV_FORM_COUNT];
  if (!skv_ydoc_keys(d, node, "ctas_per_sm", names, SKV_FORM_COUNT, f)) return false;
  for (int k = 0; k < SKV_FORM_COUNT; k++) {
    if (!skv_ydoc_require(d, node, "ctas_per_sm", &f[k], names[k])) return false;
    char what[48];
    snprintf(what, sizeof what, "ctas_per_sm %s", names[k]);
    if (!skv_ydoc_expect(d, f[k].value, YAML_SEQUENCE_NODE, what)) return false;
    if (skv_ydoc_count(f[k].value) != SKV_GPU_HEAD_DIMS)
      return skv_ydoc_fail(d, f[k].value, "%s: expected 3 entries (head dims 64, 128, 256), got %d", what,
                           skv_ydoc_count(f[k].value));
    for (int32_t i = 0; i < SKV_GPU_HEAD_DIMS; i++) {
      int64_t v;
      if (!skv_ydoc_int(d, skv_ydoc_item(d, f[k].value, i), what, 1, 32, &v)) return false;
      m->ctas_per_sm[k][i] = (int32_t)v;
    }
  }
  return true;
}

static bool read_string(skv_ydoc *d, yaml_node_t *n, const char *what, char *out, size_t len) {
  const char *s;
  if (!skv_ydoc_string(d, n, what, &s)) return false;
  if (strlen(s) >= len) return skv_ydoc_fail(d, n, "%s: longer than %zu characters", what, len - 1);
  snprintf(out, len, "%s", s);
  return true;
}

/* Every field but `calibrated` is required: a model file is measured data, a missing number must
 * not become some other GPU's. */
static bool read_model(skv_ydoc *d, yaml_node_t *node, skv_gpu *m) {
  skv_ykv f[G_COUNT];
  if (!skv_ydoc_keys(d, node, "a GPU model", model_keys, G_COUNT, f)) return false;
  for (int32_t k = 0; k < G_COUNT; k++)
    if (k != G_CALIBRATED && !skv_ydoc_require(d, node, "a GPU model", &f[k], model_keys[k])) return false;
  if (!read_string(d, f[G_NAME].value, "name", m->name, sizeof m->name)) return false;
  if (!skv_gpu_model_name_ok(m->name))
    return skv_ydoc_fail(d, f[G_NAME].value, "name: not a GPU model name ([A-Za-z0-9_.-], 1..31 characters)");
  int32_t arch;
  int64_t sms;
  if (!read_string(d, f[G_DEVICE].value, "device", m->device, sizeof m->device) ||
      !skv_ydoc_enum(d, f[G_ARCH].value, "arch", arches, 2, &arch) ||
      !skv_ydoc_int(d, f[G_SMS].value, "sms", 1, 4096, &sms) ||
      !skv_ydoc_float(d, f[G_READ_TBPS].value, "read_tbps", false, &m->read_tbps) ||
      !skv_ydoc_float(d, f[G_LAUNCH_US].value, "launch_us", true, &m->launch_us) ||
      !skv_ydoc_float(d, f[G_CTA_FIXED_US].value, "cta_fixed_us", true, &m->cta_fixed_us) ||
      !skv_ydoc_float(d, f[G_COMBINE_ITEM_US].value, "combine_item_us", true, &m->combine_item_us) ||
      !skv_ydoc_float(d, f[G_CTA_GBPS].value, "cta_gbps", false, &m->cta_gbps) ||
      !skv_ydoc_float(d, f[G_CTA_GBPS_8BIT].value, "cta_gbps_8bit", false, &m->cta_gbps_8bit) ||
      !read_ctas(d, f[G_CTAS_PER_SM].value, m))
    return false;
  if (f[G_CALIBRATED].value &&
      !read_string(d, f[G_CALIBRATED].value, "calibrated", m->calibrated, sizeof m->calibrated))
    return false;
  snprintf(m->arch, sizeof m->arch, "%s", arches[arch]);
  m->sms = (int32_t)sms;
  return true;
}

bool skv_gpus_load(const char *path, skv_gpus *out, char *err, size_t errlen) {
  static const char *const top_keys[] = {"home", "models"};
  memset(out, 0, sizeof *out);
  skv_ydoc d;
  if (!skv_ydoc_load(&d, path, NULL, err, errlen)) return false;
  yaml_node_t *root = skv_ydoc_root(&d);
  skv_ykv top[2];
  bool ok = skv_ydoc_keys(&d, root, "the GPU models file", top_keys, 2, top) &&
            skv_ydoc_require(&d, root, "the GPU models file", &top[0], "home") &&
            skv_ydoc_require(&d, root, "the GPU models file", &top[1], "models") &&
            skv_ydoc_expect(&d, top[1].value, YAML_SEQUENCE_NODE, "models");
  const int32_t count = ok ? skv_ydoc_count(top[1].value) : 0;
  if (ok && count == 0) ok = skv_ydoc_fail(&d, top[1].value, "models: the list is empty");
  skv_gpu *m = ok ? calloc((size_t)count, sizeof *m) : NULL;
  if (ok && !m) ok = skv_ydoc_fail(&d, top[1].value, "models: out of memory");
  for (int32_t i = 0; ok && i < count; i++) {
    yaml_node_t *item = skv_ydoc_item(&d, top[1].value, i);
    ok = read_model(&d, item, &m[i]);
    for (int32_t j = 0; ok && j < i; j++) {
      if (strcmp(m[j].name, m[i].name) == 0) {
        const yaml_node_t *first = skv_ydoc_item(&d, top[1].value, j);
        ok = skv_ydoc_fail(&d, item, "duplicate GPU model '%s' (first at %d:%d)", m[i].name, skv_ydoc_line(first),
                           skv_ydoc_col(first));
      }
    }
  }
  if (ok) {
    out->models = m;
    out->n = count;
    const char *home;
    ok = skv_ydoc_string(&d, top[0].value, "home", &home);
    if (ok && !(out->home = skv_gpus_find(out, home))) {
      char names[512];
      skv_gpus_names(out, names, sizeof names);
      ok = skv_ydoc_fail(&d, top[0].value, "home: no model '%s' in the file (models: %s)", home, names);
    }
  }
  skv_ydoc_free(&d);
  if (!ok) {
    free(m);
    memset(out, 0, sizeof *out);
    return false;
  }
  snprintf(out->path, sizeof out->path, "%s", path);
  return true;
}

/* A string as a double-quoted YAML scalar. */
static void yaml_quoted(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

bool skv_gpus_write_entry(FILE *f, const skv_gpu *g) {
  fprintf(f, "  - name: %s\n    device: ", g->name);
  yaml_quoted(f, g->device);
  fprintf(f, "\n    arch: %s\n    sms: %d\n", g->arch, g->sms);
  fprintf(f, "    read_tbps: %.4g\n    launch_us: %.4g\n    cta_fixed_us: %.4g\n    combine_item_us: %.4g\n",
          g->read_tbps, g->launch_us, g->cta_fixed_us, g->combine_item_us);
  fprintf(f, "    cta_gbps: %.4g\n    cta_gbps_8bit: %.4g\n    ctas_per_sm: {", g->cta_gbps, g->cta_gbps_8bit);
  for (int k = 0; k < SKV_FORM_COUNT; k++)
    fprintf(f, "%s%s: [%d, %d, %d]", k ? ", " : "", skv_decode_form_name((skv_decode_form)k), g->ctas_per_sm[k][0],
            g->ctas_per_sm[k][1], g->ctas_per_sm[k][2]);
  fprintf(f, "}\n");
  if (g->calibrated[0]) {
    fprintf(f, "    calibrated: ");
    yaml_quoted(f, g->calibrated);
    fprintf(f, "\n");
  }
  return !ferror(f);
}

void skv_gpus_free(skv_gpus *g) {
  free(g->models);
  memset(g, 0, sizeof *g);
}
