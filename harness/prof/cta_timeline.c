/* cta_timeline.c — summary and CSV of a decode launch's CTA timelines (see cta_timeline.h). */
#include "prof/cta_timeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/atomic_file.h"
#include "prof/stats.h"

static bool check_records(const skv_cta_times *t, int64_t n, char *err, size_t errlen) {
  for (int64_t i = 0; i < n; i++) {
    const skv_cta_times *c = &t[i];
    if (c->start_ns == 0) {
      snprintf(err, errlen, "CTA %lld recorded no timeline", (long long)i);
      return false;
    }
    const bool tiles = c->first_tile_ns != 0;
    if (c->end_ns < c->loop_end_ns || c->loop_end_ns < (tiles ? c->first_tile_ns : c->start_ns) ||
        (tiles && c->first_tile_ns < c->start_ns)) {
      snprintf(err, errlen, "CTA %lld: timeline out of order (start %llu, first tile %llu, loop end %llu, end %llu)",
               (long long)i, (unsigned long long)c->start_ns, (unsigned long long)c->first_tile_ns,
               (unsigned long long)c->loop_end_ns, (unsigned long long)c->end_ns);
      return false;
    }
  }
  return true;
}

/* KV bytes read in [lo, hi) if CTA c reads its `bytes` evenly over [first tile, loop end]. */
static double bytes_between(const skv_cta_times *c, double bytes, uint64_t lo, uint64_t hi) {
  if (c->first_tile_ns == 0 || bytes <= 0 || hi <= lo) return 0;
  const uint64_t a = c->first_tile_ns, b = c->loop_end_ns;
  if (b <= a) return a >= lo && a < hi ? bytes : 0; /* an instant: all or nothing */
  const uint64_t x = a > lo ? a : lo, y = b < hi ? b : hi;
  return y > x ? bytes * (double)(y - x) / (double)(b - a) : 0;
}

bool skv_cta_timeline_summarize(const skv_cta_times *t, const skv_work *w, int64_t n, double bytes_per_token,
                                skv_cta_timeline_summary *s, char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  if (n <= 0) {
    snprintf(err, errlen, "no CTAs");
    return false;
  }
  if (!check_records(t, n, err, errlen)) return false;
  uint32_t max_sm = 0;
  uint64_t t0 = t[0].start_ns, t1 = t[0].end_ns;
  for (int64_t i = 0; i < n; i++) {
    if (t[i].sm > max_sm) max_sm = t[i].sm;
    if (t[i].start_ns < t0) t0 = t[i].start_ns;
    if (t[i].end_ns > t1) t1 = t[i].end_ns;
  }
  const size_t nsm = (size_t)max_sm + 1;
  double *pro = malloc(sizeof(double) * (size_t)n);
  double *bytes = calloc(nsm, sizeof(double));
  uint64_t *first = calloc(nsm, sizeof(uint64_t)), *last = calloc(nsm, sizeof(uint64_t));
  double *gbps = malloc(sizeof(double) * nsm);
  if (!pro || !bytes || !first || !last || !gbps) {
    free(pro), free(bytes), free(first), free(last), free(gbps);
    snprintf(err, errlen, "out of memory (CTA timeline)");
    return false;
  }
  int64_t np = 0;
  for (int64_t i = 0; i < n; i++) {
    const skv_cta_times *c = &t[i];
    if (c->first_tile_ns != 0) pro[np++] = (double)(c->first_tile_ns - c->start_ns) * 1e-3;
    bytes[c->sm] += (double)(w[i].kv_end - w[i].kv_begin) * bytes_per_token;
    if (first[c->sm] == 0 || c->start_ns < first[c->sm]) first[c->sm] = c->start_ns;
    if (c->end_ns > last[c->sm]) last[c->sm] = c->end_ns;
  }
  int32_t used = 0;
  uint64_t earliest_done = t1;
  for (size_t k = 0; k < nsm; k++) {
    if (first[k] == 0) continue;
    const uint64_t busy = last[k] > first[k] ? last[k] - first[k] : 1;
    gbps[used++] = bytes[k] / (double)busy; /* bytes per ns = GB/s */
    if (bytes[k] > 0 && last[k] < earliest_done) earliest_done = last[k];
  }
  skv_sort_doubles(pro, np);
  skv_sort_doubles(gbps, used);
  s->ctas = n;
  s->sms = used;
  s->span_us = (double)(t1 - t0) * 1e-3;
  if (np > 0) s->prologue_p50_us = skv_nearest_rank(pro, np, 50), s->prologue_p90_us = skv_nearest_rank(pro, np, 90);
  s->sm_gbps_min = gbps[0];
  s->sm_gbps_median = skv_nearest_rank(gbps, used, 50);
  s->sm_gbps_max = gbps[used - 1];
  s->drain_us = (double)(t1 - earliest_done) * 1e-3;
  double before = 0, in_drain = 0;
  for (int64_t i = 0; i < n; i++) {
    const double b = (double)(w[i].kv_end - w[i].kv_begin) * bytes_per_token;
    before += bytes_between(&t[i], b, t0, earliest_done);
    in_drain += bytes_between(&t[i], b, earliest_done, t1 + 1);
  }
  s->gbps_before_drain = earliest_done > t0 ? before / (double)(earliest_done - t0) : 0;
  s->gbps_in_drain = t1 > earliest_done ? in_drain / (double)(t1 - earliest_done) : 0;
  free(pro), free(bytes), free(first), free(last), free(gbps);
  return true;
}

bool skv_cta_timeline_write_csv(const char *path, const skv_cta_times *t, const skv_work *w, int64_t n, char *err,
                                size_t errlen) {
  if (n > 0 && !check_records(t, n, err, errlen)) return false;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) {
    snprintf(err, errlen, "%s: out of memory", path);
    return false;
  }
  uint64_t t0 = n > 0 ? t[0].start_ns : 0;
  for (int64_t i = 1; i < n; i++)
    if (t[i].start_ns < t0) t0 = t[i].start_ns;
  fprintf(f, "cta,sm,request,kv_head,chunk,tokens,start_us,first_tile_us,loop_end_us,end_us\n");
  for (int64_t i = 0; i < n; i++) {
    const skv_cta_times *c = &t[i];
    fprintf(f, "%lld,%u,%d,%d,%d,%lld,%.3f,", (long long)i, c->sm, w[i].request, w[i].kv_head, w[i].chunk,
            (long long)(w[i].kv_end - w[i].kv_begin), (double)(c->start_ns - t0) * 1e-3);
    if (c->first_tile_ns != 0) fprintf(f, "%.3f", (double)(c->first_tile_ns - t0) * 1e-3);
    fprintf(f, ",%.3f,%.3f\n", (double)(c->loop_end_ns - t0) * 1e-3, (double)(c->end_ns - t0) * 1e-3);
  }
  const bool bad = ferror(f) != 0;
  if (fclose(f) != 0 || bad) {
    free(buf);
    snprintf(err, errlen, "%s: out of memory", path);
    return false;
  }
  const bool ok = skv_write_file_atomic(path, buf, len, err, errlen);
  free(buf);
  return ok;
}
