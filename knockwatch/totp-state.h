/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * totp-state.h — the daemon's rotating doors: each door's keys (keyfile.h), the last
 * window each key succeeded with (kept in the state directory, so that no window opens
 * twice, not even across a restart), and what follows from them at a given time:
 *
 *   - the doors the detector is to recognise: the table's doors as they are (a rotating
 *     door giving only its closing sequence, if any), then one door per live window
 *     (totp.h: T-1, T, T+1 of every key), named like its door, so that a window keeps its
 *     progress while it stays live; a TotpRef says what each stands for;
 *   - the ports the ruleset's totp_ports set must hold for those windows to be logged,
 *     each with the time until which it is needed;
 *   - when that changes next.
 *
 * A completed window is accepted (totp_accept(): its first knock within its steps, above
 * the key's last success) and the success saved before anything is granted: if it cannot
 * be saved, nothing is. Does file I/O (keys, the state file), never logs.
 */
#pragma once

#include "door.h"
#include "totp.h"

typedef struct TotpState TotpState;

/* What a door of totp_state_detector_doors() stands for. */
typedef struct TotpRef {
        unsigned door;          /* index into the table's doors */
        bool window;            /* a live window of a rotating door (else the door itself) */
        size_t key;             /* window: index into the door's keys */
        uint64_t t;             /* window: its counter */
} TotpRef;

int totp_state_new(TotpState **ret);
TotpState *totp_state_free(TotpState *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(TotpState *, totp_state_free);

/*
 * (Re)load the keys and last successes of the rotating doors among doors[0…n): keys from
 * credentials_dir (NULL or "": none) or key_dir (NULL: KEY_DIR_DEFAULT), successes from
 * state_dir (NULL: kept in memory only). A door whose keys cannot be loaded is reported
 * through report (an error naming the file) and gets no windows. Returns the number of
 * such doors, or -ENOMEM.
 */
int totp_state_load(TotpState *s, const Door *doors, size_t n, const char *key_dir,
                    const char *credentials_dir, const char *state_dir, door_problem_fn report,
                    void *userdata);

/* Is door i (of the last load) a rotating door with keys? */
bool totp_state_door_ready(const TotpState *s, unsigned door);

/*
 * The doors for the detector at realtime now (see above), with a TotpRef each: malloc'ed,
 * *ret_n of them. Also works out the ports (totp_state_ports()) and the next change.
 * Returns 0, -E2BIG (more windows than the detector takes: the first are given), -ENOMEM or
 * an -errno of hmac.h.
 */
int totp_state_detector_doors(TotpState *s, const Door *doors, size_t n, usec_t now,
                              Door **ret_doors, TotpRef **ret_refs, size_t *ret_n);

/* The ports of the live windows, as of the last totp_state_detector_doors(): distinct,
 * sorted, each with the realtime until which it must be logged. */
const TotpPort *totp_state_ports(const TotpState *s, size_t *ret_n);

/* The realtime at which the live windows change next (USEC_INFINITY without rotating
 * doors). */
usec_t totp_state_next_change(const TotpState *s);

/*
 * A window completed; its first knock was at realtime first_knock. Returns 1 if it is
 * accepted and its success saved (the window and those below it never open again), 0 if
 * it is refused (used already, or its first knock outside its steps: a replay or a late
 * one), or -errno (with *ret_error) if the success cannot be saved: then nothing may be
 * granted.
 */
int totp_state_accept(TotpState *s, const TotpRef *ref, usec_t first_knock, char **ret_error);

/* The user of a window's key ("" for the door's own key), for messages. */
const char *totp_state_user(const TotpState *s, const TotpRef *ref);
