/* args.h — table-driven long-flag parsing for the skv subcommands: every error names the flag. */
#ifndef SKV_ARGS_H
#define SKV_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes of skv. */

typedef enum skv_arg_kind {
  SKV_ARG_FLAG,   /* --name, sets a bool */
  SKV_ARG_INT,    /* --name N, int32 in [min, max] */
  SKV_ARG_INT64,  /* --name N, int64 in [min, max] */
  SKV_ARG_DOUBLE, /* --name X, finite double in [min, max] */
  SKV_ARG_STRING, /* --name S */
} skv_arg_kind;

typedef struct skv_arg_spec {
  const char *name;    /* without the leading "--" */
  skv_arg_kind kind;
  void *dest;          /* bool*, int32_t*, int64_t*, double* or const char** */
  const char *metavar; /* for --help: "N", "LIST", ... */
  const char *help;    /* one line */
  double min, max;     /* allowed range of numbers */
  bool *seen;          /* optional: set when the flag was given */
} skv_arg_spec;

/* Parse argv[0..argc) (after the subcommand). Accepts "--name value" and
 * "--name=value"; "-h"/"--help" sets *help. Arguments not starting with "--"
 * are collected in positional (at most max_positional). On error writes
 * "--name: message" to err and returns false. */
bool skv_args_parse(int argc, char **argv, const skv_arg_spec *specs, size_t nspecs, const char **positional,
                    int max_positional, int *npositional, bool *help, char *err, size_t errlen);

/* Print the flags table for --help. */
void skv_args_print_help(FILE *f, const skv_arg_spec *specs, size_t nspecs);

/* Parse "a,b,c" of int64 in [min, max]; *out is malloc'd. Errors name flag. */
bool skv_args_int64_list(const char *flag, const char *text, int64_t min, int64_t max, int64_t **out, int32_t *count,
                         char *err, size_t errlen);

#endif /* SKV_ARGS_H */
