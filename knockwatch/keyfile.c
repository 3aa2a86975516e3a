/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * keyfile.c — base32, key files, their trust checks and the key lookup of TOTP doors
 * (see keyfile.h).
 *
 * Every file is opened first and then checked through its descriptor (fstat, the ACL
 * attribute), so what is checked is what is read: there is no window in which another
 * file can be put under the name. O_NONBLOCK keeps a FIFO put under a key's name from
 * hanging the open; it is refused as "not a regular file" right after.
 */
#include <dirent.h>
#include <endian.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "errno-util.h"
#include "fd-util.h"
#include "keyfile.h"
#include "string-util.h"

#define SHOWN_MAX 64        /* characters of a directory entry's name repeated in a message */

/* ---- base32 ---- */

static const char base32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static int base32_value(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a';
        if (c >= '2' && c <= '7')
                return c - '2' + 26;
        return -1;
}

int base32_decode(const char *s, size_t n, uint8_t *ret, size_t max, size_t *ret_len) {
        size_t data = n, out = 0, pad;
        uint32_t acc = 0;
        unsigned bits = 0;

        if (!s || !ret || !ret_len)
                return -EINVAL;
        while (data > 0 && s[data - 1] == '=')
                data--;
        pad = n - data;
        /* Lengths that end a quantum: 0, 2, 4, 5 or 7 characters past a multiple of 8.
         * Padding, when present, completes a partial last quantum exactly. */
        switch (data % 8) {
        case 1: case 3: case 6:
                return -EINVAL;
        case 0:
                if (pad > 0)
                        return -EINVAL;
                break;
        default:
                if (pad > 0 && (data + pad) % 8 != 0)
                        return -EINVAL;
        }

        for (size_t i = 0; i < data; i++) {
                int v = base32_value(s[i]);

                if (v < 0)
                        return -EINVAL;
                acc = acc << 5 | (uint32_t) v;
                bits += 5;
                if (bits >= 8) {
                        bits -= 8;
                        if (out >= max) {
                                explicit_bzero(&acc, sizeof(acc));
                                return -ENOBUFS;
                        }
                        ret[out++] = (uint8_t) (acc >> bits);
                        acc &= (1U << bits) - 1;
                }
        }
        /* Canonical only: the bits past the last byte are zero. */
        if (acc != 0) {
                explicit_bzero(&acc, sizeof(acc));
                return -EINVAL;
        }
        *ret_len = out;
        return 0;
}

char *base32_encode(const void *data, size_t n, char *buf, size_t size) {
        const uint8_t *p = data;
        size_t o = 0;
        uint32_t acc = 0;
        unsigned bits = 0;

        if (size == 0)
                return buf;
        if (size < BASE32_LEN(n) + 1) {
                buf[0] = 0;
                return buf;
        }
        for (size_t i = 0; i < n; i++) {
                acc = acc << 8 | p[i];
                bits += 8;
                while (bits >= 5) {
                        bits -= 5;
                        buf[o++] = base32_alphabet[(acc >> bits) & 31];
                }
                acc &= (1U << bits) - 1;
        }
        if (bits > 0)
                buf[o++] = base32_alphabet[(acc << (5 - bits)) & 31];
        while (o % 8 != 0)
                buf[o++] = '=';
        buf[o] = 0;
        explicit_bzero(&acc, sizeof(acc));
        return buf;
}

/* ---- trust ---- */

/* The POSIX access ACL of a file, in the binary form of its xattr
 * (linux/posix_acl_xattr.h): a little-endian version 2, then entries of a 16-bit tag, 16-bit
 * permissions and a 32-bit id. */
#define ACL_XATTR "system.posix_acl_access"
#define ACL_XATTR_VERSION 2U
#define ACL_ENTRIES_MAX 32
enum {
        ACL_TAG_USER = 0x02,
        ACL_TAG_GROUP_OBJ = 0x04,
        ACL_TAG_GROUP = 0x08,
};

/* 0 if the file has no access ACL; 1 if it has one that lets in nobody but its owner and
 * euid (a named user other than euid, a named group or the owning group with any
 * permission is too many); -EPERM with *ret_who saying whom it lets in as well. Then the
 * group bits of the mode are the ACL's mask. */
static int access_acl_check(int fd, uid_t euid, char *ret_who, size_t size) {
        uint8_t buf[4 + 8 * ACL_ENTRIES_MAX];
        ssize_t n = fgetxattr(fd, ACL_XATTR, buf, sizeof(buf));
        uint32_t version = 0;

        if (n < 0) {
                if (errno == ENODATA || errno == EOPNOTSUPP)
                        return 0;
                if (errno == ERANGE)
                        (void) snprintf(ret_who, size, "more than %d entries", ACL_ENTRIES_MAX);
                else
                        (void) snprintf(ret_who, size, "an ACL that cannot be read");
                return -EPERM;
        }
        if (n >= 4)
                memcpy(&version, buf, sizeof(version));
        if (n < 4 || (n - 4) % 8 != 0 || le32toh(version) != ACL_XATTR_VERSION) {
                (void) snprintf(ret_who, size, "an ACL of an unknown form");
                return -EPERM;
        }
        for (ssize_t off = 4; off < n; off += 8) {
                uint16_t tag, perm;
                uint32_t id;

                memcpy(&tag, buf + off, 2);
                memcpy(&perm, buf + off + 2, 2);
                memcpy(&id, buf + off + 4, 4);
                tag = le16toh(tag);
                perm = le16toh(perm) & 07;
                id = le32toh(id);
                if (perm == 0)
                        continue;
                if (tag == ACL_TAG_USER && id != euid)
                        (void) snprintf(ret_who, size, "uid %u", (unsigned) id);
                else if (tag == ACL_TAG_GROUP)
                        (void) snprintf(ret_who, size, "gid %u", (unsigned) id);
                else if (tag == ACL_TAG_GROUP_OBJ)
                        (void) snprintf(ret_who, size, "its group");
                else
                        continue;
                return -EPERM;
        }
        return 1;
}

int key_check_fd(int fd, const char *path, KeyTrust trust, bool directory, char **ret_error) {
        const char *what = directory ? "key directory" : "key file";
        struct stat st;
        uid_t euid = geteuid();
        mode_t refused;

        if (fstat(fd, &st) < 0)
                return set_error(ret_error, negative_errno(), "cannot check %s %s: %m", what, path);
        if (directory && !S_ISDIR(st.st_mode))
                return set_error(ret_error, -ENOTDIR, "%s %s is not a directory", what, path);
        if (!directory && !S_ISREG(st.st_mode))
                return set_error(ret_error, -EINVAL, "%s %s is not a regular file", what, path);

        if (st.st_uid != 0 && (trust == KEY_TRUST_ROOT || st.st_uid != euid))
                return set_error(ret_error, -EPERM, "%s %s is owned by uid %u, not by root%s; "
                                 "refusing it (chown root: it)", what, path, (unsigned) st.st_uid,
                                 trust == KEY_TRUST_ROOT ? "" : " nor by this user");

        refused = S_IRWXG | S_IRWXO;
        if (trust == KEY_TRUST_CREDENTIAL) {
                /* systemd on tmpfs: root's, mode 0440, an ACL for the service's user. */
                char who[64];
                int r = access_acl_check(fd, euid, who, sizeof(who));

                if (r < 0)
                        return set_error(ret_error, r, "%s %s has an ACL that lets %s in as well; "
                                         "refusing it (setfacl -b it)", what, path, who);
                if (r > 0)
                        refused = S_IRWXO;
        }
        if (st.st_mode & refused)
                return set_error(ret_error, -EPERM, "%s %s is %s by group or others (mode %04o); "
                                 "refusing it (chmod %s it)", what, path,
                                 st.st_mode & (S_IWGRP | S_IWOTH) ? "writable or readable" : "readable",
                                 (unsigned) (st.st_mode & 07777), directory ? "700" : "600");
        return 0;
}

/* ---- key files ---- */

/* Decode a key file's content (n bytes at s) into ret. */
static int key_parse(const char *s, size_t n, const char *path, TotpKey *ret, char **ret_error) {
        size_t len = 0;
        int r;

        if (n > 0 && s[n - 1] == '\n')
                n--;
        if (n == 0)
                return set_error(ret_error, -EINVAL, "key file %s is empty; expected one line of "
                                 "base32", path);
        if (memchr(s, '\n', n))
                return set_error(ret_error, -EINVAL, "key file %s has more than one line; expected "
                                 "one line of base32", path);
        r = base32_decode(s, n, ret->key, sizeof(ret->key), &len);
        if (r == -ENOBUFS || (r >= 0 && len > TOTP_KEY_MAX))
                return set_error(ret_error, -EINVAL, "key file %s holds more than %u bytes", path,
                                 TOTP_KEY_MAX);
        if (r < 0)
                return set_error(ret_error, -EINVAL, "key file %s is not base32 (RFC 4648: A-Z and "
                                 "2-7, \"=\" padding at the end only)", path);
        if (len < TOTP_KEY_MIN) {
                explicit_bzero(ret->key, sizeof(ret->key));
                return set_error(ret_error, -EINVAL, "key file %s holds %zu bytes; a key needs at "
                                 "least %u", path, len, TOTP_KEY_MIN);
        }
        ret->len = len;
        return 0;
}

/* Check the open fd as trust says and read the key from it. */
static int key_read_fd(int fd, const char *path, KeyTrust trust, TotpKey *ret, char **ret_error) {
        char buf[KEY_FILE_SIZE_MAX + 1];
        size_t n = 0;
        int r;

        r = key_check_fd(fd, path, trust, false, ret_error);
        if (r < 0)
                return r;
        /* One byte more than allowed, so a larger file is noticed whatever fstat said. */
        while (n < sizeof(buf)) {
                ssize_t k = read(fd, buf + n, sizeof(buf) - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = negative_errno();
                        explicit_bzero(buf, sizeof(buf));
                        return set_error(ret_error, r, "cannot read key file %s: %m", path);
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        if (n > KEY_FILE_SIZE_MAX) {
                explicit_bzero(buf, sizeof(buf));
                return set_error(ret_error, -EFBIG, "key file %s is larger than %u bytes", path,
                                 KEY_FILE_SIZE_MAX);
        }
        r = key_parse(buf, n, path, ret, ret_error);
        explicit_bzero(buf, sizeof(buf));
        return r;
}

/* Open name in dir_fd (AT_FDCWD and a path for key_file_load()) the way trust wants. */
static int key_open(int dir_fd, const char *name, const char *path, KeyTrust trust, char **ret_error) {
        int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, fd;

        if (trust != KEY_TRUST_USER)
                flags |= O_NOFOLLOW;
        fd = openat(dir_fd, name, flags);
        if (fd < 0) {
                int r = negative_errno();

                if (r == -ELOOP)
                        return set_error(ret_error, r, "key file %s is a symbolic link; refusing it", path);
                return set_error(ret_error, r, "cannot open key file %s: %m", path);
        }
        return fd;
}

int key_file_load(const char *path, KeyTrust trust, TotpKey *ret, char **ret_error) {
        _cleanup_close_ int fd = -EBADF;
        TotpKey k = {};
        int r;

        if (!path || !path[0] || !ret)
                return set_error(ret_error, -EINVAL, "no key file given");
        fd = key_open(AT_FDCWD, path, path, trust, ret_error);
        if (fd < 0)
                return fd;
        r = key_read_fd(fd, path, trust, &k, ret_error);
        if (r < 0) {
                totp_key_wipe(&k);
                return r;
        }
        memcpy(ret->key, k.key, sizeof(ret->key));
        ret->len = k.len;
        totp_key_wipe(&k);
        return 0;
}

int key_file_create(int dir_fd, const char *name, const uint8_t *key, size_t len) {
        char text[BASE32_LEN(TOTP_KEY_MAX) + 2];
        _cleanup_close_ int fd = -EBADF;
        size_t n;
        int r = 0;

        if (!name || !key || len == 0 || len > TOTP_KEY_MAX)
                return -EINVAL;
        base32_encode(key, len, text, sizeof(text) - 1);
        n = strlen(text);
        text[n++] = '\n';

        fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0) {
                explicit_bzero(text, sizeof(text));
                return negative_errno();
        }
        /* The umask may have taken bits away, never added any; say it exactly anyway. */
        if (fchmod(fd, 0600) < 0 || write(fd, text, n) != (ssize_t) n || fsync(fd) < 0)
                r = errno > 0 ? -errno : -EIO;
        explicit_bzero(text, sizeof(text));
        if (r < 0)
                (void) unlinkat(dir_fd, name, 0);
        return r;
}

/* ---- the keys of a door key ---- */

typedef struct KeyList {
        TotpKey *keys;
        size_t n, allocated;
} KeyList;

static void key_list_done(KeyList *l) {
        l->keys = totp_keys_free(l->keys, l->n);
        l->n = l->allocated = 0;
}

TotpKey *totp_keys_free(TotpKey *keys, size_t n) {
        if (!keys)
                return NULL;
        explicit_bzero(keys, n * sizeof(keys[0]));
        free(keys);
        return NULL;
}

/* A slot for one more key. Grows by copying, so that no key is left behind in memory
 * that realloc() would have freed without wiping. */
static TotpKey *key_list_add(KeyList *l) {
        if (l->n >= l->allocated) {
                size_t m = l->allocated == 0 ? 4 : l->allocated * 2;
                TotpKey *keys;

                m = MIN(m, (size_t) KEY_USERS_MAX + 1);
                if (m <= l->n)
                        return NULL;
                keys = calloc(m, sizeof(TotpKey));
                if (!keys)
                        return NULL;
                if (l->n > 0)
                        memcpy(keys, l->keys, l->n * sizeof(TotpKey));
                totp_keys_free(l->keys, l->n);
                l->keys = keys;
                l->allocated = m;
        }
        l->keys[l->n] = (TotpKey) {};
        return &l->keys[l->n++];
}

/* Sort keys by user in place. Not qsort(): glibc's may copy elements into a heap buffer
 * that it frees unwiped; here the one copy is on the stack and wiped. An insertion sort,
 * for at most KEY_USERS_MAX + 1 keys, once per load. */
static void sort_keys(TotpKey *keys, size_t n) {
        TotpKey tmp;

        for (size_t i = 1; i < n; i++) {
                size_t j = i;

                if (strcmp(keys[i - 1].user, keys[i].user) <= 0)
                        continue;
                tmp = keys[i];
                while (j > 0 && strcmp(keys[j - 1].user, tmp.user) > 0) {
                        keys[j] = keys[j - 1];
                        j--;
                }
                keys[j] = tmp;
        }
        totp_key_wipe(&tmp);
}

/* dir/name, for messages; cut if absurdly long. */
static const char *join(const char *dir, const char *name, char *buf, size_t size) {
        char shown[SHOWN_MAX * 4 + 8];

        escape_into(name, strlen(name), SHOWN_MAX, 0, shown, sizeof(shown));
        (void) snprintf(buf, size, "%s/%s", dir, shown);
        return buf;
}

/* Read name in dir_fd (shown as dir/name) as the key of user into the list. */
static int add_key(KeyList *l, int dir_fd, const char *dir, const char *name, const char *user,
                   KeyTrust trust, char **ret_error) {
        _cleanup_close_ int fd = -EBADF;
        char path[PATH_MAX];
        TotpKey *k;
        int r;

        join(dir, name, path, sizeof(path));
        fd = key_open(dir_fd, name, path, trust, ret_error);
        if (fd < 0)
                return fd;
        k = key_list_add(l);
        if (!k)
                return set_error(ret_error, -ENOMEM, "out of memory reading %s", path);
        r = key_read_fd(fd, path, trust, k, ret_error);
        if (r < 0) {
                totp_key_wipe(k);
                l->n--;
                return r;
        }
        snprintf(k->user, sizeof(k->user), "%s", user);
        return 0;
}

/* The part of name between prefix and ".key", if name has that shape; NULL otherwise. */
static const char *user_of(const char *name, const char *prefix, char buf[static TOTP_NAME_MAX + 1]) {
        const char *rest = startswith(name, prefix);
        size_t n;

        if (!rest)
                return NULL;
        n = strlen(rest);
        if (n <= STRLEN(KEY_FILE_SUFFIX) || !streq(rest + n - STRLEN(KEY_FILE_SUFFIX), KEY_FILE_SUFFIX))
                return NULL;
        n -= STRLEN(KEY_FILE_SUFFIX);
        if (n > TOTP_NAME_MAX)
                return ""; /* no valid name: the caller refuses it */
        memcpy(buf, rest, n);
        buf[n] = 0;
        return buf;
}

/* Every entry of dir_fd shaped prefix USER ".key": a user key. An entry of that shape
 * whose USER is not a valid name refuses everything. */
static int add_user_keys(KeyList *l, int dir_fd, const char *dir, const char *prefix, KeyTrust trust,
                         char **ret_error) {
        _cleanup_close_ int fd = -EBADF;
        unsigned n_users = 0;
        DIR *d;
        int r = 0;

        /* fdopendir() takes the descriptor; keep dir_fd for the caller. */
        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return set_error(ret_error, negative_errno(), "cannot read key directory %s: %m", dir);
        d = fdopendir(fd);
        if (!d)
                return set_error(ret_error, negative_errno(), "cannot read key directory %s: %m", dir);
        TAKE_FD(fd);

        for (;;) {
                char buf[TOTP_NAME_MAX + 1], path[PATH_MAX];
                const struct dirent *de;
                const char *user;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                r = set_error(ret_error, negative_errno(), "cannot read key directory %s: %m", dir);
                        break;
                }
                user = user_of(de->d_name, prefix, buf);
                if (!user)
                        continue;
                if (!totp_name_valid(user)) {
                        r = set_error(ret_error, -EINVAL, "key file %s: the user name before \".key\" "
                                      "must be 1-%u of a-z, 0-9, \"_\" and \"-\"; refusing the door key",
                                      join(dir, de->d_name, path, sizeof(path)), TOTP_NAME_MAX);
                        break;
                }
                if (++n_users > KEY_USERS_MAX) {
                        r = set_error(ret_error, -E2BIG, "key directory %s holds more than %u user "
                                      "keys; refusing the door key", dir, KEY_USERS_MAX);
                        break;
                }
                r = add_key(l, dirfd(d), dir, de->d_name, user, trust, ret_error);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

/* Open a key directory (dir_fd/name, shown as path) and check it. -ENOENT says nothing. */
static int open_dir(int dir_fd, const char *name, const char *path, KeyTrust trust, char **ret_error) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                r = negative_errno();
                if (r == -ENOENT)
                        return r;
                if (r == -ELOOP || r == -ENOTDIR) {
                        struct stat st;

                        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISLNK(st.st_mode))
                                return set_error(ret_error, -ELOOP, "key directory %s is a symbolic "
                                                 "link; refusing it", path);
                        return set_error(ret_error, -ENOTDIR, "key directory %s is not a directory", path);
                }
                return set_error(ret_error, r, "cannot open key directory %s: %m", path);
        }
        r = key_check_fd(fd, path, trust, true, ret_error);
        if (r < 0)
                return r;
        return TAKE_FD(fd);
}

/* The door's own key: name in dir_fd, if there is one (0: none). */
static int add_own_key(KeyList *l, int dir_fd, const char *dir, const char *name, KeyTrust trust,
                       char **ret_error) {
        struct stat st;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return 0;
                return set_error(ret_error, negative_errno(), "cannot look at key file %s/%s: %m", dir, name);
        }
        return add_key(l, dir_fd, dir, name, "", trust, ret_error);
}

static int from_credentials(KeyList *l, const char *keyname, const char *creds, bool *ret_misnamed,
                            char **ret_error) {
        char own[STRLEN(KEY_CREDENTIAL_PREFIX) + TOTP_NAME_MAX + 1];
        char users[sizeof(own) + STRLEN(".d_")], misnamed[sizeof(own) + 1];
        _cleanup_close_ int fd = -EBADF;
        DIR *d;
        int r;

        if (creds[0] != '/')
                return set_error(ret_error, -EINVAL, "$CREDENTIALS_DIRECTORY is not an absolute path");
        fd = open_dir(AT_FDCWD, creds, creds, KEY_TRUST_CREDENTIAL, ret_error);
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;

        snprintf(own, sizeof(own), KEY_CREDENTIAL_PREFIX "%s", keyname);
        snprintf(users, sizeof(users), "%s.d_", own);
        snprintf(misnamed, sizeof(misnamed), "%s_", own);

        r = add_own_key(l, fd, creds, own, KEY_TRUST_CREDENTIAL, ret_error);
        if (r < 0)
                return r;
        r = add_user_keys(l, fd, creds, users, KEY_TRUST_CREDENTIAL, ret_error);
        if (r < 0)
                return r;

        /* "LoadCredential=knockwatch.key.ssh:/etc/knockwatch/keys/ssh" (without ".d")
         * yields knockwatch.key.ssh_alice.key: worth a hint if nothing else was found. */
        *ret_misnamed = false;
        if (l->n == 0) {
                int fd2 = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                d = fd2 >= 0 ? fdopendir(fd2) : NULL;
                if (!d)
                        safe_close(fd2);
                for (const struct dirent *de; d && (de = readdir(d)); )
                        if (startswith(de->d_name, misnamed))
                                *ret_misnamed = true;
                if (d)
                        closedir(d);
        }
        return 0;
}

static int from_key_dir(KeyList *l, const char *keyname, const char *key_dir, char **ret_error) {
        char own[TOTP_NAME_MAX + STRLEN(KEY_FILE_SUFFIX) + 1], sub[PATH_MAX];
        _cleanup_close_ int fd = -EBADF, ufd = -EBADF;
        int r;

        fd = open_dir(AT_FDCWD, key_dir, key_dir, KEY_TRUST_ROOT, ret_error);
        if (fd == -ENOENT)
                return 0;
        if (fd == -EACCES)
                return set_error(ret_error, fd, "cannot open key directory %s: %s (under the shipped "
                                 "unit the daemon reads keys through LoadCredential=, see knockwatch(8))",
                                 key_dir, strerror(EACCES));
        if (fd < 0)
                return fd;

        snprintf(own, sizeof(own), "%s" KEY_FILE_SUFFIX, keyname);
        r = add_own_key(l, fd, key_dir, own, KEY_TRUST_ROOT, ret_error);
        if (r < 0)
                return r;

        snprintf(sub, sizeof(sub), "%s/%s", key_dir, keyname);
        ufd = open_dir(fd, keyname, sub, KEY_TRUST_ROOT, ret_error);
        if (ufd == -ENOENT)
                return 0;
        if (ufd < 0)
                return ufd;
        return add_user_keys(l, ufd, sub, "", KEY_TRUST_ROOT, ret_error);
}

int totp_keys_load(const char *keyname, const char *key_dir, const char *credentials_dir,
                   TotpKey **ret_keys, size_t *ret_n, const char **ret_source, char **ret_error) {
        _cleanup_(key_list_done) KeyList l = {};
        bool misnamed = false;
        const char *source;
        int r;

        if (!totp_name_valid(keyname))
                return set_error(ret_error, -EINVAL, "invalid key name");
        if (!key_dir)
                key_dir = KEY_DIR_DEFAULT;

        source = "credentials";
        if (credentials_dir && credentials_dir[0]) {
                r = from_credentials(&l, keyname, credentials_dir, &misnamed, ret_error);
                if (r < 0)
                        return r;
        }
        if (l.n == 0) {
                source = "key directory";
                r = from_key_dir(&l, keyname, key_dir, ret_error);
                if (r < 0)
                        return r;
        }
        if (l.n == 0) {
                if (misnamed)
                        return set_error(ret_error, -ENOENT, "no key for door key \"%s\": %s holds "
                                         KEY_CREDENTIAL_PREFIX "%s_*, which a directory given as "
                                         "LoadCredential=" KEY_CREDENTIAL_PREFIX "%s:DIR makes; "
                                         "name it " KEY_CREDENTIAL_PREFIX "%s.d instead",
                                         keyname, credentials_dir, keyname, keyname, keyname);
                return set_error(ret_error, -ENOENT, "no key for door key \"%s\": none of %s%s"
                                 KEY_CREDENTIAL_PREFIX "%s[.d_*.key], %s/%s.key, %s/%s/*.key",
                                 keyname, credentials_dir && credentials_dir[0] ? credentials_dir : "",
                                 credentials_dir && credentials_dir[0] ? "/" : "$CREDENTIALS_DIRECTORY/",
                                 keyname, key_dir, keyname, key_dir, keyname);
        }

        sort_keys(l.keys, l.n);
        *ret_keys = TAKE_PTR(l.keys);
        *ret_n = l.n;
        l.n = l.allocated = 0;
        if (ret_source)
                *ret_source = source;
        return 0;
}
