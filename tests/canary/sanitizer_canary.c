/* sanitizer_canary.c — test-only: a child with one planted sanitizer error, built with build/skv-san's flags.
 *
 * check_cli runs it the way it runs skv (tests/skv_cmd.c) to show that a sanitizer error in a child is
 * seen: the run aborts instead of exiting 0, 1 or 2. Argument: heap-overflow (ASan), signed-overflow
 * (UBSan) or leak (LeakSanitizer, at exit). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: sanitizer_canary heap-overflow|signed-overflow|leak\n");
    return 2;
  }
  if (strcmp(argv[1], "heap-overflow") == 0) {
    const size_t n = (size_t)argc + 2; /* 4, unknown to the compiler: UBSan's object-size check stays out */
    volatile char *p = malloc(n);
    if (!p) return 1;
    p[n] = 1; /* one byte past the block */
    free((void *)p);
  } else if (strcmp(argv[1], "signed-overflow") == 0) {
    volatile int x = INT_MAX;
    x = x + 1; /* undefined in C */
    printf("%d\n", x);
  } else if (strcmp(argv[1], "leak") == 0) {
    void *volatile p = malloc(64); /* dropped without free */
    p = NULL;
    (void)p;
  } else {
    fprintf(stderr, "sanitizer_canary: unknown error '%s'\n", argv[1]);
    return 2;
  }
  return 0;
}
