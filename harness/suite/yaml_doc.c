/* yaml_doc.c — loading one YAML document with positions, and the typed readers every harness file parser shares. */
#include "suite/yaml_doc.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libyaml marks are 0-based; messages are 1-based like a compiler's. */
static int32_t mark_num(size_t v) { return v >= (size_t)INT32_MAX ? INT32_MAX : (int32_t)v + 1; }

int32_t skv_ydoc_line(const yaml_node_t *n) { return mark_num(n->start_mark.line); }
int32_t skv_ydoc_col(const yaml_node_t *n) { return mark_num(n->start_mark.column); }

static void fail_pos(skv_ydoc *d, int32_t line, int32_t col, const char *msg) {
  if (d->errlen == 0 || d->err[0] != '\0') return;
  snprintf(d->err, d->errlen, "%s:%d:%d: %s", d->path, line, col, msg);
}

/* Text for a message: printable ASCII, shortened to 40 characters. */
#define QUOTE_MAX 40
static void printable(const unsigned char *text, size_t n, char *buf, size_t len) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 4 < len; i++) {
    if (o == QUOTE_MAX) {
      memcpy(buf + o, "...", 3);
      o += 3;
      break;
    }
    buf[o++] = (text[i] >= 0x20 && text[i] < 0x7f) ? (char)text[i] : '?';
  }
  buf[o] = '\0';
}

bool skv_ydoc_fail(skv_ydoc *d, const yaml_node_t *at, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fail_pos(d, skv_ydoc_line(at), skv_ydoc_col(at), msg);
  return false;
}

/* ---- Loading ---- */

static uint64_t fnv1a64(const unsigned char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

/* libyaml's reader reports a byte offset (bad UTF-8, a control character)
 * but no mark: count lines up to it. */
static void offset_pos(const unsigned char *buf, size_t off, int32_t *line, int32_t *col) {
  size_t l = 0, c = 0;
  for (size_t i = 0; i < off; i++) {
    if (buf[i] == '\n') l++, c = 0;
    else c++;
  }
  *line = mark_num(l);
  *col = mark_num(c);
}

static void syntax_error(skv_ydoc *d, const yaml_parser_t *p, const unsigned char *buf, size_t n) {
  char msg[512];
  int32_t line = mark_num(p->problem_mark.line), col = mark_num(p->problem_mark.column);
  const char *problem = p->problem ? p->problem : "unknown error";
  if (p->error == YAML_MEMORY_ERROR) {
    snprintf(msg, sizeof msg, "out of memory while parsing");
    line = col = 1;
  } else if (p->error == YAML_READER_ERROR) {
    offset_pos(buf, p->problem_offset < n ? p->problem_offset : n, &line, &col);
    snprintf(msg, sizeof msg, "not readable as YAML text: %s", problem);
  } else if (p->context) {
    snprintf(msg, sizeof msg, "YAML syntax error: %s (%s at %d:%d)", problem, p->context,
             mark_num(p->context_mark.line), mark_num(p->context_mark.column));
  } else {
    snprintf(msg, sizeof msg, "YAML syntax error: %s", problem);
  }
  fail_pos(d, line, col, msg);
}

/* Tags are not part of the harness formats: a !!float or !foo would otherwise
 * be ignored without a word. (!!str, !!seq and !!map on nodes of their own
 * kind are what libyaml records for untagged nodes: those pass.) */
static bool check_tags(skv_ydoc *d) {
  for (yaml_node_t *n = d->doc.nodes.start; n < d->doc.nodes.top; n++) {
    const char *want = n->type == YAML_SCALAR_NODE     ? YAML_DEFAULT_SCALAR_TAG
                       : n->type == YAML_SEQUENCE_NODE ? YAML_DEFAULT_SEQUENCE_TAG
                                                       : YAML_DEFAULT_MAPPING_TAG;
    if (n->tag && strcmp((const char *)n->tag, want) != 0) {
      char tag[48];
      printable(n->tag, strlen((const char *)n->tag), tag, sizeof tag);
      return skv_ydoc_fail(d, n, "tag '%s': tags are not part of this format", tag);
    }
  }
  return true;
}

/* A second document would be silently ignored by a one-document reader. */
static bool no_second_document(skv_ydoc *d, yaml_parser_t *p, const unsigned char *buf, size_t n) {
  yaml_document_t extra;
  if (!yaml_parser_load(p, &extra)) {
    syntax_error(d, p, buf, n);
    return false;
  }
  const bool more = yaml_document_get_root_node(&extra) != NULL;
  if (more)
    fail_pos(d, mark_num(extra.start_mark.line), mark_num(extra.start_mark.column),
             "a second YAML document starts here; the file must hold exactly one");
  yaml_document_delete(&extra);
  return !more;
}

/* Nesting deeper than SKV_YDOC_MAX_DEPTH, found in the event stream (linear
 * time: it stops at the first collection past the bound) before the loader
 * builds nodes. A syntax error ends the scan without a message: the loader
 * meets the same error at the same event, never deeper than the bound, and
 * reports it. */
static bool depth_ok(skv_ydoc *d, const unsigned char *buf, size_t n) {
  yaml_parser_t p;
  if (!yaml_parser_initialize(&p)) {
    fail_pos(d, 1, 1, "out of memory while parsing");
    return false;
  }
  yaml_parser_set_input_string(&p, buf, n);
  int32_t depth = 0;
  bool ok = true, more = true;
  while (ok && more) {
    yaml_event_t e;
    if (!yaml_parser_parse(&p, &e)) break;
    if (e.type == YAML_SEQUENCE_START_EVENT || e.type == YAML_MAPPING_START_EVENT) {
      if (++depth > SKV_YDOC_MAX_DEPTH) {
        char msg[128];
        snprintf(msg, sizeof msg, "lists and mappings nested deeper than %d levels", SKV_YDOC_MAX_DEPTH);
        fail_pos(d, mark_num(e.start_mark.line), mark_num(e.start_mark.column), msg);
        ok = false;
      }
    } else if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
      depth--;
    }
    more = e.type != YAML_STREAM_END_EVENT;
    yaml_event_delete(&e);
  }
  yaml_parser_delete(&p);
  return ok;
}

bool skv_ydoc_load(skv_ydoc *d, const char *path, uint64_t *hash, char *err, size_t errlen) {
  memset(d, 0, sizeof *d);
  d->path = path;
  d->err = err;
  d->errlen = errlen;
  if (errlen > 0) err[0] = '\0';
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    return false;
  }
  /* One byte more than allowed tells an oversized file from a full one. */
  unsigned char *buf = malloc((size_t)SKV_YDOC_MAX_BYTES + 1);
  if (!buf) {
    fclose(f);
    snprintf(err, errlen, "%s: out of memory", path);
    return false;
  }
  size_t n = fread(buf, 1, (size_t)SKV_YDOC_MAX_BYTES + 1, f);
  const bool read_failed = ferror(f) != 0;
  fclose(f);
  if (read_failed || n > (size_t)SKV_YDOC_MAX_BYTES) {
    if (read_failed) snprintf(err, errlen, "%s: cannot read", path);
    else snprintf(err, errlen, "%s: larger than %d bytes, the most a harness YAML file may hold", path,
                  SKV_YDOC_MAX_BYTES);
    free(buf);
    return false;
  }
  if (hash) *hash = fnv1a64(buf, n);
  if (!depth_ok(d, buf, n)) {
    free(buf);
    return false;
  }

  yaml_parser_t p;
  if (!yaml_parser_initialize(&p)) {
    free(buf);
    snprintf(err, errlen, "%s: out of memory", path);
    return false;
  }
  yaml_parser_set_input_string(&p, buf, n);
  bool ok = false;
  if (!yaml_parser_load(&p, &d->doc)) {
    syntax_error(d, &p, buf, n); /* libyaml deleted the partial document */
  } else {
    d->loaded = true;
    if (!yaml_document_get_root_node(&d->doc)) fail_pos(d, 1, 1, "no YAML document in the file");
    else ok = check_tags(d) && no_second_document(d, &p, buf, n);
  }
  yaml_parser_delete(&p);
  free(buf); /* the document holds copies of every scalar */
  if (!ok) skv_ydoc_free(d);
  return ok;
}

void skv_ydoc_free(skv_ydoc *d) {
  if (d->loaded) yaml_document_delete(&d->doc);
  d->loaded = false;
}

yaml_node_t *skv_ydoc_root(skv_ydoc *d) { return yaml_document_get_root_node(&d->doc); }

/* ---- Scalars ---- */

typedef enum scalar_type { S_NULL, S_BOOL, S_INT, S_FLOAT, S_STRING } scalar_type;

static const char *sval(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

/* A scalar whose text is exactly name (a quoted "\0" cannot pass as a prefix). */
static bool scalar_is(const yaml_node_t *n, const char *name) {
  return n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(name) && strcmp(sval(n), name) == 0;
}

static bool in_words(const char *v, const char *const *words) {
  for (; *words; words++)
    if (strcmp(v, *words) == 0) return true;
  return false;
}

static const char *const true_words[] = {"true", "True", "TRUE", "yes", "Yes", "YES", NULL};
static const char *const false_words[] = {"false", "False", "FALSE", "no", "No", "NO", NULL};
/* Bools of YAML 1.1 that a key of another type must not take for a word. */
static const char *const other_bool_words[] = {"on", "On", "ON", "off", "Off", "OFF", NULL};
static const char *const null_words[] = {"", "~", "null", "Null", "NULL", NULL};
static const char *const special_floats[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf",
                                             "-.INF", ".nan", ".NaN", ".NAN", NULL};

static const char *digits(const char *v) {
  while (*v >= '0' && *v <= '9') v++;
  return v;
}

/* YAML 1.2 core schema: [-+]?[0-9]+ */
static bool match_int(const char *v) {
  if (*v == '-' || *v == '+') v++;
  const char *e = digits(v);
  return e != v && *e == '\0';
}

/* YAML 1.2 core schema: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool match_float(const char *v) {
  if (in_words(v, special_floats)) return true;
  if (*v == '-' || *v == '+') v++;
  const char *e = digits(v);
  bool mantissa = e != v;
  if (*e == '.') {
    const char *f = digits(e + 1);
    mantissa = mantissa || f != e + 1;
    e = f;
  }
  if (!mantissa) return false;
  if (*e == 'e' || *e == 'E') {
    e++;
    if (*e == '-' || *e == '+') e++;
    const char *x = digits(e);
    if (x == e) return false;
    e = x;
  }
  return *e == '\0';
}

static scalar_type classify(const yaml_node_t *n) {
  if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return S_STRING;
  const char *v = sval(n);
  if (in_words(v, null_words)) return S_NULL;
  if (in_words(v, true_words) || in_words(v, false_words) || in_words(v, other_bool_words)) return S_BOOL;
  if (match_int(v)) return S_INT;
  if (match_float(v)) return S_FLOAT;
  return S_STRING;
}

static void quote(const yaml_node_t *n, char *buf, size_t len) {
  printable(n->data.scalar.value, n->data.scalar.length, buf, len);
}

void skv_ydoc_describe(const yaml_node_t *n, char *buf, size_t len) {
  if (n->type == YAML_MAPPING_NODE) {
    snprintf(buf, len, "a mapping");
    return;
  }
  if (n->type == YAML_SEQUENCE_NODE) {
    snprintf(buf, len, "a list");
    return;
  }
  char q[48];
  quote(n, q, sizeof q);
  switch (classify(n)) {
  case S_NULL: snprintf(buf, len, "null"); break;
  case S_BOOL: snprintf(buf, len, "the bool '%s'", q); break;
  case S_INT: snprintf(buf, len, "the integer %s", q); break;
  case S_FLOAT: snprintf(buf, len, "the float %s", q); break;
  case S_STRING: snprintf(buf, len, "the string '%s'", q); break;
  }
}

static bool is_scalar(const yaml_node_t *n, scalar_type t) { return n->type == YAML_SCALAR_NODE && classify(n) == t; }

static void range_text(int64_t min, int64_t max, char *buf, size_t len) {
  if (max == INT64_MAX) snprintf(buf, len, ">= %lld", (long long)min);
  else snprintf(buf, len, "%lld..%lld", (long long)min, (long long)max);
}

bool skv_ydoc_int(skv_ydoc *d, const yaml_node_t *n, const char *what, int64_t min, int64_t max, int64_t *out) {
  char range[64], got[80];
  range_text(min, max, range, sizeof range);
  if (!is_scalar(n, S_INT)) {
    skv_ydoc_describe(n, got, sizeof got);
    return skv_ydoc_fail(d, n, "%s: expected an integer %s, got %s", what, range, got);
  }
  errno = 0;
  const long long v = strtoll(sval(n), NULL, 10);
  if (errno == ERANGE || v < min || v > max) {
    quote(n, got, sizeof got);
    return skv_ydoc_fail(d, n, "%s: %s is out of range (allowed: %s)", what, got, range);
  }
  *out = v;
  return true;
}

bool skv_ydoc_u64(skv_ydoc *d, const yaml_node_t *n, const char *what, uint64_t *out) {
  char got[80];
  if (!is_scalar(n, S_INT)) {
    skv_ydoc_describe(n, got, sizeof got);
    return skv_ydoc_fail(d, n, "%s: expected an integer >= 0, got %s", what, got);
  }
  errno = 0;
  const unsigned long long v = strtoull(sval(n), NULL, 10);
  if (sval(n)[0] == '-' || errno == ERANGE) {
    quote(n, got, sizeof got);
    return skv_ydoc_fail(d, n, "%s: %s is out of range (allowed: 0..18446744073709551615)", what, got);
  }
  *out = v;
  return true;
}

bool skv_ydoc_float(skv_ydoc *d, const yaml_node_t *n, const char *what, bool zero_ok, double *out) {
  char got[80];
  const char *allowed = zero_ok ? "a finite number >= 0" : "a finite number > 0";
  if (!is_scalar(n, S_INT) && !is_scalar(n, S_FLOAT)) {
    skv_ydoc_describe(n, got, sizeof got);
    return skv_ydoc_fail(d, n, "%s: expected %s, got %s", what, allowed, got);
  }
  /* .inf and .nan are YAML floats strtod does not read; both are out of range. */
  const double v = in_words(sval(n), special_floats) ? NAN : strtod(sval(n), NULL);
  if (!isfinite(v) || v < 0 || (v == 0 && !zero_ok)) {
    quote(n, got, sizeof got);
    return skv_ydoc_fail(d, n, "%s: %s is out of range (allowed: %s)", what, got, allowed);
  }
  *out = v;
  return true;
}

bool skv_ydoc_bool(skv_ydoc *d, const yaml_node_t *n, const char *what, bool *out) {
  const bool plain = n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
  if (plain && in_words(sval(n), true_words)) *out = true;
  else if (plain && in_words(sval(n), false_words)) *out = false;
  else {
    char got[80];
    skv_ydoc_describe(n, got, sizeof got);
    return skv_ydoc_fail(d, n, "%s: expected a bool (true, false, yes, no), got %s", what, got);
  }
  return true;
}

bool skv_ydoc_string(skv_ydoc *d, const yaml_node_t *n, const char *what, const char **out) {
  char got[80];
  if (!is_scalar(n, S_STRING)) {
    skv_ydoc_describe(n, got, sizeof got);
    return skv_ydoc_fail(d, n, "%s: expected a string, got %s%s", what, got,
                         n->type == YAML_SCALAR_NODE ? " (quote it to mean the text)" : "");
  }
  if (strlen(sval(n)) != n->data.scalar.length)
    return skv_ydoc_fail(d, n, "%s: the string holds a NUL character", what);
  *out = sval(n);
  return true;
}

static void join(const char *const *names, int32_t n, char *buf, size_t len) {
  size_t o = 0;
  buf[0] = '\0';
  for (int32_t i = 0; i < n && o < len; i++) {
    int k = snprintf(buf + o, len - o, "%s%s", i ? ", " : "", names[i]);
    if (k < 0) break;
    o += (size_t)k;
  }
}

bool skv_ydoc_enum(skv_ydoc *d, const yaml_node_t *n, const char *what, const char *const *names, int32_t count,
                   int32_t *out) {
  char allowed[512], got[80];
  for (int32_t i = 0; i < count; i++) {
    if (scalar_is(n, names[i])) {
      *out = i;
      return true;
    }
  }
  join(names, count, allowed, sizeof allowed);
  if (n->type != YAML_SCALAR_NODE) {
    skv_ydoc_describe(n, got, sizeof got);
    return skv_ydoc_fail(d, n, "%s: expected one of %s, got %s", what, allowed, got);
  }
  quote(n, got, sizeof got);
  return skv_ydoc_fail(d, n, "unknown %s '%s' (allowed: %s)", what, got, allowed);
}

bool skv_ydoc_expect(skv_ydoc *d, const yaml_node_t *n, yaml_node_type_t type, const char *what) {
  if (n->type != type) {
    char got[80];
    skv_ydoc_describe(n, got, sizeof got);
    return skv_ydoc_fail(d, n, "%s: expected %s, got %s", what, type == YAML_MAPPING_NODE ? "a mapping" : "a list",
                         got);
  }
  if (type == YAML_SEQUENCE_NODE && skv_ydoc_count(n) == 0)
    return skv_ydoc_fail(d, n, "%s: empty list (give at least one value)", what);
  return true;
}

int32_t skv_ydoc_count(const yaml_node_t *n) {
  return n->type == YAML_SEQUENCE_NODE ? (int32_t)(n->data.sequence.items.top - n->data.sequence.items.start) : 1;
}

yaml_node_t *skv_ydoc_item(skv_ydoc *d, yaml_node_t *n, int32_t i) {
  return n->type == YAML_SEQUENCE_NODE ? yaml_document_get_node(&d->doc, n->data.sequence.items.start[i]) : n;
}

/* ---- Mappings ---- */

/* Edit distance of two short words, for "did you mean" on a typo'd key. */
#define WORD_MAX 64
static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b), row[WORD_MAX + 1];
  if (la > WORD_MAX || lb > WORD_MAX) return (size_t)-1;
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      const size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

static bool unknown_key(skv_ydoc *d, const yaml_node_t *k, const char *what, const char *const *names, int32_t n) {
  char q[48], allowed[512];
  quote(k, q, sizeof q);
  int32_t best = -1;
  size_t best_d = 3; /* two edits at most: a dropped, doubled or swapped letter */
  for (int32_t i = 0; i < n; i++) {
    const size_t e = edit_distance(q, names[i]);
    if (e < best_d && e < strlen(names[i])) best = i, best_d = e;
  }
  if (best >= 0) return skv_ydoc_fail(d, k, "unknown key '%s' in %s (did you mean '%s'?)", q, what, names[best]);
  join(names, n, allowed, sizeof allowed);
  return skv_ydoc_fail(d, k, "unknown key '%s' in %s (allowed: %s)", q, what, allowed);
}

bool skv_ydoc_keys(skv_ydoc *d, yaml_node_t *map, const char *what, const char *const *names, int32_t n,
                   skv_ykv *found) {
  if (!skv_ydoc_expect(d, map, YAML_MAPPING_NODE, what)) return false;
  memset(found, 0, (size_t)n * sizeof *found);
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(&d->doc, p->key), *v = yaml_document_get_node(&d->doc, p->value);
    if (k->type != YAML_SCALAR_NODE) {
      char got[80];
      skv_ydoc_describe(k, got, sizeof got);
      return skv_ydoc_fail(d, k, "%s: a key must be a name, got %s", what, got);
    }
    const int32_t i = skv_ydoc_key_index(d, p, names, n);
    if (i < 0) return unknown_key(d, k, what, names, n);
    if (found[i].key)
      return skv_ydoc_fail(d, k, "duplicate key '%s' in %s (first at %d:%d)", names[i], what,
                           skv_ydoc_line(found[i].key), skv_ydoc_col(found[i].key));
    found[i].key = k;
    found[i].value = v;
  }
  return true;
}

int32_t skv_ydoc_key_index(skv_ydoc *d, const yaml_node_pair_t *p, const char *const *names, int32_t n) {
  const yaml_node_t *k = yaml_document_get_node(&d->doc, p->key);
  for (int32_t i = 0; i < n; i++)
    if (scalar_is(k, names[i])) return i;
  return -1;
}

bool skv_ydoc_require(skv_ydoc *d, const yaml_node_t *map, const char *what, const skv_ykv *found, const char *name) {
  if (found->key) return true;
  return skv_ydoc_fail(d, map, "missing key '%s' in %s", name, what);
}
