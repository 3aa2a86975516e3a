/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-logline — libFuzzer target for logline_parse(). The first input byte picks the
 * form (KERNEL, DMESG, SYSLOG, ANY), the rest is the line. Besides memory safety
 * (ASan/UBSan), it checks what the contract promises: only the documented results, a
 * reason for every result but a knock, a knock's address and step in range, the event
 * untouched unless it is a knock, ANY agreeing with the form the first byte picks,
 * and a knock cut by a byte rejected (or, after a '[', the same knock).
 *
 * Build and run: see fuzz/README.md, e.g.
 *   fuzz-logline -dict=fuzz/logline.dict fuzz/seeds/logline/
 * The unit tests run the seeds in fuzz/seeds/logline/ through the same entry point
 * without libFuzzer (fuzz-replay.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "logline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define IN_SET_RESULT(r) \
        ((r) == 1 || (r) == 0 || (r) == -ENOMSG || (r) == -EPERM || (r) == -E2BIG || (r) == -EBADMSG)

static void check(bool ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "fuzz-logline: %s\n", what);
                abort();
        }
}

static int parse(const char *line, size_t len, LoglineForm form, KnockEvent *ev,
                 const char **reason) {
        KnockEvent sentinel;
        int r;

        memset(ev, 0x5a, sizeof(*ev));
        sentinel = *ev;
        *reason = NULL;
        r = logline_parse(line, len, form, &logline_prefixes_any, ev, reason);
        check(IN_SET_RESULT(r), "unexpected result");
        if (r == 1) {
                check(ev->src.family == AF_INET || ev->src.family == AF_INET6, "bad family");
                check(ev->time == 0, "time set");
                switch (ev->step.proto) {
                case KNOCK_PROTO_TCP:
                case KNOCK_PROTO_UDP:
                        check(ev->step.value >= 1, "port 0");
                        break;
                case KNOCK_PROTO_PING:
                        check(ev->step.value <= (ev->src.family == AF_INET ? KNOCK_PING_MAX_IPV4 :
                                                                             KNOCK_PING_MAX),
                              "ping size out of range");
                        break;
                default:
                        check(false, "bad step protocol");
                }
        } else {
                check(*reason && **reason, "no reason");
                check(memcmp(ev, &sentinel, sizeof(*ev)) == 0, "event written without a knock");
        }
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const LoglineForm forms[] = {
                LOGLINE_FORM_KERNEL, LOGLINE_FORM_DMESG, LOGLINE_FORM_SYSLOG, LOGLINE_FORM_ANY,
        };
        const char *line, *reason, *reason_any;
        KnockEvent ev, ev_any;
        LoglineForm form;
        size_t len;
        int r, r_any;

        if (size < 1)
                return 0;
        form = forms[data[0] % 4];
        line = (const char *) data + 1;
        len = size - 1;

        r = parse(line, len, form, &ev, &reason);

        /* ANY must give what the form it picks gives; find that form by elimination. */
        if (form != LOGLINE_FORM_ANY) {
                r_any = parse(line, len, LOGLINE_FORM_ANY, &ev_any, &reason_any);
                if (len <= LOGLINE_LINE_MAX && len > 0 &&
                    ((form == LOGLINE_FORM_DMESG && line[0] == '[') ||
                     (form == LOGLINE_FORM_SYSLOG && ((line[0] >= '0' && line[0] <= '9') ||
                                                      memchr("JFMASOND", line[0], 8))) ||
                     (form == LOGLINE_FORM_KERNEL && line[0] != '[' &&
                      !(line[0] >= '0' && line[0] <= '9') && !memchr("JFMASOND", line[0], 8)))) {
                        check(r == r_any, "ANY disagrees with the form it picks");
                        check(r != 1 || (knock_addr_equal(&ev.src, &ev_any.src) &&
                                         knock_step_equal(&ev.step, &ev_any.step)),
                              "ANY gives another knock");
                }
        }

        /* A knock ends in a space, and the same line cut by a byte is rejected or the
         * same knock (the rest of a line after a '[' is not read). */
        if (r == 1)
                check(line[len - 1] == ' ', "a knock that does not end in a space");
        if (len > 0) {
                KnockEvent ev_cut;
                const char *reason_cut;
                int r_cut = parse(line, len - 1, form, &ev_cut, &reason_cut);

                if (r == 1 && r_cut == 1)
                        check(knock_addr_equal(&ev.src, &ev_cut.src) &&
                              knock_step_equal(&ev.step, &ev_cut.step),
                              "a knock cut by a byte is another knock");
                if (r == 1 && !memchr(line, '[', len))
                        check(r_cut < 0, "a knock cut by a byte is not rejected");
        }
        return 0;
}
