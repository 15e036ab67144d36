/* atomic_file.h — writing a file no reader sees half-written: into PATH.tmp, then renamed over PATH. */
#ifndef SKV_ATOMIC_FILE_H
#define SKV_ATOMIC_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The temporary is the final name plus this suffix, in the same directory, so
 * the rename stays within one file system (rename(2) is atomic only there). */
#define SKV_ATOMIC_SUFFIX ".tmp"

/* Bytes of a final name, its NUL included: a run directory plus a file name. */
#define SKV_ATOMIC_PATH_MAX 1100

/* An open temporary. */
typedef struct skv_atomic_file {
  FILE *f;                                                      /* write the content here */
  char path[SKV_ATOMIC_PATH_MAX];                               /* the final name */
  char tmp[SKV_ATOMIC_PATH_MAX + sizeof SKV_ATOMIC_SUFFIX - 1]; /* path SKV_ATOMIC_SUFFIX */
} skv_atomic_file;

/* Create path.tmp for writing (truncated). False with "PATH.tmp: reason" in
 * err, also when path is too long for the buffers. */
bool skv_atomic_open(skv_atomic_file *a, const char *path, char *err, size_t errlen);
/* Finish a file opened by skv_atomic_open. With ok, flush, fsync and close
 * the temporary and rename it over path; without ok (the caller's writing
 * failed: its message is already in err), or when a step fails, close and
 * remove the temporary so nothing half-written is left. Returns whether path
 * now holds the content. */
bool skv_atomic_commit(skv_atomic_file *a, bool ok, char *err, size_t errlen);
/* Rename a finished temporary (written by another program, e.g. gnuplot)
 * over path; on failure remove it and say why in err. */
bool skv_atomic_rename(const char *tmp, const char *path, char *err, size_t errlen);
/* The whole content at once: open, write, commit. */
bool skv_write_file_atomic(const char *path, const char *content, size_t len, char *err, size_t errlen);

#endif /* SKV_ATOMIC_FILE_H */
