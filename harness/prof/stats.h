/* stats.h — small order statistics over repeated timings. */
#ifndef SKV_STATS_H
#define SKV_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Median of n values (n >= 1); the input is left unchanged. */
double skv_median(const double *v, int n);
double skv_min(const double *v, int n);
double skv_max(const double *v, int n);
/* Sort v[0..n) ascending in place. */
void skv_sort_doubles(double *v, int64_t n);
/* Nearest-rank percentile q (0 < q <= 100) of ascending v[0..n), n >= 1. */
double skv_nearest_rank(const double *v, int64_t n, double q);

#endif /* SKV_STATS_H */
