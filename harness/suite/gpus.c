/* gpus.c — reading the GPU models file (experiments/gpus.yaml) with positioned errors. */
#include "suite/gpus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out/atomic_file.h"
#include "out/text_file.h"
#include "suite/yaml_doc.h"

enum {
  G_NAME,
  G_DEVICE,
  G_ARCH,
  G_SMS,
  G_READ_TBPS,
  G_LAUNCH_US,
  G_COMBINE_ITEM_US,
  G_COMBINE_CHUNK_US,
  G_STREAMS,
  G_CTAS_PER_SM,
  G_CALIBRATED,
  G_CTA_US,
  G_L2_TBPS,
  G_MMA_TFLOPS,
  G_PEAK_TFLOPS,
  G_MERGE_US,
  G_MERGE_PAIR_US,
  G_PREFIX_US,
  G_CTA_TFLOPS,
  G_COUNT
};
static const char *const model_keys[G_COUNT] = {
    "name",      "device",          "arch",             "sms",     "read_tbps",   "launch_us",
    "combine_item_us", "combine_chunk_us", "streams", "ctas_per_sm", "calibrated", "cta_us",
    "l2_tbps", "mma_tflops", "peak_tflops", "merge_us", "merge_pair_us", "prefix_us", "cta_tflops",
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

/* A per-variant table: {d64: [g1, g4, g8, g16], d128: [..], d256: [..]}, every entry > 0 (>= 0 with zero_ok). */
static bool read_table(skv_ydoc *d, yaml_node_t *node, const char *what, bool zero_ok,
                       double out[SKV_GPU_HEAD_DIMS][SKV_GPU_GROUPS]) {
  static const char *const dims[SKV_GPU_HEAD_DIMS] = {"d64", "d128", "d256"};
  skv_ykv f[SKV_GPU_HEAD_DIMS];
  if (!skv_ydoc_keys(d, node, what, dims, SKV_GPU_HEAD_DIMS, f)) return false;
  for (int k = 0; k < SKV_GPU_HEAD_DIMS; k++) {
    if (!skv_ydoc_require(d, node, what, &f[k], dims[k])) return false;
    char row[96];
    snprintf(row, sizeof row, "%s %s", what, dims[k]);
    if (!skv_ydoc_expect(d, f[k].value, YAML_SEQUENCE_NODE, row)) return false;
    if (skv_ydoc_count(f[k].value) != SKV_GPU_GROUPS)
      return skv_ydoc_fail(d, f[k].value, "%s: expected 4 entries (GQA groups 1, 4, 8, 16), got %d", row,
                           skv_ydoc_count(f[k].value));
    for (int32_t i = 0; i < SKV_GPU_GROUPS; i++)
      if (!skv_ydoc_float(d, skv_ydoc_item(d, f[k].value, i), row, zero_ok, &out[k][i])) return false;
  }
  return true;
}

/* streams: {16bit: {fixed_us: TABLE, fixed_sm_us, cta_gbps: TABLE, stream_tbps: TABLE}, fp8: .., int8: ..,
 * int8k_16v: ..}, every kind, every field. */
static bool read_streams(skv_ydoc *d, yaml_node_t *node, skv_gpu *m) {
  static const char *const fields[4] = {"fixed_us", "fixed_sm_us", "cta_gbps", "stream_tbps"};
  const char *names[SKV_STREAM_COUNT];
  for (int k = 0; k < SKV_STREAM_COUNT; k++) names[k] = skv_stream_kind_name((skv_stream_kind)k);
  skv_ykv f[SKV_STREAM_COUNT];
  if (!skv_ydoc_keys(d, node, "streams", names, SKV_STREAM_COUNT, f)) return false;
  for (int k = 0; k < SKV_STREAM_COUNT; k++) {
    if (!skv_ydoc_require(d, node, "streams", &f[k], names[k])) return false;
    char what[48];
    snprintf(what, sizeof what, "streams %s", names[k]);
    skv_ykv v[4];
    if (!skv_ydoc_keys(d, f[k].value, what, fields, 4, v)) return false;
    for (int i = 0; i < 4; i++)
      if (!skv_ydoc_require(d, f[k].value, what, &v[i], fields[i])) return false;
    skv_gpu_stream *s = &m->stream[k];
    char field[80];
    snprintf(field, sizeof field, "%s fixed_us", what);
    if (!read_table(d, v[0].value, field, true, s->fixed_us)) return false;
    snprintf(field, sizeof field, "%s fixed_sm_us", what);
    if (!skv_ydoc_float(d, v[1].value, field, true, &s->fixed_sm_us)) return false;
    snprintf(field, sizeof field, "%s cta_gbps", what);
    if (!read_table(d, v[2].value, field, false, s->cta_gbps)) return false;
    snprintf(field, sizeof field, "%s stream_tbps", what);
    if (!read_table(d, v[3].value, field, false, s->stream_tbps)) return false;
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

/* Every field but `calibrated` and the later terms (cta_us, l2_tbps, mma_tflops, peak_tflops,
 * merge_us, merge_pair_us, prefix_us, cta_tflops: 0,
 * not modelled, when absent) is required: a model file is measured data, a missing number must not
 * become some other GPU's. */
static bool read_model(skv_ydoc *d, yaml_node_t *node, skv_gpu *m) {
  skv_ykv f[G_COUNT];
  if (!skv_ydoc_keys(d, node, "a GPU model", model_keys, G_COUNT, f)) return false;
  for (int32_t k = 0; k < G_COUNT; k++)
    if (k != G_CALIBRATED && k != G_CTA_US && k != G_L2_TBPS && k != G_MMA_TFLOPS && k != G_PEAK_TFLOPS && k != G_MERGE_US &&
        k != G_MERGE_PAIR_US && k != G_PREFIX_US && k != G_CTA_TFLOPS &&
        !skv_ydoc_require(d, node, "a GPU model", &f[k], model_keys[k]))
      return false;
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
      !skv_ydoc_float(d, f[G_COMBINE_ITEM_US].value, "combine_item_us", true, &m->combine_item_us) ||
      !skv_ydoc_float(d, f[G_COMBINE_CHUNK_US].value, "combine_chunk_us", true, &m->combine_chunk_us) ||
      !read_streams(d, f[G_STREAMS].value, m) || !read_ctas(d, f[G_CTAS_PER_SM].value, m))
    return false;
  m->cta_us = 0;
  if (f[G_CTA_US].value && !skv_ydoc_float(d, f[G_CTA_US].value, "cta_us", true, &m->cta_us)) return false;
  m->l2_tbps = m->mma_tflops = m->peak_tflops = 0;
  if (f[G_L2_TBPS].value && !skv_ydoc_float(d, f[G_L2_TBPS].value, "l2_tbps", true, &m->l2_tbps)) return false;
  if (f[G_MMA_TFLOPS].value && !skv_ydoc_float(d, f[G_MMA_TFLOPS].value, "mma_tflops", true, &m->mma_tflops))
    return false;
  if (f[G_PEAK_TFLOPS].value && !skv_ydoc_float(d, f[G_PEAK_TFLOPS].value, "peak_tflops", true, &m->peak_tflops))
    return false;
  m->merge_us = m->merge_pair_us = m->prefix_us = m->cta_tflops = 0;
  if (f[G_CTA_TFLOPS].value && !skv_ydoc_float(d, f[G_CTA_TFLOPS].value, "cta_tflops", true, &m->cta_tflops))
    return false;
  if (f[G_PREFIX_US].value && !skv_ydoc_float(d, f[G_PREFIX_US].value, "prefix_us", true, &m->prefix_us)) return false;
  if (f[G_MERGE_US].value && !skv_ydoc_float(d, f[G_MERGE_US].value, "merge_us", true, &m->merge_us)) return false;
  if (f[G_MERGE_PAIR_US].value &&
      !skv_ydoc_float(d, f[G_MERGE_PAIR_US].value, "merge_pair_us", true, &m->merge_pair_us))
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
  fprintf(f, "    read_tbps: %.4g\n    launch_us: %.4g\n    combine_item_us: %.4g\n    combine_chunk_us: %.4g\n",
          g->read_tbps, g->launch_us, g->combine_item_us, g->combine_chunk_us);
  if (g->cta_us > 0) fprintf(f, "    cta_us: %.4g\n", g->cta_us);
  if (g->l2_tbps > 0) fprintf(f, "    l2_tbps: %.4g\n", g->l2_tbps);
  if (g->mma_tflops > 0) fprintf(f, "    mma_tflops: %.4g\n", g->mma_tflops);
  if (g->cta_tflops > 0) fprintf(f, "    cta_tflops: %.4g\n", g->cta_tflops);
  if (g->peak_tflops > 0) fprintf(f, "    peak_tflops: %.4g\n", g->peak_tflops);
  if (g->merge_us > 0 || g->merge_pair_us > 0)
    fprintf(f, "    merge_us: %.4g\n    merge_pair_us: %.4g\n", g->merge_us, g->merge_pair_us);
  if (g->prefix_us > 0) fprintf(f, "    prefix_us: %.4g\n", g->prefix_us);
  fprintf(f, "    streams:\n");
  for (int k = 0; k < SKV_STREAM_COUNT; k++) {
    const skv_gpu_stream *s = &g->stream[k];
    fprintf(f, "      %s:\n        fixed_sm_us: %.4g\n", skv_stream_kind_name((skv_stream_kind)k), s->fixed_sm_us);
    for (int t = 0; t < 3; t++) {
      fprintf(f, "        %s {", t == 0 ? "fixed_us:   " : (t == 1 ? "cta_gbps:   " : "stream_tbps:"));
      for (int dd = 0; dd < SKV_GPU_HEAD_DIMS; dd++) {
        const double *row = t == 0 ? s->fixed_us[dd] : (t == 1 ? s->cta_gbps[dd] : s->stream_tbps[dd]);
        fprintf(f, "%sd%d: [%.4g, %.4g, %.4g, %.4g]", dd ? ", " : "", 64 << dd, row[0], row[1], row[2], row[3]);
      }
      fprintf(f, "}\n");
    }
  }
  fprintf(f, "    ctas_per_sm: {");
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

/* Offset of the start of 1-based line `line` in text (len when past the end). */
static size_t line_start(const char *text, size_t len, int32_t line) {
  size_t at = 0;
  for (int32_t l = 1; l < line && at < len; at++)
    if (text[at] == '\n') l++;
  return at;
}

static bool blank_or_comment(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
  return i == n || s[i] == '\n' || s[i] == '#';
}

bool skv_gpus_update(const char *path, const skv_gpu *g, bool *replaced, char *err, size_t errlen) {
  skv_gpus cur;
  if (!skv_gpus_load(path, &cur, err, errlen)) return false;
  skv_gpus_free(&cur);
  size_t len = 0;
  char *text = skv_read_text_file(path, &len);
  if (!text) {
    snprintf(err, errlen, "%s: cannot read it", path);
    return false;
  }
  /* Where the entry of this name starts and where the next one (or the list) does. */
  skv_ydoc d;
  if (!skv_ydoc_load(&d, path, NULL, err, errlen)) {
    free(text);
    return false;
  }
  yaml_node_t *root = skv_ydoc_root(&d), *models = NULL;
  for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(&d.doc, p->key);
    if (k && k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, "models") == 0)
      models = yaml_document_get_node(&d.doc, p->value);
  }
  size_t from = len, to = len;
  bool found = false;
  const int32_t count = skv_ydoc_count(models);
  for (int32_t i = 0; i < count && !found; i++) {
    yaml_node_t *item = skv_ydoc_item(&d, models, i);
    for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top; p++) {
      yaml_node_t *k = yaml_document_get_node(&d.doc, p->key), *v = yaml_document_get_node(&d.doc, p->value);
      if (k && v && v->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, "name") == 0 &&
          strcmp((const char *)v->data.scalar.value, g->name) == 0)
        found = true;
    }
    if (!found) continue;
    from = line_start(text, len, skv_ydoc_line(item));
    to = i + 1 < count ? line_start(text, len, skv_ydoc_line(skv_ydoc_item(&d, models, i + 1))) : len;
    /* the comments and blank lines just before the next entry are that entry's */
    while (i + 1 < count && to > from) {
      size_t prev = to - 1; /* the newline ending the line before `to` */
      while (prev > from && text[prev - 1] != '\n') prev--;
      if (!blank_or_comment(text + prev, to - prev)) break;
      to = prev;
    }
  }
  skv_ydoc_free(&d);
  char tmp[1100];
  snprintf(tmp, sizeof tmp, "%s.update.yaml", path);
  FILE *f = fopen(tmp, "w");
  bool ok = f != NULL;
  if (!ok) snprintf(err, errlen, "%s: cannot write it", tmp);
  if (ok) {
    fwrite(text, 1, from, f);
    if (!found && from > 0 && text[from - 1] != '\n') fputc('\n', f);
    if (!found) fputc('\n', f);
    ok = skv_gpus_write_entry(f, g);
    if (found && to < len) fputc('\n', f);
    fwrite(text + to, 1, len - to, f);
    ok = !ferror(f) && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok) snprintf(err, errlen, "%s: write failed", tmp);
  }
  free(text);
  /* The new file must load and hold exactly g under its name. */
  skv_gpus next;
  if (ok) {
    char why[1024];
    if (!skv_gpus_load(tmp, &next, why, sizeof why)) {
      snprintf(err, errlen, "%s: the updated models file does not load (%s)%s", path, why,
               found ? "" : "; its models list must be the file's last key for an entry to be added");
      ok = false;
    } else {
      const skv_gpu *m = skv_gpus_find(&next, g->name);
      if (!m || m->sms != g->sms || strcmp(m->device, g->device) != 0 || strcmp(m->calibrated, g->calibrated) != 0) {
        snprintf(err, errlen, "%s: the updated models file does not hold the new '%s'", path, g->name);
        ok = false;
      }
      skv_gpus_free(&next);
    }
  }
  if (ok) ok = skv_atomic_rename(tmp, path, err, errlen);
  else remove(tmp);
  if (ok) *replaced = found;
  return ok;
}
