/* run_dir.h — a run's folder: the lock held while a run writes it, its meta.json, and finding an unfinished run to resume. */
#ifndef SKV_RUN_DIR_H
#define SKV_RUN_DIR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct skv_run_dir {
  char path[1024];
  int lock_fd;  /* the folder itself, open with an exclusive flock while this process writes it (-1: none) */
  json_t *meta; /* meta.json as an object (NULL until made or read) */
} skv_run_dir;

/* mkdir -p. */
bool skv_mkdirs(const char *path, char *err, size_t errlen);
/* Make path (and its parents) and lock it: one writer at a time, so two runs into one --out cannot
 * interleave their rows or race on meta.json. *busy is set when another process holds the lock
 * (err says so). */
bool skv_run_dir_open(skv_run_dir *d, const char *path, bool *busy, char *err, size_t errlen);
/* Read path/meta.json into d->meta (an object); err names the file and the JSON error's line. */
bool skv_run_dir_read_meta(skv_run_dir *d, char *err, size_t errlen);
/* Write d->meta to path/meta.json atomically (a temporary file renamed over it). */
bool skv_run_dir_write_meta(const skv_run_dir *d, char *err, size_t errlen);
/* Unlock, free the meta. */
void skv_run_dir_close(skv_run_dir *d);

/* The newest run folder under base (by name: run ids begin with their UTC start) whose meta.json
 * is unfinished ("complete": false) and was made by the suite file with this hash. False with err
 * when there is none. */
bool skv_run_dir_find_unfinished(const char *base, const char *hash_hex, char *out, size_t outlen, char *err,
                                 size_t errlen);

/* Small readers of meta fields: "" / -1 when absent or of another type. */
const char *skv_meta_string(const json_t *meta, const char *key);
int64_t skv_meta_int(const json_t *meta, const char *key);

#endif /* SKV_RUN_DIR_H */
