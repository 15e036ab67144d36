/* peers.c — a run's peers.csv (peers.h). */
#include "out/peers.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

bool skv_peers_load(const char *run_dir, const skv_csv_table *t, skv_csv_table *peers, bool *present, char *err,
                    size_t errlen) {
  char path[1100];
  snprintf(path, sizeof path, "%s/peers.csv", run_dir);
  struct stat st;
  *present = false;
  memset(peers, 0, sizeof *peers);
  if (stat(path, &st) != 0) {
    if (errno == ENOENT) return true;
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return false;
  }
  if (!skv_csv_load(path, peers, err, errlen)) return false;
  for (int32_t c = 0; c < t->ncols || c < peers->ncols; c++) {
    const char *a = c < t->ncols ? t->header[c] : "(none)", *b = c < peers->ncols ? peers->header[c] : "(none)";
    if (strcmp(a, b) != 0) {
      snprintf(err, errlen, "%s: column %d is '%s', results.csv's is '%s' (peers.csv must have results.csv's header)",
               path, c + 1, b, a);
      skv_csv_free(peers);
      return false;
    }
  }
  *present = true;
  return true;
}
