/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sysctl-util.c — strict reading of boolean sysctls (see sysctl-util.h).
 */
#include <fcntl.h>
#include <unistd.h>

#include "errno-util.h"
#include "fd-util.h"
#include "sysctl-util.h"

int sysctl_parse_bool(const char *s, size_t n) {
        if (!s || n != 2 || s[1] != '\n')
                return -EBADMSG;
        if (s[0] == '0')
                return 0;
        if (s[0] == '1')
                return 1;
        return -EBADMSG;
}

int sysctl_read_bool(const char *path) {
        _cleanup_close_ int fd = -EBADF;
        char buf[8];
        ssize_t n;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        /* A sysctl file hands its whole value to the first read; anything longer than
         * "0\n" is wrong anyway, so one read of a few bytes decides. */
        do
                n = read(fd, buf, sizeof(buf));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        return sysctl_parse_bool(buf, (size_t) n);
}

int sysctl_read_nf_log_all_netns(void) {
        return sysctl_read_bool(SYSCTL_NF_LOG_ALL_NETNS);
}
