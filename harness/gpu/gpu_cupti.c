/* gpu_cupti.c — CUPTI activity buffers: collect kernel records and external correlations, join them. */
#include "gpu/gpu_cupti.h"

#include <cupti.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SKV_CUPTI_TRY(call)                                                                               \
  do {                                                                                                    \
    CUptiResult r_ = (call);                                                                              \
    if (r_ != CUPTI_SUCCESS) {                                                                            \
      const char *s_ = NULL;                                                                              \
      cuptiGetResultString(r_, &s_);                                                                      \
      snprintf(err, errlen, "%s:%d: %s: %s", __FILE__, __LINE__, #call, s_ ? s_ : "CUPTI error");        \
      return false;                                                                                       \
    }                                                                                                     \
  } while (0)

#define BUF_SIZE (4u << 20)
#define BUF_ALIGN 8u

/* Records collected by the completion callback (CUPTI calls it from its own
 * thread during flushes; the harness only reads after flushing). */
typedef struct corr {
  uint32_t correlation_id;
  uint64_t external_id;
} corr;

static skv_kernel_record *g_kernels;
static int64_t g_nkernels, g_capkernels;
static corr *g_corr;
static int64_t g_ncorr, g_capcorr;
static bool g_oom;

static void CUPTIAPI buffer_requested(uint8_t **buffer, size_t *size, size_t *max_records) {
  *buffer = aligned_alloc(BUF_ALIGN, BUF_SIZE);
  *size = *buffer ? BUF_SIZE : 0;
  *max_records = 0;
  if (!*buffer) g_oom = true;
}

static bool grow(void **p, int64_t *cap, int64_t need, size_t elem) {
  if (need <= *cap) return true;
  int64_t n = *cap ? *cap * 2 : 1024;
  while (n < need) n *= 2;
  void *q = realloc(*p, (size_t)n * elem);
  if (!q) return false;
  *p = q;
  *cap = n;
  return true;
}

static void CUPTIAPI buffer_completed(CUcontext ctx, uint32_t stream, uint8_t *buffer, size_t size, size_t valid) {
  (void)ctx, (void)stream, (void)size;
  CUpti_Activity *rec = NULL;
  while (cuptiActivityGetNextRecord(buffer, valid, &rec) == CUPTI_SUCCESS) {
    if (rec->kind == CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL || rec->kind == CUPTI_ACTIVITY_KIND_KERNEL) {
      const CUpti_ActivityKernel10 *k = (const CUpti_ActivityKernel10 *)rec;
      if (!grow((void **)&g_kernels, &g_capkernels, g_nkernels + 1, sizeof *g_kernels)) {
        g_oom = true;
        continue;
      }
      skv_kernel_record *r = &g_kernels[g_nkernels++];
      memset(r, 0, sizeof *r);
      r->correlation_id = k->correlationId;
      r->stream_id = k->streamId;
      r->start_ns = k->start;
      r->end_ns = k->end;
      snprintf(r->name, sizeof r->name, "%s", k->name ? k->name : "?");
    } else if (rec->kind == CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION) {
      const CUpti_ActivityExternalCorrelation *c = (const CUpti_ActivityExternalCorrelation *)rec;
      if (!grow((void **)&g_corr, &g_capcorr, g_ncorr + 1, sizeof *g_corr)) {
        g_oom = true;
        continue;
      }
      g_corr[g_ncorr++] = (corr){c->correlationId, c->externalId};
    }
  }
  free(buffer);
}

bool skv_cupti_start(char *err, size_t errlen) {
  SKV_CUPTI_TRY(cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed));
  SKV_CUPTI_TRY(cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL));
  /* External correlation records are attached to API records: without the
   * runtime API kind enabled, CUPTI emits none. */
  SKV_CUPTI_TRY(cuptiActivityEnable(CUPTI_ACTIVITY_KIND_RUNTIME));
  SKV_CUPTI_TRY(cuptiActivityEnable(CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION));
  return true;
}

bool skv_cupti_push(uint64_t external_id, char *err, size_t errlen) {
  SKV_CUPTI_TRY(cuptiActivityPushExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, external_id));
  return true;
}

bool skv_cupti_pop(char *err, size_t errlen) {
  uint64_t id = 0;
  SKV_CUPTI_TRY(cuptiActivityPopExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, &id));
  return true;
}

static int cmp_corr(const void *a, const void *b) {
  uint32_t x = ((const corr *)a)->correlation_id, y = ((const corr *)b)->correlation_id;
  return (x > y) - (x < y);
}

int64_t skv_cupti_take(skv_kernel_record **out, char *err, size_t errlen) {
  CUptiResult r = cuptiActivityFlushAll(1);
  if (r != CUPTI_SUCCESS) {
    const char *s = NULL;
    cuptiGetResultString(r, &s);
    snprintf(err, errlen, "%s:%d: cuptiActivityFlushAll: %s", __FILE__, __LINE__, s ? s : "CUPTI error");
    return -1;
  }
  if (g_oom) {
    snprintf(err, errlen, "cupti: out of memory while collecting records");
    return -1;
  }
  /* Join kernel records with external ids by correlation id. */
  qsort(g_corr, (size_t)g_ncorr, sizeof *g_corr, cmp_corr);
  for (int64_t i = 0; i < g_nkernels; i++) {
    corr key = {g_kernels[i].correlation_id, 0};
    const corr *c = g_ncorr ? bsearch(&key, g_corr, (size_t)g_ncorr, sizeof *g_corr, cmp_corr) : NULL;
    g_kernels[i].external_id = c ? c->external_id : 0;
  }
  *out = g_kernels;
  int64_t n = g_nkernels;
  g_kernels = NULL;
  g_nkernels = g_capkernels = 0;
  g_ncorr = 0;
  return n;
}

void skv_cupti_stop(void) {
  cuptiActivityDisable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
  cuptiActivityDisable(CUPTI_ACTIVITY_KIND_RUNTIME);
  cuptiActivityDisable(CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION);
  cuptiActivityFlushAll(1);
  free(g_kernels);
  free(g_corr);
  g_kernels = NULL;
  g_corr = NULL;
  g_nkernels = g_capkernels = g_ncorr = g_capcorr = 0;
}

uint32_t skv_cupti_version(void) {
  uint32_t v = 0;
  return cuptiGetVersion(&v) == CUPTI_SUCCESS ? v : 0;
}
