/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-replay.c — runs a fuzz target's LLVMFuzzerTestOneInput() over seed files without
 * libFuzzer, so that every target stays compiled and its corpus keeps passing in the unit
 * tests. Arguments are files or directories (every regular file inside, in name order).
 * Fails when given nothing to replay.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fd-util.h"
#include "macro.h"

#define SEED_MAX (1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ uint8_t *buf = malloc(SEED_MAX);
        size_t n;

        if (!f || !buf) {
                fprintf(stderr, "%s: %m\n", path);
                return -errno;
        }
        n = fread(buf, 1, SEED_MAX, f);
        if (ferror(f)) {
                fprintf(stderr, "%s: read error\n", path);
                return -EIO;
        }
        /* An exactly sized copy, so that a read past the end is one under ASan. */
        _cleanup_free_ uint8_t *copy = malloc(n ?: 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, buf, n);
        (void) LLVMFuzzerTestOneInput(copy, n);
        return 1;
}

static int filter_seed(const struct dirent *de) {
        return de->d_name[0] != '.';
}

static int replay_path(const char *path) {
        struct dirent **list = NULL;
        struct stat st;
        int n, total = 0, r = 0;

        if (stat(path, &st) < 0) {
                fprintf(stderr, "%s: %m\n", path);
                return -errno;
        }
        if (!S_ISDIR(st.st_mode))
                return replay_file(path);

        n = scandir(path, &list, filter_seed, alphasort);
        if (n < 0) {
                fprintf(stderr, "%s: %m\n", path);
                return -errno;
        }
        for (int i = 0; i < n; i++) {
                char p[4096];

                if (r >= 0) {
                        (void) snprintf(p, sizeof(p), "%s/%s", path, list[i]->d_name);
                        r = replay_file(p);
                        total += r > 0;
                }
                free(list[i]);
        }
        free(list);
        return r < 0 ? r : total;
}

int main(int argc, char *argv[]) {
        int total = 0;

        for (int i = 1; i < argc; i++) {
                int r = replay_path(argv[i]);

                if (r < 0)
                        return EXIT_FAILURE;
                total += r;
        }
        if (total == 0) {
                fprintf(stderr, "no seeds to replay\n");
                return EXIT_FAILURE;
        }
        printf("replayed %d seeds\n", total);
        return EXIT_SUCCESS;
}
