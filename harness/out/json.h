/* json.h — a small streaming JSON writer (objects, arrays, numbers, strings) to a FILE. */
#ifndef SKV_JSON_H
#define SKV_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define SKV_JSON_MAX_DEPTH 32

/* Writer state: commas and indentation are handled here, so callers only say
 * what comes next. indent 0 writes one line. */
typedef struct skv_json {
  FILE *f;
  int depth;
  int indent;
  bool need_comma[SKV_JSON_MAX_DEPTH];
  bool after_key;
} skv_json;

void skv_json_init(skv_json *j, FILE *f, int indent);
void skv_json_object_begin(skv_json *j);
void skv_json_object_end(skv_json *j);
void skv_json_array_begin(skv_json *j);
void skv_json_array_end(skv_json *j);
void skv_json_key(skv_json *j, const char *key);
void skv_json_string(skv_json *j, const char *s);
void skv_json_int(skv_json *j, int64_t v);
/* Non-finite numbers have no JSON form: they are written as null. */
void skv_json_double(skv_json *j, double v);
void skv_json_bool(skv_json *j, bool v);
void skv_json_null(skv_json *j);

/* key + value shorthands */
void skv_json_kv_string(skv_json *j, const char *key, const char *v);
void skv_json_kv_int(skv_json *j, const char *key, int64_t v);
void skv_json_kv_double(skv_json *j, const char *key, double v);
void skv_json_kv_bool(skv_json *j, const char *key, bool v);

/* Write s with JSON escapes (no quotes). */
void skv_json_escape(FILE *f, const char *s);

#endif /* SKV_JSON_H */
