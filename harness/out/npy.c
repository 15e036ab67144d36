/* npy.c — the .npy format: magic, version 1.0, a little-endian header length, a Python-dict header
 * padded with spaces to a multiple of 64 bytes and ended by a newline, then the raw C-order data
 * (numpy/lib/format.py describes it). */
#include "out/npy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "out/atomic_file.h"

bool skv_npy_write(const char *path, const char *descr, const int64_t *shape, int ndim, const void *data,
                   size_t elem_bytes, char *err, size_t errlen) {
  char dict[512];
  int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  int64_t count = 1;
  for (int i = 0; i < ndim; i++) { /* as Python writes tuples: "(3,)", "(2, 3)" */
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%s%lld%s", i ? ", " : "", (long long)shape[i],
                  ndim == 1 ? "," : "");
    count *= shape[i];
  }
  n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
  /* 6 magic + 2 version + 2 length bytes, then the dict, padding and '\n': a multiple of 64. */
  const int total = (10 + n + 1 + 63) / 64 * 64;
  const int hlen = total - 10;
  char header[600];
  memcpy(header, "\x93NUMPY\x01\x00", 8);
  header[8] = (char)(hlen & 0xFF);
  header[9] = (char)(hlen >> 8);
  memcpy(header + 10, dict, (size_t)n);
  memset(header + 10 + n, ' ', (size_t)(hlen - n - 1));
  header[total - 1] = '\n';
  skv_atomic_file a;
  if (!skv_atomic_open(&a, path, err, errlen)) return false;
  const bool wrote = fwrite(header, 1, (size_t)total, a.f) == (size_t)total &&
                     fwrite(data, elem_bytes, (size_t)count, a.f) == (size_t)count;
  if (!wrote) snprintf(err, errlen, "%s: write failed: %s", a.tmp, strerror(errno));
  return skv_atomic_commit(&a, wrote, err, errlen);
}
