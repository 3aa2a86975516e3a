/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * keyfile.h — secret keys on disk: RFC 4648 base32, the key file format, the trust
 * checks every key file and key directory must pass, and where the daemon finds the
 * keys of a TOTP door.
 *
 * A key file holds one line: the key in base32 (A–Z and 2–7, either case, "=" padding
 * optional), TOTP_KEY_MIN … TOTP_KEY_MAX bytes once decoded, and at most one newline.
 *
 * Where the keys of door key KEYNAME come from (KEYNAME: totp_name_valid(), never a
 * path), the first place that holds any being the only one used:
 *   1. $CREDENTIALS_DIRECTORY (systemd's LoadCredential=):
 *        knockwatch.key.KEYNAME             the door's own key
 *        knockwatch.key.KEYNAME.d_USER.key  one per user: what systemd makes of
 *                                           "LoadCredential=knockwatch.key.KEYNAME.d:KEYDIR/KEYNAME"
 *   2. KEYDIR (default KEY_DIR_DEFAULT):
 *        KEYDIR/KEYNAME.key                 the door's own key
 *        KEYDIR/KEYNAME/USER.key            one per user
 * USER is a name like KEYNAME. systemd names the files of a directory credential
 * "ID_FILENAME", and "_" may occur in names; the ".d" ends KEYNAME where no name
 * character can, so a user "x_alice" of door key "ssh" is never taken for a user
 * "alice" of door key "ssh_x".
 *
 * Library-like: no logging; errors come back as -errno and a message naming the file.
 */
#pragma once

#include "totp.h"

#define KEY_DIR_DEFAULT "/etc/knockwatch/keys"
#define KEY_CREDENTIAL_PREFIX "knockwatch.key."
#define KEY_FILE_SUFFIX ".key"
#define KEY_USERS_MAX 1024U          /* user keys of one door key */
#define KEY_FILE_SIZE_MAX 128U       /* base32 of TOTP_KEY_MAX bytes, padded, and a newline */
#define BASE32_LEN(n) (((n) + 4) / 5 * 8)   /* padded length of n bytes, without the NUL */

/* Decode the n characters at s (RFC 4648 base32: case-insensitive; padding optional,
 * but if present, complete and only at the end; unused trailing bits zero) into ret
 * (at most max bytes). Returns 0 and *ret_len, -EINVAL (not base32), or -ENOBUFS. */
int base32_decode(const char *s, size_t n, uint8_t *ret, size_t max, size_t *ret_len);

/* Upper case, padded. buf must hold BASE32_LEN(n) + 1 bytes. Returns buf. */
char *base32_encode(const void *data, size_t n, char *buf, size_t size);

typedef enum KeyTrust {
        /* The daemon's key directory: owned by root; no access for group or others. */
        KEY_TRUST_ROOT,
        /* $CREDENTIALS_DIRECTORY: systemd copies each credential as mode 0400 onto a
         * read-only file system private to the unit, owned by the unit's (dynamic) user
         * where the file system has no ACLs (ramfs, what systemd 252 mounts), else owned
         * by root with an ACL granting that user read access — so the owner may be root
         * or this process's effective uid, and group bits are accepted only as the mask
         * of an ACL. Others: never. */
        KEY_TRUST_CREDENTIAL,
        /* A client's own key file (knockwatch totp/knock --key): owned by root or by this
         * process's effective uid; no access for group or others (as ssh asks of a
         * private key). Symbolic links are followed. */
        KEY_TRUST_USER,
} KeyTrust;

/* Read one key file: path opened (with O_NOFOLLOW except for KEY_TRUST_USER), the open
 * descriptor checked (a regular file, owner and mode as trust says, at most
 * KEY_FILE_SIZE_MAX bytes), its content decoded into *ret (ret->user untouched).
 * Returns 0, or -errno with *ret_error naming path: -ENOENT, -ELOOP (a symbolic link),
 * -EPERM (owner or mode refused), -EINVAL (not a key file), -EFBIG, …. */
int key_file_load(const char *path, KeyTrust trust, TotpKey *ret, char **ret_error);

/*
 * The keys of door key keyname, from credentials_dir (NULL or "": none; the daemon passes
 * $CREDENTIALS_DIRECTORY) or else key_dir (NULL: KEY_DIR_DEFAULT), as described above:
 * the door's own key first (user ""), then the users' keys sorted by name. A key
 * directory or file that fails its trust check, a malformed key file and a user file
 * with an invalid name all refuse the whole door key (-EPERM, -EINVAL) with a message
 * naming the file; more than KEY_USERS_MAX users is -E2BIG. No key anywhere: -ENOENT,
 * the message says where it looked. On success *ret_keys (free with totp_keys_free())
 * and *ret_n >= 1; *ret_source says where they came from (static string).
 */
int totp_keys_load(const char *keyname, const char *key_dir, const char *credentials_dir,
                   TotpKey **ret_keys, size_t *ret_n, const char **ret_source, char **ret_error);

/* Wipe and free what totp_keys_load() returned. Returns NULL. */
TotpKey *totp_keys_free(TotpKey *keys, size_t n);

/*
 * Create name in the directory dir_fd holding key (len bytes) in base32 and a newline:
 * O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, fsync'ed. Never overwrites: -EEXIST if name
 * exists (even as a dangling link). Returns 0 or -errno.
 */
int key_file_create(int dir_fd, const char *name, const uint8_t *key, size_t len);

/* Check an open key directory or file as trust says (path for the message only).
 * Returns 0, or -EPERM / -ENOTDIR / -EINVAL with *ret_error set. */
int key_check_fd(int fd, const char *path, KeyTrust trust, bool directory, char **ret_error);
