/* progress.c — progress reporting: a redrawn line on a terminal, one line per configuration otherwise. */
#include "runner/progress.h"

#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void hms(double s, char *buf, size_t len) {
  long v = (long)(s + 0.5);
  if (v >= 3600) snprintf(buf, len, "%ld:%02ld:%02ld", v / 3600, (v / 60) % 60, v % 60);
  else snprintf(buf, len, "%ld:%02ld", v / 60, v % 60);
}

void skv_progress_init(skv_progress *p, FILE *f, int64_t total, int64_t already_done) {
  p->f = f;
  p->tty = isatty(fileno(f));
  p->total = total;
  p->done = already_done;
  p->first_done = already_done;
  p->start = now();
  p->last_width = 0;
}

static void clear(skv_progress *p) {
  if (p->tty && p->last_width > 0) fprintf(p->f, "\r%*s\r", p->last_width, "");
  p->last_width = 0;
}

void skv_progress_begin(skv_progress *p, const char *what) {
  if (!p->tty) return;
  char el[32], eta[32] = "?";
  const double elapsed = now() - p->start;
  hms(elapsed, el, sizeof el);
  const int64_t ran = p->done - p->first_done; /* configurations run in this process (resume skips the rest) */
  if (ran > 0) hms(elapsed / (double)ran * (double)(p->total - p->done), eta, sizeof eta);
  clear(p);
  p->last_width = fprintf(p->f, "[%lld/%lld] %.60s  elapsed %s  ETA %s", (long long)p->done + 1, (long long)p->total,
                          what, el, eta);
  fflush(p->f);
}

void skv_progress_end(skv_progress *p, const char *result) {
  clear(p);
  p->done++;
  fprintf(p->f, "[%lld/%lld] %s\n", (long long)p->done, (long long)p->total, result);
  fflush(p->f);
}

void skv_progress_finish(skv_progress *p) {
  clear(p);
  fflush(p->f);
}
