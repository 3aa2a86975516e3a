/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * totp-state.c — see totp-state.h.
 *
 * The state file of door NAME is STATE_DIR/totp-NAME.last: one line per key that ever
 * succeeded, "USER T STEP" (USER "*", which no user name can be, for the door's own key;
 * STEP the door's step in seconds then), rewritten whole (and fsync'ed) before each grant.
 * A success saved at another step than the door's now is converted by time
 * (totp_last_convert()), so that changing the step neither reopens a used window nor shuts
 * the door for good. Lines of users whose keys are not loaded now are kept as they are:
 * a key taken away and given back finds its success again. A line that does not parse
 * makes the whole file count as "every key succeeded at the current window" (nothing
 * live now opens): reject rather than guess.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "detector.h"
#include "errno-util.h"
#include "keyfile.h"
#include "parse-util.h"
#include "state.h"
#include "string-util.h"
#include "totp-state.h"

/* A line "USER T STEP\n" per key: 32 + 1 + 20 + 1 + 3 + 1 bytes at most, KEY_USERS_MAX
 * users and the door's own key; as much again for the lines of users not loaded now (those
 * past that room, the last in the file, are dropped). */
#define STATE_OWN_KEY "*"
#define STATE_LINE_MAX (TOTP_NAME_MAX + 26)
#define STATE_TEXT_MAX ((KEY_USERS_MAX + 1) * STATE_LINE_MAX)
#define TOTP_STATE_FILE_MAX (2 * STATE_TEXT_MAX)

typedef struct TotpDoorState {
        bool rotating;          /* a totp door */
        bool ready;             /* … whose keys could be loaded */
        char name[DOOR_NAME_MAX + 1];
        TotpParams params;
        usec_t within;
        TotpKey *keys;
        size_t n_keys;
        uint64_t *last;         /* per key: the last successful window, or TOTP_NEVER */
        char *others;           /* the state file's lines of users not loaded now */
        size_t others_len;      /* … at most STATE_TEXT_MAX bytes */
} TotpDoorState;

struct TotpState {
        TotpDoorState *doors;
        size_t n_doors;
        char *state_dir;
        TotpPort *ports;
        size_t n_ports;
        usec_t next_change;
};

static void door_state_done(TotpDoorState *d) {
        d->keys = totp_keys_free(d->keys, d->n_keys);
        d->last = mfree(d->last);
        d->others = mfree(d->others);
        d->others_len = 0;
        d->n_keys = 0;
}

int totp_state_new(TotpState **ret) {
        TotpState *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        s->next_change = USEC_INFINITY;
        *ret = s;
        return 0;
}

TotpState *totp_state_free(TotpState *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_doors; i++)
                door_state_done(&s->doors[i]);
        free(s->doors);
        free(s->state_dir);
        free(s->ports);
        free(s);
        return NULL;
}

static void state_file_name(const char *door, char buf[static DOOR_NAME_MAX + 16]) {
        (void) snprintf(buf, DOOR_NAME_MAX + 16, "totp-%s.last", door);
}

/* Keep line (NUL-terminated, without its newline) of a user not loaded now, if it fits. */
static void keep_other(TotpDoorState *d, const char *line) {
        size_t n = strlen(line);

        if (!d->others && !(d->others = malloc(STATE_TEXT_MAX)))
                return;
        if (d->others_len + n + 1 > STATE_TEXT_MAX)
                return;
        memcpy(d->others + d->others_len, line, n);
        d->others[d->others_len + n] = '\n';
        d->others_len += n + 1;
}

/* One line "USER T STEP" (without its newline, cut at its spaces): 0, or -EINVAL. */
static int parse_success(char *line, const char **ret_user, uint64_t *ret_t, uint32_t *ret_step) {
        char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        uint64_t t, step;

        if (!sp2)
                return -EINVAL;
        *sp1 = *sp2 = 0;
        if (parse_uint(sp1 + 1, strlen(sp1 + 1), UINT64_MAX - 1, &t) < 0 ||
            parse_uint(sp2 + 1, strlen(sp2 + 1), TOTP_STEP_MAX_SEC, &step) < 0 || step < TOTP_STEP_MIN_SEC ||
            (!streq(line, STATE_OWN_KEY) && !totp_name_valid(line)))
                return -EINVAL;
        *ret_user = streq(line, STATE_OWN_KEY) ? "" : line;
        *ret_t = t;
        *ret_step = (uint32_t) step;
        return 0;
}

/* The last successes of door d's keys from its state file in state_dir (if any), where
 * they are later than what d holds already. A file that cannot be read or does not parse
 * is reported (a warning naming it and the line). */
static void read_successes(const char *state_dir, TotpDoorState *d, usec_t now, door_problem_fn report,
                           void *userdata) {
        _cleanup_free_ char *text = NULL;
        char name[DOOR_NAME_MAX + 16], why[64] = "it cannot be read";
        unsigned line_no = 0;
        uint64_t floor;
        int n;

        if (!state_dir)
                return;
        state_file_name(d->name, name);
        text = malloc(TOTP_STATE_FILE_MAX + 1);
        if (!text) {
                n = -ENOMEM;
                goto broken;
        }
        n = state_read(state_dir, name, text, TOTP_STATE_FILE_MAX + 1);
        if (n == -ENOENT)
                return;
        if (n < 0) {
                (void) snprintf(why, sizeof(why), "it cannot be read (%s)", strerror(-n));
                goto broken;
        }
        /* A NUL inside is no line of ours: the whole file counts as broken. */
        if (strlen(text) != (size_t) n) {
                (void) snprintf(why, sizeof(why), "it holds a NUL byte");
                goto broken;
        }
        for (char *line = text, *nl; *line; line = nl + 1) {
                char copy[STATE_LINE_MAX + 1];
                const char *user;
                uint32_t step;
                uint64_t t;
                bool loaded = false;

                line_no++;
                nl = strchr(line, '\n');
                if (!nl || (size_t) (nl - line) > STATE_LINE_MAX)
                        goto bad_line;
                *nl = 0;
                memcpy(copy, line, (size_t) (nl - line) + 1);
                if (parse_success(line, &user, &t, &step) < 0)
                        goto bad_line;
                t = totp_last_convert(t, step, d->params.step);
                for (size_t k = 0; k < d->n_keys; k++)
                        if (streq(d->keys[k].user, user)) {
                                loaded = true;
                                if (d->last[k] == TOTP_NEVER || t > d->last[k])
                                        d->last[k] = t;
                        }
                if (!loaded)
                        keep_other(d, copy);
        }
        return;

bad_line:
        (void) snprintf(why, sizeof(why), "line %u is not \"USER T STEP\"", line_no);
broken:
        /* Unreadable or malformed: no window live now may open (but later ones will). */
        if (report) {
                char message[DOOR_NAME_MAX + PATH_MAX + 256];

                (void) snprintf(message, sizeof(message), "door \"%s\": state file %s/%s: %s; no "
                                "window live now opens (the next ones will), and the file is written "
                                "anew at the next success", d->name, state_dir, name, why);
                report(DOOR_WARNING, NULL, message, userdata);
        }
        floor = totp_counter(now, d->params.step) + 1;
        for (size_t k = 0; k < d->n_keys; k++)
                if (d->last[k] == TOTP_NEVER || d->last[k] < floor)
                        d->last[k] = floor;
}

int totp_state_load(TotpState *s, const Door *doors, size_t n, const char *key_dir,
                    const char *credentials_dir, const char *state_dir, door_problem_fn report,
                    void *userdata) {
        _cleanup_free_ TotpDoorState *next = NULL;
        _cleanup_free_ char *dir = NULL;
        usec_t now = now_usec(CLOCK_REALTIME);
        unsigned failed = 0;

        /* Nothing of the old state changes before everything new is there: a state
         * directory lost to a failed strdup() would accept windows without saving them. */
        if (n > 0) {
                next = calloc(n, sizeof(TotpDoorState));
                if (!next)
                        return -ENOMEM;
        }
        if (state_dir && !(dir = strdup(state_dir)))
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                const DoorSpec *spec = &doors[i].spec;
                TotpDoorState *d = &next[i];
                _cleanup_free_ char *error = NULL;
                const char *source;
                int r;

                if (!spec->has_sequence || !spec->is_totp)
                        continue;
                *d = (TotpDoorState) { .rotating = true, .params = spec->totp, .within = spec->window };
                memcpy(d->name, spec->name, sizeof(d->name));
                r = totp_keys_load(spec->totp_key, key_dir, credentials_dir, &d->keys, &d->n_keys, &source,
                                   &error);
                if (r < 0) {
                        char message[1024];

                        (void) snprintf(message, sizeof(message), "door \"%s\": %s; it opens for nobody "
                                        "until its keys can be read", spec->name,
                                        error ?: strerror(-r));
                        if (report)
                                report(DOOR_ERROR, NULL, message, userdata);
                        failed++;
                        continue;
                }
                d->last = calloc(d->n_keys, sizeof(uint64_t));
                if (!d->last) {
                        /* The keys loaded so far are wiped, not left in freed memory. */
                        for (size_t j = 0; j <= i; j++)
                                door_state_done(&next[j]);
                        return -ENOMEM;
                }
                for (size_t k = 0; k < d->n_keys; k++) {
                        d->last[k] = TOTP_NEVER;
                        /* What this process saw succeed before the reload counts too. */
                        for (size_t j = 0; j < s->n_doors; j++) {
                                const TotpDoorState *o = &s->doors[j];

                                if (!o->ready || !streq(o->name, d->name))
                                        continue;
                                for (size_t m = 0; m < o->n_keys; m++)
                                        if (streq(o->keys[m].user, d->keys[k].user) && o->last[m] != TOTP_NEVER)
                                                d->last[k] = totp_last_convert(o->last[m], o->params.step,
                                                                               d->params.step);
                        }
                }
                read_successes(dir, d, now, report, userdata);
                d->ready = true;
        }

        for (size_t i = 0; i < s->n_doors; i++)
                door_state_done(&s->doors[i]);
        free(s->doors);
        s->doors = TAKE_PTR(next);
        s->n_doors = n;
        free(s->state_dir);
        s->state_dir = TAKE_PTR(dir);
        return (int) failed;
}

bool totp_state_door_ready(const TotpState *s, unsigned door) {
        return door < s->n_doors && s->doors[door].ready;
}

int totp_state_detector_doors(TotpState *s, const Door *doors, size_t n, usec_t now,
                              Door **ret_doors, TotpRef **ret_refs, size_t *ret_n) {
        _cleanup_free_ TotpWindow *windows = NULL;
        _cleanup_free_ TotpPort *ports = NULL;
        _cleanup_free_ Door *out = NULL;
        _cleanup_free_ TotpRef *refs = NULL;
        size_t max_windows = 0, n_windows = 0, k = 0;
        bool cut = false;

        if (n != s->n_doors)
                return -EINVAL;
        s->next_change = USEC_INFINITY;
        for (size_t i = 0; i < n; i++)
                if (s->doors[i].ready)
                        max_windows += s->doors[i].n_keys * TOTP_WINDOWS_PER_KEY;
        out = calloc(n + max_windows + 1, sizeof(Door));
        refs = calloc(n + max_windows + 1, sizeof(TotpRef));
        windows = calloc(max_windows + 1, sizeof(TotpWindow));
        ports = calloc(max_windows * TOTP_COUNT_MAX + 1, sizeof(TotpPort));
        if (!out || !refs || !windows || !ports)
                return -ENOMEM;

        /* The doors as they are; a rotating one gives its closing sequence only. */
        for (size_t i = 0; i < n; i++) {
                out[k] = doors[i];
                if (s->doors[i].rotating)
                        out[k].spec.n_open = 0;
                refs[k++] = (TotpRef) { .door = (unsigned) i };
        }
        /* Then each live window as a door of the same name and window. */
        for (size_t i = 0; i < n; i++) {
                TotpDoorState *d = &s->doors[i];
                int m;

                if (!d->ready)
                        continue;
                m = totp_windows_live(d->name, &d->params, d->within, d->keys, d->n_keys, d->last, now,
                                      windows + n_windows, max_windows - n_windows);
                if (m < 0)
                        return m;
                for (int j = 0; j < m; j++) {
                        const TotpWindow *w = &windows[n_windows + j];
                        Door *p = &out[k];

                        if (k >= DETECTOR_DOORS_MAX) {
                                cut = true;
                                break;
                        }
                        *p = doors[i];
                        memcpy(p->spec.open, w->steps, w->n_steps * sizeof(KnockStep));
                        p->spec.n_open = w->n_steps;
                        p->spec.n_close = 0;
                        refs[k++] = (TotpRef) { .door = (unsigned) i, .window = true, .key = w->key, .t = w->t };
                }
                n_windows += (size_t) m;
                s->next_change = MIN(s->next_change, totp_next_change(&d->params, d->within, now));
        }

        s->n_ports = totp_ports_collect(windows, n_windows, ports, max_windows * TOTP_COUNT_MAX);
        free(s->ports);
        s->ports = TAKE_PTR(ports);
        *ret_doors = TAKE_PTR(out);
        *ret_refs = TAKE_PTR(refs);
        *ret_n = k;
        return cut ? -E2BIG : 0;
}

const TotpPort *totp_state_ports(const TotpState *s, size_t *ret_n) {
        *ret_n = s->n_ports;
        return s->ports;
}

usec_t totp_state_next_change(const TotpState *s) {
        return s->next_change;
}

/* The state file of d with key k's success at t. */
static int write_successes(const TotpState *s, const TotpDoorState *d, size_t k, uint64_t t) {
        _cleanup_free_ char *text = NULL;
        char name[DOOR_NAME_MAX + 16];
        size_t len = 0;

        if (!s->state_dir)
                return 0;
        text = malloc(TOTP_STATE_FILE_MAX);
        if (!text)
                return -ENOMEM;
        for (size_t i = 0; i < d->n_keys; i++) {
                uint64_t last = i == k ? t : d->last[i];
                int m;

                if (last == TOTP_NEVER)
                        continue;
                m = snprintf(text + len, STATE_TEXT_MAX - len, "%s %llu %u\n",
                             d->keys[i].user[0] ? d->keys[i].user : STATE_OWN_KEY, (unsigned long long) last,
                             (unsigned) d->params.step);
                if (m < 0 || (size_t) m >= STATE_TEXT_MAX - len)
                        return -E2BIG;
                len += (size_t) m;
        }
        if (d->others_len > 0) {
                memcpy(text + len, d->others, d->others_len);
                len += d->others_len;
        }
        state_file_name(d->name, name);
        return state_write_full(s->state_dir, name, text, len, 0600, 0);
}

int totp_state_accept(TotpState *s, const TotpRef *ref, usec_t first_knock, char **ret_error) {
        TotpDoorState *d;
        int r;

        if (!ref->window || ref->door >= s->n_doors || !s->doors[ref->door].ready ||
            ref->key >= s->doors[ref->door].n_keys)
                return -EINVAL;
        d = &s->doors[ref->door];
        if (!totp_accept(ref->t, first_knock, d->params.step, d->last[ref->key]))
                return 0;
        r = write_successes(s, d, ref->key, ref->t);
        if (r < 0)
                return set_error(ret_error, r, "cannot save the success of door %s's window %llu in "
                                 "%s/totp-%s.last: %s", d->name, (unsigned long long) ref->t,
                                 s->state_dir ?: "(none)", d->name, strerror(-r));
        d->last[ref->key] = ref->t;
        return 1;
}

const char *totp_state_user(const TotpState *s, const TotpRef *ref) {
        if (!ref->window || ref->door >= s->n_doors || ref->key >= s->doors[ref->door].n_keys)
                return "";
        return s->doors[ref->door].keys[ref->key].user;
}
