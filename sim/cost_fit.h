/* cost_fit.h — fitting a GPU description's cost-model terms to measured times (what `skv calibrate`
 * does with its measurements; plain C so that the fit is tested without a GPU). */
#ifndef SKV_COST_FIT_H
#define SKV_COST_FIT_H

#include <stdbool.h>
#include <stdint.h>

#include "batch.h"
#include "gpu.h"
#include "plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A plan of a batch and its measured decode kernel time. */
typedef struct skv_fit_point {
  const skv_batch *b;
  const skv_plan *p;
  double us;
} skv_fit_point;

/* Fit g->stream[kind]'s fixed_us and fixed_sm_us and its stream_tbps at head-dim slot d and group
 * slot q (its cta_gbps and the rest of g given) to the decode times of n points, all of batches of
 * that variant: the values that minimize the sum of squared relative errors of skv_cost_predict's
 * decode time, found by a pattern search from (read_tbps, 1 us, 0 us) that halves its steps until
 * they are below 1e-4 of the ceiling and 1e-3 us (the objective is smooth and has one minimum in
 * practice: tests/check_cost_fit.c fits times that known values give). stream_tbps stays in
 * (0, 1.05 read_tbps], the costs >= 0. *rms: the root mean square relative error at the fit.
 * False when out of memory or n < 3. */
bool skv_fit_stream(skv_gpu *g, skv_stream_kind kind, int32_t d, int32_t q, const skv_fit_point *pts, int32_t n,
                    double *rms);

/* Fit one variant's cta_gbps, stream_tbps and fixed_us (d, q as above; the kind's fixed_sm_us given)
 * to three points: lone[0] and lone[1], one request of a short and of a long length unsplit (n_lone
 * CTAs, one per SM: their slope over the bytes each CTA reads gives cta, skv_fit_cta_gbps; the short
 * one's time what fixed_us must make it), and `large`, a batch with several CTAs per slot whose
 * decode time the stream ceiling must give (bisection: the predicted time falls as the ceiling
 * rises; clipped to 1.05 read_tbps). The three are solved in turn until none moves by 1e-6. False
 * when out of memory or the long request is not slower. */
bool skv_fit_variant(skv_gpu *g, skv_stream_kind kind, int32_t d, int32_t q, const skv_fit_point lone[2],
                     int32_t n_lone, const skv_fit_point *large);

/* The combine terms: least squares of
 *   us - partial bytes / read = launch + waves * combine_item + waves * chunks * combine_chunk
 * over n points (waves: of items over the slots; chunks: the largest item's). Negative terms are
 * clipped to 0. False when the three columns are not independent (n < 3 or a singular system). */
bool skv_fit_combine(const double *us, const double *partial_bytes, const double *waves, const double *chunks, int32_t n,
                     double read_tbps, double *launch_us, double *item_us, double *chunk_us);

/* The slope (us per byte) of the decode time of two unsplit plans of one request over the bytes
 * each of their CTAs reads: lone[0] the short request, lone[1] the long one. */
double skv_fit_lone_slope(const skv_fit_point lone[2]);

/* The rate one CTA streams at alone, from the slope (us per byte) of the decode time of n CTAs
 * over the bytes each reads (n resident, one per SM): solves agg(n) / n = 1 / slope for cta with
 * the given stream ceiling (skv_cost_aggregate_rate), in GB/s. */
double skv_fit_cta_gbps(double us_per_byte, int32_t n, double stream_tbps);

#ifdef __cplusplus
}
#endif

#endif /* SKV_COST_FIT_H */
