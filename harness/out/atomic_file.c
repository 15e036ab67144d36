/* atomic_file.c — a file written to PATH.tmp, fsync'd and renamed over PATH (rename(2) replaces it atomically). */
#include "out/atomic_file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool skv_atomic_open(skv_atomic_file *a, const char *path, char *err, size_t errlen) {
  a->f = NULL;
  if ((size_t)snprintf(a->path, sizeof a->path, "%s", path) >= sizeof a->path) {
    snprintf(err, errlen, "%.200s...: file name longer than %zu bytes", path, sizeof a->path - 1);
    return false;
  }
  snprintf(a->tmp, sizeof a->tmp, "%s%s", a->path, SKV_ATOMIC_SUFFIX); /* fits: see the sizes */
  a->f = fopen(a->tmp, "wb");
  if (!a->f) {
    snprintf(err, errlen, "%s: %s", a->tmp, strerror(errno));
    return false;
  }
  return true;
}

bool skv_atomic_commit(skv_atomic_file *a, bool ok, char *err, size_t errlen) {
  if (ok && (ferror(a->f) || fflush(a->f) != 0 || fsync(fileno(a->f)) != 0)) {
    snprintf(err, errlen, "%s: write: %s", a->tmp, strerror(errno));
    ok = false;
  }
  if (fclose(a->f) != 0 && ok) {
    snprintf(err, errlen, "%s: close: %s", a->tmp, strerror(errno));
    ok = false;
  }
  a->f = NULL;
  if (!ok) {
    remove(a->tmp);
    return false;
  }
  return skv_atomic_rename(a->tmp, a->path, err, errlen);
}

bool skv_atomic_rename(const char *tmp, const char *path, char *err, size_t errlen) {
  if (rename(tmp, path) == 0) return true;
  snprintf(err, errlen, "rename %s -> %s: %s", tmp, path, strerror(errno));
  remove(tmp);
  return false;
}

bool skv_write_file_atomic(const char *path, const char *content, size_t len, char *err, size_t errlen) {
  skv_atomic_file a;
  if (!skv_atomic_open(&a, path, err, errlen)) return false;
  const bool wrote = fwrite(content, 1, len, a.f) == len;
  if (!wrote) snprintf(err, errlen, "%s: write: %s", a.tmp, strerror(errno));
  return skv_atomic_commit(&a, wrote, err, errlen);
}
