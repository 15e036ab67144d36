/* csv_table.h — read a results.csv back as a table of strings (no quoting: the writer keeps commas out of fields). */
#ifndef SKV_CSV_TABLE_H
#define SKV_CSV_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct skv_csv_table {
  int32_t ncols;
  char **header;   /* [ncols] */
  int64_t nrows;
  char ***rows;    /* [nrows][ncols] */
} skv_csv_table;

/* Load path; every row must have the header's field count. */
bool skv_csv_load(const char *path, skv_csv_table *t, char *err, size_t errlen);
void skv_csv_free(skv_csv_table *t);
/* Column index by name, -1 if absent. */
int32_t skv_csv_col(const skv_csv_table *t, const char *name);
/* Field of row r in column c ("" if c < 0). */
const char *skv_csv_get(const skv_csv_table *t, int64_t r, int32_t c);

#endif /* SKV_CSV_TABLE_H */
