/* share.c — shared prefixes: building, checking (share.h). */
#include "share.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void skv_share_free(skv_share *s) {
  free(s->group_of);
  free(s->begin);
  free(s->end);
  free(s->level);
  memset(s, 0, sizeof *s);
}

bool skv_share_blocks(int32_t n, int32_t levels, const int32_t *block, const int64_t *len, skv_share *out, char *err,
                      size_t errlen) {
  memset(out, 0, sizeof *out);
  if (n < 1 || levels < 0) {
    snprintf(err, errlen, "share: %d requests, %d levels", n, levels);
    return false;
  }
  for (int32_t l = 0; l < levels; l++) {
    if (block[l] < 1 || len[l] < 1) {
      snprintf(err, errlen, "share: level %d: blocks of %d requests sharing %lld tokens (both must be >= 1)", l,
               block[l], (long long)len[l]);
      return false;
    }
    if (l > 0 && block[l - 1] % block[l] != 0) {
      snprintf(err, errlen, "share: level %d's blocks of %d do not divide level %d's of %d (the groups must nest)", l,
               block[l], l - 1, block[l - 1]);
      return false;
    }
  }
  int32_t groups = 0;
  for (int32_t l = 0; l < levels; l++) groups += (n + block[l] - 1) / block[l];
  out->num_requests = n, out->levels = levels, out->num_groups = groups;
  out->group_of = malloc(sizeof(int32_t) * (size_t)(levels > 0 ? levels * n : 1));
  out->begin = malloc(sizeof(int64_t) * (size_t)(groups > 0 ? groups : 1));
  out->end = malloc(sizeof(int64_t) * (size_t)(groups > 0 ? groups : 1));
  out->level = malloc(sizeof(int32_t) * (size_t)(groups > 0 ? groups : 1));
  if (!out->group_of || !out->begin || !out->end || !out->level) {
    skv_share_free(out);
    snprintf(err, errlen, "share: out of memory");
    return false;
  }
  int32_t first = 0;
  int64_t begin = 0;
  for (int32_t l = 0; l < levels; l++) {
    const int32_t ng = (n + block[l] - 1) / block[l];
    for (int32_t g = 0; g < ng; g++) {
      out->begin[first + g] = begin, out->end[first + g] = begin + len[l], out->level[first + g] = l;
    }
    for (int32_t r = 0; r < n; r++) out->group_of[l * n + r] = first + r / block[l];
    first += ng;
    begin += len[l];
  }
  return true;
}

int64_t skv_share_prefix_end(const skv_share *s, int32_t r) {
  int64_t e = 0;
  for (int32_t l = 0; l < s->levels; l++) {
    const int32_t g = s->group_of[l * s->num_requests + r];
    if (g < 0) break;
    e = s->end[g];
  }
  return e;
}

bool skv_share_check(const skv_share *s, const skv_batch *b, char *err, size_t errlen) {
  const int32_t n = b->num_requests;
  if (s->num_requests != n) {
    snprintf(err, errlen, "share: describes %d requests, the batch has %d", s->num_requests, n);
    return false;
  }
  for (int32_t g = 0; g < s->num_groups; g++) {
    if (s->end[g] <= s->begin[g] || s->begin[g] % b->page_size != 0 || s->end[g] % b->page_size != 0) {
      snprintf(err, errlen, "share: group %d covers [%lld, %lld): a non-empty range of whole pages of %d tokens", g,
               (long long)s->begin[g], (long long)s->end[g], b->page_size);
      return false;
    }
  }
  for (int32_t r = 0; r < n; r++) {
    int64_t prev_end = 0;
    int32_t prev = -1;
    bool ended = false;
    for (int32_t l = 0; l < s->levels; l++) {
      const int32_t g = s->group_of[l * n + r];
      if (g < 0) {
        ended = true;
        continue;
      }
      if (ended || g >= s->num_groups || s->level[g] != l || s->begin[g] != prev_end) {
        snprintf(err, errlen, "share: request %d's level-%d group %d does not follow its level-%d group", r, l, g, l - 1);
        return false;
      }
      /* nesting: every member of g has g's parent as its level l-1 group */
      for (int32_t q = 0; q < n && prev >= 0; q++)
        if (s->group_of[l * n + q] == g && s->group_of[(l - 1) * n + q] != prev) {
          snprintf(err, errlen, "share: group %d's members %d and %d are in different level-%d groups", g, r, q, l - 1);
          return false;
        }
      prev_end = s->end[g], prev = g;
    }
    if (prev_end > b->kvlen[r] - b->qlen[r]) {
      snprintf(err, errlen, "share: request %d shares %lld tokens, past its first query position %lld", r,
               (long long)prev_end, (long long)(b->kvlen[r] - b->qlen[r]));
      return false;
    }
  }
  return true;
}
