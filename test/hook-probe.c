/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hook-probe — a grant/revoke hook for test-hooks: writes what it was given to
 * "<its own path>.out" (argv[0] is the path it was started by, a symlink the test makes
 * per case): its arguments, its whole environment, its open file descriptors and what
 * they are, its process group, its blocked and ignored signals, and its ambient
 * capabilities. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char *argv[]) {
        char path[4096], link[4096], target[4096], line[256];
        FILE *out, *status;
        DIR *d;
        struct dirent *de;

        if (snprintf(path, sizeof(path), "%s.out", argv[0]) >= (int) sizeof(path))
                return 100;
        out = fopen(path, "we");
        if (!out)
                return 101;
        fprintf(out, "argc=%d\n", argc);
        for (int i = 0; i < argc; i++)
                fprintf(out, "argv%d=%s\n", i, argv[i]);
        for (char **e = environ; *e; e++)
                fprintf(out, "env=%s\n", *e);

        d = opendir("/proc/self/fd");
        if (!d)
                return 102;
        while ((de = readdir(d))) {
                ssize_t n;

                if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d) || atoi(de->d_name) == fileno(out))
                        continue;
                snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
                n = readlink(link, target, sizeof(target) - 1);
                target[n < 0 ? 0 : n] = 0;
                fprintf(out, "fd%s=%s\n", de->d_name, target);
        }
        closedir(d);

        fprintf(out, "pgid_is_pid=%d\n", getpgid(0) == getpid());
        status = fopen("/proc/self/status", "re");
        if (!status)
                return 103;
        while (fgets(line, sizeof(line), status))
                if (strncmp(line, "SigBlk:", 7) == 0 || strncmp(line, "SigIgn:", 7) == 0 ||
                    strncmp(line, "CapAmb:", 7) == 0)
                        fprintf(out, "%.6s=%s", line, line + 7 + strspn(line + 7, " \t"));
        fclose(status);
        return fclose(out) == 0 ? 0 : 104;
}
