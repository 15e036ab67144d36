/* yaml_doc.h — a YAML file through libyaml's document API: typed scalars, known-key mappings, FILE:LINE:COL errors. */
#ifndef SKV_YAML_DOC_H
#define SKV_YAML_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

/* The harness reads small hand-written files; a larger one is refused before
 * parsing, so a stray huge file cannot make libyaml build millions of nodes. */
#define SKV_YDOC_MAX_BYTES (1 << 20)
/* The deepest nesting of lists and mappings a file may hold. libyaml's loader
 * takes time quadratic in the depth (100000 levels, 200 KB: 75 s), and the
 * deepest harness format nests 6 levels (suite, sweep, points, a point, a
 * length distribution, its values): deeper is refused before loading. */
#define SKV_YDOC_MAX_DEPTH 64

/* A parsed file. Anchors and aliases are resolved by libyaml's loader (an
 * alias is the anchored node itself, so its position is the anchor's); the
 * readers never recurse deeper than the format they read, so an alias cycle
 * is only ever seen as a value of the wrong type. */
typedef struct skv_ydoc {
  const char *path;     /* as given: the prefix of every message */
  yaml_document_t doc;
  bool loaded;          /* doc holds a document to delete */
  char *err;            /* "PATH:LINE:COL: message"; the first error wins */
  size_t errlen;
} skv_ydoc;

/* Read path (at most SKV_YDOC_MAX_BYTES), hash its bytes (FNV-1a 64) into
 * *hash when hash is not NULL, and parse exactly one YAML document with a
 * root node, no tags and at most SKV_YDOC_MAX_DEPTH levels of nesting. False
 * with the error in err (then nothing stays allocated). */
bool skv_ydoc_load(skv_ydoc *d, const char *path, uint64_t *hash, char *err, size_t errlen);
void skv_ydoc_free(skv_ydoc *d);

yaml_node_t *skv_ydoc_root(skv_ydoc *d);
/* 1-based position of a node's first character. */
int32_t skv_ydoc_line(const yaml_node_t *n);
int32_t skv_ydoc_col(const yaml_node_t *n);

/* Write "PATH:LINE:COL: message" at node `at` into the error buffer unless an
 * error is already there; always returns false, so a reader ends with
 * `return skv_ydoc_fail(...)`. */
bool skv_ydoc_fail(skv_ydoc *d, const yaml_node_t *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A node as a message shows it: "a mapping", "a list", "null", "the bool 'yes'",
 * "the integer 12", "the float 1.5", "the string 'abc'" (quoted, shortened). */
void skv_ydoc_describe(const yaml_node_t *n, char *buf, size_t len);

/* A list's items one by one, or any other node as a list of one: sweep values
 * and option values are "a scalar or a list". */
int32_t skv_ydoc_count(const yaml_node_t *n);
yaml_node_t *skv_ydoc_item(skv_ydoc *d, yaml_node_t *n, int32_t i);

/* ---- Typed scalars. `what` names the key in messages. YAML 1.2 core types
 * of plain scalars decide the type: a quoted "8" is a string, 8.0 a float. ---- */

/* A plain decimal integer in [min, max]. */
bool skv_ydoc_int(skv_ydoc *d, const yaml_node_t *n, const char *what, int64_t min, int64_t max, int64_t *out);
/* A plain decimal integer in [0, 2^64). */
bool skv_ydoc_u64(skv_ydoc *d, const yaml_node_t *n, const char *what, uint64_t *out);
/* A plain integer or float, finite, > 0 (>= 0 when zero_ok). */
bool skv_ydoc_float(skv_ydoc *d, const yaml_node_t *n, const char *what, bool zero_ok, double *out);
/* true/false/yes/no, in lower, capitalised or upper case (the YAML 1.1 words
 * most people write; on/off/y/n are refused as ambiguous). */
bool skv_ydoc_bool(skv_ydoc *d, const yaml_node_t *n, const char *what, bool *out);
/* A string: quoted, or plain and not null, a bool, an integer or a float
 * (write 'yes' to mean the word). Points into the document. */
bool skv_ydoc_string(skv_ydoc *d, const yaml_node_t *n, const char *what, const char **out);
/* A scalar that is one of names[0..count): *out is its index. */
bool skv_ydoc_enum(skv_ydoc *d, const yaml_node_t *n, const char *what, const char *const *names, int32_t count,
                   int32_t *out);
/* n is a mapping (type YAML_MAPPING_NODE) or a non-empty list (YAML_SEQUENCE_NODE). */
bool skv_ydoc_expect(skv_ydoc *d, const yaml_node_t *n, yaml_node_type_t type, const char *what);

/* ---- Mappings with a fixed set of keys ---- */

/* Where a known key was found: both NULL when absent. */
typedef struct skv_ykv {
  yaml_node_t *key, *value;
} skv_ykv;

/* Check that map is a mapping whose keys are scalars among names[0..n), each
 * at most once; found[k] gets key k's nodes. An unknown key is reported with
 * the closest known name when one is near. */
bool skv_ydoc_keys(skv_ydoc *d, yaml_node_t *map, const char *what, const char *const *names, int32_t n,
                   skv_ykv *found);
/* Pair p of a mapping that skv_ydoc_keys accepted: the index of its key in names. */
int32_t skv_ydoc_key_index(skv_ydoc *d, const yaml_node_pair_t *p, const char *const *names, int32_t n);
/* Error "missing key 'name' in WHAT" at the mapping unless found. */
bool skv_ydoc_require(skv_ydoc *d, const yaml_node_t *map, const char *what, const skv_ykv *found, const char *name);

#endif /* SKV_YAML_DOC_H */
