/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-keyfile.c — key files and the key lookup of TOTP doors, on real files in a
 * temporary directory: every trust rule (owner, mode, symbolic links, FIFOs, directory
 * modes, credentials owned by this user or carrying an ACL), every malformed content,
 * the order of the places searched, the bound on users, and key_file_create().
 * The owner checks need root (to chown to nobody, and to be the owner "root"); without
 * root only the rules that hold for any user run, and the rest says it was skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "keyfile.h"
#include "tests.h"

#define NOBODY 65534

static const char key1[] = "12345678901234567890";
static const char key1_b32[] = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
static char tmp[64];

static const char *path(const char *format, ...) _printf_(1, 2);
static const char *path(const char *format, ...) {
        static char bufs[4][512];
        static unsigned i;
        char rel[256];
        va_list ap;

        va_start(ap, format);
        vsnprintf(rel, sizeof(rel), format, ap);
        va_end(ap);
        i = (i + 1) % 4;
        snprintf(bufs[i], sizeof(bufs[i]), "%s/%s", tmp, rel);
        return bufs[i];
}

static void write_file(const char *p, mode_t mode, const char *content) {
        FILE *f;

        (void) unlink(p);
        f = fopen(p, "we");
        ASSERT_TRUE(f);
        fputs(content, f);
        ASSERT_EQ(fclose(f), 0);
        ASSERT_EQ(chmod(p, mode), 0);
}

static void make_dir(const char *p, mode_t mode) {
        ASSERT_TRUE(mkdir(p, mode) == 0 || errno == EEXIST);
        ASSERT_EQ(chmod(p, mode), 0);
}

static void rm_rf(const char *p) {
        char cmd[600];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
        ASSERT_EQ(system(cmd), 0);
}

/* Load keyname with key dir keys/ and credentials creds (NULL: none); expect error (0 for
 * success) and, on failure, a message holding every given text. */
static size_t load(const char *keyname, const char *creds, int error, const char **users,
                   const char *source, ...) {
        TotpKey *keys = NULL;
        size_t n = 0;
        const char *src = NULL;
        char *message = NULL;
        int r;

        r = totp_keys_load(keyname, path("keys"), creds, &keys, &n, &src, &message);
        if (r != -error) {
                fprintf(stderr, "load %s: got %d (%s), expected -%d\n", keyname, r,
                        message ? message : "no message", error);
                abort();
        }
        if (error == 0) {
                ASSERT_TRUE(message == NULL);
                ASSERT_STREQ(src, source);
                for (size_t i = 0; i < n; i++) {
                        ASSERT_TRUE(users[i]);
                        ASSERT_STREQ(keys[i].user, users[i]);
                        ASSERT_EQ(keys[i].len, 20);
                        ASSERT_EQ(memcmp(keys[i].key, key1, 20), 0);
                }
                ASSERT_TRUE(users[n] == NULL);
                totp_keys_free(keys, n);
                return n;
        }
        {
                va_list ap;
                const char *text;

                ASSERT_TRUE(message);
                va_start(ap, source);
                while ((text = va_arg(ap, const char *)))
                        ASSERT_CONTAINS(message, text);
                va_end(ap);
                printf("#   %s\n", message);
        }
        free(message);
        return 0;
}

#define USERS(...) ((const char *[]) { __VA_ARGS__, NULL })
#define NO_USERS ((const char *[]) { NULL })

static void fresh(void) {
        rm_rf(path("keys"));
        rm_rf(path("creds"));
        make_dir(path("keys"), 0700);
}

TEST(key_dir) {
        char line[64];

        fresh();
        snprintf(line, sizeof(line), "%s\n", key1_b32);

        /* Nothing at all: the message says where it looked. */
        load("ssh", NULL, ENOENT, NULL, NULL, "no key for door key \"ssh\"", path("keys/ssh.key"),
             path("keys/ssh/*.key"), "$CREDENTIALS_DIRECTORY/knockwatch.key.ssh", NULL);

        /* The door's own key; with a trailing newline or without, lower case. */
        write_file(path("keys/ssh.key"), 0600, line);
        load("ssh", NULL, 0, USERS(""), "key directory");
        write_file(path("keys/ssh.key"), 0400, "gezdgnbvgy3tqojqgezdgnbvgy3tqojq");
        load("ssh", NULL, 0, USERS(""), "key directory");

        /* Users' keys beside it, sorted; other files are not keys. */
        make_dir(path("keys/ssh"), 0700);
        write_file(path("keys/ssh/bob.key"), 0600, line);
        write_file(path("keys/ssh/alice.key"), 0600, line);
        write_file(path("keys/ssh/x_y-9.key"), 0600, line);
        write_file(path("keys/ssh/README"), 0644, "not a key\n");
        write_file(path("keys/ssh/alice.key.bak"), 0644, "old\n");
        load("ssh", NULL, 0, USERS("", "alice", "bob", "x_y-9"), "key directory");
        ASSERT_EQ(unlink(path("keys/ssh.key")), 0);
        load("ssh", NULL, 0, USERS("alice", "bob", "x_y-9"), "key directory");

        /* Another door key sees none of them. */
        load("ssh2", NULL, ENOENT, NULL, NULL, "no key for door key \"ssh2\"", NULL);
        /* Names that are no names never reach the file system. */
        load("../keys/ssh", NULL, EINVAL, NULL, NULL, "invalid key name", NULL);
        load("", NULL, EINVAL, NULL, NULL, "invalid key name", NULL);
        load("SSH", NULL, EINVAL, NULL, NULL, "invalid key name", NULL);

        /* A user file with an invalid name refuses the whole door key, naming it. */
        write_file(path("keys/ssh/Alice.key"), 0600, line);
        load("ssh", NULL, EINVAL, NULL, NULL, path("keys/ssh/Alice.key"), "user name", NULL);
        ASSERT_EQ(unlink(path("keys/ssh/Alice.key")), 0);
        write_file(path("keys/ssh/abcdefghijklmnopqrstuvwxyz0123456.key"), 0600, line);
        load("ssh", NULL, EINVAL, NULL, NULL, "abcdefghijklmnopqrstuvwxyz0123456.key", NULL);
        ASSERT_EQ(unlink(path("keys/ssh/abcdefghijklmnopqrstuvwxyz0123456.key")), 0);
        load("ssh", NULL, 0, USERS("alice", "bob", "x_y-9"), "key directory");
}

TEST(content) {
        static const struct {
                const char *content, *text;
                int error;
        } bad[] = {
                { "", "is empty", EINVAL },
                { "\n", "is empty", EINVAL },
                { "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n\n", "more than one line", EINVAL },
                { "GEZDGNBVGY3TQOJQ\nGEZDGNBVGY3TQOJQ\n", "more than one line", EINVAL },
                { " GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n", "not base32", EINVAL },
                { "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ \n", "not base32", EINVAL },
                { "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\r\n", "not base32", EINVAL },
                { "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1\n", "not base32", EINVAL },
                { "3132333435363738393031323334353637383930\n", "not base32", EINVAL },
                /* 19 bytes */
                { "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOI=\n", "holds 19 bytes; a key needs at least 20", EINVAL },
                /* 65 bytes */
                { "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                  "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBV\n", "more than 64 bytes", EINVAL },
                { "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                  "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                  "GEZDGNBVGY3TQOJQ\n", "larger than 128 bytes", EFBIG },
        };
        TotpKey k = {};
        char *message = NULL;

        fresh();
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                write_file(path("keys/ssh.key"), 0600, bad[i].content);
                load("ssh", NULL, bad[i].error, NULL, NULL, path("keys/ssh.key"), bad[i].text, NULL);
        }
        /* The largest key, 64 bytes, unpadded. */
        write_file(path("keys/big.key"), 0600,
                   "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                   "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA\n");
        ASSERT_OK(key_file_load(path("keys/big.key"), KEY_TRUST_ROOT, &k, &message));
        ASSERT_EQ(k.len, 64);
        ASSERT_EQ(memcmp(k.key + 60, "1234", 4), 0);
        totp_key_wipe(&k);
}

TEST(trust_modes) {
        char line[64], *message = NULL;
        TotpKey k = {};

        fresh();
        snprintf(line, sizeof(line), "%s\n", key1_b32);
        write_file(path("keys/ssh.key"), 0600, line);

        /* A key readable by group or others: refused, naming the file and its mode. */
        ASSERT_EQ(chmod(path("keys/ssh.key"), 0644), 0);
        load("ssh", NULL, EPERM, NULL, NULL, path("keys/ssh.key"), "mode 0644",
             "readable by group or others", "chmod 600", NULL);
        ASSERT_EQ(chmod(path("keys/ssh.key"), 0640), 0);
        load("ssh", NULL, EPERM, NULL, NULL, path("keys/ssh.key"), "mode 0640", NULL);
        ASSERT_EQ(chmod(path("keys/ssh.key"), 0604), 0);
        load("ssh", NULL, EPERM, NULL, NULL, path("keys/ssh.key"), "mode 0604", NULL);
        ASSERT_EQ(chmod(path("keys/ssh.key"), 0620), 0);
        load("ssh", NULL, EPERM, NULL, NULL, path("keys/ssh.key"), "writable or readable", NULL);
        ASSERT_EQ(chmod(path("keys/ssh.key"), 0600), 0);
        load("ssh", NULL, 0, USERS(""), "key directory");

        /* The same for a user's key, and for the directories. */
        make_dir(path("keys/ssh"), 0700);
        write_file(path("keys/ssh/alice.key"), 0644, line);
        load("ssh", NULL, EPERM, NULL, NULL, path("keys/ssh/alice.key"), "mode 0644", NULL);
        ASSERT_EQ(chmod(path("keys/ssh/alice.key"), 0600), 0);
        ASSERT_EQ(chmod(path("keys/ssh"), 0755), 0);
        load("ssh", NULL, EPERM, NULL, NULL, "key directory", path("keys/ssh"), "mode 0755", "chmod 700", NULL);
        ASSERT_EQ(chmod(path("keys/ssh"), 0700), 0);
        ASSERT_EQ(chmod(path("keys"), 0750), 0);
        load("ssh", NULL, EPERM, NULL, NULL, "key directory", path("keys"), "mode 0750", NULL);
        ASSERT_EQ(chmod(path("keys"), 0700), 0);
        load("ssh", NULL, 0, USERS("", "alice"), "key directory");

        /* A symbolic link, to a good key even: refused, naming it. */
        ASSERT_EQ(rename(path("keys/ssh.key"), path("real.key")), 0);
        ASSERT_EQ(symlink(path("real.key"), path("keys/ssh.key")), 0);
        load("ssh", NULL, ELOOP, NULL, NULL, path("keys/ssh.key"), "symbolic link", NULL);
        ASSERT_EQ(unlink(path("keys/ssh.key")), 0);
        ASSERT_EQ(symlink(path("keys/ssh"), path("keys/lnk")), 0);
        load("lnk", NULL, ELOOP, NULL, NULL, path("keys/lnk"), "symbolic link", NULL);
        /* A client's own key file may be a link. */
        ASSERT_OK(key_file_load(path("keys/lnk/alice.key"), KEY_TRUST_USER, &k, &message));
        ASSERT_EQ(k.len, 20);
        totp_key_wipe(&k);
        ASSERT_EQ(unlink(path("keys/lnk")), 0);

        /* A FIFO under a key's name: refused at once, not waited on. */
        ASSERT_EQ(mkfifo(path("keys/ssh.key"), 0600), 0);
        load("ssh", NULL, EINVAL, NULL, NULL, path("keys/ssh.key"), "not a regular file", NULL);
        ASSERT_EQ(unlink(path("keys/ssh.key")), 0);
        /* A directory where the own key should be, a file where the users' directory should be. */
        make_dir(path("keys/ssh.key"), 0700);
        load("ssh", NULL, EINVAL, NULL, NULL, path("keys/ssh.key"), "not a regular file", NULL);
        ASSERT_EQ(rmdir(path("keys/ssh.key")), 0);
        write_file(path("keys/f"), 0600, line);
        load("f", NULL, ENOTDIR, NULL, NULL, path("keys/f"), "not a directory", NULL);

        /* A client's key file: the same modes, with their message. */
        write_file(path("mine.key"), 0640, line);
        ASSERT_ERROR(key_file_load(path("mine.key"), KEY_TRUST_USER, &k, &message), EPERM);
        ASSERT_CONTAINS(message, path("mine.key"));
        ASSERT_CONTAINS(message, "mode 0640");
        free(message);
        message = NULL;
        ASSERT_ERROR(key_file_load(path("none.key"), KEY_TRUST_USER, &k, &message), ENOENT);
        ASSERT_CONTAINS(message, path("none.key"));
        free(message);
}

TEST(trust_owner) {
        char line[64], *message = NULL;
        TotpKey k = {};

        if (geteuid() != 0) {
                printf("# skipped: owner checks need root (chown to nobody)\n");
                return;
        }
        fresh();
        snprintf(line, sizeof(line), "%s\n", key1_b32);
        write_file(path("keys/ssh.key"), 0600, line);
        make_dir(path("keys/ssh"), 0700);
        write_file(path("keys/ssh/alice.key"), 0600, line);
        load("ssh", NULL, 0, USERS("", "alice"), "key directory");

        /* Owned by nobody: refused, naming the file and the owner. */
        ASSERT_EQ(chown(path("keys/ssh.key"), NOBODY, NOBODY), 0);
        load("ssh", NULL, EPERM, NULL, NULL, path("keys/ssh.key"), "owned by uid 65534, not by root", NULL);
        ASSERT_EQ(chown(path("keys/ssh.key"), 0, 0), 0);
        ASSERT_EQ(chown(path("keys/ssh/alice.key"), NOBODY, 0), 0);
        load("ssh", NULL, EPERM, NULL, NULL, path("keys/ssh/alice.key"), "uid 65534", NULL);
        ASSERT_EQ(chown(path("keys/ssh/alice.key"), 0, 0), 0);
        ASSERT_EQ(chown(path("keys/ssh"), NOBODY, NOBODY), 0);
        load("ssh", NULL, EPERM, NULL, NULL, "key directory", path("keys/ssh"), "uid 65534", NULL);
        ASSERT_EQ(chown(path("keys/ssh"), 0, 0), 0);
        ASSERT_EQ(chown(path("keys"), NOBODY, 0), 0);
        load("ssh", NULL, EPERM, NULL, NULL, "key directory", path("keys"), "uid 65534", NULL);
        ASSERT_EQ(chown(path("keys"), 0, 0), 0);
        /* A group other than root's is fine: the mode already shuts the group out. */
        ASSERT_EQ(chown(path("keys/ssh.key"), 0, NOBODY), 0);
        load("ssh", NULL, 0, USERS("", "alice"), "key directory");

        /* A client's key: its own user's or root's, nobody else's. */
        write_file(path("mine.key"), 0600, line);
        ASSERT_EQ(chown(path("mine.key"), NOBODY, NOBODY), 0);
        ASSERT_ERROR(key_file_load(path("mine.key"), KEY_TRUST_USER, &k, &message), EPERM);
        ASSERT_CONTAINS(message, "not by root nor by this user");
        free(message);
        message = NULL;
        /* As nobody (a child that drops to uid 65534) the same file is its own. */
        {
                pid_t pid;
                int status;

                ASSERT_EQ(chmod(tmp, 0711), 0);
                pid = fork();
                ASSERT_TRUE(pid >= 0);
                if (pid == 0) {
                        TotpKey mine = {};

                        if (setresgid(NOBODY, NOBODY, NOBODY) < 0 || setresuid(NOBODY, NOBODY, NOBODY) < 0)
                                _exit(3);
                        if (key_file_load(path("mine.key"), KEY_TRUST_USER, &mine, NULL) < 0 || mine.len != 20)
                                _exit(1);
                        /* ... but never for the daemon's key directory rules. */
                        if (key_file_load(path("mine.key"), KEY_TRUST_ROOT, &mine, NULL) != -EPERM)
                                _exit(2);
                        _exit(0);
                }
                ASSERT_EQ(waitpid(pid, &status, 0), pid);
                ASSERT_TRUE(WIFEXITED(status));
                ASSERT_EQ(WEXITSTATUS(status), 0);
                ASSERT_EQ(chmod(tmp, 0700), 0);
        }
}

/* A POSIX access ACL (the xattr's binary form): owner r, user uid r, the owning group
 * group_perm, mask r. */
static int set_acl(const char *p, uid_t uid, uint16_t group_perm) {
        struct {
                uint16_t tag, perm;
                uint32_t id;
        } __attribute__((packed)) e[] = {
                { 0x01, 4, UINT32_MAX },  /* ACL_USER_OBJ */
                { 0x02, 4, uid },         /* ACL_USER */
                { 0x04, group_perm, UINT32_MAX },  /* ACL_GROUP_OBJ */
                { 0x10, 4, UINT32_MAX },  /* ACL_MASK */
                { 0x20, 0, UINT32_MAX },  /* ACL_OTHER */
        };
        uint8_t buf[4 + sizeof(e)];
        uint32_t version = 2;

        memcpy(buf, &version, 4);
        memcpy(buf + 4, e, sizeof(e));
        return setxattr(p, "system.posix_acl_access", buf, sizeof(buf), 0);
}

static int set_acl_user_read(const char *p, uid_t uid) {
        return set_acl(p, uid, 0);
}

TEST(credentials) {
        char line[64];

        if (geteuid() != 0) {
                printf("# skipped: credentials as systemd makes them need root\n");
                return;
        }
        fresh();
        snprintf(line, sizeof(line), "%s\n", key1_b32);
        write_file(path("keys/ssh.key"), 0600, line);
        make_dir(path("creds"), 0500);

        /* Nothing for this key in the credentials: the key directory is used. */
        load("ssh", path("creds"), 0, USERS(""), "key directory");
        /* A missing credentials directory is no credentials; a relative one is an error. */
        load("ssh", path("nocreds"), 0, USERS(""), "key directory");
        load("ssh", "creds", EINVAL, NULL, NULL, "not an absolute path", NULL);

        /* As systemd 252 on ramfs: 0400, owned by the service's user (here root). Then the
         * credentials are the only place used: the key directory's users are not added. */
        make_dir(path("keys/ssh"), 0700);
        write_file(path("keys/ssh/zed.key"), 0600, line);
        ASSERT_EQ(chmod(path("creds"), 0700), 0);
        write_file(path("creds/knockwatch.key.ssh"), 0400, key1_b32);
        write_file(path("creds/knockwatch.key.ssh.d_alice.key"), 0400, line);
        write_file(path("creds/knockwatch.key.ssh.d_a_b.key"), 0400, line);
        write_file(path("creds/knockwatch.key.ssh_x.d_y.key"), 0400, line);  /* door key ssh_x */
        write_file(path("creds/knockwatch.key.sshx"), 0400, line);
        ASSERT_EQ(chmod(path("creds"), 0500), 0);
        load("ssh", path("creds"), 0, USERS("", "a_b", "alice"), "credentials");
        load("ssh_x", path("creds"), 0, USERS("y"), "credentials");
        load("sshx", path("creds"), 0, USERS(""), "credentials");

        /* Group or others may not read them either: 0440 without an ACL is refused, 0440
         * as the mask of an ACL granting the service's user (this process) is what systemd
         * makes on tmpfs; an ACL that lets another user in is refused, naming the user. */
        ASSERT_EQ(chmod(path("creds/knockwatch.key.sshx"), 0440), 0);
        load("sshx", path("creds"), EPERM, NULL, NULL, path("creds/knockwatch.key.sshx"), "mode 0440", NULL);
        if (set_acl_user_read(path("creds/knockwatch.key.sshx"), NOBODY) < 0)
                printf("# skipped: no ACL on %s (%s)\n", tmp, strerror(errno));
        else {
                struct stat st;

                ASSERT_EQ(stat(path("creds/knockwatch.key.sshx"), &st), 0);
                ASSERT_EQ(st.st_mode & 0777, 0440);
                load("sshx", path("creds"), EPERM, NULL, NULL, path("creds/knockwatch.key.sshx"),
                     "lets uid 65534 in", NULL);
                ASSERT_EQ(set_acl(path("creds/knockwatch.key.sshx"), geteuid(), 4), 0);
                load("sshx", path("creds"), EPERM, NULL, NULL, "lets its group in", NULL);
                ASSERT_EQ(set_acl_user_read(path("creds/knockwatch.key.sshx"), geteuid()), 0);
                load("sshx", path("creds"), 0, USERS(""), "credentials");
                /* ... but the key directory never takes an ACL's word for it. */
                write_file(path("keys/acl.key"), 0600, line);
                ASSERT_EQ(set_acl_user_read(path("keys/acl.key"), NOBODY), 0);
                load("acl", NULL, EPERM, NULL, NULL, path("keys/acl.key"), "mode 0440", NULL);
                ASSERT_EQ(unlink(path("keys/acl.key")), 0);
        }
        ASSERT_EQ(chmod(path("creds/knockwatch.key.sshx"), 0404), 0);
        load("sshx", path("creds"), EPERM, NULL, NULL, "mode 0404", NULL);
        ASSERT_EQ(chmod(path("creds/knockwatch.key.sshx"), 0400), 0);

        /* Owned by another user than root and this process: refused. */
        ASSERT_EQ(chown(path("creds/knockwatch.key.ssh.d_alice.key"), NOBODY, NOBODY), 0);
        load("ssh", path("creds"), EPERM, NULL, NULL, path("creds/knockwatch.key.ssh.d_alice.key"),
             "uid 65534", NULL);
        /* As that user (the dynamic user systemd chowns them to), they are accepted. */
        {
                pid_t pid;
                int status;

                ASSERT_EQ(chown(path("creds"), NOBODY, NOBODY), 0);
                ASSERT_EQ(chown(path("creds/knockwatch.key.ssh"), NOBODY, NOBODY), 0);
                ASSERT_EQ(chown(path("creds/knockwatch.key.ssh.d_a_b.key"), NOBODY, NOBODY), 0);
                ASSERT_EQ(chmod(tmp, 0711), 0);
                pid = fork();
                ASSERT_TRUE(pid >= 0);
                if (pid == 0) {
                        TotpKey *keys = NULL;
                        size_t n = 0;

                        if (setresgid(NOBODY, NOBODY, NOBODY) < 0 || setresuid(NOBODY, NOBODY, NOBODY) < 0)
                                _exit(3);
                        /* The key directory is root's 0700: not even looked at. */
                        if (totp_keys_load("ssh", path("keys"), path("creds"), &keys, &n, NULL, NULL) < 0 || n != 3)
                                _exit(1);
                        totp_keys_free(keys, n);
                        /* Without credentials for it, the key directory cannot be opened: the
                         * message points at LoadCredential=. */
                        {
                                char *m = NULL;

                                if (totp_keys_load("nokey", path("keys"), path("creds"), &keys, &n, NULL, &m) != -EACCES ||
                                    !m || !strstr(m, "LoadCredential="))
                                        _exit(2);
                                free(m);
                        }
                        _exit(0);
                }
                ASSERT_EQ(waitpid(pid, &status, 0), pid);
                ASSERT_TRUE(WIFEXITED(status));
                ASSERT_EQ(WEXITSTATUS(status), 0);
                ASSERT_EQ(chmod(tmp, 0700), 0);
        }

        /* A directory given without ".d": nothing found, and the message says how to name it. */
        rm_rf(path("creds"));
        make_dir(path("creds"), 0700);
        write_file(path("creds/knockwatch.key.vpn_alice.key"), 0400, line);
        load("vpn", path("creds"), ENOENT, NULL, NULL, "knockwatch.key.vpn_*", "knockwatch.key.vpn.d",
             NULL);
}

TEST(bounds) {
        char line[64];

        fresh();
        snprintf(line, sizeof(line), "%s\n", key1_b32);
        make_dir(path("keys/many"), 0700);
        for (unsigned i = 0; i < KEY_USERS_MAX; i++)
                write_file(path("keys/many/u%04u.key", i), 0600, line);
        if (geteuid() == 0) {
                TotpKey *keys = NULL;
                size_t n = 0;

                ASSERT_OK(totp_keys_load("many", path("keys"), NULL, &keys, &n, NULL, NULL));
                ASSERT_EQ(n, KEY_USERS_MAX);
                ASSERT_STREQ(keys[0].user, "u0000");
                ASSERT_STREQ(keys[n - 1].user, "u1023");
                totp_keys_free(keys, n);
                write_file(path("keys/many/u9999.key"), 0600, line);
                load("many", NULL, E2BIG, NULL, NULL, "more than 1024 user keys", path("keys/many"), NULL);
        }
        rm_rf(path("keys/many"));
}

TEST(create) {
        char buf[256], *message = NULL;
        TotpKey k = {};
        struct stat st;
        int dfd;
        FILE *f;

        fresh();
        dfd = open(path("keys"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(dfd >= 0);
        umask(0);
        ASSERT_OK(key_file_create(dfd, "new.key", (const uint8_t *) key1, 20));
        umask(022);
        ASSERT_EQ(stat(path("keys/new.key"), &st), 0);
        ASSERT_EQ(st.st_mode & 07777, 0600);
        ASSERT_EQ(st.st_uid, geteuid());
        f = fopen(path("keys/new.key"), "re");
        ASSERT_TRUE(f);
        ASSERT_TRUE(fgets(buf, sizeof(buf), f));
        fclose(f);
        ASSERT_STREQ(buf, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n");
        ASSERT_OK(key_file_load(path("keys/new.key"), KEY_TRUST_USER, &k, &message));
        ASSERT_EQ(k.len, 20);
        ASSERT_EQ(memcmp(k.key, key1, 20), 0);
        totp_key_wipe(&k);

        /* Never over an existing file, nor through a link (even a dangling one). */
        ASSERT_ERROR(key_file_create(dfd, "new.key", (const uint8_t *) key1, 20), EEXIST);
        ASSERT_EQ(symlink(path("elsewhere"), path("keys/link.key")), 0);
        ASSERT_ERROR(key_file_create(dfd, "link.key", (const uint8_t *) key1, 20), EEXIST);
        ASSERT_EQ(access(path("elsewhere"), F_OK), -1);
        ASSERT_ERROR(key_file_create(dfd, "x.key", (const uint8_t *) key1, 65), EINVAL);
        close(dfd);
}

int main(void) {
        snprintf(tmp, sizeof(tmp), "/tmp/kw-test-keyfile.XXXXXX");
        ASSERT_TRUE(mkdtemp(tmp));
        RUN(key_dir);
        RUN(content);
        RUN(trust_modes);
        RUN(trust_owner);
        RUN(credentials);
        RUN(bounds);
        RUN(create);
        rm_rf(tmp);
        return 0;
}
