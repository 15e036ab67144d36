/* intmath.h — integer helpers the planners share. */
#ifndef SKV_INTMATH_H
#define SKV_INTMATH_H

#include <stdint.h>

/* ceil(a / b) for a >= 0, b > 0: tiles, blocks or splits needed to cover a. */
static inline int64_t skv_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

#endif /* SKV_INTMATH_H */
