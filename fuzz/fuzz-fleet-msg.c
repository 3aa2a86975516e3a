/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-fleet-msg.c — libFuzzer target for the fleet message (fleet-msg.h), which anyone
 * who can publish to the broker sends.
 *
 * The first byte picks a mode. Mode 0: the rest is a message as it arrives, decoded under
 * a fixed key (almost never past the MAC: this reaches the structure checks). Mode 1: the
 * rest is a message body without its MAC; the MAC is computed under the key and appended,
 * so every field check after the MAC is reached. Checked for every message that decodes:
 * its fields are within their bounds (names valid, prefix in range, no host bits), it
 * encodes back to exactly the same bytes, and fleet_msg_accept() takes it at most once
 * (a second time it is -EALREADY). Each topic-like input is also split by
 * fleet_topic_parse(), whose names must be valid and format back to the same topic.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iknockwatch -Ibuild
 *        fuzz/fuzz-fleet-msg.c knockwatch/{fleet-msg,hmac,hashtab,siphash,knock,util}.c -lgcrypt
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet-msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[32] = "fuzz-fleet-msg key, 32 bytes...";

static void fail(const char *what) {
        fprintf(stderr, "fuzz-fleet-msg: %s\n", what);
        abort();
}

static void check_message(const uint8_t *buf, size_t len, const FleetMsg *m) {
        _cleanup_(fleet_replay_freep) FleetReplay *replay = NULL;
        uint8_t again[FLEET_MSG_MAX];
        size_t again_len = 0;
        uint64_t left;
        int r;

        if (!fleet_name_valid(m->fleet, strlen(m->fleet)) || !fleet_name_valid(m->door, strlen(m->door)))
                fail("a decoded message has an invalid name");
        if (!fleet_prefix_valid(&m->addr, m->prefix_len))
                fail("a decoded message has an invalid prefix");
        if (m->event < FLEET_EVENT_GRANT || m->event > FLEET_EVENT_REVOKE || m->expiry_ms == 0)
                fail("a decoded message has an event or expiry out of range");
        if (fleet_msg_encode(m, key, sizeof(key), again, &again_len) < 0)
                fail("a decoded message does not encode");
        if (again_len != len || memcmp(again, buf, len) != 0)
                fail("a decoded message encodes to other bytes");

        /* A cache of its own per input: its clock only goes forward, so one shared across
         * inputs would, after a far expiry, refuse every later one as expired. */
        if (fleet_replay_new(64, &replay) < 0)
                fail("no replay cache");
        FleetCheck check = {
                .fleet = m->fleet, .door = m->door, .now_ms = m->expiry_ms - 1,
                .max_ms = 1, .skew_ms = 0,
        };
        r = fleet_msg_accept(m, &check, replay, &left);
        if (r == 0 && (left < 1 || left > 1))
                fail("the time left is out of bounds");
        if (r == 0 && fleet_msg_accept(m, &check, replay, &left) != -EALREADY)
                fail("a message was taken twice");
}

static void check_topic(const uint8_t *data, size_t size) {
        char fleet[FLEET_NAME_MAX + 1], door[FLEET_NAME_MAX + 1], topic[FLEET_TOPIC_MAX];

        if (fleet_topic_parse((const char *) data, size, fleet, door) < 0)
                return;
        if (!fleet_name_valid(fleet, strlen(fleet)) || !fleet_name_valid(door, strlen(door)))
                fail("a parsed topic has an invalid name");
        if (fleet_topic_format(fleet, door, topic) < 0 || strlen(topic) != size ||
            memcmp(topic, data, size) != 0)
                fail("a parsed topic formats to another");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        uint8_t buf[FLEET_MSG_MAX + HMAC_SHA256_SIZE];
        FleetMsg m;
        size_t len;

        if (size < 1)
                return 0;
        check_topic(data + 1, size - 1);
        len = size - 1;
        if (data[0] % 2 == 0) {
                if (fleet_msg_decode(data + 1, len, key, sizeof(key), &m) == 0)
                        check_message(data + 1, len, &m);
                return 0;
        }
        if (len > FLEET_MSG_MAX - HMAC_SHA256_SIZE)
                return 0;
        memcpy(buf, data + 1, len);
        if (hmac_sha256(key, sizeof(key), buf, len, buf + len) < 0)
                fail("HMAC failed");
        if (fleet_msg_decode(buf, len + HMAC_SHA256_SIZE, key, sizeof(key), &m) == 0)
                check_message(buf, len + HMAC_SHA256_SIZE, &m);
        return 0;
}
