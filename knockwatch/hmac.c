/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hmac.c — HMAC-SHA256 through libgcrypt's MAC interface (see hmac.h).
 *
 * libsystemd links libgcrypt too and initialises it lazily only when it needs it; the
 * first of us to get there does it, the other sees GCRYCTL_INITIALIZATION_FINISHED_P.
 */
#include <errno.h>
#include <gcrypt.h>

#include "hmac.h"
#include "macro.h"

/* The libgcrypt this was built against: an older library at run time is refused. */
#define HMAC_GCRYPT_VERSION_MIN GCRYPT_VERSION

static int errno_from_gcry(gcry_error_t err) {
        int e = gcry_err_code_to_errno(gcry_err_code(err));

        return e > 0 ? -e : -EIO;
}

int hmac_init(void) {
        if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P))
                return 0;
        if (!gcry_check_version(HMAC_GCRYPT_VERSION_MIN))
                return -ENOPKG;
        /* Keys live in ordinary memory that the callers wipe (explicit_bzero); a secure
         * memory pool would need CAP_IPC_LOCK or a raised RLIMIT_MEMLOCK. */
        (void) gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
        (void) gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
        return 0;
}

static void mac_closep(gcry_mac_hd_t *hd) {
        if (*hd)
                gcry_mac_close(*hd);
}

/* A MAC handle keyed with key and fed data, ready to read or verify. */
static int mac_start(const void *key, size_t key_len, const void *data, size_t len,
                     gcry_mac_hd_t *ret) {
        _cleanup_(mac_closep) gcry_mac_hd_t hd = NULL;
        gcry_error_t err;
        int r;

        if (!key || key_len == 0 || (!data && len > 0))
                return -EINVAL;
        r = hmac_init();
        if (r < 0)
                return r;

        err = gcry_mac_open(&hd, GCRY_MAC_HMAC_SHA256, 0, NULL);
        if (err)
                return errno_from_gcry(err);
        err = gcry_mac_setkey(hd, key, key_len);
        if (err)
                return errno_from_gcry(err);
        if (len > 0) {
                err = gcry_mac_write(hd, data, len);
                if (err)
                        return errno_from_gcry(err);
        }
        *ret = TAKE_PTR(hd);
        return 0;
}

int hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                uint8_t ret[static HMAC_SHA256_SIZE]) {
        _cleanup_(mac_closep) gcry_mac_hd_t hd = NULL;
        size_t n = HMAC_SHA256_SIZE;
        gcry_error_t err;
        int r;

        r = mac_start(key, key_len, data, len, &hd);
        if (r < 0)
                return r;
        err = gcry_mac_read(hd, ret, &n);
        if (err)
                return errno_from_gcry(err);
        return n == HMAC_SHA256_SIZE ? 0 : -EIO;
}

int hmac_sha256_verify(const void *key, size_t key_len, const void *data, size_t len,
                       const void *mac, size_t mac_len) {
        _cleanup_(mac_closep) gcry_mac_hd_t hd = NULL;
        gcry_error_t err;
        int r;

        if (!mac)
                return -EINVAL;
        if (mac_len != HMAC_SHA256_SIZE)
                return -EBADMSG;
        r = mac_start(key, key_len, data, len, &hd);
        if (r < 0)
                return r;
        err = gcry_mac_verify(hd, mac, mac_len);
        if (gcry_err_code(err) == GPG_ERR_CHECKSUM)
                return -EBADMSG;
        return err ? errno_from_gcry(err) : 0;
}
