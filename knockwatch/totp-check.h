/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * totp-check.h — what `knockwatch check` asks of the host for the rotating doors:
 *
 *   - each door's keys can be read where the daemon looks for them (keyfile.h) and pass
 *     their trust checks; an error names the file;
 *   - the clock is synchronised (adjtimex() without STA_UNSYNC): windows are wall-clock
 *     steps the clients count too;
 *   - no socket of this network namespace is bound to a port of a door's range: while a
 *     window holding that port is live, the ruleset drops new connections to it (and a
 *     port of a window live now is named).
 *
 * Reads key files, /proc/net and the clock; reports through door.h's problem callback.
 */
#pragma once

#include "door.h"

/* The checks above for the rotating doors among doors[0…n) (none: nothing is checked).
 * key_dir and credentials_dir as in totp_keys_load(). */
void totp_check_host(const Door *doors, size_t n, const char *key_dir, const char *credentials_dir,
                     door_problem_fn report, void *userdata);

/* One line about door's keys for `knockwatch check`, e.g. "3 key(s) from /etc/knockwatch/keys:
 * the door's own, alice, bob", or why there are none. */
void totp_describe_keys(const Door *door, const char *key_dir, const char *credentials_dir, char *buf,
                        size_t size);
