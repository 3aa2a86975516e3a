/* SPDX-License-Identifier: GPL-2.0-or-later */
/* prom-check — check a file (or standard input) against the strict reading of the
 * Prometheus text format in prom-parse.h. Prints "ok: N lines", or "LINE: ERROR" and
 * exits 1. For the end-to-end tests of `knockwatch metrics` and --metrics-file. */
#include <stdio.h>
#include <stdlib.h>

#include "prom-parse.h"

#define INPUT_MAX (1 << 20)

int main(int argc, char *argv[]) {
        FILE *f = argc > 1 ? fopen(argv[1], "re") : stdin;
        char *text = malloc(INPUT_MAX + 1), error[256];
        unsigned line = 0;
        size_t n;

        if (!f || !text) {
                perror(argc > 1 ? argv[1] : "stdin");
                return 2;
        }
        n = fread(text, 1, INPUT_MAX + 1, f);
        if (n > INPUT_MAX || ferror(f)) {
                fprintf(stderr, "input unreadable or larger than %d bytes\n", INPUT_MAX);
                return 2;
        }
        text[n] = 0;
        if (memchr(text, 0, n)) {
                printf("input holds a NUL byte\n");
                return 1;
        }
        if (prom_check(text, &line, error, sizeof(error)) < 0) {
                printf("%u: %s\n", line, error);
                return 1;
        }
        printf("ok: %u lines\n", line);
        free(text);
        return 0;
}
