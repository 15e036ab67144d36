/* name_index.c — an open-addressing string index (linear probing, FNV-1a 64). */
#include "out/name_index.h"

#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
  return h;
}

/* The slot holding name, or the empty slot where it would go. */
static int64_t slot(const char *const *names, int64_t cap, const char *name) {
  int64_t i = (int64_t)(fnv1a(name) & (uint64_t)(cap - 1));
  while (names[i] && strcmp(names[i], name) != 0) i = (i + 1) & (cap - 1);
  return i;
}

static bool grow(skv_name_index *x) {
  const int64_t cap = x->cap ? 2 * x->cap : 64;
  const char **names = calloc((size_t)cap, sizeof *names);
  int64_t *at = malloc(sizeof *at * (size_t)cap);
  if (!names || !at) {
    free(names);
    free(at);
    return false;
  }
  for (int64_t i = 0; i < x->cap; i++)
    if (x->names[i]) {
      const int64_t j = slot(names, cap, x->names[i]);
      names[j] = x->names[i], at[j] = x->at[i];
    }
  free(x->names);
  free(x->at);
  x->names = names, x->at = at, x->cap = cap;
  return true;
}

bool skv_name_index_add(skv_name_index *x, const char *name, int64_t at) {
  if (2 * (x->n + 1) > x->cap && !grow(x)) return false;
  const int64_t i = slot(x->names, x->cap, name);
  if (x->names[i]) return true;
  x->names[i] = name, x->at[i] = at, x->n++;
  return true;
}

int64_t skv_name_index_find(const skv_name_index *x, const char *name) {
  if (x->cap == 0) return -1;
  const int64_t i = slot(x->names, x->cap, name);
  return x->names[i] ? x->at[i] : -1;
}

void skv_name_index_free(skv_name_index *x) {
  free(x->names);
  free(x->at);
  memset(x, 0, sizeof *x);
}
