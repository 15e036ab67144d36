/* rng.c — splitmix64-seeded xoshiro256**. */
#include "rng.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void skv_rng_seed(skv_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t skv_rng_next(skv_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double skv_rng_uniform(skv_rng *r) { return (double)(skv_rng_next(r) >> 11) * 0x1.0p-53; }

int64_t skv_rng_range(skv_rng *r, int64_t lo, int64_t hi) {
  uint64_t span = (uint64_t)(hi - lo) + 1u;
  if (span == 0) return (int64_t)skv_rng_next(r); /* the full 64-bit range */
  /* Rejection keeps the draw exactly uniform: drop the top partial bucket. */
  uint64_t limit = UINT64_MAX - UINT64_MAX % span;
  uint64_t x;
  do x = skv_rng_next(r);
  while (x >= limit);
  return lo + (int64_t)(x % span);
}
