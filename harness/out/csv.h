/* csv.h — the lab's CSV files (RFC 4180): fields quoted on write where they need it, read back as a table of strings. */
#ifndef SKV_CSV_H
#define SKV_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Write one field: as is, or, when it holds a comma, a double quote, CR or LF, between double
 * quotes with each inner quote doubled (RFC 4180 section 2, rules 6 and 7). Returns false on a
 * write error. */
bool skv_csv_write_field(FILE *f, const char *s);

typedef struct skv_csv_table {
  int32_t ncols;
  char **header;   /* [ncols] */
  int64_t nrows;
  char ***rows;    /* [nrows][ncols], unquoted */
} skv_csv_table;

/* Parse text[0..len) (records end with LF or CRLF; the last one may lack it; quoted fields may
 * hold commas, doubled quotes and line breaks). Every record must have the header's field count;
 * an unterminated quote is an error. name prefixes messages ("NAME:LINE: ..."). */
bool skv_csv_parse(const char *text, size_t len, const char *name, skv_csv_table *t, char *err, size_t errlen);
/* Read and parse a file. */
bool skv_csv_load(const char *path, skv_csv_table *t, char *err, size_t errlen);
void skv_csv_free(skv_csv_table *t);
/* Column index by name, -1 if absent. */
int32_t skv_csv_col(const skv_csv_table *t, const char *name);
/* Field of row r in column c ("" if c < 0). */
const char *skv_csv_get(const skv_csv_table *t, int64_t r, int32_t c);
/* A field as a number: NAN when empty, not wholly a number, or c < 0. */
double skv_csv_num(const skv_csv_table *t, int64_t r, int32_t c);
/* Text as a number the same way (NAN when empty or not wholly a number). */
double skv_csv_number(const char *s);

#endif /* SKV_CSV_H */
