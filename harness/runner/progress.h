/* progress.h — a progress line on a terminal (done/total, current configuration, elapsed, ETA); plain lines otherwise. */
#ifndef SKV_PROGRESS_H
#define SKV_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct skv_progress {
  FILE *f;
  bool tty;
  int64_t total, done, first_done;
  double start;    /* seconds, monotonic */
  int last_width;
} skv_progress;

void skv_progress_init(skv_progress *p, FILE *f, int64_t total, int64_t already_done);
/* About to run a configuration. */
void skv_progress_begin(skv_progress *p, const char *what);
/* Finished one (line: what happened, printed as a plain line on both kinds of output). */
void skv_progress_end(skv_progress *p, const char *result);
/* Clear the line before other output. */
void skv_progress_finish(skv_progress *p);

#endif /* SKV_PROGRESS_H */
