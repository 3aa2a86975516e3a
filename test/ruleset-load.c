/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ruleset-load — test-ruleset.sh's driver for ruleset_load_file(): load FILE into the
 * current network namespace. Prints "loaded" and exits 0, or prints the error message
 * on stderr and exits with the errno (e.g. 2 for ENOENT, 74 for EBADMSG); 125 for usage.
 */
#include <stdio.h>

#include "macro.h"
#include "ruleset.h"

int main(int argc, char **argv) {
        _cleanup_free_ char *error = NULL;
        int r;

        if (argc != 2) {
                fprintf(stderr, "Usage: ruleset-load FILE\n");
                return 125;
        }
        r = ruleset_load_file(argv[1], &error);
        if (r < 0) {
                fprintf(stderr, "%s\n", error ? error : "(no message)");
                return -r < 125 ? -r : 124;
        }
        printf("loaded\n");
        return 0;
}
