/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * siphash.h — SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012): a keyed 64-bit hash. The detector keys its table with it so that whoever
 * sends spoofed packets cannot choose addresses that land in one probe run. Pure
 * function, no I/O.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_SIZE 16

/* The 64-bit SipHash-2-4 of len bytes at data under the 128-bit key (two 64-bit
 * little-endian words, as in the paper). The reference code writes the result out
 * little-endian: its byte i is (result >> 8 * i) & 0xff. */
uint64_t siphash24(const void *data, size_t len, const uint8_t key[static SIPHASH_KEY_SIZE]);
