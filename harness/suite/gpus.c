/* gpus.c — reading the GPU models file (experiments/gpus.yaml) with positioned errors. */
#include "suite/gpus.h"

#include <stdlib.h>
#include <string.h>

#include "suite/yaml_doc.h"

enum { G_NAME, G_SMS, G_READ_TBPS, G_LAUNCH_US, G_CTA_FIXED_US, G_COMBINE_ITEM_US, G_CTA_GBPS, G_CTA_GBPS_8BIT, G_COUNT };
static const char *const model_keys[G_COUNT] = {
    "name", "sms", "read_tbps", "launch_us", "cta_fixed_us", "combine_item_us", "cta_gbps", "cta_gbps_8bit",
};

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

const skv_gpu_model *skv_gpu_model_find(const skv_gpu_model *m, int32_t n, const char *name) {
  for (int32_t i = 0; i < n; i++)
    if (strcmp(m[i].name, name) == 0) return &m[i];
  return NULL;
}

/* Every field is required: a model file is measured data, a missing number
 * must not become some other GPU's. */
static bool read_model(skv_ydoc *d, yaml_node_t *node, skv_gpu_model *m) {
  skv_ykv f[G_COUNT];
  if (!skv_ydoc_keys(d, node, "a GPU model", model_keys, G_COUNT, f)) return false;
  for (int32_t k = 0; k < G_COUNT; k++)
    if (!skv_ydoc_require(d, node, "a GPU model", &f[k], model_keys[k])) return false;
  const char *name;
  int64_t sms;
  if (!skv_ydoc_string(d, f[G_NAME].value, "name", &name)) return false;
  if (!skv_gpu_model_name_ok(name))
    return skv_ydoc_fail(d, f[G_NAME].value, "name: not a GPU model name ([A-Za-z0-9_.-], 1..31 characters)");
  strcpy(m->name, name);
  if (!skv_ydoc_int(d, f[G_SMS].value, "sms", 1, 4096, &sms) ||
      !skv_ydoc_float(d, f[G_READ_TBPS].value, "read_tbps", false, &m->read_tbps) ||
      !skv_ydoc_float(d, f[G_LAUNCH_US].value, "launch_us", true, &m->launch_us) ||
      !skv_ydoc_float(d, f[G_CTA_FIXED_US].value, "cta_fixed_us", true, &m->cta_fixed_us) ||
      !skv_ydoc_float(d, f[G_COMBINE_ITEM_US].value, "combine_item_us", true, &m->combine_item_us) ||
      !skv_ydoc_float(d, f[G_CTA_GBPS].value, "cta_gbps", false, &m->cta_gbps) ||
      !skv_ydoc_float(d, f[G_CTA_GBPS_8BIT].value, "cta_gbps_8bit", false, &m->cta_gbps_8bit))
    return false;
  m->sms = (int32_t)sms;
  return true;
}

bool skv_gpu_models_load(const char *path, skv_gpu_model **models, int32_t *n, char *err, size_t errlen) {
  static const char *const top_keys[] = {"models"};
  *models = NULL;
  *n = 0;
  skv_ydoc d;
  if (!skv_ydoc_load(&d, path, NULL, err, errlen)) return false;
  yaml_node_t *root = skv_ydoc_root(&d);
  skv_ykv top;
  bool ok = skv_ydoc_keys(&d, root, "the GPU models file", top_keys, 1, &top) &&
            skv_ydoc_require(&d, root, "the GPU models file", &top, "models") &&
            skv_ydoc_expect(&d, top.value, YAML_SEQUENCE_NODE, "models");
  const int32_t count = ok ? skv_ydoc_count(top.value) : 0;
  skv_gpu_model *m = ok ? calloc((size_t)count, sizeof *m) : NULL;
  if (ok && !m) ok = skv_ydoc_fail(&d, top.value, "models: out of memory");
  for (int32_t i = 0; ok && i < count; i++) {
    yaml_node_t *item = skv_ydoc_item(&d, top.value, i);
    ok = read_model(&d, item, &m[i]);
    for (int32_t j = 0; ok && j < i; j++) {
      if (strcmp(m[j].name, m[i].name) == 0) {
        const yaml_node_t *first = skv_ydoc_item(&d, top.value, j);
        ok = skv_ydoc_fail(&d, item, "duplicate GPU model '%s' (first at %d:%d)", m[i].name, skv_ydoc_line(first),
                           skv_ydoc_col(first));
      }
    }
  }
  skv_ydoc_free(&d);
  if (!ok) {
    free(m);
    return false;
  }
  *models = m;
  *n = count;
  return true;
}
