/* json.c — streaming JSON writer. */
#include "out/json.h"

#include <inttypes.h>
#include <math.h>

void skv_json_init(skv_json *j, FILE *f, int indent) {
  j->f = f;
  j->depth = 0;
  j->indent = indent;
  j->need_comma[0] = false;
  j->after_key = false;
}

static void newline(skv_json *j) {
  if (!j->indent) return;
  fputc('\n', j->f);
  for (int i = 0; i < j->depth * j->indent; i++) fputc(' ', j->f);
}

/* Before any value: a comma if a sibling came before, then a newline, unless
 * the value follows its key. */
static void before_value(skv_json *j) {
  if (j->after_key) {
    j->after_key = false;
    return;
  }
  if (j->depth > 0) {
    if (j->need_comma[j->depth]) fputc(',', j->f);
    newline(j);
  }
  j->need_comma[j->depth] = true;
}

static void json_open(skv_json *j, char c) {
  before_value(j);
  fputc(c, j->f);
  if (j->depth + 1 < SKV_JSON_MAX_DEPTH) j->depth++;
  j->need_comma[j->depth] = false;
}

static void json_close(skv_json *j, char c) {
  bool had = j->need_comma[j->depth];
  if (j->depth > 0) j->depth--;
  if (had) newline(j);
  fputc(c, j->f);
  if (j->depth == 0) fputc('\n', j->f);
}

void skv_json_object_begin(skv_json *j) { json_open(j, '{'); }
void skv_json_object_end(skv_json *j) { json_close(j, '}'); }
void skv_json_array_begin(skv_json *j) { json_open(j, '['); }
void skv_json_array_end(skv_json *j) { json_close(j, ']'); }

void skv_json_escape(FILE *f, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c == '\n') fputs("\\n", f);
    else if (c == '\t') fputs("\\t", f);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
}

void skv_json_key(skv_json *j, const char *key) {
  before_value(j);
  fputc('"', j->f);
  skv_json_escape(j->f, key);
  fputs(j->indent ? "\": " : "\":", j->f);
  j->after_key = true;
}

void skv_json_string(skv_json *j, const char *s) {
  before_value(j);
  fputc('"', j->f);
  skv_json_escape(j->f, s);
  fputc('"', j->f);
}

void skv_json_int(skv_json *j, int64_t v) {
  before_value(j);
  fprintf(j->f, "%" PRId64, v);
}

void skv_json_double(skv_json *j, double v) {
  before_value(j);
  if (isfinite(v)) fprintf(j->f, "%.17g", v);
  else fputs("null", j->f);
}

void skv_json_bool(skv_json *j, bool v) {
  before_value(j);
  fputs(v ? "true" : "false", j->f);
}

void skv_json_null(skv_json *j) {
  before_value(j);
  fputs("null", j->f);
}

void skv_json_kv_string(skv_json *j, const char *key, const char *v) {
  skv_json_key(j, key);
  skv_json_string(j, v);
}
void skv_json_kv_int(skv_json *j, const char *key, int64_t v) {
  skv_json_key(j, key);
  skv_json_int(j, v);
}
void skv_json_kv_double(skv_json *j, const char *key, double v) {
  skv_json_key(j, key);
  skv_json_double(j, v);
}
void skv_json_kv_bool(skv_json *j, const char *key, bool v) {
  skv_json_key(j, key);
  skv_json_bool(j, v);
}
