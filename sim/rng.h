/* rng.h — a small seeded random generator (splitmix64 seeding xoshiro256**), identical on every host. */
#ifndef SKV_RNG_H
#define SKV_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* State of xoshiro256** (Blackman and Vigna, prng.di.unimi.it). The same seed
 * gives the same stream on every machine, so a suite's data is reproducible. */
typedef struct skv_rng {
  uint64_t s[4];
} skv_rng;

void skv_rng_seed(skv_rng *r, uint64_t seed);
uint64_t skv_rng_next(skv_rng *r);
/* Uniform double in [0, 1) from the top 53 bits. */
double skv_rng_uniform(skv_rng *r);
/* Uniform integer in [lo, hi] (inclusive), lo <= hi. */
int64_t skv_rng_range(skv_rng *r, int64_t lo, int64_t hi);

#ifdef __cplusplus
}
#endif

#endif /* SKV_RNG_H */
