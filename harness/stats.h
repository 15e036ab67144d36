/* stats.h — small order statistics over repeated timings. */
#ifndef SKV_STATS_H
#define SKV_STATS_H

#include <stddef.h>

/* Median of n values (n >= 1); the input is left unchanged. */
double skv_median(const double *v, int n);
double skv_min(const double *v, int n);
double skv_max(const double *v, int n);

#endif /* SKV_STATS_H */
