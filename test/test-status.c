/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-status.c — the status file: every counter and the per-door lines survive a write
 * and a read; the keys older readers know keep their form and order; the most doors
 * with the largest numbers fit; garbage (a bad door name, a bad number, a key twice, a
 * door twice, too many doors, a NUL) is rejected whole. And the counting helpers the
 * daemon uses: per-door counters across a reload, knocks per door, live grants, the
 * classes of rejected lines (from logline_parse's real results), and state_write_full. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "door.h"
#include "grants.h"
#include "logline.h"
#include "state.h"
#include "status.h"
#include "string-util.h"
#include "tests.h"

static char text[STATUS_FILE_MAX];

static void assert_status_equal(const DaemonStatus *a, const DaemonStatus *b) {
        ASSERT_EQ(a->pid, b->pid);
        ASSERT_EQ(a->started_realtime, b->started_realtime);
        ASSERT_EQ(a->updated_realtime, b->updated_realtime);
        ASSERT_STREQ(a->source, b->source);
        ASSERT_STREQ(a->table, b->table);
        ASSERT_EQ(a->doors, b->doors);
        ASSERT_EQ(a->lines, b->lines);
        ASSERT_EQ(a->knocks, b->knocks);
        ASSERT_EQ(a->not_knocks, b->not_knocks);
        ASSERT_EQ(a->rejected, b->rejected);
        ASSERT_EQ(a->sequences, b->sequences);
        ASSERT_EQ(a->grants, b->grants);
        ASSERT_EQ(a->refreshes, b->refreshes);
        ASSERT_EQ(a->revokes, b->revokes);
        ASSERT_EQ(a->expiries, b->expiries);
        ASSERT_EQ(a->errors, b->errors);
        ASSERT_EQ(a->lost, b->lost);
        ASSERT_EQ(a->live_grants, b->live_grants);
        ASSERT_EQ(a->in_progress, b->in_progress);
        ASSERT_EQ(a->capacity, b->capacity);
        ASSERT_EQ(a->evictions, b->evictions);
        for (int r = 0; r < _REJECT_REASON_MAX; r++)
                ASSERT_EQ(a->rejected_by[r], b->rejected_by[r]);
        ASSERT_EQ(a->hook_runs, b->hook_runs);
        ASSERT_EQ(a->hook_failures, b->hook_failures);
        ASSERT_EQ(a->hook_timeouts, b->hook_timeouts);
        ASSERT_EQ(a->hook_drops, b->hook_drops);
        ASSERT_STREQ(a->fleet_broker, b->fleet_broker);
        ASSERT_STREQ(a->fleet_name, b->fleet_name);
        ASSERT_EQ(a->fleet_connected, b->fleet_connected);
        ASSERT_EQ(a->fleet_connects, b->fleet_connects);
        ASSERT_EQ(a->fleet_disconnects, b->fleet_disconnects);
        ASSERT_EQ(a->fleet_connect_failures, b->fleet_connect_failures);
        ASSERT_EQ(a->fleet_published, b->fleet_published);
        ASSERT_EQ(a->fleet_acked, b->fleet_acked);
        ASSERT_EQ(a->fleet_dropped, b->fleet_dropped);
        ASSERT_EQ(a->fleet_queued, b->fleet_queued);
        ASSERT_EQ(a->fleet_received, b->fleet_received);
        ASSERT_EQ(a->fleet_accepted, b->fleet_accepted);
        ASSERT_EQ(a->fleet_own, b->fleet_own);
        ASSERT_EQ(a->fleet_rejected_other, b->fleet_rejected_other);
        ASSERT_EQ(a->fleet_subscribe_refused, b->fleet_subscribe_refused);
        ASSERT_EQ(a->fleet_refreshes_held, b->fleet_refreshes_held);
        for (int r = 0; r < _FLEET_REJECT_MAX; r++)
                ASSERT_EQ(a->fleet_rejected[r], b->fleet_rejected[r]);
        ASSERT_EQ(a->n_door, b->n_door);
        for (size_t i = 0; i < a->n_door; i++) {
                ASSERT_STREQ(a->door[i].name, b->door[i].name);
                for (int c = 0; c < _DOOR_COUNTER_MAX; c++)
                        ASSERT_EQ(a->door[i].counter[c], b->door[i].counter[c]);
                ASSERT_EQ(a->door[i].live_grants, b->door[i].live_grants);
        }
}

/* Every counter a different number, so that a field read into another shows. */
static void sample_status(DaemonStatus *s, size_t n_doors) {
        uint64_t v = 1000;

        *s = (DaemonStatus) {
                .pid = 4242, .started_realtime = 1700000000123456, .updated_realtime = 1700000100654321,
                .doors = n_doors, .lines = v++, .knocks = v++, .not_knocks = v++, .rejected = v++,
                .sequences = v++, .grants = v++, .refreshes = v++, .revokes = v++, .expiries = v++,
                .errors = v++, .lost = v++, .live_grants = v++, .in_progress = v++, .capacity = v++,
                .evictions = v++, .hook_runs = v++, .hook_failures = v++, .hook_timeouts = v++,
                .hook_drops = v++,
        };
        snprintf(s->source, sizeof(s->source), "file /var/log/kern.log");
        snprintf(s->table, sizeof(s->table), "inet knockwatch");
        for (int r = 0; r < _REJECT_REASON_MAX; r++)
                s->rejected_by[r] = v++;
        for (size_t i = 0; i < n_doors; i++) {
                DoorStatus *d = &s->door[s->n_door++];

                snprintf(d->name, sizeof(d->name), "door-%zu_x", i);
                for (int c = 0; c < _DOOR_COUNTER_MAX; c++)
                        d->counter[c] = v++;
                d->live_grants = v++;
        }
        snprintf(s->fleet_broker, sizeof(s->fleet_broker), "mqtts://192.0.2.10:8883");
        snprintf(s->fleet_name, sizeof(s->fleet_name), "default");
        s->fleet_connected = 1;
        s->fleet_connects = v++, s->fleet_disconnects = v++, s->fleet_connect_failures = v++;
        s->fleet_published = v++, s->fleet_acked = v++, s->fleet_dropped = v++, s->fleet_queued = v++;
        s->fleet_received = v++, s->fleet_accepted = v++, s->fleet_own = v++, s->fleet_rejected_other = v++;
        for (int r = 0; r < _FLEET_REJECT_MAX; r++)
                s->fleet_rejected[r] = v++;
        s->fleet_subscribe_refused = v++, s->fleet_refreshes_held = v++;
}

TEST(roundtrip) {
        DaemonStatus s, back;
        int n;

        sample_status(&s, 3);
        n = status_format(&s, text, sizeof(text));
        ASSERT_TRUE(n > 0 && (size_t) n == strlen(text));
        ASSERT_OK(status_parse(text, &back));
        assert_status_equal(&s, &back);
}

TEST(old_keys_keep_their_form) {
        /* what readers of the format before per-door counters know: first, in this
         * order, as before; the new keys and the door lines after them */
        static const char old_part[] =
                "pid=4242\nstarted_realtime=1700000000123456\nupdated_realtime=1700000100654321\n"
                "source=file /var/log/kern.log\ntable=inet knockwatch\ndoors=1\nlines=1000\n"
                "knocks=1001\nnot_knocks=1002\nrejected=1003\nsequences=1004\ngrants=1005\n"
                "refreshes=1006\nrevokes=1007\nexpiries=1008\nerrors=1009\nlost=1010\n"
                "live_grants=1011\nin_progress=1012\ncapacity=1013\nevictions=1014\n";
        static const char new_part[] =
                "stale=0\nproblem=\n"
                "rejected_malformed=1019\nrejected_truncated=1020\nrejected_too_long=1021\n"
                "rejected_not_kernel=1022\nrejected_untrusted=1023\nrejected_other=1024\n"
                "hook_runs=1015\nhook_failures=1016\nhook_timeouts=1017\nhook_drops=1018\n"
                "fleet_broker=mqtts://192.0.2.10:8883\nfleet_name=default\nfleet_connected=1\n"
                "fleet_connects=1033\nfleet_disconnects=1034\nfleet_connect_failures=1035\n"
                "fleet_published=1036\nfleet_acked=1037\nfleet_dropped=1038\nfleet_queued=1039\n"
                "fleet_received=1040\nfleet_accepted=1041\nfleet_own=1042\nfleet_rejected_other=1043\n"
                "fleet_rejected_malformed=1044\nfleet_rejected_version=1045\nfleet_rejected_bad_mac=1046\n"
                "fleet_rejected_wrong_topic=1047\nfleet_rejected_not_taken=1048\nfleet_rejected_prefix=1049\n"
                "fleet_rejected_expired=1050\nfleet_rejected_too_far=1051\nfleet_rejected_replayed=1052\n"
                "fleet_rejected_cache_full=1053\n"
                "fleet_subscribe_refused=1054\nfleet_refreshes_held=1055\n"
                "door=door-0_x knocks=1025 sequences=1026 grants=1027 refreshes=1028 revokes=1029 "
                "expiries=1030 replays=1031 live_grants=1032\n";
        DaemonStatus s, back;
        char want[sizeof(old_part) + sizeof(new_part)];

        sample_status(&s, 1);
        ASSERT_TRUE(status_format(&s, text, sizeof(text)) > 0);
        snprintf(want, sizeof(want), "%s%s", old_part, new_part);
        ASSERT_STREQ(text, want);

        /* a file of the old format still reads, the new counters as 0 */
        ASSERT_OK(status_parse(old_part, &back));
        ASSERT_EQ(back.evictions, 1014);
        ASSERT_EQ(back.hook_runs, 0);
        ASSERT_EQ(back.n_door, 0);
}

TEST(largest_fits) {
        DaemonStatus s, back;

        sample_status(&s, STATUS_DOORS_MAX);
        memset(s.source, 'x', sizeof(s.source) - 1);
        memset(s.table, 'y', sizeof(s.table) - 1);
        for (size_t i = 0; i < s.n_door; i++) {
                DoorStatus *d = &s.door[i];

                snprintf(d->name, sizeof(d->name), "d%031zu", i);
                ASSERT_EQ(strlen(d->name), DOOR_NAME_MAX);
                for (int c = 0; c < _DOOR_COUNTER_MAX; c++)
                        d->counter[c] = UINT64_MAX - (uint64_t) c;
                d->live_grants = UINT64_MAX;
        }
        s.lines = UINT64_MAX;
        ASSERT_OK(status_format(&s, text, sizeof(text)));
        ASSERT_OK(status_parse(text, &back));
        assert_status_equal(&s, &back);
        /* and a buffer too small says so */
        ASSERT_ERROR(status_format(&s, text, 1000), ENOBUFS);
}

TEST(door_lines_lenient_only_where_said) {
        DaemonStatus back;

        /* unknown counters (a newer writer) are skipped, missing ones are 0 */
        ASSERT_OK(status_parse("door=a-b_9 future=5 knocks=2\ndoor=web\n", &back));
        ASSERT_EQ(back.n_door, 2);
        ASSERT_STREQ(back.door[0].name, "a-b_9");
        ASSERT_EQ(back.door[0].counter[DOOR_COUNTER_KNOCKS], 2);
        ASSERT_EQ(back.door[0].counter[DOOR_COUNTER_GRANTS], 0);
        ASSERT_STREQ(back.door[1].name, "web");
        /* unknown plain keys too, as before */
        ASSERT_OK(status_parse("something_new=xyz\nlines=3\n", &back));
        ASSERT_EQ(back.lines, 3);
}

TEST(garbage_rejected) {
        static const char *const bad[] = {
                "door=\n",
                "door=SSH knocks=1\n",
                "door=ss.h knocks=1\n",
                "door=ssh  knocks=1\n",
                "door=ssh knocks=1 \n",
                "door= knocks=1\n",
                "door=ssh knocks=01\n",
                "door=ssh knocks=-1\n",
                "door=ssh knocks=+1\n",
                "door=ssh knocks=\n",
                "door=ssh knocks=18446744073709551616\n",
                "door=ssh knocks=1 knocks=2\n",
                "door=ssh live_grants=1 live_grants=1\n",
                "door=ssh knocks\n",
                "door=ssh =1\n",
                "door=ssh Knocks=1\n",
                "door=ssh kn0cks=1\n",
                "door=ssh knocks=1\tx\n",
                "door=ssh\x01 knocks=1\n",
                "door=ssh knocks=1\ndoor=ssh knocks=2\n",
                "door=abcdefghijklmnopqrstuvwxyz0123456 knocks=1\n",   /* 33 bytes */
                "door=ssh knocks=1\r\n",
                "lines=abc\n",
                "lines=\n",
                "no equals sign\n",
                "lines=1\n\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                DaemonStatus back;
                int r = status_parse(bad[i], &back);

                if (r != -EBADMSG) {
                        fprintf(stderr, "accepted: %s", bad[i]);
                        abort();
                }
        }

        /* a door name of exactly 32 bytes is fine; STATUS_DOORS_MAX lines, not one more */
        DaemonStatus back;
        size_t len = 0;

        ASSERT_OK(status_parse("door=abcdefghijklmnopqrstuvwxyz012345 knocks=1\n", &back));
        for (unsigned i = 0; i < STATUS_DOORS_MAX; i++)
                len += (size_t) snprintf(text + len, sizeof(text) - len, "door=d%u knocks=%u\n", i, i);
        ASSERT_OK(status_parse(text, &back));
        ASSERT_EQ(back.n_door, STATUS_DOORS_MAX);
        snprintf(text + len, sizeof(text) - len, "door=one-more\n");
        ASSERT_ERROR(status_parse(text, &back), EBADMSG);
}

static char dir[64];

TEST(read_rejects_nul_and_garbage) {
        char path[128];
        DaemonStatus s, back;
        int fd;

        snprintf(dir, sizeof(dir), "/tmp/kw-test-status.XXXXXX");
        ASSERT_TRUE(mkdtemp(dir));
        sample_status(&s, 2);
        ASSERT_OK(status_write(dir, &s));
        ASSERT_OK(status_read(dir, &back));
        assert_status_equal(&s, &back);

        snprintf(path, sizeof(path), "%s/" STATUS_FILE, dir);
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, "lines=1\n\0door=x\n", 16), 16);
        close(fd);
        ASSERT_ERROR(status_read(dir, &back), EBADMSG);
        ASSERT_OK(state_write_full(dir, STATUS_FILE, "door=ssh knocks=x\n", 18, 0600, 0));
        ASSERT_ERROR(status_read(dir, &back), EBADMSG);
        unlink(path);
        ASSERT_ERROR(status_read(dir, &back), ENOENT);
}

TEST(state_write_full) {
        static char big[STATE_FILE_LARGE_MAX + 1];
        char sub[128], path[160];
        struct stat st;
        mode_t old = umask(077);

        memset(big, 'z', sizeof(big));
        /* the mode is exact, whatever the umask */
        ASSERT_OK(state_write_full(dir, "m.prom", "a 1\n", 4, 0644, STATE_WRITE_NO_MKDIR | STATE_WRITE_NO_SYNC));
        snprintf(path, sizeof(path), "%s/m.prom", dir);
        ASSERT_OK(stat(path, &st));
        ASSERT_EQ(st.st_mode & 07777, 0644);
        /* larger than a state file */
        ASSERT_OK(state_write_full(dir, "m.prom", big, STATE_FILE_LARGE_MAX, 0644, 0));
        ASSERT_OK(stat(path, &st));
        ASSERT_EQ(st.st_size, STATE_FILE_LARGE_MAX);
        ASSERT_ERROR(state_write_full(dir, "m.prom", big, STATE_FILE_LARGE_MAX + 1, 0644, 0), EINVAL);
        ASSERT_ERROR(state_write(dir, "m.prom", big, STATE_FILE_MAX + 1), EINVAL);
        ASSERT_ERROR(state_write_full(dir, "m.prom", "x", 1, 04755, 0), EINVAL);
        /* NO_MKDIR: a missing directory is an error, not made */
        snprintf(sub, sizeof(sub), "%s/missing", dir);
        ASSERT_ERROR(state_write_full(sub, "m.prom", "x", 1, 0644, STATE_WRITE_NO_MKDIR), ENOENT);
        ASSERT_TRUE(stat(sub, &st) < 0 && errno == ENOENT);
        umask(old);
        unlink(path);
}

static Door make_door(const char *comment) {
        Door d = {};
        DoorSyntaxError e;

        ASSERT_EQ(door_comment_parse(comment, &d.spec, &e), 1);
        return d;
}

TEST(doors_counted_across_reloads) {
        Door doors[3] = {
                make_door("knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 10s close udp:9 tcp:3721"),
                make_door("knockwatch web: tcp:4728 udp:7 within 5s"),
                make_door("knockwatch mail: ping:100 ping:200 within 5s"),
        };
        KnockStep step;
        DaemonStatus s = {};

        status_set_doors(&s, doors, 2);
        ASSERT_EQ(s.n_door, 2);
        ASSERT_OK(knock_step_parse("tcp:4728", 8, &step));
        status_count_knock(&s, doors, 2, &step);
        ASSERT_OK(knock_step_parse("udp:9", 5, &step));     /* only ssh's closing sequence */
        status_count_knock(&s, doors, 2, &step);
        ASSERT_OK(knock_step_parse("tcp:1", 5, &step));     /* nobody's */
        status_count_knock(&s, doors, 2, &step);
        status_count_door(&s, "ssh", DOOR_COUNTER_GRANTS);
        status_count_door(&s, "nosuch", DOOR_COUNTER_GRANTS);
        ASSERT_EQ(status_get_door(&s, "ssh")->counter[DOOR_COUNTER_KNOCKS], 2);
        ASSERT_EQ(status_get_door(&s, "web")->counter[DOOR_COUNTER_KNOCKS], 1);
        ASSERT_EQ(status_get_door(&s, "ssh")->counter[DOOR_COUNTER_GRANTS], 1);
        ASSERT_TRUE(status_get_door(&s, "nosuch") == NULL);

        /* a reload: web goes, mail comes, ssh keeps its counts (and the doors' order) */
        Door reloaded[2] = { doors[2], doors[0] };
        status_set_doors(&s, reloaded, 2);
        ASSERT_EQ(s.n_door, 2);
        ASSERT_STREQ(s.door[0].name, "mail");
        ASSERT_EQ(s.door[0].counter[DOOR_COUNTER_KNOCKS], 0);
        ASSERT_STREQ(s.door[1].name, "ssh");
        ASSERT_EQ(s.door[1].counter[DOOR_COUNTER_KNOCKS], 2);
        ASSERT_EQ(s.door[1].counter[DOOR_COUNTER_GRANTS], 1);
        ASSERT_TRUE(status_get_door(&s, "web") == NULL);
        ASSERT_OK(knock_step_parse("tcp:3721", 8, &step));
        status_count_knock(&s, reloaded, 2, &step);
        ASSERT_EQ(s.door[1].counter[DOOR_COUNTER_KNOCKS], 3);

        /* more doors than are counted: the first STATUS_DOORS_MAX */
        static Door many[STATUS_DOORS_MAX + 5];
        for (size_t i = 0; i < ELEMENTSOF(many); i++)
                snprintf(many[i].spec.name, sizeof(many[i].spec.name), "d%zu", i);
        status_set_doors(&s, many, ELEMENTSOF(many));
        ASSERT_EQ(s.n_door, STATUS_DOORS_MAX);
        ASSERT_TRUE(status_get_door(&s, "d63") != NULL);
        ASSERT_TRUE(status_get_door(&s, "d64") == NULL);
}

TEST(live_grants_per_door) {
        _cleanup_(grants_freep) Grants *g = NULL;
        Door doors[2] = { make_door("knockwatch ssh: tcp:1 tcp:3 within 1s"),
                          make_door("knockwatch web: tcp:1 tcp:3 within 1s") };
        DaemonStatus s = {};
        KnockAddr a;

        ASSERT_OK(grants_new(16, &g));
        status_set_doors(&s, doors, 2);
        for (unsigned i = 0; i < 3; i++) {
                char addr[32];

                snprintf(addr, sizeof(addr), "192.0.2.%u", i + 1);
                ASSERT_OK(knock_addr_parse(addr, &a));
                ASSERT_OK(grants_put(g, "ssh", &a, 1000, 1000, (GrantSetId) {}));
                if (i == 0)
                        ASSERT_OK(grants_put(g, "web", &a, 1000, 1000, (GrantSetId) {}));
        }
        ASSERT_OK(grants_put(g, "gone", &a, 1000, 1000, (GrantSetId) {}));
        status_count_live(&s, g);
        ASSERT_EQ(status_get_door(&s, "ssh")->live_grants, 3);
        ASSERT_EQ(status_get_door(&s, "web")->live_grants, 1);
        grants_expire(g, 2000, NULL, NULL);
        status_count_live(&s, g);
        ASSERT_EQ(status_get_door(&s, "ssh")->live_grants, 0);
}

static RejectReason classify(const char *line, LoglineForm form) {
        const char *reason = NULL;
        KnockEvent ev;
        int r = logline_parse(line, strlen(line), form, &logline_prefixes_any, &ev, &reason);

        ASSERT_TRUE(r < 0 && r != -ENOMSG);
        return reject_reason_classify(r, reason);
}

TEST(reject_classes) {
        static const char knock[] =
                "PORT_KNOCKING IN=kw0 OUT= SRC=192.0.2.2 DST=192.0.2.1 LEN=60 TOS=0x00 PREC=0x00 "
                "TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=3721 WINDOW=64240 RES=0x00 SYN URGP=0 ";
        char buf[4096];

        snprintf(buf, sizeof(buf), "%.*s", (int) strlen(knock) - 1, knock);   /* no final space */
        ASSERT_EQ(classify(buf, LOGLINE_FORM_KERNEL), REJECT_TRUNCATED);
        snprintf(buf, sizeof(buf), "%sX=%01500d ", knock, 0);
        ASSERT_EQ(classify(buf, LOGLINE_FORM_KERNEL), REJECT_TOO_LONG);
        snprintf(buf, sizeof(buf), "2026-11-22T22:37:01.574865+00:00 vm logger: %s", knock);
        ASSERT_EQ(classify(buf, LOGLINE_FORM_SYSLOG), REJECT_NOT_KERNEL);
        ASSERT_EQ(classify("PORT_KNOCKING IN=kw0 OUT= SRC=192.0.2.300 DST=192.0.2.1 LEN=60 PROTO=TCP ",
                           LOGLINE_FORM_KERNEL), REJECT_MALFORMED);
        ASSERT_EQ(classify("PORT_KNOCKING IN=kw0 OUT= SRC=192.0.2.2 DST=192.0.2.1 LEN=60 LEN=60 PROTO=TCP ",
                           LOGLINE_FORM_KERNEL), REJECT_MALFORMED);
        /* a prefix the daemon does not accept (the plain one, when it takes secrets only) */
        LoglinePrefixes secrets_only = {};
        const char *reason = NULL;
        KnockEvent ev;
        int r = logline_parse(knock, strlen(knock), LOGLINE_FORM_KERNEL, &secrets_only, &ev, &reason);
        ASSERT_ERROR(r, EACCES);
        ASSERT_EQ(reject_reason_classify(r, reason), REJECT_UNTRUSTED);
        ASSERT_EQ(reject_reason_classify(-EINVAL, NULL), REJECT_OTHER);
        for (int k = 0; k < _REJECT_REASON_MAX; k++)
                ASSERT_TRUE(reject_reason_to_string(k) != NULL);
        ASSERT_STREQ(reject_reason_to_string(REJECT_NOT_KERNEL), "not_kernel");
        ASSERT_STREQ(door_counter_to_string(DOOR_COUNTER_EXPIRIES), "expiries");
}

int main(void) {
        RUN(roundtrip);
        RUN(old_keys_keep_their_form);
        RUN(largest_fits);
        RUN(door_lines_lenient_only_where_said);
        RUN(garbage_rejected);
        RUN(read_rejects_nul_and_garbage);
        RUN(state_write_full);
        RUN(doors_counted_across_reloads);
        RUN(live_grants_per_door);
        RUN(reject_classes);
        (void) rmdir(dir);
        return 0;
}
