/* fuzz_suite.c — libFuzzer target: any bytes, read as a suite and as a GPU models file, give a result or a
 * positioned error, never a crash, a leak or undefined behaviour.
 *
 * Built and run by make fuzz (FUZZ_SECONDS, default 60): clang with -fsanitize=fuzzer,address,undefined
 * over this file, harness/suite/ and sim/, with tests/fuzz/suite.dict and the corpus in tests/fuzz/corpus. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suite/gpus.h"
#include "suite/suite.h"

static char path[64];
/* Two models to check gpu_model names against (the real file's numbers do not matter here). */
static skv_gpu known[2] = {{.name = "h100-sxm", .sms = 132}, {.name = "a100-sxm", .sms = 108}};
static const skv_gpus known_models = {.models = known, .n = 2, .home = &known[0]};

static void remove_input(void) { unlink(path); }

/* The parsers read files: each input goes to one temporary file, rewritten per run. */
static void write_input(const uint8_t *data, size_t size) {
  if (!path[0]) {
    snprintf(path, sizeof path, "/tmp/fuzz_suite_XXXXXX");
    const int fd = mkstemp(path);
    if (fd < 0) abort();
    close(fd);
    atexit(remove_input);
  }
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
}

/* An error names the file first: "PATH:" (then LINE:COL: or an I/O reason). */
static void check_error(const char *err) {
  const size_t n = strlen(path);
  if (strncmp(err, path, n) != 0 || err[n] != ':' || strlen(err) < n + 3) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  write_input(data, size);
  char err[512];
  skv_suite s;
  if (skv_suite_load(path, &s, err, sizeof err)) {
    /* What a loaded suite promises: valid, uniquely and safely named configurations. */
    for (int32_t i = 0; i < s.nconfigs; i++) {
      const skv_config *c = &s.configs[i];
      const char *ok = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.,()=-";
      if (c->index != i || c->name[0] == '\0' || strspn(c->name, ok) != strlen(c->name)) abort();
      if (skv_config_validate(c, err, sizeof err) == SKV_SUPPORT_NONE) abort();
    }
    skv_batch b;
    if (s.nconfigs > 0 && s.configs[0].batch <= 4096) {
      if (!skv_config_make_batch(&s.configs[0], &b, err, sizeof err)) abort();
      skv_batch_free(&b);
    }
    char line[512];
    skv_config_describe(&s.configs[s.nconfigs - 1], line, sizeof line);
    if (!skv_suite_check_models(&s, &known_models, err, sizeof err)) check_error(err);
    skv_suite_free(&s);
  } else {
    check_error(err);
  }
  skv_gpus g;
  if (skv_gpus_load(path, &g, err, sizeof err)) skv_gpus_free(&g);
  else check_error(err);
  return 0;
}
