/* csv.c — RFC 4180 fields: quoting on write, a reader for the lab's own CSV files. */
#include "out/csv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

bool skv_csv_write_field(FILE *f, const char *s) {
  if (strpbrk(s, ",\"\r\n") == NULL) return fputs(s, f) >= 0;
  bool ok = fputc('"', f) != EOF;
  for (const char *p = s; *p && ok; p++) ok = (*p != '"' || fputc('"', f) != EOF) && fputc(*p, f) != EOF;
  return ok && fputc('"', f) != EOF;
}

/* A growing list of pointers (a record's fields, or the table's records). */
typedef struct ptrs {
  void **v;
  int64_t n, cap;
} ptrs;

static bool ptrs_push(ptrs *p, void *x) {
  if (p->n == p->cap) {
    const int64_t cap = p->cap ? 2 * p->cap : 16;
    void **v = realloc(p->v, sizeof *v * (size_t)cap);
    if (!v) return false;
    p->v = v;
    p->cap = cap;
  }
  p->v[p->n++] = x;
  return true;
}

static void free_fields(char **f, int64_t n) {
  for (int64_t i = 0; i < n; i++) free(f[i]);
  free(f);
}

/* The parser's state between characters: the field being read, the record it belongs to. */
typedef struct reader {
  char *field;
  size_t flen, fcap;
  ptrs record;  /* char * fields */
  bool quoted;  /* the current field began with a quote */
  bool inside;  /* between its opening and closing quotes */
  bool touched; /* the record has a character or a quote (a blank line does not) */
} reader;

static bool field_putc(reader *r, char c) {
  if (r->flen + 1 >= r->fcap) {
    const size_t cap = r->fcap ? 2 * r->fcap : 64;
    char *f = realloc(r->field, cap);
    if (!f) return false;
    r->field = f;
    r->fcap = cap;
  }
  r->field[r->flen++] = c;
  return true;
}

static bool field_end(reader *r) {
  char *f = malloc(r->flen + 1);
  if (!f) return false;
  if (r->flen) memcpy(f, r->field, r->flen);
  f[r->flen] = '\0';
  r->flen = 0;
  r->quoted = r->inside = false;
  if (!ptrs_push(&r->record, f)) {
    free(f);
    return false;
  }
  return true;
}

/* Ends the record in r->record: the header, or a row with the header's field count. A blank line
 * (nothing read since the last record) is no record. */
static bool end_record(reader *r, ptrs *rows, skv_csv_table *t, const char *name, int64_t line, char *err,
                       size_t errlen) {
  if (!r->touched) return true;
  if (!field_end(r)) {
    snprintf(err, errlen, "%s: out of memory", name);
    return false;
  }
  char **f = (char **)r->record.v;
  const int64_t n = r->record.n;
  r->record = (ptrs){0};
  r->touched = false;
  if (!t->header) {
    t->header = f;
    t->ncols = (int32_t)n;
    return true;
  }
  if (n != t->ncols) {
    snprintf(err, errlen, "%s:%lld: %lld fields, the header has %d", name, (long long)line, (long long)n, t->ncols);
  } else if (!ptrs_push(rows, f)) {
    snprintf(err, errlen, "%s: out of memory", name);
  } else {
    return true;
  }
  free_fields(f, n);
  return false;
}

bool skv_csv_parse(const char *text, size_t len, const char *name, skv_csv_table *t, char *err, size_t errlen) {
  memset(t, 0, sizeof *t);
  reader r;
  memset(&r, 0, sizeof r);
  ptrs rows = {0};
  int64_t line = 1, record_line = 1;
  bool ok = true, oom = false;
  for (size_t i = 0; i < len && ok; i++) {
    const char c = text[i];
    if (!r.touched) record_line = line;
    if (c == '\n') line++;
    if (r.inside) { /* a quoted field: everything but a quote is text; "" is one quote */
      if (c != '"') oom = !field_putc(&r, c);
      else if (i + 1 < len && text[i + 1] == '"') oom = !field_putc(&r, '"'), i++;
      else r.inside = false;
    } else if (c == '"' && r.flen == 0 && !r.quoted) {
      r.quoted = r.inside = r.touched = true;
    } else if (c == ',') {
      r.touched = true;
      oom = !field_end(&r);
    } else if (c == '\n' || (c == '\r' && i + 1 < len && text[i + 1] == '\n')) {
      if (c == '\r') i++, line++;
      ok = end_record(&r, &rows, t, name, record_line, err, errlen);
    } else if (r.quoted || c == '"') {
      snprintf(err, errlen, "%s:%lld: a quote inside an unquoted field, or text after a closing quote", name,
               (long long)line);
      ok = false;
    } else {
      r.touched = true;
      oom = !field_putc(&r, c);
    }
    if (oom) {
      snprintf(err, errlen, "%s: out of memory", name);
      ok = false;
    }
  }
  if (ok && r.inside) {
    snprintf(err, errlen, "%s:%lld: a quoted field is not closed", name, (long long)record_line);
    ok = false;
  }
  if (ok) ok = end_record(&r, &rows, t, name, record_line, err, errlen);
  free_fields((char **)r.record.v, r.record.n);
  free(r.field);
  t->rows = (char ***)rows.v;
  t->nrows = rows.n;
  if (ok && !t->header) {
    snprintf(err, errlen, "%s: empty file", name);
    ok = false;
  }
  if (!ok) skv_csv_free(t);
  return ok;
}

bool skv_csv_load(const char *path, skv_csv_table *t, char *err, size_t errlen) {
  memset(t, 0, sizeof *t);
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return false;
  }
  char *text = NULL;
  size_t len = 0, cap = 0;
  bool ok = true;
  for (;;) {
    if (len + 65536 > cap) {
      cap = cap ? 2 * cap : 1 << 17;
      char *p = realloc(text, cap);
      if (!p) {
        snprintf(err, errlen, "%s: out of memory", path);
        ok = false;
        break;
      }
      text = p;
    }
    const size_t k = fread(text + len, 1, cap - len, fp);
    len += k;
    if (k == 0) {
      if (ferror(fp)) {
        snprintf(err, errlen, "%s: read error", path);
        ok = false;
      }
      break;
    }
  }
  fclose(fp);
  if (ok) ok = skv_csv_parse(text, len, path, t, err, errlen);
  free(text);
  return ok;
}

void skv_csv_free(skv_csv_table *t) {
  for (int64_t r = 0; r < t->nrows; r++) free_fields(t->rows[r], t->ncols);
  free(t->rows);
  if (t->header) free_fields(t->header, t->ncols);
  memset(t, 0, sizeof *t);
}

int32_t skv_csv_col(const skv_csv_table *t, const char *name) {
  for (int32_t c = 0; c < t->ncols; c++)
    if (strcmp(t->header[c], name) == 0) return c;
  return -1;
}

const char *skv_csv_get(const skv_csv_table *t, int64_t r, int32_t c) { return c < 0 ? "" : t->rows[r][c]; }

double skv_csv_number(const char *s) {
  if (!s || !s[0]) return NAN;
  char *end;
  const double v = strtod(s, &end);
  return *end == '\0' ? v : NAN;
}

double skv_csv_num(const skv_csv_table *t, int64_t r, int32_t c) { return skv_csv_number(skv_csv_get(t, r, c)); }
