/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-totp-state.c — the daemon's rotating doors (totp-state.h) on real key files and a
 * real state directory: the detector's doors (the table's, then one per live window), the
 * ports for totp_ports, a window accepted once and never again (nor one below it), the
 * success read back by a new process, a state file that does not parse (no window live
 * now opens, and no success is lowered), a door whose step changed (the success converted
 * by time), the lines of users not loaded kept, a success that cannot be saved (no
 * grant), users' keys, and a door whose keys cannot be read (reported, naming the file;
 * no windows).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "door.h"
#include "keyfile.h"
#include "tests.h"
#include "totp-state.h"

static const uint8_t key1[20] = "12345678901234567890";
static const uint8_t key2[20] = "abcdefghijabcdefghij";
static char dir[] = "/tmp/test-totp-state.XXXXXX";
static char keys[128], state[128];

static Door door_of(const char *comment) {
        DoorSyntaxError error;
        Door d = {};

        if (door_comment_parse(comment, &d.spec, &error) < 0) {
                fprintf(stderr, "cannot parse \"%s\"\n", comment);
                abort();
        }
        return d;
}

typedef struct Problems {
        unsigned errors;
        char last[1024];
} Problems;

static void on_problem(DoorSeverity severity, const char *set, const char *message, void *userdata) {
        Problems *p = userdata;

        if (severity == DOOR_ERROR)
                p->errors++;
        (void) snprintf(p->last, sizeof(p->last), "%s", message);
}

static void setup(void) {
        int fd;

        ASSERT_TRUE(mkdtemp(dir) != NULL);
        (void) snprintf(keys, sizeof(keys), "%s/keys", dir);
        (void) snprintf(state, sizeof(state), "%s/state", dir);
        ASSERT_OK(mkdir(keys, 0700));
        fd = open(keys, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_OK(fd);
        ASSERT_OK(key_file_create(fd, "ssh.key", key1, sizeof(key1)));
        close(fd);
}

/* The doors of the tests: a static one, a rotating one (step 30 s, window 10 s). */
static void doors_of(Door doors[static 2]) {
        doors[0] = door_of("knockwatch web: tcp:1000 tcp:2000 within 5s");
        doors[1] = door_of("knockwatch ssh: totp key=ssh 4 tcp:20000-59999 within 10s");
}

/* The ref of window t of key k among the detector's doors, or NULL. */
static const TotpRef *find_window(const TotpRef *refs, size_t n, size_t k, uint64_t t) {
        for (size_t i = 0; i < n; i++)
                if (refs[i].window && refs[i].key == k && refs[i].t == t)
                        return &refs[i];
        return NULL;
}

static size_t windows_of(const TotpRef *refs, size_t n) {
        size_t w = 0;

        for (size_t i = 0; i < n; i++)
                w += refs[i].window;
        return w;
}

TEST(windows_ports_accept) {
        _cleanup_(totp_state_freep) TotpState *s = NULL;
        _cleanup_free_ Door *out = NULL;
        _cleanup_free_ TotpRef *refs = NULL;
        _cleanup_free_ char *error = NULL;
        Door doors[2];
        /* 10 s into a step: T-1, T and T+1 live (T-2 only in the first 10 s) */
        usec_t now = (usec_t) 1800000000 / 30 * 30 * USEC_PER_SEC + 10 * USEC_PER_SEC + 1;
        uint64_t t = 1800000000 / 30;
        Problems p = {};
        size_t n, n_ports;
        const TotpPort *ports;
        char text[300];
        FILE *f;

        doors_of(doors);
        ASSERT_OK(totp_state_new(&s));
        ASSERT_EQ(totp_state_load(s, doors, 2, keys, NULL, state, on_problem, &p), 0);
        ASSERT_EQ(p.errors, 0);
        ASSERT_TRUE(totp_state_door_ready(s, 1));
        ASSERT_FALSE(totp_state_door_ready(s, 0));
        ASSERT_OK(totp_state_detector_doors(s, doors, 2, now, &out, &refs, &n));

        /* The doors as they are, the rotating one without an opening sequence, then its
         * three live windows, each a door of the same name with the window's steps. */
        ASSERT_EQ(n, 2 + 3);
        ASSERT_EQ(refs[0].door, 0);
        ASSERT_FALSE(refs[0].window);
        ASSERT_EQ(out[0].spec.n_open, 2);
        ASSERT_EQ(out[1].spec.n_open, 0);
        for (uint64_t w = t - 1; w <= t + 1; w++) {
                const TotpRef *r = find_window(refs, n, 0, w);
                KnockStep steps[TOTP_COUNT_MAX];

                ASSERT_TRUE(r != NULL);
                ASSERT_EQ(r->door, 1);
                ASSERT_OK(totp_steps(key1, 20, "ssh", w, &doors[1].spec.totp, steps));
                ASSERT_EQ(out[r - refs].spec.n_open, 4);
                for (unsigned j = 0; j < 4; j++)
                        ASSERT_TRUE(knock_step_equal(&out[r - refs].spec.open[j], &steps[j]));
                ASSERT_STREQ(out[r - refs].spec.name, "ssh");
        }
        ASSERT_TRUE(find_window(refs, n, 0, t - 2) == NULL);

        /* The ports: distinct, sorted, each needed until the end of its last window + within. */
        ports = totp_state_ports(s, &n_ports);
        ASSERT_TRUE(n_ports >= 4 && n_ports <= 12);
        for (size_t i = 0; i < n_ports; i++) {
                ASSERT_EQ(ports[i].proto, KNOCK_PROTO_TCP);
                ASSERT_TRUE(ports[i].port >= 20000 && ports[i].port <= 59999);
                ASSERT_TRUE(ports[i].until > now);
                ASSERT_TRUE(ports[i].until <= totp_window_end(t + 1, 30) + 10 * USEC_PER_SEC);
                if (i > 0)
                        ASSERT_TRUE(ports[i - 1].port < ports[i].port);
        }
        /* The next change: the next step boundary (the first 10 s are over). */
        ASSERT_EQ(totp_state_next_change(s), (t + 1) * 30 * USEC_PER_SEC);

        /* Window t, its first knock in step t: accepted once, saved; then never again, and
         * t - 1 neither. A first knock outside t's steps: refused. */
        ASSERT_EQ(totp_state_accept(s, find_window(refs, n, 0, t + 1), now - 60 * USEC_PER_SEC, &error), 0);
        ASSERT_EQ(totp_state_accept(s, find_window(refs, n, 0, t), now, &error), 1);
        ASSERT_EQ(totp_state_accept(s, find_window(refs, n, 0, t), now, &error), 0);
        ASSERT_EQ(totp_state_accept(s, find_window(refs, n, 0, t - 1), now, &error), 0);
        ASSERT_ERROR(totp_state_accept(s, &refs[0], now, &error), EINVAL);
        (void) snprintf(text, sizeof(text), "%s/totp-ssh.last", state);
        f = fopen(text, "re");
        ASSERT_TRUE(f != NULL);
        ASSERT_TRUE(fgets(text, sizeof(text), f) != NULL);
        fclose(f);
        {
                char want[64];

                (void) snprintf(want, sizeof(want), "* %llu 30\n", (unsigned long long) t);
                ASSERT_STREQ(text, want);
        }

        /* Now only t + 1 is live. */
        out = mfree(out);
        refs = mfree(refs);
        ASSERT_OK(totp_state_detector_doors(s, doors, 2, now, &out, &refs, &n));
        ASSERT_EQ(windows_of(refs, n), 1);
        ASSERT_TRUE(find_window(refs, n, 0, t + 1) != NULL);
}

TEST(success_read_back) {
        _cleanup_(totp_state_freep) TotpState *s = NULL;
        _cleanup_free_ Door *out = NULL;
        _cleanup_free_ TotpRef *refs = NULL;
        Door doors[2];
        usec_t now = (usec_t) 1800000000 / 30 * 30 * USEC_PER_SEC + 10 * USEC_PER_SEC + 1;
        uint64_t t = 1800000000 / 30;
        size_t n;

        /* A new process: what the first saved holds, window t is used. */
        doors_of(doors);
        ASSERT_OK(totp_state_new(&s));
        ASSERT_EQ(totp_state_load(s, doors, 2, keys, NULL, state, NULL, NULL), 0);
        ASSERT_OK(totp_state_detector_doors(s, doors, 2, now, &out, &refs, &n));
        ASSERT_EQ(windows_of(refs, n), 1);
        ASSERT_TRUE(find_window(refs, n, 0, t + 1) != NULL);
}

TEST(state_file_garbage) {
        _cleanup_(totp_state_freep) TotpState *s = NULL;
        _cleanup_free_ Door *out = NULL;
        _cleanup_free_ TotpRef *refs = NULL;
        Door doors[2];
        /* A broken file counts as "every key succeeded at the window after the one live at
         * load time": the clock of the load, so the real one here. */
        usec_t now = now_usec(CLOCK_REALTIME);
        static const char *const bad[] = {
                "* 12x 30\n", "*\n", "* 5 30", "Alice 5 30\n", "* 99999999999999999999999 30\n",
                "* 5 30\n\n", "* -1 30\n", "* 5\n", "* 5 9\n", "* 5 601\n", "* 5 30 7\n", "* 5 030\n",
        };
        char path[300], want[400];
        Problems p;
        size_t n;

        (void) snprintf(path, sizeof(path), "%s/totp-ssh.last", state);
        doors_of(doors);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                FILE *f = fopen(path, "we");

                ASSERT_TRUE(f != NULL);
                fputs(bad[i], f);
                fclose(f);
                s = totp_state_free(s);
                out = mfree(out);
                refs = mfree(refs);
                ASSERT_OK(totp_state_new(&s));
                p = (Problems) {};
                ASSERT_EQ(totp_state_load(s, doors, 2, keys, NULL, state, on_problem, &p), 0);
                /* Said, naming the file and the line (a warning: the door works, later). */
                (void) snprintf(want, sizeof(want), "door \"ssh\": state file %s: line %d is not \"USER T STEP\"",
                                path, i == 5 ? 2 : 1);
                ASSERT_EQ(p.errors, 0);
                ASSERT_TRUE(strncmp(p.last, want, strlen(want)) == 0);
                ASSERT_OK(totp_state_detector_doors(s, doors, 2, now, &out, &refs, &n));
                /* Reject rather than guess: no window live now opens. */
                ASSERT_EQ(windows_of(refs, n), 0);
                /* Three steps on, windows open again. */
                out = mfree(out);
                refs = mfree(refs);
                ASSERT_OK(totp_state_detector_doors(s, doors, 2, now + 90 * USEC_PER_SEC, &out, &refs, &n));
                ASSERT_TRUE(find_window(refs, n, 0, totp_counter(now, 30) + 3) != NULL);
        }
        /* A NUL byte inside: no line of ours either. */
        {
                static const char nul[] = "* 5 30\0* 7 30\n";
                FILE *f = fopen(path, "we");

                ASSERT_TRUE(f != NULL);
                ASSERT_EQ(fwrite(nul, 1, sizeof(nul) - 1, f), sizeof(nul) - 1);
                fclose(f);
                s = totp_state_free(s);
                out = mfree(out);
                refs = mfree(refs);
                ASSERT_OK(totp_state_new(&s));
                p = (Problems) {};
                ASSERT_EQ(totp_state_load(s, doors, 2, keys, NULL, state, on_problem, &p), 0);
                ASSERT_TRUE(strstr(p.last, "/totp-ssh.last: it holds a NUL byte; no window live now opens") != NULL);
                ASSERT_OK(totp_state_detector_doors(s, doors, 2, now, &out, &refs, &n));
                ASSERT_EQ(windows_of(refs, n), 0);
        }
        ASSERT_OK(unlink(path));
}

/* write_file NAME TEXT: the door ssh's state file. */
static void write_state(const char *text) {
        char path[300];
        FILE *f;

        (void) snprintf(path, sizeof(path), "%s/totp-ssh.last", state);
        f = fopen(path, "we");
        ASSERT_TRUE(f != NULL);
        fputs(text, f);
        fclose(f);
}

static void read_state(char *buf, size_t size) {
        char path[300];
        size_t n;
        FILE *f;

        (void) snprintf(path, sizeof(path), "%s/totp-ssh.last", state);
        f = fopen(path, "re");
        ASSERT_TRUE(f != NULL);
        n = fread(buf, 1, size - 1, f);
        buf[n] = 0;
        fclose(f);
}

TEST(step_changed) {
        _cleanup_(totp_state_freep) TotpState *s = NULL;
        _cleanup_free_ Door *out = NULL;
        _cleanup_free_ TotpRef *refs = NULL;
        _cleanup_free_ char *error = NULL;
        Door doors[2];
        usec_t now = (usec_t) 1800000000 / 30 * 30 * USEC_PER_SEC + 10 * USEC_PER_SEC + 1;
        uint64_t t = 1800000000 / 30;
        char text[300], want[100];
        size_t n;

        /* Window t of step 30 used; then the door's step becomes 60 s. */
        (void) snprintf(text, sizeof(text), "* %llu 30\n", (unsigned long long) t);
        write_state(text);
        doors[0] = door_of("knockwatch web: tcp:1000 tcp:2000 within 5s");
        doors[1] = door_of("knockwatch ssh: totp key=ssh 4 tcp:20000-59999 step 60s within 10s");
        ASSERT_OK(totp_state_new(&s));
        ASSERT_EQ(totp_state_load(s, doors, 2, keys, NULL, state, NULL, NULL), 0);
        /* Window t stopped counting at (t + 2) * 30 s: the 60 s windows whose first knock may
         * come before that stay shut, the next opens. A bare T of step 30 would have shut
         * the door for some 57 years. */
        ASSERT_OK(totp_state_detector_doors(s, doors, 2, now, &out, &refs, &n));
        ASSERT_EQ(windows_of(refs, n), 0);   /* all of them could be knocked before */
        out = mfree(out);
        refs = mfree(refs);
        ASSERT_OK(totp_state_detector_doors(s, doors, 2, now + 60 * USEC_PER_SEC, &out, &refs, &n));
        ASSERT_EQ(windows_of(refs, n), 1);
        {
                const TotpRef *r = find_window(refs, n, 0, ((t + 2) * 30 + 59) / 60 + 1);

                ASSERT_TRUE(r != NULL);
                ASSERT_EQ(totp_state_accept(s, r, now + 60 * USEC_PER_SEC, &error), 1);
                (void) snprintf(want, sizeof(want), "* %llu 60\n", (unsigned long long) r->t);
        }
        read_state(text, sizeof(text));
        ASSERT_STREQ(text, want);
        /* And back to 30 s in the same process: converted again, nothing used reopens. */
        doors_of(doors);
        ASSERT_EQ(totp_state_load(s, doors, 2, keys, NULL, state, NULL, NULL), 0);
        out = mfree(out);
        refs = mfree(refs);
        ASSERT_OK(totp_state_detector_doors(s, doors, 2, now + 60 * USEC_PER_SEC, &out, &refs, &n));
        ASSERT_EQ(windows_of(refs, n), 0);
        /* The 60 s window used stops counting at (w + 2) * 60 s: the first 30 s window after. */
        {
                uint64_t w = ((t + 2) * 30 + 59) / 60 + 1, first = (w + 2) * 60 / 30 + 1;

                out = mfree(out);
                refs = mfree(refs);
                ASSERT_OK(totp_state_detector_doors(s, doors, 2, (first - 1) * 30 * USEC_PER_SEC + 1, &out,
                                                    &refs, &n));
                ASSERT_EQ(windows_of(refs, n), 1);
                ASSERT_TRUE(find_window(refs, n, 0, first) != NULL);
        }
        ASSERT_OK(unlink(strcat(strcpy(text, state), "/totp-ssh.last")));
}

TEST(others_kept_and_broken_never_lowers) {
        _cleanup_(totp_state_freep) TotpState *s = NULL;
        _cleanup_free_ Door *out = NULL;
        _cleanup_free_ TotpRef *refs = NULL;
        _cleanup_free_ char *error = NULL;
        Door doors[2];
        usec_t real = now_usec(CLOCK_REALTIME), later = real + 86400 * USEC_PER_SEC;
        uint64_t t = totp_counter(later, 30);
        char text[300], want[300];
        size_t n;

        /* bob's key is not loaded now: his line stays through the next write. The user "-"
         * is no stand-in for the door's own key. */
        write_state("bob 77 30\n- 99 30\n");
        doors_of(doors);
        ASSERT_OK(totp_state_new(&s));
        ASSERT_EQ(totp_state_load(s, doors, 2, keys, NULL, state, NULL, NULL), 0);
        ASSERT_OK(totp_state_detector_doors(s, doors, 2, later, &out, &refs, &n));
        ASSERT_EQ(totp_state_accept(s, find_window(refs, n, 0, t), later, &error), 1);
        read_state(text, sizeof(text));
        (void) snprintf(want, sizeof(want), "* %llu 30\nbob 77 30\n- 99 30\n", (unsigned long long) t);
        ASSERT_STREQ(text, want);

        /* A day "later" (as a clock set forward then back would leave it), the file broken:
         * the success carried in memory is later than "the window after now", and stays. */
        write_state("garbage\n");
        ASSERT_EQ(totp_state_load(s, doors, 2, keys, NULL, state, NULL, NULL), 0);
        out = mfree(out);
        refs = mfree(refs);
        ASSERT_OK(totp_state_detector_doors(s, doors, 2, later, &out, &refs, &n));
        ASSERT_TRUE(find_window(refs, n, 0, t) == NULL);
        ASSERT_TRUE(find_window(refs, n, 0, t + 1) != NULL);
        ASSERT_OK(unlink(strcat(strcpy(text, state), "/totp-ssh.last")));
}

TEST(cannot_save) {
        _cleanup_(totp_state_freep) TotpState *s = NULL;
        _cleanup_free_ Door *out = NULL;
        _cleanup_free_ TotpRef *refs = NULL;
        _cleanup_free_ char *error = NULL;
        Door doors[2];
        usec_t now = (usec_t) 1800000000 / 30 * 30 * USEC_PER_SEC + 10 * USEC_PER_SEC + 1;
        uint64_t t = 1800000000 / 30;
        char blocked[300];
        size_t n;

        /* The state directory is a file: the success cannot be saved, so it is not one. */
        (void) snprintf(blocked, sizeof(blocked), "%s/not-a-dir", dir);
        ASSERT_OK(close(open(blocked, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)));
        doors_of(doors);
        ASSERT_OK(totp_state_new(&s));
        ASSERT_EQ(totp_state_load(s, doors, 2, keys, NULL, blocked, NULL, NULL), 0);
        ASSERT_OK(totp_state_detector_doors(s, doors, 2, now, &out, &refs, &n));
        ASSERT_TRUE(totp_state_accept(s, find_window(refs, n, 0, t), now, &error) < 0);
        ASSERT_CONTAINS(error, "cannot save the success of door ssh's window");
        ASSERT_CONTAINS(error, blocked);
        ASSERT_OK(unlink(blocked));
}

TEST(users_and_missing_keys) {
        _cleanup_(totp_state_freep) TotpState *s = NULL;
        _cleanup_free_ Door *out = NULL;
        _cleanup_free_ TotpRef *refs = NULL;
        _cleanup_free_ char *error = NULL;
        Door doors[3];
        usec_t now = (usec_t) 1800000000 / 30 * 30 * USEC_PER_SEC + 10 * USEC_PER_SEC + 1;
        uint64_t t = 1800000000 / 30;
        Problems p = {};
        char users[300];
        const TotpRef *r;
        size_t n;
        int fd;

        (void) snprintf(users, sizeof(users), "%s/ssh", keys);
        ASSERT_OK(mkdir(users, 0700));
        fd = open(users, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_OK(fd);
        ASSERT_OK(key_file_create(fd, "alice.key", key2, sizeof(key2)));
        close(fd);

        doors_of(doors);
        doors[2] = door_of("knockwatch lost: totp key=lost 3 udp:30000-31999 within 5s");
        ASSERT_OK(totp_state_new(&s));
        ASSERT_EQ(totp_state_load(s, doors, 3, keys, NULL, NULL, on_problem, &p), 1);
        ASSERT_EQ(p.errors, 1);
        ASSERT_CONTAINS(p.last, "door \"lost\"");
        ASSERT_CONTAINS(p.last, "lost.key");
        ASSERT_FALSE(totp_state_door_ready(s, 2));

        /* Two keys of ssh (the door's own and alice's), three windows each; none of "lost". */
        ASSERT_OK(totp_state_detector_doors(s, doors, 3, now, &out, &refs, &n));
        ASSERT_EQ(n, 3 + 6);
        r = find_window(refs, n, 1, t);
        ASSERT_TRUE(r != NULL);
        ASSERT_STREQ(totp_state_user(s, r), "alice");
        ASSERT_STREQ(totp_state_user(s, find_window(refs, n, 0, t)), "");
        /* Without a state directory successes are kept in memory; each key has its own. */
        ASSERT_EQ(totp_state_accept(s, r, now, &error), 1);
        ASSERT_EQ(totp_state_accept(s, r, now, &error), 0);
        ASSERT_EQ(totp_state_accept(s, find_window(refs, n, 0, t), now, &error), 1);

        /* A reload keeps what this process saw succeed. */
        ASSERT_EQ(totp_state_load(s, doors, 3, keys, NULL, NULL, NULL, NULL), 1);
        out = mfree(out);
        refs = mfree(refs);
        ASSERT_OK(totp_state_detector_doors(s, doors, 3, now, &out, &refs, &n));
        ASSERT_EQ(windows_of(refs, n), 2);
}

static void teardown(void) {
        static const char *const paths[] = {
                "keys/ssh/alice.key", "keys/ssh", "keys/ssh.key", "keys", "state/totp-ssh.last", "state",
        };

        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                char path[300];

                (void) snprintf(path, sizeof(path), "%s/%s", dir, paths[i]);
                if (unlink(path) < 0 && errno == EISDIR)
                        (void) rmdir(path);
                else if (errno == EISDIR || errno == EPERM)
                        (void) rmdir(path);
        }
        ASSERT_OK(rmdir(dir));
}

int main(void) {
        if (geteuid() != 0) {
                /* key files must be owned by root (keyfile.h) */
                printf("skipped: key files must be owned by root, and this is not root\n");
                return 77;
        }
        setup();
        RUN(windows_ports_accept);
        RUN(success_read_back);
        RUN(state_file_garbage);
        RUN(step_changed);
        RUN(others_kept_and_broken_never_lowers);
        RUN(cannot_save);
        RUN(users_and_missing_keys);
        teardown();
        return 0;
}
