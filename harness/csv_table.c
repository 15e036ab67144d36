/* csv_table.c — a minimal CSV reader for the lab's own results files. */
#include "csv_table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char **split(char *line, int32_t *n) {
  int32_t k = 1;
  for (char *p = line; *p; p++) k += *p == ',';
  char **f = malloc(sizeof *f * (size_t)k);
  if (!f) return NULL;
  int32_t i = 0;
  char *start = line;
  for (char *p = line;; p++) {
    if (*p == ',' || *p == '\0') {
      const bool end = *p == '\0';
      *p = '\0';
      f[i] = strdup(start);
      if (!f[i]) {
        while (i-- > 0) free(f[i]);
        free(f);
        return NULL;
      }
      i++;
      start = p + 1;
      if (end) break;
    }
  }
  *n = i;
  return f;
}

static void free_fields(char **f, int32_t n) {
  for (int32_t i = 0; i < n; i++) free(f[i]);
  free(f);
}

bool skv_csv_load(const char *path, skv_csv_table *t, char *err, size_t errlen) {
  memset(t, 0, sizeof *t);
  FILE *fp = fopen(path, "r");
  if (!fp) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return false;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t k;
  int64_t lineno = 0, rcap = 0;
  bool ok = true;
  while (ok && (k = getline(&line, &cap, fp)) > 0) {
    lineno++;
    while (k > 0 && (line[k - 1] == '\n' || line[k - 1] == '\r')) line[--k] = '\0';
    int32_t n = 0;
    char **f = split(line, &n);
    if (!f) {
      snprintf(err, errlen, "%s: out of memory", path);
      ok = false;
    } else if (!t->header) {
      t->header = f;
      t->ncols = n;
    } else if (n != t->ncols) {
      snprintf(err, errlen, "%s:%lld: %d fields, the header has %d", path, (long long)lineno, n, t->ncols);
      free_fields(f, n);
      ok = false;
    } else {
      if (t->nrows == rcap) {
        rcap = rcap ? 2 * rcap : 64;
        char ***rows = realloc(t->rows, sizeof *rows * (size_t)rcap);
        if (!rows) {
          free_fields(f, n);
          snprintf(err, errlen, "%s: out of memory", path);
          ok = false;
          break;
        }
        t->rows = rows;
      }
      t->rows[t->nrows++] = f;
    }
  }
  free(line);
  fclose(fp);
  if (ok && !t->header) {
    snprintf(err, errlen, "%s: empty file", path);
    ok = false;
  }
  if (!ok) skv_csv_free(t);
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
