/* suite.c — reading a suite: keys and their types, the sweep's cartesian product, each configuration validated. */
#include "suite/suite.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "suite/yaml_doc.h"

/* ==== The keys of a configuration (defaults: and sweep:) ==== */

typedef enum key_id {
  K_HQ, K_HKV, K_HEAD_DIM, K_PAGE_SIZE, K_DTYPE, K_Q_DTYPE, K_KV_DTYPE, K_V_DTYPE, K_KV_SCALE_MODE, K_Q_SCALE,
  K_K_SCALE, K_V_SCALE, K_DROP_SCALE, K_GPU_MODEL, K_SMS, K_SEED, K_QLEN, K_LSE_LAYOUT, K_HOST_PATH,
  K_PREFILL_REQUESTS, K_MASK, K_SHARED_PREFIX, K_GROUP_SIZE, K_GROUP_PREFIX,
  K_BATCH, K_SEQLEN, K_POLICY, /* from K_BATCH on: sweep only */
  K_POINTS,                    /* sweep only: a list of mappings, each setting several keys together */
  K_COUNT
} key_id;

static const char *const key_names[K_COUNT] = {
    "hq", "hkv", "head_dim", "page_size", "dtype", "q_dtype", "kv_dtype", "v_dtype", "kv_scale_mode", "q_scale",
    "k_scale", "v_scale", "drop_scale", "gpu_model", "sms", "seed", "qlen", "lse_layout", "host_path",
    "prefill_requests", "mask", "shared_prefix", "group_size", "group_prefix", "batch", "seqlen", "policy", "points",
};

typedef enum value_kind {
  V_INT,    /* an integer in [min, max] (and in only[] when given) */
  V_U64,    /* an unsigned 64-bit integer */
  V_SCALE,  /* a float > 0 that fits a 32-bit float */
  V_ENUM,   /* one of names[] */
  V_MODEL,  /* a GPU model name (checked against gpus.yaml later) */
  V_SEQLEN, /* an integer or a distribution mapping */
  V_POLICY, /* a policy name or a mapping with options */
  V_POINTS, /* a list of mappings of other keys (not policy) */
} value_kind;

/* The names below are the ones dtype.c, quant.c and lse_layout.h parse or print. */
static const char *const dtype_names[] = {"bf16", "fp16"};
static const char *const q_dtype_names[] = {"bf16", "fp16", "fp8_e4m3"};
static const char *const kv_dtype_names[] = {"bf16", "fp16", "fp8_e4m3", "int8"};
static const char *const v_dtype_names[] = {"same", "bf16", "fp16"};
static const char *const scale_mode_names[] = {"per_tensor", "per_token_head"};
static const char *const drop_names[] = {"none", "q", "k", "v"};
static const char *const lse_layout_names[] = {"logical", "fa2-combine", "fa2-split1", "fa2-padded"};
static const char *const host_path_names[] = {"none", "fa2-upstream", "vllm-fork-before-fix", "vllm-fork-after-fix"};
static const char *const mask_names[] = {"causal", "none"}; /* skv_mask order (sim/batch.h) */
static const int64_t head_dims[] = {64, 128, 256}; /* SKV_HEAD_DIMS_ALLOWED */

#define COUNT_OF(a) ((int32_t)(sizeof(a) / sizeof((a)[0])))
#define NAMES(a) .names = (a), .nnames = COUNT_OF(a)

typedef struct key_spec {
  value_kind kind;
  int64_t min, max;         /* V_INT */
  const int64_t *only;      /* V_INT: the allowed values when not all of [min, max] are */
  int32_t nonly;
  const char *const *names; /* V_ENUM */
  int32_t nnames;
  const char *label;        /* how the value starts in a configuration name: "hq" + "32", "kv=" + "int8" */
} key_spec;

/* Ranges without a rule elsewhere follow the skv flags (harness/batch_flags.c). */
static const key_spec keys[K_COUNT] = {
    [K_HQ] = {V_INT, .min = 1, .max = 4096, .label = "hq"},
    [K_HKV] = {V_INT, .min = 1, .max = 4096, .label = "hkv"},
    [K_HEAD_DIM] = {V_INT, .min = 64, .max = 256, .only = head_dims, .nonly = COUNT_OF(head_dims), .label = "d"},
    [K_PAGE_SIZE] = {V_INT, .min = SKV_PAGE_SIZE_MIN, .max = SKV_PAGE_SIZE_MAX, .label = "p"},
    [K_DTYPE] = {V_ENUM, NAMES(dtype_names), .label = "dtype="},
    [K_Q_DTYPE] = {V_ENUM, NAMES(q_dtype_names), .label = "q="},
    [K_KV_DTYPE] = {V_ENUM, NAMES(kv_dtype_names), .label = "kv="},
    [K_V_DTYPE] = {V_ENUM, NAMES(v_dtype_names), .label = "v="},
    [K_KV_SCALE_MODE] = {V_ENUM, NAMES(scale_mode_names), .label = "scales="},
    [K_Q_SCALE] = {V_SCALE, .label = "qs="},
    [K_K_SCALE] = {V_SCALE, .label = "ks="},
    [K_V_SCALE] = {V_SCALE, .label = "vs="},
    [K_DROP_SCALE] = {V_ENUM, NAMES(drop_names), .label = "drop="},
    [K_GPU_MODEL] = {V_MODEL, .label = "gpu="},
    [K_SMS] = {V_INT, .min = 0, .max = 4096, .label = "sms"},
    [K_SEED] = {V_U64, .label = "seed"},
    [K_QLEN] = {V_INT, .min = 1, .max = 1 << 20, .label = "qlen"},
    [K_LSE_LAYOUT] = {V_ENUM, NAMES(lse_layout_names), .label = "lse="},
    [K_HOST_PATH] = {V_ENUM, NAMES(host_path_names), .label = "host="},
    [K_PREFILL_REQUESTS] = {V_INT, .min = 0, .max = 1 << 20, .label = "pf"},
    [K_MASK] = {V_ENUM, NAMES(mask_names), .label = "mask="},
    [K_SHARED_PREFIX] = {V_INT, .min = 0, .max = SKV_SUITE_MAX_SEQLEN, .label = "sp"},
    [K_GROUP_SIZE] = {V_INT, .min = 0, .max = 1 << 20, .label = "gs"},
    [K_GROUP_PREFIX] = {V_INT, .min = 0, .max = SKV_SUITE_MAX_SEQLEN, .label = "gp"},
    [K_BATCH] = {V_INT, .min = 1, .max = 1 << 20, .label = "b"},
    [K_SEQLEN] = {V_SEQLEN, .min = 0, .max = SKV_SUITE_MAX_SEQLEN, .label = "L"},
    [K_POLICY] = {V_POLICY, .label = ""},
    [K_POINTS] = {V_POINTS, .label = ""},
};

/* ==== Policy options (names, ranges, the policies that read each: sim/support.h) ==== */

/* The keys of a policy mapping: name, then the options in skv_option order. */
enum { P_NAME = 0, P_COUNT = SKV_OPT_COUNT + 1 };
#define OPTION_OF_KEY(k) ((skv_option)((k) - 1))

/* How an option's value starts in a configuration name: "ns" + "3", "graph" + "1". */
static const char *const option_labels[SKV_OPT_COUNT] = {
    [SKV_OPT_SPLIT_SIZE] = "ss",         [SKV_OPT_NUM_SPLITS] = "ns",      [SKV_OPT_MAX_SPLITS] = "ms",
    [SKV_OPT_FIXED_SPLIT_PAGES] = "fsp", [SKV_OPT_DISABLE_SPLIT_KV] = "nosplit", [SKV_OPT_CUDA_GRAPH] = "graph",
    [SKV_OPT_BATCH_INVARIANT] = "bi",    [SKV_OPT_BLOCKS_PER_SM] = "bps",   [SKV_OPT_TILE_ROWS] = "tr",
    [SKV_OPT_TAPER] = "taper",
};

/* ==== Seqlen distributions ==== */

typedef enum dist_key { D_DIST, D_VALUE, D_LO, D_HI, D_SEED, D_VALUES, D_COUNT } dist_key;
static const char *const dist_keys[D_COUNT] = {"dist", "value", "lo", "hi", "seed", "values"};
static const char *const dist_names[] = {"fixed", "uniform", "list"}; /* in skv_seqlen_spec's kind order */
/* The keys each distribution takes besides dist: bit k is dist_keys[k]. */
static const uint32_t dist_takes[] = {1u << D_VALUE, 1u << D_LO | 1u << D_HI | 1u << D_SEED, 1u << D_VALUES};
static const char *const dist_takes_text[] = {"value", "lo, hi, seed", "values"};

/* A list distribution is written out in a configuration name while that stays short. */
#define LIST_NAME_MAX 48

/* ==== Parsed values ==== */

/* One value of one key: a defaults entry, or one element of a sweep list. */
typedef struct setting {
  int64_t i;              /* V_INT; V_ENUM: index into names */
  uint64_t u;             /* V_U64 */
  float f;                /* V_SCALE */
  char model[32];         /* V_MODEL */
  skv_seqlen_spec seqlen; /* V_SEQLEN (list: values set once the pool is final) */
  int64_t pool_off;       /* V_SEQLEN list: where its lengths start in the pool */
  bool seed_given;        /* V_SEQLEN uniform: a seed was written (else the configuration's seed) */
  skv_policy policy;      /* V_POLICY */
  skv_policy_opts opts;
  char frag[80];          /* the value as it reads in configuration names */
  int32_t line, col;      /* the node it came from */
} setting;

/* One element of `points`: the keys it sets together. */
typedef struct point {
  setting s[K_COUNT];
  bool has[K_COUNT];
} point;

/* One sweep key: its values in the order written (points: its elements). */
typedef struct axis {
  key_id key;
  yaml_node_t *node;
  setting *v;
  point *pts; /* K_POINTS */
  int32_t n, cap;
} axis;

/* A growing list of integers with a cap and the message for going over it. */
typedef struct ivec {
  int64_t *v;
  int64_t n, cap;
  int64_t limit;
  const char *too_many;
} ivec;

typedef struct parser {
  skv_ydoc d;
  setting defaults[K_COUNT];
  bool has_default[K_COUNT];
  yaml_node_t *sweep;
  axis axes[K_COUNT];
  int32_t naxes;
  int64_t nconfigs; /* the product of the axes' sizes */
  ivec pool;        /* lengths of the list distributions */
} parser;

static const char too_many_configs[] = "the sweep gives more than 100000 configurations";
_Static_assert(SKV_SUITE_MAX_CONFIGS == 100000, "too_many_configs names the cap");

/* snprintf at buf + *o that never runs past len: a truncated text stays
 * terminated and *o stops at len - 1. */
static void appendf(char *buf, size_t len, size_t *o, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void appendf(char *buf, size_t len, size_t *o, const char *fmt, ...) {
  if (*o + 1 >= len) return;
  va_list ap;
  va_start(ap, fmt);
  const int k = vsnprintf(buf + *o, len - *o, fmt, ap);
  va_end(ap);
  if (k > 0) *o = *o + (size_t)k < len ? *o + (size_t)k : len - 1;
}

static bool ivec_push(parser *p, ivec *x, const yaml_node_t *at, int64_t v) {
  if (x->n >= x->limit) return skv_ydoc_fail(&p->d, at, "%s", x->too_many);
  if (x->n == x->cap) {
    const int64_t cap = x->cap ? 2 * x->cap : 16;
    int64_t *nv = realloc(x->v, (size_t)cap * sizeof *nv);
    if (!nv) return skv_ydoc_fail(&p->d, at, "out of memory");
    x->v = nv;
    x->cap = cap;
  }
  x->v[x->n++] = v;
  return true;
}

/* The next value of an axis, zeroed, positioned at `at`; NULL (error set)
 * when the axis would pass limit values or memory runs out. */
static setting *axis_push(parser *p, axis *a, const yaml_node_t *at, int64_t limit) {
  if (a->n >= limit) {
    skv_ydoc_fail(&p->d, at, "%s", too_many_configs);
    return NULL;
  }
  if (a->n == a->cap) {
    const int32_t cap = a->cap ? 2 * a->cap : 8;
    setting *nv = realloc(a->v, (size_t)cap * sizeof *nv);
    if (!nv) {
      skv_ydoc_fail(&p->d, at, "out of memory");
      return NULL;
    }
    a->v = nv;
    a->cap = cap;
  }
  setting *s = &a->v[a->n++];
  memset(s, 0, sizeof *s);
  return s;
}

/* ==== Integers: one, a list, or {range: [lo, hi(, step)]} ==== */

typedef struct int_rule {
  const char *what;
  int64_t min, max;
  const int64_t *only;
  int32_t nonly;
} int_rule;

static int_rule key_rule(key_id k) {
  return (int_rule){key_names[k], keys[k].min, keys[k].max, keys[k].only, keys[k].nonly};
}

static bool check_only(parser *p, const yaml_node_t *at, const int_rule *r, int64_t v) {
  if (r->nonly == 0) return true;
  char allowed[128] = "";
  size_t o = 0;
  for (int32_t i = 0; i < r->nonly; i++) {
    if (r->only[i] == v) return true;
    appendf(allowed, sizeof allowed, &o, "%s%lld", i ? ", " : "", (long long)r->only[i]);
  }
  return skv_ydoc_fail(&p->d, at, "%s: %lld is not supported (allowed: %s)", r->what, (long long)v, allowed);
}

static bool read_int(parser *p, const yaml_node_t *n, const int_rule *r, int64_t *out) {
  return skv_ydoc_int(&p->d, n, r->what, r->min, r->max, out) && check_only(p, n, r, *out);
}

static bool is_range(parser *p, const yaml_node_t *n) {
  static const char *const range_key[] = {"range"};
  if (n->type != YAML_MAPPING_NODE) return false;
  for (const yaml_node_pair_t *q = n->data.mapping.pairs.start; q < n->data.mapping.pairs.top; q++)
    if (skv_ydoc_key_index(&p->d, q, range_key, 1) == 0) return true;
  return false;
}

/* {range: [lo, hi]} or {range: [lo, hi, step]}: lo, lo+step, ... up to hi
 * inclusive. The output's cap bounds the loop, whatever the numbers. */
static bool read_range(parser *p, yaml_node_t *map, const int_rule *r, ivec *out) {
  static const char *const range_key[] = {"range"};
  skv_ykv f;
  if (!skv_ydoc_keys(&p->d, map, "a range", range_key, 1, &f) || !skv_ydoc_require(&p->d, map, "a range", &f, "range"))
    return false;
  yaml_node_t *list = f.value;
  if (list->type != YAML_SEQUENCE_NODE || skv_ydoc_count(list) < 2 || skv_ydoc_count(list) > 3) {
    char got[80];
    skv_ydoc_describe(list, got, sizeof got);
    return skv_ydoc_fail(&p->d, list, "range: expected [lo, hi] or [lo, hi, step], got %s%s", got,
                         list->type == YAML_SEQUENCE_NODE ? " of another length" : "");
  }
  int64_t lo, hi, step = 1;
  yaml_node_t *hi_node = skv_ydoc_item(&p->d, list, 1);
  if (!skv_ydoc_int(&p->d, skv_ydoc_item(&p->d, list, 0), r->what, r->min, r->max, &lo) ||
      !skv_ydoc_int(&p->d, hi_node, r->what, r->min, r->max, &hi))
    return false;
  if (skv_ydoc_count(list) == 3 &&
      !skv_ydoc_int(&p->d, skv_ydoc_item(&p->d, list, 2), "range step", 1, INT64_MAX, &step))
    return false;
  if (hi < lo)
    return skv_ydoc_fail(&p->d, hi_node, "range: hi %lld is below lo %lld (the range would be empty)", (long long)hi,
                         (long long)lo);
  for (int64_t v = lo;; v += step) {
    if (!check_only(p, map, r, v) || !ivec_push(p, out, map, v)) return false;
    if (hi - v < step) break; /* the next value would pass hi (and might overflow) */
  }
  return true;
}

/* Integers node stands for: a list, a range, or (when one_ok) one integer. */
static bool read_ints(parser *p, yaml_node_t *n, const int_rule *r, bool one_ok, ivec *out) {
  if (n->type == YAML_MAPPING_NODE) return read_range(p, n, r, out);
  if ((n->type == YAML_SEQUENCE_NODE || !one_ok) && !skv_ydoc_expect(&p->d, n, YAML_SEQUENCE_NODE, r->what))
    return false;
  for (int32_t i = 0; i < skv_ydoc_count(n); i++) {
    const yaml_node_t *e = skv_ydoc_item(&p->d, n, i);
    int64_t v;
    if (!read_int(p, e, r, &v) || !ivec_push(p, out, e, v)) return false;
  }
  return true;
}

/* ==== One value of a key ==== */

/* The shortest text that reads back as the same float, without '+' (not
 * allowed in configuration names): 0.1 -> "0.1", 1e+20 -> "1e20". */
static void float_text(float f, char *buf, size_t len) {
  char t[32];
  for (int prec = 1; prec <= 9; prec++) {
    snprintf(t, sizeof t, "%.*g", prec, (double)f);
    if (strtof(t, NULL) == f) break;
  }
  size_t o = 0;
  for (const char *c = t; *c && o + 1 < len; c++)
    if (*c != '+') buf[o++] = *c;
  buf[o] = '\0';
}

static void seqlen_fixed(setting *s, int64_t v) {
  s->seqlen.kind = SKV_SEQLEN_FIXED;
  s->seqlen.value = s->seqlen.lo = s->seqlen.hi = v;
  snprintf(s->frag, sizeof s->frag, "L%lld", (long long)v);
}

static uint64_t fnv1a64_ints(const int64_t *v, int64_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (int64_t i = 0; i < n; i++)
    for (int b = 0; b < 64; b += 8) h = (h ^ (((uint64_t)v[i] >> b) & 0xff)) * 0x100000001b3ull;
  return h;
}

/* A distribution mapping: {dist: fixed, value: V}, {dist: uniform, lo: A,
 * hi: B, seed: S}, {dist: list, values: [..]}. */
static bool read_dist(parser *p, yaml_node_t *map, setting *s) {
  skv_ykv f[D_COUNT];
  int32_t dist;
  if (!skv_ydoc_keys(&p->d, map, "a seqlen distribution", dist_keys, D_COUNT, f) ||
      !skv_ydoc_require(&p->d, map, "a seqlen distribution", &f[D_DIST], "dist") ||
      !skv_ydoc_enum(&p->d, f[D_DIST].value, "dist", dist_names, COUNT_OF(dist_names), &dist))
    return false;
  for (int32_t k = D_VALUE; k < D_COUNT; k++)
    if (f[k].key && !(dist_takes[dist] & (1u << k)))
      return skv_ydoc_fail(&p->d, f[k].key, "key '%s' does not apply to dist %s (it takes: %s)", dist_keys[k],
                           dist_names[dist], dist_takes_text[dist]);
  const int_rule len = key_rule(K_SEQLEN);
  int64_t v;
  switch (dist) {
  case SKV_SEQLEN_FIXED:
    if (!skv_ydoc_require(&p->d, map, "dist fixed", &f[D_VALUE], "value") || !read_int(p, f[D_VALUE].value, &len, &v))
      return false;
    seqlen_fixed(s, v);
    return true;
  case SKV_SEQLEN_UNIFORM: {
    skv_seqlen_spec *q = &s->seqlen;
    q->kind = SKV_SEQLEN_UNIFORM;
    if (!skv_ydoc_require(&p->d, map, "dist uniform", &f[D_LO], "lo") ||
        !skv_ydoc_require(&p->d, map, "dist uniform", &f[D_HI], "hi") || !read_int(p, f[D_LO].value, &len, &q->lo) ||
        !read_int(p, f[D_HI].value, &len, &q->hi))
      return false;
    if (q->hi < q->lo)
      return skv_ydoc_fail(&p->d, f[D_HI].value, "hi: %lld is below lo %lld", (long long)q->hi, (long long)q->lo);
    s->seed_given = f[D_SEED].key != NULL;
    if (s->seed_given && !skv_ydoc_u64(&p->d, f[D_SEED].value, "seed", &q->seed)) return false;
    if (s->seed_given)
      snprintf(s->frag, sizeof s->frag, "Luniform(%lld,%lld,seed=%llu)", (long long)q->lo, (long long)q->hi,
               (unsigned long long)q->seed);
    else snprintf(s->frag, sizeof s->frag, "Luniform(%lld,%lld)", (long long)q->lo, (long long)q->hi);
    return true;
  }
  default: {
    if (!skv_ydoc_require(&p->d, map, "dist list", &f[D_VALUES], "values")) return false;
    s->pool_off = p->pool.n;
    if (!read_ints(p, f[D_VALUES].value, &len, false, &p->pool)) return false;
    s->seqlen.kind = SKV_SEQLEN_LIST;
    s->seqlen.nvalues = (int32_t)(p->pool.n - s->pool_off);
    const int64_t *vals = p->pool.v + s->pool_off;
    char text[LIST_NAME_MAX + 24];
    size_t o = 0;
    for (int32_t i = 0; i < s->seqlen.nvalues && o <= LIST_NAME_MAX; i++)
      appendf(text, sizeof text, &o, "%s%lld", i ? "," : "", (long long)vals[i]);
    /* A long list is named by its count and a hash of its lengths: still unique and stable. */
    if (o > LIST_NAME_MAX)
      snprintf(text, sizeof text, "n=%d,h=%016llx", s->seqlen.nvalues,
               (unsigned long long)fnv1a64_ints(vals, s->seqlen.nvalues));
    snprintf(s->frag, sizeof s->frag, "Llist(%s)", text);
    return true;
  }
  }
}

/* One value of a key of kind other than V_POLICY. */
static bool read_one(parser *p, key_id k, yaml_node_t *n, setting *s) {
  const key_spec *ks = &keys[k];
  const char *what = key_names[k];
  s->line = skv_ydoc_line(n);
  s->col = skv_ydoc_col(n);
  switch (ks->kind) {
  case V_INT: {
    const int_rule r = key_rule(k);
    if (!read_int(p, n, &r, &s->i)) return false;
    snprintf(s->frag, sizeof s->frag, "%s%lld", ks->label, (long long)s->i);
    return true;
  }
  case V_U64:
    if (!skv_ydoc_u64(&p->d, n, what, &s->u)) return false;
    snprintf(s->frag, sizeof s->frag, "%s%llu", ks->label, (unsigned long long)s->u);
    return true;
  case V_SCALE: {
    double v;
    if (!skv_ydoc_float(&p->d, n, what, false, &v)) return false;
    s->f = (float)v;
    if (!(s->f > 0) || isinf(s->f))
      return skv_ydoc_fail(&p->d, n, "%s: %g is out of range for a 32-bit float scale", what, v);
    char t[32];
    float_text(s->f, t, sizeof t);
    snprintf(s->frag, sizeof s->frag, "%s%s", ks->label, t);
    return true;
  }
  case V_ENUM: {
    int32_t i;
    if (!skv_ydoc_enum(&p->d, n, what, ks->names, ks->nnames, &i)) return false;
    s->i = i;
    snprintf(s->frag, sizeof s->frag, "%s%s", ks->label, ks->names[i]);
    return true;
  }
  case V_MODEL: {
    const char *name;
    if (!skv_ydoc_string(&p->d, n, what, &name)) return false;
    if (!skv_gpu_model_name_ok(name))
      return skv_ydoc_fail(&p->d, n, "gpu_model: not a GPU model name ([A-Za-z0-9_.-], 1..31 characters)");
    snprintf(s->model, sizeof s->model, "%s", name);
    snprintf(s->frag, sizeof s->frag, "%s%s", ks->label, name);
    return true;
  }
  default: { /* V_SEQLEN; a policy expands into several values: read_policy */
    if (n->type == YAML_MAPPING_NODE) return read_dist(p, n, s);
    const int_rule r = key_rule(k);
    int64_t v;
    if (!read_int(p, n, &r, &v)) return false;
    seqlen_fixed(s, v);
    return true;
  }
  }
}

/* ==== Policies ==== */

static void set_option(skv_policy_opts *o, skv_option k, int64_t v) {
  switch (k) {
  case SKV_OPT_SPLIT_SIZE: o->split_size = v; break;
  case SKV_OPT_NUM_SPLITS: o->num_splits = (int32_t)v; break;
  case SKV_OPT_MAX_SPLITS: o->max_splits = (int32_t)v; break;
  case SKV_OPT_FIXED_SPLIT_PAGES: o->fixed_split_pages = (int32_t)v; break;
  case SKV_OPT_DISABLE_SPLIT_KV: o->disable_split_kv = v != 0; break;
  case SKV_OPT_CUDA_GRAPH: o->cuda_graph = v != 0; break;
  case SKV_OPT_BATCH_INVARIANT: o->batch_invariant = v != 0; break;
  case SKV_OPT_BLOCKS_PER_SM: o->blocks_per_sm = (int32_t)v; break;
  case SKV_OPT_TILE_ROWS: o->tile_rows = (int32_t)v; break;
  case SKV_OPT_TAPER: o->taper = (int32_t)v; break;
  case SKV_OPT_COUNT: break;
  }
}

/* The values of one option: a scalar, a list, or (integers) a range. */
static bool read_option(parser *p, skv_option k, yaml_node_t *n, ivec *out) {
  const skv_option_spec *o = skv_option_get(k);
  if (!o->is_bool) {
    const int_rule r = {o->name, o->min, o->max, NULL, 0};
    return read_ints(p, n, &r, true, out);
  }
  if (n->type == YAML_SEQUENCE_NODE && !skv_ydoc_expect(&p->d, n, YAML_SEQUENCE_NODE, o->name)) return false;
  for (int32_t i = 0; i < skv_ydoc_count(n); i++) {
    const yaml_node_t *e = skv_ydoc_item(&p->d, n, i);
    bool b;
    if (!skv_ydoc_bool(&p->d, e, o->name, &b) || !ivec_push(p, out, e, b)) return false;
  }
  return true;
}

/* A policy element: a name, or {name: P, option: value-or-list, ...}; its
 * option lists expand into one policy per combination, the first option
 * written outermost. */
static bool read_policy(parser *p, axis *a, yaml_node_t *n, int64_t limit) {
  const char *pnames[SKV_POLICY_COUNT];
  for (int32_t i = 0; i < SKV_POLICY_COUNT; i++) pnames[i] = skv_policy_name((skv_policy)i);
  int32_t pol;
  if (n->type != YAML_MAPPING_NODE) {
    setting *s;
    if (!skv_ydoc_enum(&p->d, n, "policy", pnames, SKV_POLICY_COUNT, &pol) || !(s = axis_push(p, a, n, limit)))
      return false;
    s->policy = (skv_policy)pol;
    skv_policy_opts_default(&s->opts);
    snprintf(s->frag, sizeof s->frag, "%s", pnames[pol]);
    return true;
  }
  const char *keys_of_policy[P_COUNT] = {[P_NAME] = "name"};
  for (int32_t k = P_NAME + 1; k < P_COUNT; k++) keys_of_policy[k] = skv_option_get(OPTION_OF_KEY(k))->name;
  skv_ykv f[P_COUNT];
  if (!skv_ydoc_keys(&p->d, n, "a policy", keys_of_policy, P_COUNT, f) ||
      !skv_ydoc_require(&p->d, n, "a policy", &f[P_NAME], "name") ||
      !skv_ydoc_enum(&p->d, f[P_NAME].value, "policy", pnames, SKV_POLICY_COUNT, &pol))
    return false;
  skv_option order[P_COUNT];
  ivec vals[P_COUNT];
  memset(vals, 0, sizeof vals);
  int32_t nopt = 0;
  int64_t total = 1;
  bool ok = true;
  for (const yaml_node_pair_t *q = n->data.mapping.pairs.start; ok && q < n->data.mapping.pairs.top; q++) {
    const int32_t key = skv_ydoc_key_index(&p->d, q, keys_of_policy, P_COUNT);
    if (key == P_NAME) continue;
    const skv_option k = OPTION_OF_KEY(key);
    if (!skv_option_applies(k, (skv_policy)pol)) {
      char reads[160];
      skv_option_readers((skv_policy)pol, false, reads, sizeof reads);
      ok = skv_ydoc_fail(&p->d, f[key].key, "option '%s' does not apply to policy %s (it reads: %s)",
                         keys_of_policy[key], pnames[pol], reads);
      continue;
    }
    ivec *v = &vals[nopt];
    v->limit = limit;
    v->too_many = too_many_configs;
    order[nopt++] = k;
    ok = read_option(p, k, f[key].value, v);
    total *= v->n; /* each factor <= limit <= 100000 and total <= limit before: no overflow */
    if (ok && total > limit - a->n) ok = skv_ydoc_fail(&p->d, f[key].value, "%s", too_many_configs);
  }
  for (int64_t t = 0; ok && t < total; t++) {
    setting *s = axis_push(p, a, n, limit);
    if (!(ok = s != NULL)) break;
    s->policy = (skv_policy)pol;
    skv_policy_opts_default(&s->opts);
    int64_t digit[P_COUNT], rest = t;
    for (int32_t j = nopt - 1; j >= 0; j--) {
      digit[j] = vals[j].v[rest % vals[j].n];
      rest /= vals[j].n;
    }
    size_t o = 0;
    appendf(s->frag, sizeof s->frag, &o, "%s", pnames[pol]);
    for (int32_t j = 0; j < nopt; j++) {
      set_option(&s->opts, order[j], digit[j]);
      appendf(s->frag, sizeof s->frag, &o, "-%s%lld", option_labels[order[j]], (long long)digit[j]);
    }
  }
  for (int32_t j = 0; j < nopt; j++) free(vals[j].v);
  return ok;
}

/* ==== defaults: and sweep: ==== */

/* dtype sets q_dtype and kv_dtype at once: with either beside it in one
 * mapping, which wins would depend on the order written. */
static bool check_dtype_keys(parser *p, const skv_ykv *f, const char *where) {
  if (f[K_DTYPE].key && (f[K_Q_DTYPE].key || f[K_KV_DTYPE].key))
    return skv_ydoc_fail(&p->d, f[K_DTYPE].key,
                         "dtype sets q_dtype and kv_dtype at once: give either dtype or q_dtype/kv_dtype in %s", where);
  return true;
}

static bool read_defaults(parser *p, yaml_node_t *map) {
  skv_ykv f[K_COUNT];
  if (!skv_ydoc_keys(&p->d, map, "defaults", key_names, K_COUNT, f) || !check_dtype_keys(p, f, "defaults"))
    return false;
  for (const yaml_node_pair_t *q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top; q++) {
    const key_id k = (key_id)skv_ydoc_key_index(&p->d, q, key_names, K_COUNT);
    if (k >= K_BATCH) return skv_ydoc_fail(&p->d, f[k].key, "'%s' is set under sweep, not defaults", key_names[k]);
    if (f[k].value->type == YAML_SEQUENCE_NODE)
      return skv_ydoc_fail(&p->d, f[k].value, "%s: defaults take one value (a list belongs under sweep)",
                           key_names[k]);
    if (!read_one(p, k, f[k].value, &p->defaults[k])) return false;
    p->has_default[k] = true;
  }
  return true;
}

/* One sweep key's values; at most limit of them keep the product within
 * SKV_SUITE_MAX_CONFIGS. */
static bool read_axis(parser *p, axis *a, int64_t limit) {
  yaml_node_t *n = a->node;
  const key_spec *ks = &keys[a->key];
  if ((ks->kind == V_INT || ks->kind == V_SEQLEN) && is_range(p, n)) {
    ivec v = {.limit = limit, .too_many = too_many_configs};
    const int_rule r = key_rule(a->key);
    bool ok = read_range(p, n, &r, &v);
    for (int64_t i = 0; ok && i < v.n; i++) {
      setting *s = axis_push(p, a, n, limit);
      if (!s) ok = false;
      else if (ks->kind == V_SEQLEN) seqlen_fixed(s, v.v[i]);
      else {
        s->i = v.v[i];
        snprintf(s->frag, sizeof s->frag, "%s%lld", ks->label, (long long)v.v[i]);
      }
    }
    free(v.v);
    return ok;
  }
  if (n->type == YAML_SEQUENCE_NODE && !skv_ydoc_expect(&p->d, n, YAML_SEQUENCE_NODE, key_names[a->key])) return false;
  for (int32_t i = 0; i < skv_ydoc_count(n); i++) {
    yaml_node_t *e = skv_ydoc_item(&p->d, n, i);
    if (ks->kind == V_POLICY) {
      if (!read_policy(p, a, e, limit)) return false;
      continue;
    }
    setting *s = axis_push(p, a, e, limit);
    if (!s || !read_one(p, a->key, e, s)) return false;
  }
  return true;
}

/* points: [{batch: 1, seqlen: 4096}, ...]: the keys of each element are set together (a zip, where
 * the rest of the sweep is a product). Every element sets the same keys, each one value; policy
 * and points cannot be points' keys, and a key in points cannot also be a key of the sweep. */
static bool read_points(parser *p, axis *a, const skv_ykv *sweep_keys, int64_t limit) {
  yaml_node_t *n = a->node;
  if (!skv_ydoc_expect(&p->d, n, YAML_SEQUENCE_NODE, "points")) return false;
  const int32_t count = skv_ydoc_count(n);
  if (count > limit) return skv_ydoc_fail(&p->d, n, "%s", too_many_configs);
  a->pts = calloc((size_t)(count > 0 ? count : 1), sizeof *a->pts);
  if (!a->pts) return skv_ydoc_fail(&p->d, n, "out of memory");
  for (int32_t i = 0; i < count; i++) {
    yaml_node_t *e = skv_ydoc_item(&p->d, n, i);
    skv_ykv f[K_COUNT];
    if (!skv_ydoc_expect(&p->d, e, YAML_MAPPING_NODE, "points: an element") ||
        !skv_ydoc_keys(&p->d, e, "a point", key_names, K_COUNT, f) || !check_dtype_keys(p, f, "a point"))
      return false;
    point *pt = &a->pts[a->n++];
    for (int32_t k = 0; k < K_COUNT; k++) {
      if (!f[k].key) continue;
      if (k == K_POLICY || k == K_POINTS)
        return skv_ydoc_fail(&p->d, f[k].key, "points: '%s' cannot be set in a point", key_names[k]);
      if (sweep_keys[k].key)
        return skv_ydoc_fail(&p->d, f[k].key, "points: '%s' is also a key of the sweep", key_names[k]);
      if (f[k].value->type == YAML_SEQUENCE_NODE)
        return skv_ydoc_fail(&p->d, f[k].value, "%s: a point takes one value (lists belong to the sweep)",
                             key_names[k]);
      if (!read_one(p, (key_id)k, f[k].value, &pt->s[k])) return false;
      pt->has[k] = true;
    }
    for (int32_t k = 0; k < K_COUNT && i > 0; k++)
      if (pt->has[k] != a->pts[0].has[k])
        return skv_ydoc_fail(&p->d, e, "points: every point sets the same keys ('%s' differs from the first point)",
                             key_names[k]);
  }
  if (count == 0) return skv_ydoc_fail(&p->d, n, "points: an empty list");
  return true;
}

static bool read_sweep(parser *p, yaml_node_t *map) {
  skv_ykv f[K_COUNT];
  if (!skv_ydoc_keys(&p->d, map, "sweep", key_names, K_COUNT, f) ||
      !skv_ydoc_require(&p->d, map, "sweep", &f[K_POLICY], "policy") || !check_dtype_keys(p, f, "sweep"))
    return false;
  p->sweep = map;
  p->nconfigs = 1;
  for (const yaml_node_pair_t *q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top; q++) {
    axis *a = &p->axes[p->naxes++];
    a->key = (key_id)skv_ydoc_key_index(&p->d, q, key_names, K_COUNT);
    a->node = f[a->key].value;
    const int64_t limit = SKV_SUITE_MAX_CONFIGS / p->nconfigs;
    if (!(a->key == K_POINTS ? read_points(p, a, f, limit) : read_axis(p, a, limit))) return false;
    p->nconfigs *= a->n;
  }
  /* seqlen: in the sweep, or in every point. */
  bool seqlen = f[K_SEQLEN].key != NULL;
  for (int32_t i = 0; i < p->naxes && !seqlen; i++) seqlen = p->axes[i].key == K_POINTS && p->axes[i].pts[0].has[K_SEQLEN];
  if (!seqlen) return skv_ydoc_require(&p->d, map, "sweep", &f[K_SEQLEN], "seqlen");
  return true;
}

/* ==== The suite's own keys ==== */

typedef enum top_key {
  T_NAME, T_DESCRIPTION, T_DEFAULTS, T_SWEEP, T_REPEAT, T_WARMUP, T_CHECKS, T_PLOTS, T_CROSS_GPU, T_GRAPH,
  T_GRAPH_MAX_SEQLEN, T_CASCADE, T_COUNT
} top_key;
static const char *const top_keys[T_COUNT] = {
    "name", "description", "defaults", "sweep", "repeat", "warmup", "checks", "plots", "cross_gpu", "graph",
    "graph_max_seqlen", "cascade",
};
static const char *const check_keys[] = {"reference", "bitwise_repeat", "batch_invariance", "invariance_pairs"};
#define CHECK_BOOLS 3 /* the others are integers */
static const char *const plot_names[] = {
    "latency_vs_seqlen", "bandwidth_fraction", "predicted_vs_measured", "error",
    "splits_heuristic",  "quant_error",        "lse_layout",            "model_error",
    "latency_vs_qlen",   "splits_vs_qlen",     "determinism",           "graph_replay",
    "cascade",           "cascade_map",        "cascade_regret",        "cascade_model",
};
#define DEFAULT_PLOTS 4 /* the first four */

static bool suite_name_ok(const char *name) {
  const size_t n = strlen(name);
  if (n < 1 || n > 64) return false;
  for (size_t i = 0; i < n; i++) {
    const char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  }
  return true;
}

static bool read_checks(parser *p, yaml_node_t *map, skv_suite *s) {
  skv_ykv f[COUNT_OF(check_keys)];
  bool *dest[CHECK_BOOLS] = {&s->check_reference, &s->check_bitwise_repeat, &s->check_batch_invariance};
  if (!skv_ydoc_keys(&p->d, map, "checks", check_keys, COUNT_OF(check_keys), f)) return false;
  for (int32_t k = 0; k < CHECK_BOOLS; k++)
    if (f[k].key && !skv_ydoc_bool(&p->d, f[k].value, check_keys[k], dest[k])) return false;
  if (f[CHECK_BOOLS].key) {
    const int_rule r = {"invariance_pairs", 0, SKV_MAX_INVARIANCE_PAIRS, NULL, 0};
    int64_t v;
    if (!read_int(p, f[CHECK_BOOLS].value, &r, &v)) return false;
    s->invariance_pairs = (int32_t)v;
  }
  return true;
}

static bool read_plots(parser *p, yaml_node_t *list, skv_suite *s) {
  if (!skv_ydoc_expect(&p->d, list, YAML_SEQUENCE_NODE, "plots")) return false;
  /* Known names and no repeats: at most COUNT_OF(plot_names) entries reach plots[]. */
  _Static_assert(sizeof plot_names / sizeof plot_names[0] <= sizeof s->plots / sizeof s->plots[0], "plots[] too small");
  for (int32_t i = 0; i < skv_ydoc_count(list); i++) {
    const yaml_node_t *e = skv_ydoc_item(&p->d, list, i);
    int32_t k;
    if (!skv_ydoc_enum(&p->d, e, "plot", plot_names, COUNT_OF(plot_names), &k)) return false;
    for (int32_t j = 0; j < s->nplots; j++)
      if (strcmp(s->plots[j], plot_names[k]) == 0)
        return skv_ydoc_fail(&p->d, e, "plot '%s' is listed twice", plot_names[k]);
    snprintf(s->plots[s->nplots++], sizeof s->plots[0], "%s", plot_names[k]);
  }
  return true;
}

static bool read_suite(parser *p, skv_suite *s) {
  yaml_node_t *root = skv_ydoc_root(&p->d);
  skv_ykv f[T_COUNT];
  if (!skv_ydoc_keys(&p->d, root, "the suite", top_keys, T_COUNT, f) ||
      !skv_ydoc_require(&p->d, root, "the suite", &f[T_NAME], "name") ||
      !skv_ydoc_require(&p->d, root, "the suite", &f[T_DESCRIPTION], "description") ||
      !skv_ydoc_require(&p->d, root, "the suite", &f[T_SWEEP], "sweep"))
    return false;
  const char *name, *description;
  if (!skv_ydoc_string(&p->d, f[T_NAME].value, "name", &name)) return false;
  if (!suite_name_ok(name))
    return skv_ydoc_fail(&p->d, f[T_NAME].value, "name: 1..64 of [A-Za-z0-9_-] (it names results/<name>/)");
  snprintf(s->name, sizeof s->name, "%s", name);
  if (!skv_ydoc_string(&p->d, f[T_DESCRIPTION].value, "description", &description)) return false;
  if (!(s->description = strdup(description))) return skv_ydoc_fail(&p->d, root, "out of memory");
  int64_t repeat = 50, warmup = 5;
  if ((f[T_REPEAT].key && !skv_ydoc_int(&p->d, f[T_REPEAT].value, "repeat", 1, 1000000, &repeat)) ||
      (f[T_WARMUP].key && !skv_ydoc_int(&p->d, f[T_WARMUP].value, "warmup", 0, 1000000, &warmup)))
    return false;
  s->repeat = (int32_t)repeat;
  s->warmup = (int32_t)warmup;
  s->check_reference = true;
  if (f[T_CROSS_GPU].key && !skv_ydoc_bool(&p->d, f[T_CROSS_GPU].value, "cross_gpu", &s->cross_gpu)) return false;
  if (f[T_GRAPH].key && !skv_ydoc_bool(&p->d, f[T_GRAPH].value, "graph", &s->graph)) return false;
  int64_t gmax = SKV_GRAPH_MAX_SEQLEN_DEFAULT;
  if (f[T_GRAPH_MAX_SEQLEN].key &&
      !skv_ydoc_int(&p->d, f[T_GRAPH_MAX_SEQLEN].value, "graph_max_seqlen", 1, SKV_MAX_KVLEN, &gmax))
    return false;
  if (f[T_GRAPH_MAX_SEQLEN].key && !s->graph)
    return skv_ydoc_fail(&p->d, f[T_GRAPH_MAX_SEQLEN].key, "graph_max_seqlen: set only with graph: true");
  s->graph_max_seqlen = gmax;
  if (f[T_CASCADE].key && !skv_ydoc_bool(&p->d, f[T_CASCADE].value, "cascade", &s->cascade)) return false;
  if (f[T_CHECKS].key && !read_checks(p, f[T_CHECKS].value, s)) return false;
  if (f[T_PLOTS].key && !read_plots(p, f[T_PLOTS].value, s)) return false;
  if (!f[T_PLOTS].key)
    for (int32_t i = 0; i < DEFAULT_PLOTS; i++)
      snprintf(s->plots[s->nplots++], sizeof s->plots[0], "%s", plot_names[i]);
  if (f[T_DEFAULTS].key && !read_defaults(p, f[T_DEFAULTS].value)) return false;
  return read_sweep(p, f[T_SWEEP].value);
}

/* ==== Configurations ==== */

/* Every key's built-in default (experiments/README.md lists them). */
static void config_builtin(skv_config *c) {
  memset(c, 0, sizeof *c);
  c->batch = 1;
  c->qlen = 1;
  c->hq = 32;
  c->hkv = 8;
  c->head_dim = 128;
  c->page_size = 16;
  c->q_dtype = c->kv_dtype = SKV_BF16;
  c->v_dtype = SKV_DTYPE_COUNT;
  skv_quant_params_default(&c->quant);
  c->policy = SKV_POLICY_FA2; /* sweep: requires a policy; this is never what a suite gets */
  skv_policy_opts_default(&c->opts);
  c->gpu_model[0] = '\0'; /* the run's GPU: the device's model, or gpus.yaml's home in a simulated run */
  c->seed = 1;
  snprintf(c->lse_layout, sizeof c->lse_layout, "logical");
  snprintf(c->host_path, sizeof c->host_path, "none");
}

static void apply(skv_config *c, key_id k, const setting *s) {
  const char *name = keys[k].names ? keys[k].names[s->i] : NULL;
  switch (k) {
  case K_HQ: c->hq = (int32_t)s->i; break;
  case K_HKV: c->hkv = (int32_t)s->i; break;
  case K_HEAD_DIM: c->head_dim = (int32_t)s->i; break;
  case K_PAGE_SIZE: c->page_size = (int32_t)s->i; break;
  case K_DTYPE:
    skv_dtype_parse(name, &c->q_dtype);
    c->kv_dtype = c->q_dtype;
    break;
  case K_Q_DTYPE: skv_dtype_parse(name, &c->q_dtype); break;
  case K_KV_DTYPE: skv_dtype_parse(name, &c->kv_dtype); break;
  case K_V_DTYPE:
    if (s->i == 0) c->v_dtype = SKV_DTYPE_COUNT; /* "same" */
    else skv_dtype_parse(name, &c->v_dtype);
    break;
  case K_KV_SCALE_MODE: skv_scale_mode_parse(name, &c->kv_scale_mode); break;
  case K_Q_SCALE: c->quant.q_scale = s->f; break;
  case K_K_SCALE: c->quant.k_scale = s->f; break;
  case K_V_SCALE: c->quant.v_scale = s->f; break;
  case K_DROP_SCALE:
    c->quant.drop_q_scale = strcmp(name, "q") == 0;
    c->quant.drop_k_scale = strcmp(name, "k") == 0;
    c->quant.drop_v_scale = strcmp(name, "v") == 0;
    break;
  case K_GPU_MODEL:
    snprintf(c->gpu_model, sizeof c->gpu_model, "%s", s->model);
    c->line = s->line;
    c->col = s->col;
    break;
  case K_SMS: c->sms = (int32_t)s->i; break;
  case K_SEED: c->seed = s->u; break;
  case K_QLEN: c->qlen = s->i; break;
  case K_LSE_LAYOUT: snprintf(c->lse_layout, sizeof c->lse_layout, "%s", name); break;
  case K_HOST_PATH: snprintf(c->host_path, sizeof c->host_path, "%s", name); break;
  case K_PREFILL_REQUESTS: c->prefill_requests = (int32_t)s->i; break;
  case K_MASK: c->mask = s->i == 0 ? SKV_MASK_CAUSAL : SKV_MASK_NONE; break;
  case K_SHARED_PREFIX: c->shared_prefix = s->i; break;
  case K_GROUP_SIZE: c->group_size = (int32_t)s->i; break;
  case K_GROUP_PREFIX: c->group_prefix = s->i; break;
  case K_BATCH: c->batch = (int32_t)s->i; break;
  case K_SEQLEN: c->seqlen = s->seqlen; break;
  case K_POLICY:
    c->policy = s->policy;
    c->opts = s->opts;
    break;
  case K_POINTS: /* its keys are applied one by one */
  case K_COUNT: break;
  }
}

void skv_config_shape(const skv_config *c, skv_shape *s) {
  memset(s, 0, sizeof *s);
  s->hq = c->hq, s->hkv = c->hkv, s->head_dim = c->head_dim, s->page_size = c->page_size;
  s->qlen = c->qlen;
  s->kvlen_min = c->seqlen.lo;
  s->kvlen_max = c->seqlen.hi;
  /* Every request at the longest length bounds the pool (exact for a fixed length). */
  s->pages = (int64_t)c->batch * ((c->seqlen.hi + c->page_size - 1) / c->page_size);
  s->q_dtype = c->q_dtype;
  s->k_dtype = c->kv_dtype;
  s->v_dtype = c->v_dtype == SKV_DTYPE_COUNT ? c->kv_dtype : c->v_dtype;
  s->o_dtype = skv_output_dtype(c->q_dtype);
  s->kv_scale_mode = c->kv_scale_mode;
}

skv_support skv_config_validate(const skv_config *c, char *err, size_t errlen) {
  skv_shape s;
  skv_config_shape(c, &s);
  if (c->prefill_requests > c->batch) {
    snprintf(err, errlen, "prefill_requests %d exceeds the batch (%d requests)", c->prefill_requests, c->batch);
    return SKV_SUPPORT_NONE;
  }
  /* Shared prefixes (sim/share.h): whole pages, groups that nest, and no query token inside one. */
  if (c->shared_prefix % c->page_size != 0 || c->group_prefix % c->page_size != 0) {
    snprintf(err, errlen, "shared_prefix %lld and group_prefix %lld must be multiples of page_size %d",
             (long long)c->shared_prefix, (long long)c->group_prefix, c->page_size);
    return SKV_SUPPORT_NONE;
  }
  if ((c->group_size > 0) != (c->group_prefix > 0)) {
    snprintf(err, errlen, "group_size %d and group_prefix %lld: set both or neither", c->group_size,
             (long long)c->group_prefix);
    return SKV_SUPPORT_NONE;
  }
  if (c->group_size > 0 && c->shared_prefix > 0 && c->batch % c->group_size != 0) {
    snprintf(err, errlen, "group_size %d must divide the batch (%d) for its groups to nest in the shared prefix",
             c->group_size, c->batch);
    return SKV_SUPPORT_NONE;
  }
  if (c->shared_prefix + c->group_prefix > 0 && c->seqlen.lo - c->qlen < c->shared_prefix + c->group_prefix) {
    snprintf(err, errlen,
             "shared_prefix %lld + group_prefix %lld reach past the first query position of the shortest request "
             "(seqlen %lld - qlen %lld)",
             (long long)c->shared_prefix, (long long)c->group_prefix, (long long)c->seqlen.lo, (long long)c->qlen);
    return SKV_SUPPORT_NONE;
  }
  /* The FA2 LSE layouts and host paths (sim/lse_layout.h) are those of a decode step. */
  if (strcmp(c->lse_layout, "logical") != 0 && c->qlen > 1) {
    snprintf(err, errlen, "lse_layout %s models FA2's decode step: it needs qlen 1 (got %lld)", c->lse_layout,
             (long long)c->qlen);
    return SKV_SUPPORT_NONE;
  }
  return skv_support_check(&s, NULL, err, errlen);
}

static int by_name(const void *a, const void *b) {
  return strcmp((*(const skv_config *const *)a)->name, (*(const skv_config *const *)b)->name);
}

/* Names are unique unless a sweep list repeats a value (8 and 8, 4096 and
 * {dist: fixed, value: 4096}): then two configurations would be one. */
static bool check_unique(parser *p, const skv_suite *s) {
  const skv_config **sorted = malloc((size_t)s->nconfigs * sizeof *sorted);
  if (!sorted) return skv_ydoc_fail(&p->d, p->sweep, "out of memory");
  for (int32_t i = 0; i < s->nconfigs; i++) sorted[i] = &s->configs[i];
  qsort(sorted, (size_t)s->nconfigs, sizeof *sorted, by_name);
  bool ok = true;
  for (int32_t i = 1; ok && i < s->nconfigs; i++) {
    if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0) {
      const int32_t a = sorted[i - 1]->index, b = sorted[i]->index;
      ok = skv_ydoc_fail(&p->d, p->sweep, "configurations %d and %d are both '%s': a sweep list repeats a value",
                         a < b ? a : b, a < b ? b : a, sorted[i]->name);
    }
  }
  free(sorted);
  return ok;
}

/* The cartesian product: configuration i takes, from each axis, the value
 * its mixed-radix digit selects, the last axis varying fastest. */
static bool expand(parser *p, skv_suite *s) {
  skv_config base;
  config_builtin(&base);
  base.line = skv_ydoc_line(p->sweep);
  base.col = skv_ydoc_col(p->sweep);
  for (int32_t k = 0; k < K_COUNT; k++)
    if (p->has_default[k]) apply(&base, (key_id)k, &p->defaults[k]);
  for (int32_t a = 0; a < p->naxes; a++) {
    for (int32_t i = 0; i < p->axes[a].n; i++) {
      setting *v = p->axes[a].key == K_POINTS ? &p->axes[a].pts[i].s[K_SEQLEN] : &p->axes[a].v[i];
      const bool is_seqlen = p->axes[a].key == K_SEQLEN || (p->axes[a].key == K_POINTS && p->axes[a].pts[i].has[K_SEQLEN]);
      if (!is_seqlen || v->seqlen.kind != SKV_SEQLEN_LIST) continue;
      skv_seqlen_spec *q = &v->seqlen;
      q->values = p->pool.v + v->pool_off;
      q->lo = q->hi = q->values[0];
      for (int32_t k = 1; k < q->nvalues; k++) {
        if (q->values[k] < q->lo) q->lo = q->values[k];
        if (q->values[k] > q->hi) q->hi = q->values[k];
      }
    }
  }
  s->configs = calloc((size_t)p->nconfigs, sizeof *s->configs);
  if (!s->configs)
    return skv_ydoc_fail(&p->d, p->sweep, "out of memory for %lld configurations", (long long)p->nconfigs);
  s->nconfigs = (int32_t)p->nconfigs;
  for (int32_t idx = 0; idx < s->nconfigs; idx++) {
    skv_config *c = &s->configs[idx];
    *c = base;
    c->index = idx;
    const setting *pick[K_COUNT] = {NULL};
    int32_t rest = idx;
    const point *pt[K_COUNT] = {NULL}; /* the point each points axis picked */
    for (int32_t a = p->naxes - 1; a >= 0; a--) {
      const int32_t digit = rest % p->axes[a].n;
      if (p->axes[a].key == K_POINTS) {
        pt[a] = &p->axes[a].pts[digit];
        for (int32_t k = 0; k < K_COUNT; k++)
          if (pt[a]->has[k]) pick[k] = &pt[a]->s[k];
      } else {
        pick[p->axes[a].key] = &p->axes[a].v[digit];
      }
      rest /= p->axes[a].n;
    }
    for (int32_t a = 0; a < p->naxes; a++) {
      if (p->axes[a].key != K_POINTS) apply(c, p->axes[a].key, pick[p->axes[a].key]);
      else
        for (int32_t k = 0; k < K_COUNT; k++)
          if (pt[a]->has[k]) apply(c, (key_id)k, pick[k]);
    }
    if (c->seqlen.kind == SKV_SEQLEN_UNIFORM && !pick[K_SEQLEN]->seed_given) c->seqlen.seed = c->seed;
    /* b, L and the policy first, then every other sweep key in the order written. */
    char name[2048];
    size_t o = 0;
    appendf(name, sizeof name, &o, "%s-%s-%s", pick[K_BATCH] ? pick[K_BATCH]->frag : "b1", pick[K_SEQLEN]->frag,
            pick[K_POLICY]->frag);
    for (int32_t a = 0; a < p->naxes; a++) {
      if (p->axes[a].key < K_BATCH) appendf(name, sizeof name, &o, "-%s", pick[p->axes[a].key]->frag);
      if (p->axes[a].key == K_POINTS)
        for (int32_t k = 0; k < K_BATCH; k++)
          if (pt[a]->has[k]) appendf(name, sizeof name, &o, "-%s", pick[k]->frag);
    }
    if (o >= sizeof c->name)
      return skv_ydoc_fail(&p->d, p->sweep,
                           "configuration '%.60s...': its name would have %zu characters, more than %zu "
                           "(sweep fewer keys)",
                           name, o, sizeof c->name - 1);
    memcpy(c->name, name, o + 1);
    char why[256];
    if (skv_config_validate(c, why, sizeof why) == SKV_SUPPORT_NONE)
      return skv_ydoc_fail(&p->d, p->sweep, "configuration '%s': %s", c->name, why);
  }
  return check_unique(p, s);
}

/* ==== Public ==== */

static void parser_free(parser *p) {
  for (int32_t a = 0; a < p->naxes; a++) {
    free(p->axes[a].v);
    free(p->axes[a].pts);
  }
  free(p->pool.v);
  skv_ydoc_free(&p->d);
}

bool skv_suite_load(const char *path, skv_suite *s, char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  parser *p = calloc(1, sizeof *p);
  if (!p) {
    snprintf(err, errlen, "%s: out of memory", path);
    return false;
  }
  p->pool.limit = SKV_SUITE_MAX_SEQLEN_VALUES;
  p->pool.too_many = "seqlen: the list distributions hold more than 1048576 lengths in all";
  uint64_t hash;
  bool ok = skv_ydoc_load(&p->d, path, &hash, err, errlen) && read_suite(p, s) && expand(p, s);
  if (ok && !(s->path = strdup(path))) ok = skv_ydoc_fail(&p->d, p->sweep, "out of memory");
  if (ok) {
    s->file_hash = hash;
    s->sweep_line = skv_ydoc_line(p->sweep);
    s->sweep_col = skv_ydoc_col(p->sweep);
    s->seqlen_pool = p->pool.v; /* the configurations point into it */
    p->pool.v = NULL;
  }
  parser_free(p);
  free(p);
  if (!ok) skv_suite_free(s);
  return ok;
}

void skv_suite_shard(skv_suite *s, int32_t i, int32_t n) {
  int32_t k = 0;
  for (int32_t j = 0; j < s->nconfigs; j++)
    if (s->configs[j].index % n == i) s->configs[k++] = s->configs[j];
  s->nconfigs = k;
}

void skv_suite_free(skv_suite *s) {
  free(s->path);
  free(s->description);
  free(s->configs);
  free(s->seqlen_pool);
  memset(s, 0, sizeof *s);
}

bool skv_suite_check_models(const skv_suite *s, const skv_gpus *g, char *err, size_t errlen) {
  for (int32_t i = 0; i < s->nconfigs; i++) {
    const skv_config *c = &s->configs[i];
    if (!c->gpu_model[0] || skv_gpus_find(g, c->gpu_model)) continue;
    char known[512];
    skv_gpus_names(g, known, sizeof known);
    snprintf(err, errlen, "%s:%d:%d: unknown gpu_model '%s' (known: %s)", s->path, c->line, c->col, c->gpu_model,
             known);
    return false;
  }
  return true;
}

bool skv_config_make_batch(const skv_config *c, skv_batch *b, char *err, size_t errlen) {
  memset(b, 0, sizeof *b);
  if (!skv_batch_alloc(b, c->batch)) {
    snprintf(err, errlen, "configuration '%s': out of memory for %d requests", c->name, c->batch);
    return false;
  }
  skv_rng rng;
  skv_rng_seed(&rng, c->seqlen.seed);
  for (int32_t r = 0; r < c->batch; r++) {
    switch (c->seqlen.kind) {
    case SKV_SEQLEN_FIXED: b->kvlen[r] = c->seqlen.value; break;
    case SKV_SEQLEN_UNIFORM: b->kvlen[r] = skv_rng_range(&rng, c->seqlen.lo, c->seqlen.hi); break;
    case SKV_SEQLEN_LIST: b->kvlen[r] = c->seqlen.values[r % c->seqlen.nvalues]; break;
    }
    /* prefill_requests K > 0: the first K requests take qlen, the others decode (chunked prefill) */
    b->qlen[r] = c->prefill_requests == 0 || r < c->prefill_requests ? c->qlen : 1;
  }
  b->num_q_heads = c->hq;
  b->num_kv_heads = c->hkv;
  b->head_dim = c->head_dim;
  b->page_size = c->page_size;
  b->kv_dtype = c->kv_dtype;
  b->v_dtype = c->v_dtype == SKV_DTYPE_COUNT ? c->kv_dtype : c->v_dtype;
  b->kv_scale_mode = c->kv_scale_mode;
  b->mask = c->mask;
  char why[256];
  if (!skv_batch_validate(b, why, sizeof why)) {
    snprintf(err, errlen, "configuration '%s': %s", c->name, why);
    skv_batch_free(b);
    return false;
  }
  return true;
}

bool skv_config_share(const skv_config *c, skv_share *s, char *err, size_t errlen) {
  int32_t block[2];
  int64_t len[2];
  int32_t levels = 0;
  if (c->shared_prefix > 0) block[levels] = c->batch, len[levels++] = c->shared_prefix;
  if (c->group_size > 0) block[levels] = c->group_size, len[levels++] = c->group_prefix;
  return skv_share_blocks(c->batch, levels, block, len, s, err, errlen);
}

void skv_config_describe(const skv_config *c, char *buf, size_t len) {
  char seqlen[64], sms[16];
  switch (c->seqlen.kind) {
  case SKV_SEQLEN_FIXED: snprintf(seqlen, sizeof seqlen, "%lld", (long long)c->seqlen.value); break;
  case SKV_SEQLEN_UNIFORM:
    snprintf(seqlen, sizeof seqlen, "uniform %lld..%lld seed %llu", (long long)c->seqlen.lo, (long long)c->seqlen.hi,
             (unsigned long long)c->seqlen.seed);
    break;
  case SKV_SEQLEN_LIST: snprintf(seqlen, sizeof seqlen, "a list of %d cycled", c->seqlen.nvalues); break;
  }
  char pf[64] = "";
  if (c->prefill_requests > 0) snprintf(pf, sizeof pf, " for the first %d requests, 1 for the rest", c->prefill_requests);
  if (c->sms > 0) snprintf(sms, sizeof sms, "%d SMs", c->sms);
  else snprintf(sms, sizeof sms, "its SMs");
  snprintf(buf, len,
           "%s: batch %d, seqlen %s, qlen %lld%s%s, hq %d, hkv %d, d %d, page %d, q %s, kv %s, v %s, policy %s, %s (%s)",
           c->name, c->batch, seqlen, (long long)c->qlen, pf, c->mask == SKV_MASK_NONE ? " (no mask)" : "", c->hq, c->hkv, c->head_dim, c->page_size,
           skv_dtype_name(c->q_dtype), skv_dtype_name(c->kv_dtype),
           c->v_dtype == SKV_DTYPE_COUNT ? "same" : skv_dtype_name(c->v_dtype), skv_policy_name(c->policy),
           c->gpu_model[0] ? c->gpu_model : "the run's GPU", sms);
}
