/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hmac.h — HMAC-SHA256 (RFC 2104 over FIPS 180-4), computed by libgcrypt: for the
 * TOTP doors (totp.h) and for authenticating fleet messages. No hashing by hand here;
 * this module only hands buffers to gcry_mac_*() and maps its errors to -errno.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define HMAC_SHA256_SIZE 32

/* Initialise libgcrypt once (version check; no secure memory pool, which would need
 * mlock rights). Called by the functions below; harmless to call again. Returns 0, or
 * -ENOPKG when the installed libgcrypt is older than the one built against. */
int hmac_init(void);

/* HMAC-SHA256 of the len bytes at data under the key_len bytes at key (key_len >= 1;
 * RFC 2104 handles any length). Returns 0 or -EINVAL / -ENOPKG / another -errno. */
int hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                uint8_t ret[static HMAC_SHA256_SIZE]);

/* Does mac (mac_len bytes, a received tag) equal HMAC-SHA256(key, data)? Compared by
 * libgcrypt in time independent of where the bytes differ. mac_len must be
 * HMAC_SHA256_SIZE: a shorter tag is refused, never compared as a prefix.
 * Returns 0 (equal), -EBADMSG (not equal, or not HMAC_SHA256_SIZE bytes), or -errno. */
int hmac_sha256_verify(const void *key, size_t key_len, const void *data, size_t len,
                       const void *mac, size_t mac_len);
