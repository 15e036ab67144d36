/* cta_timeline.h — per-CTA timelines of one decode launch (skv_cta_times, recorded by the kernel
 * from %globaltimer): a summary of where the launch's time went, and a CSV of the raw records.
 *
 * What the summary shows. A launch reads its bytes at the full rate only while enough CTAs stream;
 * the timeline measures the three ways it falls short:
 *   - prologue: first_tile - start per CTA, the dependent loads before a CTA streams (work item,
 *     page ids, first K/V tile); paid at the launch and wherever a wave of CTAs starts together;
 *   - per-SM throughput: the KV bytes of an SM's CTAs over its busy time (its first start to its
 *     last end). SMs of one GPU do not get equal shares of DRAM bandwidth, and equal work per SM
 *     then finishes at different times;
 *   - drain: from the moment the first SM that worked has finished all its CTAs to the launch's
 *     end, time in which part of the GPU sits idle; whether that costs bandwidth shows in the
 *     read rate before and during it. Those rates assume each CTA reads its bytes evenly between
 *     its first tile and its loop end (the records have no finer progress). */
#ifndef SKV_CTA_TIMELINE_H
#define SKV_CTA_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan.h"
#include "skv_kernels.h"

typedef struct skv_cta_timeline_summary {
  int64_t ctas;
  int32_t sms;                            /* SMs that ran at least one CTA */
  double span_us;                         /* first start to last end */
  double prologue_p50_us, prologue_p90_us;/* first_tile - start over CTAs with tiles (nearest rank) */
  double sm_gbps_min, sm_gbps_median, sm_gbps_max; /* per-SM KV bytes / busy time, GB/s */
  double drain_us;                        /* last end - earliest time an SM finished its last CTA */
  double gbps_before_drain, gbps_in_drain;/* KV read rate (all SMs) from the first start to the drain,
                                             and in the drain (0 when it is empty), GB/s */
} skv_cta_timeline_summary;

/* Summarize n CTA records t (CTA i ran work item w[i]); bytes_per_token: KV bytes one token of
 * one KV head reads (the bench passes its K and V rows; per-token scales are not counted). False
 * with a reason when a record is missing (start 0) or out of order. An SM that ran only empty
 * ranges does not end the busy part early (it is left out of the drain). */
bool skv_cta_timeline_summarize(const skv_cta_times *t, const skv_work *w, int64_t n, double bytes_per_token,
                                skv_cta_timeline_summary *s, char *err, size_t errlen);

/* Write the records as CSV (cta, sm, request, kv_head, chunk, tokens, start_us, first_tile_us,
 * loop_end_us, end_us; times in microseconds from the earliest start, first_tile_us empty for an
 * empty range) to path, atomically (results.h: a temporary file renamed over it). */
bool skv_cta_timeline_write_csv(const char *path, const skv_cta_times *t, const skv_work *w, int64_t n, char *err,
                                size_t errlen);

#endif /* SKV_CTA_TIMELINE_H */
