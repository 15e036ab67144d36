/* run_dir.c — run folders: an flock on the folder while a run writes it, meta.json through jansson, the newest unfinished run. */
#include "runner/run_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out/atomic_file.h"

bool skv_mkdirs(const char *path, char *err, size_t errlen) {
  char tmp[1024];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s", path) >= sizeof tmp) {
    snprintf(err, errlen, "%.100s...: path too long", path);
    return false;
  }
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
      snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
      return false;
    }
    *p = '/';
  }
  if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
    snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
    return false;
  }
  return true;
}

bool skv_run_dir_open(skv_run_dir *d, const char *path, bool *busy, char *err, size_t errlen) {
  memset(d, 0, sizeof *d);
  d->lock_fd = -1;
  *busy = false;
  if ((size_t)snprintf(d->path, sizeof d->path, "%s", path) >= sizeof d->path - 32) {
    snprintf(err, errlen, "%.100s...: run directory path too long", path);
    return false;
  }
  if (!skv_mkdirs(path, err, errlen)) return false;
  d->lock_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d->lock_fd < 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return false;
  }
  if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    *busy = errno == EWOULDBLOCK;
    snprintf(err, errlen, "%s: %s", path,
             *busy ? "another skv process is writing this run directory (it holds its lock)" : strerror(errno));
    close(d->lock_fd);
    d->lock_fd = -1;
    return false;
  }
  return true;
}

bool skv_run_dir_read_meta(skv_run_dir *d, char *err, size_t errlen) {
  char path[1100];
  snprintf(path, sizeof path, "%s/meta.json", d->path);
  json_error_t je;
  json_t *m = json_load_file(path, 0, &je);
  if (!m) {
    snprintf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    return false;
  }
  if (!json_is_object(m)) {
    snprintf(err, errlen, "%s: not a JSON object", path);
    json_decref(m);
    return false;
  }
  json_decref(d->meta);
  d->meta = m;
  return true;
}

bool skv_run_dir_write_meta(const skv_run_dir *d, char *err, size_t errlen) {
  char path[1100];
  snprintf(path, sizeof path, "%s/meta.json", d->path);
  char *text = d->meta ? json_dumps(d->meta, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) : NULL;
  if (!text) {
    snprintf(err, errlen, "%s: out of memory", path);
    return false;
  }
  /* With a trailing newline, as a text file has. */
  const size_t len = strlen(text);
  char *t = realloc(text, len + 2);
  if (!t) {
    free(text);
    snprintf(err, errlen, "%s: out of memory", path);
    return false;
  }
  t[len] = '\n';
  const bool ok = skv_write_file_atomic(path, t, len + 1, err, errlen);
  free(t);
  return ok;
}

void skv_run_dir_close(skv_run_dir *d) {
  if (d->lock_fd >= 0) close(d->lock_fd); /* closing releases the flock */
  json_decref(d->meta);
  memset(d, 0, sizeof *d);
  d->lock_fd = -1;
}

static int newest_first(const struct dirent **a, const struct dirent **b) { return strcmp((*b)->d_name, (*a)->d_name); }

bool skv_run_dir_find_unfinished(const char *base, const char *hash_hex, char *out, size_t outlen, char *err,
                                 size_t errlen) {
  struct dirent **names = NULL;
  const int n = scandir(base, &names, NULL, newest_first);
  if (n < 0) {
    snprintf(err, errlen, "--resume: %s: %s", base, strerror(errno));
    return false;
  }
  bool found = false;
  for (int i = 0; i < n; i++) {
    if (!found && names[i]->d_name[0] != '.') {
      char path[1400];
      snprintf(path, sizeof path, "%s/%s/meta.json", base, names[i]->d_name);
      json_t *m = json_load_file(path, 0, NULL);
      const json_t *complete = m ? json_object_get(m, "complete") : NULL;
      if (m && json_is_false(complete) && strcmp(skv_meta_string(m, "suite_hash_fnv1a64"), hash_hex) == 0) {
        snprintf(out, outlen, "%s/%s", base, names[i]->d_name);
        found = true;
      }
      json_decref(m);
    }
    free(names[i]);
  }
  free(names);
  if (!found) snprintf(err, errlen, "--resume: no unfinished run of this suite file (hash %s) under %s", hash_hex, base);
  return found;
}

const char *skv_meta_string(const json_t *meta, const char *key) {
  const json_t *v = json_object_get(meta, key);
  return json_is_string(v) ? json_string_value(v) : "";
}

int64_t skv_meta_int(const json_t *meta, const char *key) {
  const json_t *v = json_object_get(meta, key);
  return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}
