/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-sysctl-util.c — the strict boolean sysctl reader: "0\n" and "1\n" only; files
 * with anything else, and missing ones, give the documented errors. As root it also
 * pins down what the kernel shows: nf_log_all_netns exists in the initial network
 * namespace only (in a fresh one, -ENOENT). Works in a fresh directory under /tmp. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "sysctl-util.h"
#include "tests.h"

static char dir[64];
static const char *const files[] = { "zero", "one", "two", "empty", "nonewline", "long" };

static void write_file(const char *name, const char *content, size_t n, char *ret_path, size_t size) {
        int fd;

        snprintf(ret_path, size, "%s/%s", dir, name);
        fd = open(ret_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, content, n), (ssize_t) n);
        ASSERT_EQ(close(fd), 0);
}

TEST(parse) {
        ASSERT_EQ(sysctl_parse_bool("0\n", 2), 0);
        ASSERT_EQ(sysctl_parse_bool("1\n", 2), 1);
        ASSERT_ERROR(sysctl_parse_bool("1", 1), EBADMSG);
        ASSERT_ERROR(sysctl_parse_bool("0", 1), EBADMSG);
        ASSERT_ERROR(sysctl_parse_bool("", 0), EBADMSG);
        ASSERT_ERROR(sysctl_parse_bool(NULL, 0), EBADMSG);
        ASSERT_ERROR(sysctl_parse_bool("2\n", 2), EBADMSG);
        ASSERT_ERROR(sysctl_parse_bool("01\n", 3), EBADMSG);
        ASSERT_ERROR(sysctl_parse_bool("1\n\n", 3), EBADMSG);
        ASSERT_ERROR(sysctl_parse_bool("1 \n", 3), EBADMSG);
        ASSERT_ERROR(sysctl_parse_bool(" 1\n", 3), EBADMSG);
        ASSERT_ERROR(sysctl_parse_bool("-1\n", 3), EBADMSG);
        ASSERT_ERROR(sysctl_parse_bool("1\r", 2), EBADMSG);
        ASSERT_ERROR(sysctl_parse_bool("\0\n", 2), EBADMSG);
        /* only the n bytes count */
        ASSERT_EQ(sysctl_parse_bool("1\nxyz", 2), 1);
        ASSERT_ERROR(sysctl_parse_bool("1\n", 1), EBADMSG);
}

TEST(read_files) {
        char p[128];

        write_file("zero", "0\n", 2, p, sizeof(p));
        ASSERT_EQ(sysctl_read_bool(p), 0);
        write_file("one", "1\n", 2, p, sizeof(p));
        ASSERT_EQ(sysctl_read_bool(p), 1);
        write_file("two", "2\n", 2, p, sizeof(p));
        ASSERT_ERROR(sysctl_read_bool(p), EBADMSG);
        write_file("empty", "", 0, p, sizeof(p));
        ASSERT_ERROR(sysctl_read_bool(p), EBADMSG);
        write_file("nonewline", "1", 1, p, sizeof(p));
        ASSERT_ERROR(sysctl_read_bool(p), EBADMSG);
        write_file("long", "1\n1\n1\n1\n1\n1\n", 12, p, sizeof(p));
        ASSERT_ERROR(sysctl_read_bool(p), EBADMSG);
        snprintf(p, sizeof(p), "%s/missing", dir);
        ASSERT_ERROR(sysctl_read_bool(p), ENOENT);
        ASSERT_ERROR(sysctl_read_bool(dir), EISDIR);
}

/* The real file, here: wherever the test runs it is 0 or 1, or absent (not the initial
 * network namespace); never garbage. */
TEST(read_real) {
        int r = sysctl_read_nf_log_all_netns();

        ASSERT_TRUE(r == 0 || r == 1 || r == -ENOENT);
        printf("# %s here: %d\n", SYSCTL_NF_LOG_ALL_NETNS, r);
}

/* In a network namespace of its own the entry does not exist (root only). */
TEST(other_netns) {
        int status;
        pid_t pid;

        if (geteuid() != 0) {
                printf("# skipped other_netns: needs root\n");
                return;
        }
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                if (unshare(CLONE_NEWNET) < 0)
                        _exit(77);
                _exit(sysctl_read_nf_log_all_netns() == -ENOENT ? 0 : 1);
        }
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77) {
                printf("# skipped other_netns: unshare(CLONE_NEWNET) failed\n");
                return;
        }
        ASSERT_EQ(WEXITSTATUS(status), 0);
}

int main(void) {
        snprintf(dir, sizeof(dir), "/tmp/kw-test-sysctl.XXXXXX");
        ASSERT_TRUE(mkdtemp(dir));

        RUN(parse);
        RUN(read_files);
        RUN(read_real);
        RUN(other_netns);

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                char p[128];

                snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
                ASSERT_EQ(unlink(p), 0);
        }
        ASSERT_EQ(rmdir(dir), 0);
        return 0;
}
