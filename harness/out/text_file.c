/* text_file.c — reading a whole file (text_file.h). */
#include "out/text_file.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

char *skv_read_text_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n + 65536 + 1 > cap) {
      char *b = realloc(buf, cap = 2 * cap + 65536 + 1);
      if (!b) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = b;
    }
    const size_t k = fread(buf + n, 1, cap - n - 1, f);
    n += k;
    if (k == 0) break;
  }
  const bool bad = ferror(f) != 0;
  fclose(f);
  if (bad) {
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}
