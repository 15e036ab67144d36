/* share.h — shared KV prefixes of a batch: groups of requests whose first tokens are the same pages, possibly nested (cascade attention). */
#ifndef SKV_SHARE_H
#define SKV_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Levels of sharing over a batch of n requests. At level l request r belongs to group
 * group_of[l * n + r] (-1: none, and then none at deeper levels). Group g covers KV tokens
 * [begin[g], end[g]) of every member, which hold the same pages in every member's page table; a
 * level-l group starts where the member's level-(l-1) group ends (level 0 at token 0), and all
 * members of a level-l group share one level-(l-1) group (the groups nest: FlashInfer's multi-level
 * cascade; vLLM's is one level, one group of every request). */
typedef struct skv_share {
  int32_t num_requests, levels, num_groups;
  int32_t *group_of;  /* [levels * num_requests] */
  int64_t *begin;     /* [num_groups] */
  int64_t *end;       /* [num_groups] */
  int32_t *level;     /* [num_groups] */
} skv_share;

/* Groups of consecutive requests: at level l, blocks of block[l] requests (the last one shorter)
 * share len[l] tokens (a multiple of the page size). block[l + 1] must divide block[l] so the
 * groups nest. levels 0: nothing shared. False with err on bad arguments or out of memory. */
bool skv_share_blocks(int32_t num_requests, int32_t levels, const int32_t *block, const int64_t *len, skv_share *out,
                      char *err, size_t errlen);
void skv_share_free(skv_share *s);

/* Check s against batch b: the request count, groups nested and consecutive, every range a
 * non-empty multiple of the page size, and no query token inside a shared prefix (a request's
 * deepest group ends at or before its first query position, kvlen - qlen). */
bool skv_share_check(const skv_share *s, const skv_batch *b, char *err, size_t errlen);

/* Tokens of request r's deepest shared group's end (0: none): where its own KV starts. */
int64_t skv_share_prefix_end(const skv_share *s, int32_t r);

#ifdef __cplusplus
}
#endif

#endif /* SKV_SHARE_H */
