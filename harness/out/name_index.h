/* name_index.h — strings to the index of their first occurrence, by open addressing on FNV-1a: constant time per lookup, for results.csv's configurations and a suite's names. */
#ifndef SKV_NAME_INDEX_H
#define SKV_NAME_INDEX_H

#include <stdbool.h>
#include <stdint.h>

/* The strings are not copied: each added pointer must stay valid while the index is used. */
typedef struct skv_name_index {
  const char **names; /* [cap] the slot's string, NULL when empty */
  int64_t *at;        /* [cap] the index added with it */
  int64_t cap, n;     /* cap a power of two, kept at least twice n */
} skv_name_index;

/* Add name with index at unless the name is there already (the first index stays); false when
 * out of memory. */
bool skv_name_index_add(skv_name_index *x, const char *name, int64_t at);
/* The index the name was first added with, or -1. */
int64_t skv_name_index_find(const skv_name_index *x, const char *name);
void skv_name_index_free(skv_name_index *x);

#endif /* SKV_NAME_INDEX_H */
