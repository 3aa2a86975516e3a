/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-detector.c — libFuzzer target for the detector, checked against a model.
 *
 * The input decodes into a table capacity, a few doors over a small alphabet of steps (so
 * doors share steps, repeat steps, and knocks often hit them), then a stream of knocks from
 * a dozen sources (IPv4 and IPv6 sources with equal leading bytes) at advancing times —
 * late, unknown or in the future — and reloads of changed doors. Every knock is fed to the
 * detector and to a deliberately naive model of the rules of detector.h (a flat array of
 * pairs, eviction by the oldest touch stamp); the actions and the stats must agree exactly.
 * Built with DETECTOR_TESTING, every step also runs detector_check_invariants().
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -DDETECTOR_TESTING
 *        -I knockwatch fuzz/fuzz-detector.c knockwatch/{detector,siphash,knock}.c
 */
#include <stdio.h>
#include <string.h>

#include "detector-internal.h"
#include "time-util.h"

#define MAX_DOORS 4
#define MAX_SEQS (2 * MAX_DOORS)
#define MAX_CAPACITY 8
#define N_SOURCES 12
#define MS USEC_PER_MSEC

static const KnockStep alphabet[] = {
        { KNOCK_PROTO_TCP, 1 }, { KNOCK_PROTO_TCP, 2 }, { KNOCK_PROTO_TCP, 3 },
        { KNOCK_PROTO_UDP, 1 }, { KNOCK_PROTO_PING, 1 }, { KNOCK_PROTO_TCP, 4 },
        { KNOCK_PROTO_UDP, 9 }, /* in no door */
};
#define N_DOOR_STEPS 6

typedef struct Input {
        const uint8_t *p;
        size_t n;
} Input;

static bool take(Input *in, uint8_t *ret) {
        if (in->n == 0)
                return false;
        *ret = *in->p++;
        in->n--;
        return true;
}

static void fail(const char *what) {
        fprintf(stderr, "fuzz-detector: %s\n", what);
        abort();
}

/* ---- the model ---- */

typedef struct ModelSeq {
        uint32_t id;
        unsigned door;
        DetectorVerdict verdict;
        const DoorSpec *spec;     /* name, steps and window */
} ModelSeq;

typedef struct ModelPair {
        uint32_t id;
        KnockAddr src;
        unsigned index;
        usec_t start;
        uint64_t stamp;           /* last touch */
} ModelPair;

typedef struct Model {
        Door doors[MAX_DOORS];
        size_t n_doors;
        ModelSeq seqs[MAX_SEQS];
        size_t n_seqs;
        uint32_t next_id;
        ModelPair pairs[MAX_CAPACITY];
        size_t n_pairs, capacity;
        uint64_t clock;
        uint64_t knocks, completed, evictions;
} Model;

static const KnockStep *seq_steps(const ModelSeq *s, unsigned *ret_n) {
        *ret_n = s->verdict == DETECTOR_OPEN ? s->spec->n_open : s->spec->n_close;
        return s->verdict == DETECTOR_OPEN ? s->spec->open : s->spec->close;
}

static bool seq_same(const ModelSeq *a, const ModelSeq *b) {
        unsigned na, nb;
        const KnockStep *sa = seq_steps(a, &na), *sb = seq_steps(b, &nb);

        if (a->verdict != b->verdict || na != nb || a->spec->window != b->spec->window ||
            strcmp(a->spec->name, b->spec->name) != 0)
                return false;
        for (unsigned i = 0; i < na; i++)
                if (!knock_step_equal(&sa[i], &sb[i]))
                        return false;
        return true;
}

static void model_set_doors(Model *m, const Door *doors, size_t n) {
        ModelSeq old[MAX_SEQS];
        Door old_doors[MAX_DOORS];
        bool claimed[MAX_SEQS] = {}, keep[MAX_CAPACITY] = {};
        size_t n_old = m->n_seqs, k = 0;

        memcpy(old_doors, m->doors, sizeof(old_doors));
        memcpy(old, m->seqs, sizeof(old));
        for (size_t i = 0; i < n_old; i++)
                old[i].spec = &old_doors[old[i].door].spec;

        memcpy(m->doors, doors, n * sizeof(Door));
        m->n_doors = n;
        m->n_seqs = 0;
        for (size_t i = 0; i < n; i++)
                for (int v = DETECTOR_OPEN; v <= DETECTOR_CLOSE; v++) {
                        ModelSeq *s = &m->seqs[m->n_seqs];
                        unsigned steps = v == DETECTOR_OPEN ? doors[i].spec.n_open : doors[i].spec.n_close;

                        if (!doors[i].spec.has_sequence || doors[i].spec.n_open == 0 || steps == 0)
                                continue;
                        *s = (ModelSeq) { .door = (unsigned) i, .verdict = v, .spec = &m->doors[i].spec };
                        s->id = 0;
                        for (size_t j = 0; j < n_old; j++)
                                if (!claimed[j] && seq_same(&old[j], s)) {
                                        claimed[j] = true;
                                        s->id = old[j].id;
                                        break;
                                }
                        if (s->id == 0)
                                s->id = m->next_id++;
                        m->n_seqs++;
                }

        for (size_t i = 0; i < m->n_pairs; i++)
                for (size_t j = 0; j < m->n_seqs; j++)
                        if (m->pairs[i].id == m->seqs[j].id)
                                keep[i] = true;
        for (size_t i = 0; i < m->n_pairs; i++)
                if (keep[i])
                        m->pairs[k++] = m->pairs[i];
        m->n_pairs = k;
}

static ModelPair *model_find(Model *m, uint32_t id, const KnockAddr *src) {
        for (size_t i = 0; i < m->n_pairs; i++)
                if (m->pairs[i].id == id && knock_addr_equal(&m->pairs[i].src, src))
                        return &m->pairs[i];
        return NULL;
}

static void model_remove(Model *m, ModelPair *p) {
        *p = m->pairs[--m->n_pairs];
}

static void model_add(Model *m, uint32_t id, const KnockAddr *src, usec_t t) {
        if (m->n_pairs == m->capacity) {
                size_t oldest = 0;

                for (size_t i = 1; i < m->n_pairs; i++)
                        if (m->pairs[i].stamp < m->pairs[oldest].stamp)
                                oldest = i;
                model_remove(m, &m->pairs[oldest]);
                m->evictions++;
        }
        m->pairs[m->n_pairs++] = (ModelPair) {
                .id = id, .src = *src, .index = 1, .start = t, .stamp = ++m->clock,
        };
}

static bool model_step(Model *m, const ModelSeq *s, const KnockAddr *src, const KnockStep *st, usec_t t) {
        unsigned n;
        const KnockStep *steps = seq_steps(s, &n);
        ModelPair *p = model_find(m, s->id, src);
        bool first = knock_step_equal(st, &steps[0]);

        if (!p) {
                if (first && n == 1)
                        return true;
                if (first)
                        model_add(m, s->id, src, t);
                return false;
        }
        if ((t > p->start ? t - p->start : 0) <= s->spec->window) {
                if (knock_step_equal(st, &steps[p->index])) {
                        if (++p->index == n) {
                                model_remove(m, p);
                                return true;
                        }
                        p->stamp = ++m->clock;
                        return false;
                }
                for (unsigned j = 0; j < p->index; j++)
                        if (knock_step_equal(st, &steps[j])) {
                                p->stamp = ++m->clock;
                                return false;
                        }
        }
        if (!first) {
                model_remove(m, p);
                return false;
        }
        p->index = 1;
        p->start = t;
        p->stamp = ++m->clock;
        return false;
}

static size_t model_feed(Model *m, const KnockEvent *e, usec_t now, DetectorAction *ret, size_t max) {
        usec_t t = e->time == 0 || e->time > now ? now : e->time;
        size_t n = 0;

        m->knocks++;
        for (size_t i = 0; i < m->n_seqs; i++) {
                const ModelSeq *s = &m->seqs[i];
                unsigned ns;
                const KnockStep *steps = seq_steps(s, &ns);
                bool has = false;

                for (unsigned j = 0; j < ns; j++)
                        has = has || knock_step_equal(&steps[j], &e->step);
                if (!has)
                        continue;
                if (model_step(m, s, &e->src, &e->step, t)) {
                        m->completed++;
                        if (n < max)
                                ret[n++] = (DetectorAction) { .door = s->door, .verdict = s->verdict,
                                                              .src = e->src };
                }
        }
        return n;
}

/* ---- decoding ---- */

static void decode_steps(Input *in, KnockStep *steps, unsigned n) {
        for (unsigned i = 0; i < n; i++) {
                uint8_t b = 0;

                (void) take(in, &b);
                steps[i] = alphabet[b % N_DOOR_STEPS];
        }
}

static void decode_door(Input *in, Door *d, unsigned k) {
        uint8_t shape = 0, window = 0;

        (void) take(in, &shape);
        (void) take(in, &window);
        *d = (Door) {};
        snprintf(d->spec.name, sizeof(d->spec.name), "d%u", k);
        d->spec.has_sequence = (shape & 0xc0) != 0xc0;   /* sometimes a door without steps */
        d->spec.n_open = 1 + shape % 4;
        d->spec.n_close = shape & 0x10 ? 1 + (shape >> 5) % 3 : 0;
        d->spec.window = (1 + (usec_t) window) * 10 * MS;
        decode_steps(in, d->spec.open, d->spec.n_open);
        decode_steps(in, d->spec.close, d->spec.n_close);
}

static KnockAddr source(unsigned i) {
        KnockAddr a = { .family = i < 8 ? AF_INET : AF_INET6 };

        /* 192.0.2.x, and IPv6 sources whose first bytes are those of an IPv4 one */
        a.bytes[0] = 192, a.bytes[1] = 0, a.bytes[2] = 2, a.bytes[3] = (uint8_t) (i % 8);
        return a;
}

/* Change the doors in one of a few ways a reload does. */
static void mutate_doors(Door *doors, size_t *n, uint8_t which, uint8_t how) {
        Door *d = &doors[which % *n];

        switch (how % 6) {
        case 0:
                d->spec.window += 10 * MS;
                break;
        case 1:
                d->spec.name[0] = d->spec.name[0] == 'd' ? 'r' : 'd';
                break;
        case 2:
                d->spec.n_close = d->spec.n_close > 0 ? 0 : 1;
                d->spec.close[0] = alphabet[how % N_DOOR_STEPS];
                break;
        case 3:
                for (size_t i = 0; i < *n / 2; i++) {
                        Door t = doors[i];

                        doors[i] = doors[*n - 1 - i];
                        doors[*n - 1 - i] = t;
                }
                break;
        case 4:
                if (*n > 1)
                        (*n)--;
                break;
        default:
                break; /* the same doors again */
        }
}

static void compare(const Detector *d, const Model *m) {
        DetectorStats st;

        detector_get_stats(d, &st);
        if (st.knocks != m->knocks || st.completed != m->completed ||
            st.evictions != m->evictions || st.in_progress != m->n_pairs || st.capacity != m->capacity)
                fail("stats differ from the model");
#ifdef DETECTOR_TESTING
        {
                char msg[256];

                if (detector_check_invariants(d, msg, sizeof(msg)) < 0)
                        fail(msg);
        }
#endif
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const uint8_t key[SIPHASH_KEY_SIZE] = "fuzz-detector!!";
        _cleanup_(detector_freep) Detector *d = NULL;
        Input in = { data, size };
        Door doors[MAX_DOORS];
        static Model m;
        size_t n_doors;
        uint8_t b0 = 0, b1 = 0, b2 = 0;
        usec_t now = 1000 * USEC_PER_SEC;

        (void) take(&in, &b0);
        (void) take(&in, &b1);
        m = (Model) { .capacity = 1 + b0 % MAX_CAPACITY, .next_id = 1 };
        n_doors = 1 + b1 % MAX_DOORS;
        for (unsigned k = 0; k < n_doors; k++)
                decode_door(&in, &doors[k], k);

        if (detector_new_with_key(m.capacity, key, &d) < 0)
                fail("detector_new_with_key");
        if (detector_set_doors(d, doors, n_doors) < 0)
                fail("detector_set_doors");
        model_set_doors(&m, doors, n_doors);

        while (take(&in, &b0) && take(&in, &b1) && take(&in, &b2)) {
                DetectorAction got[MAX_SEQS], want[MAX_SEQS];
                KnockEvent e = {};
                size_t n_got, n_want, max = b1 >> 4 == 0 ? 1 : MAX_SEQS;
                unsigned age = b2 >> 4;

                if (b0 == 0xff) {
                        mutate_doors(doors, &n_doors, b1, b2);
                        if (detector_set_doors(d, doors, n_doors) < 0)
                                fail("detector_set_doors");
                        model_set_doors(&m, doors, n_doors);
                        compare(d, &m);
                        continue;
                }

                now += (b2 & 0x0f) * 5 * MS;
                e.src = source(b0 % N_SOURCES);
                e.step = alphabet[(b1 & 0x0f) % ELEMENTSOF(alphabet)];
                e.time = age == 15 ? now + 5 * MS : age == 14 ? 0 : now - age * 40 * MS;

                n_got = detector_feed(d, &e, now, got, max);
                n_want = model_feed(&m, &e, now, want, max);
                if (n_got != n_want)
                        fail("number of actions differs from the model");
                for (size_t i = 0; i < n_got; i++)
                        if (got[i].door != want[i].door || got[i].verdict != want[i].verdict ||
                            !knock_addr_equal(&got[i].src, &want[i].src))
                                fail("action differs from the model");
                compare(d, &m);
        }
        return 0;
}
