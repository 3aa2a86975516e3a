/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-state.c — state files: written whole by rename (an old reader keeps the old
 * content), the directory made 0700, no temporary left behind, reads bounded, names
 * checked. Works in a fresh directory under /tmp. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"
#include "string-util.h"
#include "tests.h"

static char base[64];
static char dir[128];

static void make_base(void) {
        snprintf(base, sizeof(base), "/tmp/kw-test-state.XXXXXX");
        ASSERT_TRUE(mkdtemp(base));
        snprintf(dir, sizeof(dir), "%s/state", base);
}

static void remove_tree(const char *path) {
        DIR *d = opendir(path);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                char p[512];

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
                if (de->d_type == DT_DIR)
                        remove_tree(p);
                else
                        (void) unlink(p);
        }
        closedir(d);
        (void) rmdir(path);
}

static unsigned count_entries(const char *path) {
        DIR *d = opendir(path);
        struct dirent *de;
        unsigned n = 0;

        ASSERT_TRUE(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

TEST(roundtrip_creates_private_dir) {
        char buf[64];
        struct stat st;
        char path[256];

        ASSERT_ERROR(state_read(dir, "pos", buf, sizeof(buf)), ENOENT); /* no dir yet */
        ASSERT_OK(state_write(dir, "pos", "seq=1\n", 6));
        ASSERT_EQ(stat(dir, &st), 0);
        ASSERT_TRUE(S_ISDIR(st.st_mode));
        ASSERT_EQ(st.st_mode & 07777, 0700);
        snprintf(path, sizeof(path), "%s/pos", dir);
        ASSERT_EQ(stat(path, &st), 0);
        ASSERT_EQ(st.st_mode & 0077, 0); /* nobody but the owner reads positions */

        ASSERT_EQ(state_read(dir, "pos", buf, sizeof(buf)), 6);
        ASSERT_STREQ(buf, "seq=1\n");
        ASSERT_EQ(count_entries(dir), 1); /* no temporary file left */

        /* Empty content is content. */
        ASSERT_OK(state_write(dir, "empty", "", 0));
        ASSERT_EQ(state_read(dir, "empty", buf, sizeof(buf)), 0);
        ASSERT_STREQ(buf, "");
}

TEST(replace_is_by_rename) {
        char buf[64], path[256];
        struct stat before, after;
        int fd;
        ssize_t n;

        ASSERT_OK(state_write(dir, "pos", "old content\n", 12));
        snprintf(path, sizeof(path), "%s/pos", dir);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(fstat(fd, &before), 0);

        ASSERT_OK(state_write(dir, "pos", "new\n", 4));
        /* A reader that had the old file still sees all of the old content: the new one
         * was written elsewhere and renamed over, never truncated in place. */
        n = pread(fd, buf, sizeof(buf) - 1, 0);
        ASSERT_EQ(n, 12);
        buf[n] = 0;
        ASSERT_STREQ(buf, "old content\n");
        ASSERT_EQ(stat(path, &after), 0);
        ASSERT_TRUE(after.st_ino != before.st_ino);
        close(fd);

        ASSERT_EQ(state_read(dir, "pos", buf, sizeof(buf)), 4);
        ASSERT_STREQ(buf, "new\n");
        ASSERT_EQ(count_entries(dir), 2); /* pos and empty */
}

TEST(read_is_bounded) {
        char big[STATE_FILE_MAX];
        char buf[16];

        memset(big, 'x', sizeof(big));
        ASSERT_OK(state_write(dir, "big", big, sizeof(big)));
        ASSERT_ERROR(state_read(dir, "big", buf, sizeof(buf)), EFBIG);
        /* exactly size - 1 bytes fit */
        ASSERT_OK(state_write(dir, "fit", big, sizeof(buf) - 1));
        ASSERT_EQ(state_read(dir, "fit", buf, sizeof(buf)), (int) sizeof(buf) - 1);
        ASSERT_EQ(buf[sizeof(buf) - 1], 0);
        ASSERT_OK(state_write(dir, "over", big, sizeof(buf)));
        ASSERT_ERROR(state_read(dir, "over", buf, sizeof(buf)), EFBIG);
        ASSERT_ERROR(state_read(dir, "fit", buf, 0), EINVAL);

        /* Larger than any state file may be: refused, nothing written. */
        ASSERT_ERROR(state_write(dir, "huge", big, STATE_FILE_MAX + 1), EINVAL);
        ASSERT_ERROR(state_read(dir, "huge", buf, sizeof(buf)), ENOENT);
}

TEST(names_checked) {
        static const char *const bad[] = { "", ".", "..", "a/b", "../pos", "/pos", ".hidden" };
        char buf[16];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ASSERT_ERROR(state_write(dir, bad[i], "x", 1), EINVAL);
                ASSERT_ERROR(state_read(dir, bad[i], buf, sizeof(buf)), EINVAL);
        }
        ASSERT_ERROR(state_write(NULL, "pos", "x", 1), EINVAL);
}

TEST(odd_places) {
        char buf[16], path[256], missing[256];

        /* Not a regular file under the name: refused, not read. */
        snprintf(path, sizeof(path), "%s/adir", dir);
        ASSERT_EQ(mkdir(path, 0700), 0);
        ASSERT_TRUE(state_read(dir, "adir", buf, sizeof(buf)) < 0);
        /* A symlink under the name is not followed. */
        snprintf(path, sizeof(path), "%s/link", dir);
        ASSERT_EQ(symlink("/etc/hostname", path), 0);
        ASSERT_ERROR(state_read(dir, "link", buf, sizeof(buf)), ELOOP);
        /* Only the last component is created. */
        snprintf(missing, sizeof(missing), "%s/no/such", base);
        ASSERT_ERROR(state_write(missing, "pos", "x", 1), ENOENT);
        /* The state "directory" is a file. */
        snprintf(path, sizeof(path), "%s/pos", dir);
        ASSERT_ERROR(state_write(path, "pos", "x", 1), ENOTDIR);
}

int main(void) {
        make_base();
        RUN(roundtrip_creates_private_dir);
        RUN(replace_is_by_rename);
        RUN(read_is_bounded);
        RUN(names_checked);
        RUN(odd_places);
        remove_tree(base);
        return 0;
}
