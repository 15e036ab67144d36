/* args.c — long-flag parsing with range checks and messages that name the flag. */
#include "cli/args.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const skv_arg_spec *find_spec(const skv_arg_spec *specs, size_t n, const char *name, size_t len) {
  for (size_t i = 0; i < n; i++)
    if (strlen(specs[i].name) == len && strncmp(specs[i].name, name, len) == 0) return &specs[i];
  return NULL;
}

static bool parse_int64(const char *flag, const char *text, double min, double max, int64_t *out, char *err,
                        size_t errlen) {
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (text[0] == '\0' || *end != '\0') {
    snprintf(err, errlen, "--%s: '%s' is not an integer", flag, text);
    return false;
  }
  /* An integer past int64 (ERANGE) is out of the range like any other: the message says so. */
  if (errno == ERANGE || (double)v < min || (double)v > max) {
    if (max >= 9.2e18) snprintf(err, errlen, "--%s: must be >= %.0f (got %s)", flag, min, text);
    else snprintf(err, errlen, "--%s: must be in %.0f..%.0f (got %s)", flag, min, max, text);
    return false;
  }
  *out = v;
  return true;
}

static bool apply(const skv_arg_spec *s, const char *value, char *err, size_t errlen) {
  switch (s->kind) {
  case SKV_ARG_FLAG: *(bool *)s->dest = true; break;
  case SKV_ARG_INT: {
    int64_t v;
    if (!parse_int64(s->name, value, s->min, s->max, &v, err, errlen)) return false;
    *(int32_t *)s->dest = (int32_t)v;
    break;
  }
  case SKV_ARG_INT64:
    if (!parse_int64(s->name, value, s->min, s->max, (int64_t *)s->dest, err, errlen)) return false;
    break;
  case SKV_ARG_DOUBLE: {
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (value[0] == '\0' || *end != '\0' || errno == ERANGE || !isfinite(v)) {
      snprintf(err, errlen, "--%s: '%s' is not a number", s->name, value);
      return false;
    }
    if (v < s->min || v > s->max) {
      snprintf(err, errlen, "--%s: must be in %g..%g (got %g)", s->name, s->min, s->max, v);
      return false;
    }
    *(double *)s->dest = v;
    break;
  }
  case SKV_ARG_STRING: *(const char **)s->dest = value; break;
  }
  if (s->seen) *s->seen = true;
  return true;
}

bool skv_args_parse(int argc, char **argv, const skv_arg_spec *specs, size_t nspecs, const char **positional,
                    int max_positional, int *npositional, bool *help, char *err, size_t errlen) {
  *npositional = 0;
  *help = false;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      *help = true;
      continue;
    }
    if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
      if (a[0] == '-' && a[1] != '\0') {
        snprintf(err, errlen, "%s: unknown option (flags are --name; see --help)", a);
        return false;
      }
      if (*npositional >= max_positional) {
        snprintf(err, errlen, "%s: unexpected argument", a);
        return false;
      }
      positional[(*npositional)++] = a;
      continue;
    }
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const skv_arg_spec *s = find_spec(specs, nspecs, name, len);
    if (!s) {
      snprintf(err, errlen, "--%.*s: unknown flag (see --help)", (int)len, name);
      return false;
    }
    const char *value = NULL;
    if (s->kind == SKV_ARG_FLAG) {
      if (eq) {
        snprintf(err, errlen, "--%s: takes no value", s->name);
        return false;
      }
    } else if (eq) {
      value = eq + 1;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      snprintf(err, errlen, "--%s: missing value (%s)", s->name, s->metavar ? s->metavar : "value");
      return false;
    }
    if (!apply(s, value, err, errlen)) return false;
  }
  return true;
}

void skv_args_print_help(FILE *f, const skv_arg_spec *specs, size_t nspecs) {
  for (size_t i = 0; i < nspecs; i++) {
    char left[64];
    if (specs[i].kind == SKV_ARG_FLAG) snprintf(left, sizeof left, "--%s", specs[i].name);
    else snprintf(left, sizeof left, "--%s %s", specs[i].name, specs[i].metavar ? specs[i].metavar : "X");
    fprintf(f, "  %-26s %s\n", left, specs[i].help);
  }
}

bool skv_args_int64_list(const char *flag, const char *text, int64_t min, int64_t max, int64_t **out, int32_t *count,
                         char *err, size_t errlen) {
  int32_t n = 1;
  for (const char *p = text; *p; p++) n += *p == ',';
  int64_t *v = malloc((size_t)n * sizeof *v);
  if (!v) {
    snprintf(err, errlen, "--%s: out of memory", flag);
    return false;
  }
  const char *p = text;
  for (int32_t i = 0; i < n; i++) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char item[32];
    if (len == 0 || len >= sizeof item) {
      snprintf(err, errlen, "--%s: item %d of '%s' is empty or too long", flag, i + 1, text);
      free(v);
      return false;
    }
    memcpy(item, p, len);
    item[len] = '\0';
    if (!parse_int64(flag, item, (double)min, (double)max, &v[i], err, errlen)) {
      free(v);
      return false;
    }
    p = comma ? comma + 1 : p + len;
  }
  *out = v;
  *count = n;
  return true;
}
