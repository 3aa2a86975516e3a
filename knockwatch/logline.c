/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * logline.c — the strict parser of netfilter LOG lines (see logline.h).
 *
 * The shapes follow the kernel's formatter (net/netfilter/nf_log_syslog.c):
 *
 *   PREFIX IN=… OUT=… [PHYSIN=…] [MAC=… | MACSRC=… MACDST=… MACPROTO=…]
 *   SRC=… DST=… LEN=… <more L3 fields, bare words CE DF MF FRAG:n, OPT (…)>
 *   PROTO=TCP SPT=… DPT=… [SEQ=… ACK=…] WINDOW=… RES=0x.. <flags> URGP=… [OPT (…)]
 *   PROTO=UDP SPT=… DPT=… LEN=…
 *   PROTO=ICMP|ICMPv6 TYPE=… CODE=… [ID=… SEQ=…] [[quoted packet] MTU=…]
 *   … [UID=… GID=…] [MARK=0x…] and a final space.
 *
 * One pass over the message, no allocation, no copy: the line is first checked to end
 * in a space, so the token scanner can run to the next space without a bounds check.
 * Fields are recorded as spans per section (before PROTO= and after it) and judged
 * once the whole line has been seen; nothing is half-used. Scanning stops at the first
 * token that starts with '[': the kernel quotes the offending packet of an ICMP error
 * there, and an attacker writes that packet. The rest is only checked for control bytes.
 */
#include <assert.h>
#include <endian.h>
#include <errno.h>

#include "logline.h"
#include "parse-util.h"
#include "string-util.h"

static inline bool is_control(char c) {
        return (uint8_t) c < ' ' || c == 0x7f;
}

/* The kernel prints hex in lower case here (%02x, %pI6). */
static inline bool is_lower_hex(char c) {
        return ascii_isdigit(c) || (c >= 'a' && c <= 'f');
}

/* The fields the parser reads; the first five belong before PROTO=, the rest after. */
typedef enum Field {
        FIELD_IN,
        FIELD_OUT,
        FIELD_SRC,
        FIELD_LEN,      /* L3: the whole IP packet */
        FIELD_PROTO,
        FIELD_SPT,
        FIELD_DPT,
        FIELD_ULEN,     /* L4: UDP's own length */
        FIELD_RES,
        FIELD_URGP,
        FIELD_TYPE,
        FIELD_CODE,
        FIELD_ID,
        FIELD_SEQ,
        _FIELD_MAX,
        _FIELD_NONE = _FIELD_MAX,
} Field;

#define FIELD_L3_MASK ((1U << FIELD_IN) | (1U << FIELD_OUT) | (1U << FIELD_SRC) | \
                       (1U << FIELD_LEN) | (1U << FIELD_PROTO))

typedef struct FieldInfo {
        size_t key_len;         /* of "KEY=" */
        const char *missing, *duplicate, *misplaced, *bad;
} FieldInfo;

#define FIELD_L3(k, n) { STRLEN(k "="), "missing " n, "duplicate " n, n " after PROTO=", n " out of range" }
#define FIELD_L4(k, n) { STRLEN(k "="), "missing " n, "duplicate " n, n " before PROTO=", n " out of range" }

static const FieldInfo field_info[_FIELD_MAX] = {
        [FIELD_IN] = FIELD_L3("IN", "IN"),
        [FIELD_OUT] = FIELD_L3("OUT", "OUT"),
        [FIELD_SRC] = FIELD_L3("SRC", "SRC"),
        [FIELD_LEN] = FIELD_L3("LEN", "LEN"),
        [FIELD_PROTO] = FIELD_L3("PROTO", "PROTO"),
        [FIELD_SPT] = FIELD_L4("SPT", "SPT"),
        [FIELD_DPT] = FIELD_L4("DPT", "DPT"),
        [FIELD_ULEN] = FIELD_L4("LEN", "UDP LEN"),
        [FIELD_RES] = FIELD_L4("RES", "RES"),
        [FIELD_URGP] = FIELD_L4("URGP", "URGP"),
        [FIELD_TYPE] = FIELD_L4("TYPE", "TYPE"),
        [FIELD_CODE] = FIELD_L4("CODE", "CODE"),
        [FIELD_ID] = FIELD_L4("ID", "ID"),
        [FIELD_SEQ] = FIELD_L4("SEQ", "SEQ"),
};

typedef enum Proto {
        PROTO_TCP,
        PROTO_UDP,
        PROTO_ICMP,
        PROTO_ICMPV6,
        PROTO_OTHER,    /* UDPLITE, AH, ESP or a protocol number */
        PROTO_BAD,
} Proto;

/* TCP flag words, as the kernel prints them between RES= and URGP=. */
enum {
        TCP_AE = 1U << 0,
        TCP_CWR = 1U << 1,
        TCP_ECE = 1U << 2,
        TCP_URG = 1U << 3,
        TCP_ACK = 1U << 4,
        TCP_PSH = 1U << 5,
        TCP_RST = 1U << 6,
        TCP_SYN = 1U << 7,
        TCP_FIN = 1U << 8,
};

typedef struct Span {
        const char *p;
        size_t n;
} Span;

typedef struct Line {
        Span field[_FIELD_MAX];
        unsigned seen;          /* bit per Field */
        uint64_t keys_l3, keys_l4;  /* bit per Key seen in each section */
        Proto proto;
        unsigned tcp_flags;
        bool fragment;          /* an IP fragment: no whole packet to judge */
        bool incomplete;        /* "INCOMPLETE [n bytes]": the header was cut short */
} Line;

static int fail(int error, const char *reason, const char **ret_reason) {
        if (ret_reason)
                *ret_reason = reason;
        return error;
}

static bool span_eq(Span s, const char *lit, size_t n) {
        return s.n == n && memcmp(s.p, lit, n) == 0;
}
#define SPAN_EQ(s, lit) span_eq((s), lit, STRLEN(lit))

/* Strict decimal (parse_uint()): digits only, no sign, no leading zero (except "0"), <= max. */
static bool parse_decimal(Span s, uint32_t max, uint32_t *ret) {
        uint64_t v;

        if (parse_uint(s.p, s.n, max, &v) < 0)
                return false;
        *ret = (uint32_t) v;
        return true;
}


/*
 * The keys the kernel writes once in the outer header (nf_log_syslog.c): those of the
 * link and network layer before PROTO=, those of the transport layer (and the socket's
 * UID=, GID= and MARK=) after it. LEN= and ID= are in both, with two meanings. A key
 * seen twice in its section, or in the wrong one, is not the kernel's. Keys the kernel
 * may add one day are not listed; they are skipped.
 */
typedef enum Key {
        KEY_IN, KEY_OUT, KEY_PHYSIN, KEY_PHYSOUT, KEY_MAC, KEY_MACSRC, KEY_MACDST, KEY_MACPROTO,
        KEY_SRC, KEY_DST, KEY_TOS, KEY_PREC, KEY_TTL, KEY_TC, KEY_HOPLIMIT, KEY_FLOWLBL,
        KEY_PROTO,
        KEY_LEN, KEY_ID,        /* both sections */
        KEY_SPT, KEY_DPT, KEY_SEQ, KEY_ACK, KEY_WINDOW, KEY_RES, KEY_URGP, KEY_TYPE, KEY_CODE,
        KEY_PARAMETER, KEY_GATEWAY, KEY_MTU, KEY_UID, KEY_GID, KEY_MARK,
        _KEY_MAX,
        _KEY_NONE = _KEY_MAX,
} Key;

#define KEY_L3_ONLY(k) ((k) < KEY_LEN)
#define KEY_L4_ONLY(k) ((k) > KEY_ID)

static const struct {
        const char *name;  /* with its '=' */
        uint8_t len;
        Field l3, l4;      /* the field it fills in each section, or _FIELD_NONE */
} keys[_KEY_MAX] = {
#define K(key, f3, f4) { key "=", STRLEN(key "="), f3, f4 }
        [KEY_IN] = K("IN", FIELD_IN, _FIELD_NONE),
        [KEY_OUT] = K("OUT", FIELD_OUT, _FIELD_NONE),
        [KEY_PHYSIN] = K("PHYSIN", _FIELD_NONE, _FIELD_NONE),
        [KEY_PHYSOUT] = K("PHYSOUT", _FIELD_NONE, _FIELD_NONE),
        [KEY_MAC] = K("MAC", _FIELD_NONE, _FIELD_NONE),
        [KEY_MACSRC] = K("MACSRC", _FIELD_NONE, _FIELD_NONE),
        [KEY_MACDST] = K("MACDST", _FIELD_NONE, _FIELD_NONE),
        [KEY_MACPROTO] = K("MACPROTO", _FIELD_NONE, _FIELD_NONE),
        [KEY_SRC] = K("SRC", FIELD_SRC, _FIELD_NONE),
        [KEY_DST] = K("DST", _FIELD_NONE, _FIELD_NONE),
        [KEY_TOS] = K("TOS", _FIELD_NONE, _FIELD_NONE),
        [KEY_PREC] = K("PREC", _FIELD_NONE, _FIELD_NONE),
        [KEY_TTL] = K("TTL", _FIELD_NONE, _FIELD_NONE),
        [KEY_TC] = K("TC", _FIELD_NONE, _FIELD_NONE),
        [KEY_HOPLIMIT] = K("HOPLIMIT", _FIELD_NONE, _FIELD_NONE),
        [KEY_FLOWLBL] = K("FLOWLBL", _FIELD_NONE, _FIELD_NONE),
        [KEY_PROTO] = K("PROTO", FIELD_PROTO, _FIELD_NONE),
        [KEY_LEN] = K("LEN", FIELD_LEN, FIELD_ULEN),
        [KEY_ID] = K("ID", _FIELD_NONE, FIELD_ID),
        [KEY_SPT] = K("SPT", _FIELD_NONE, FIELD_SPT),
        [KEY_DPT] = K("DPT", _FIELD_NONE, FIELD_DPT),
        [KEY_SEQ] = K("SEQ", _FIELD_NONE, FIELD_SEQ),
        [KEY_ACK] = K("ACK", _FIELD_NONE, _FIELD_NONE),
        [KEY_WINDOW] = K("WINDOW", _FIELD_NONE, _FIELD_NONE),
        [KEY_RES] = K("RES", _FIELD_NONE, FIELD_RES),
        [KEY_URGP] = K("URGP", _FIELD_NONE, FIELD_URGP),
        [KEY_TYPE] = K("TYPE", _FIELD_NONE, FIELD_TYPE),
        [KEY_CODE] = K("CODE", _FIELD_NONE, FIELD_CODE),
        [KEY_PARAMETER] = K("PARAMETER", _FIELD_NONE, _FIELD_NONE),
        [KEY_GATEWAY] = K("GATEWAY", _FIELD_NONE, _FIELD_NONE),
        [KEY_MTU] = K("MTU", _FIELD_NONE, _FIELD_NONE),
        [KEY_UID] = K("UID", _FIELD_NONE, _FIELD_NONE),
        [KEY_GID] = K("GID", _FIELD_NONE, _FIELD_NONE),
        [KEY_MARK] = K("MARK", _FIELD_NONE, _FIELD_NONE),
#undef K
};

/* Which key a token starts with ("KEY="), or _KEY_NONE. Only the key up to the first '='
 * counts, as with "SRC=a=b". By the first byte, then the few keys it can start: every
 * comparison has a constant length, which the compiler turns into a load and a compare
 * (this runs for every token of every line). */
static Key token_key(const char *t, size_t n) {
#define IS(lit) (n >= STRLEN(lit) && memcmp(t, lit, STRLEN(lit)) == 0)
        switch (t[0]) {
        case 'A':
                return IS("ACK=") ? KEY_ACK : _KEY_NONE;
        case 'C':
                return IS("CODE=") ? KEY_CODE : _KEY_NONE;
        case 'D':
                return IS("DPT=") ? KEY_DPT : IS("DST=") ? KEY_DST : _KEY_NONE;
        case 'F':
                return IS("FLOWLBL=") ? KEY_FLOWLBL : _KEY_NONE;
        case 'G':
                return IS("GID=") ? KEY_GID : IS("GATEWAY=") ? KEY_GATEWAY : _KEY_NONE;
        case 'H':
                return IS("HOPLIMIT=") ? KEY_HOPLIMIT : _KEY_NONE;
        case 'I':
                return IS("IN=") ? KEY_IN : IS("ID=") ? KEY_ID : _KEY_NONE;
        case 'L':
                return IS("LEN=") ? KEY_LEN : _KEY_NONE;
        case 'M':
                return IS("MAC=") ? KEY_MAC : IS("MACSRC=") ? KEY_MACSRC : IS("MACDST=") ? KEY_MACDST :
                       IS("MACPROTO=") ? KEY_MACPROTO : IS("MTU=") ? KEY_MTU : IS("MARK=") ? KEY_MARK :
                       _KEY_NONE;
        case 'O':
                return IS("OUT=") ? KEY_OUT : _KEY_NONE;
        case 'P':
                return IS("PROTO=") ? KEY_PROTO : IS("PREC=") ? KEY_PREC : IS("PHYSIN=") ? KEY_PHYSIN :
                       IS("PHYSOUT=") ? KEY_PHYSOUT : IS("PARAMETER=") ? KEY_PARAMETER : _KEY_NONE;
        case 'R':
                return IS("RES=") ? KEY_RES : _KEY_NONE;
        case 'S':
                return IS("SRC=") ? KEY_SRC : IS("SPT=") ? KEY_SPT : IS("SEQ=") ? KEY_SEQ : _KEY_NONE;
        case 'T':
                return IS("TTL=") ? KEY_TTL : IS("TOS=") ? KEY_TOS : IS("TC=") ? KEY_TC :
                       IS("TYPE=") ? KEY_TYPE : _KEY_NONE;
        case 'U':
                return IS("URGP=") ? KEY_URGP : IS("UID=") ? KEY_UID : _KEY_NONE;
        case 'W':
                return IS("WINDOW=") ? KEY_WINDOW : _KEY_NONE;
        }
        return _KEY_NONE;
#undef IS
}

static unsigned tcp_flag(const char *w, size_t n) {
        static const struct {
                char name[4];
                unsigned flag;
        } flags[] = {
                { "CWR", TCP_CWR }, { "ECE", TCP_ECE }, { "URG", TCP_URG }, { "ACK", TCP_ACK },
                { "PSH", TCP_PSH }, { "RST", TCP_RST }, { "SYN", TCP_SYN }, { "FIN", TCP_FIN },
        };

        if (n == 2)
                return w[0] == 'A' && w[1] == 'E' ? TCP_AE : 0;
        if (n != 3)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(flags); i++)
                if (memcmp(w, flags[i].name, 3) == 0)
                        return flags[i].flag;
        return 0;
}

static Proto proto_from_span(Span s) {
        uint32_t v;

        if (SPAN_EQ(s, "TCP"))
                return PROTO_TCP;
        if (SPAN_EQ(s, "UDP"))
                return PROTO_UDP;
        if (SPAN_EQ(s, "ICMP"))
                return PROTO_ICMP;
        if (SPAN_EQ(s, "ICMPv6"))
                return PROTO_ICMPV6;
        if (SPAN_EQ(s, "UDPLITE") || SPAN_EQ(s, "AH") || SPAN_EQ(s, "ESP") ||
            parse_decimal(s, 255, &v))
                return PROTO_OTHER;
        return PROTO_BAD;
}

/* A token that starts with a key the kernel writes once: in its section, only once; its
 * value kept if the parser uses it. */
static int scan_key(Line *l, Key k, const char *t, size_t n, bool *l4, const char **ret_reason) {
        /* PROTO= ends the first section: a second one is a duplicate of it. */
        uint64_t *seen = *l4 && k != KEY_PROTO ? &l->keys_l4 : &l->keys_l3, bit = UINT64_C(1) << k;
        Field f = *l4 && k != KEY_PROTO ? keys[k].l4 : keys[k].l3;

        if (k != KEY_PROTO && (*l4 ? KEY_L3_ONLY(k) : KEY_L4_ONLY(k))) {
                /* e.g. "IN= after PROTO=": a second header, not the kernel's */
                f = *l4 ? keys[k].l3 : keys[k].l4;
                return fail(-EBADMSG, f != _FIELD_NONE ? field_info[f].misplaced :
                            *l4 ? "link or network field after PROTO=" : "transport field before PROTO=",
                            ret_reason);
        }
        if (*seen & bit)
                return fail(-EBADMSG, f != _FIELD_NONE ? field_info[f].duplicate :
                            "duplicate header field", ret_reason);
        *seen |= bit;
        if (f == _FIELD_NONE)
                return 0;

        l->seen |= 1U << f;
        l->field[f] = (Span) { t + field_info[f].key_len, n - field_info[f].key_len };
        if (f == FIELD_PROTO) {
                l->proto = proto_from_span(l->field[f]);
                *l4 = true;
        }
        return 0;
}

/* Any other token; only whole words count (so "SYN=1" is no flag). TCP flags count only
 * between RES= and URGP=, where the kernel puts them. */
static int scan_word(Line *l, const char *t, size_t n, bool l4, const char **ret_reason) {
        if (!l4) {
                /* A fragment: "MF" (more follow) or "FRAG:n" (IPv4 offset, or any IPv6
                 * fragment header). LEN is then the fragment's, not the packet's, and a
                 * later fragment has no transport header at all. */
                if ((n == 2 && t[0] == 'M' && t[1] == 'F') || (n > 5 && memcmp(t, "FRAG:", 5) == 0))
                        l->fragment = true;
                return 0;
        }
        if (l->proto == PROTO_TCP) {
                unsigned flag = tcp_flag(t, n);

                if (flag == 0)
                        return 0;
                if (!(l->seen & (1U << FIELD_RES)) || (l->seen & (1U << FIELD_URGP)))
                        return fail(-EBADMSG, "TCP flag not between RES= and URGP=", ret_reason);
                if (l->tcp_flags & flag)
                        return fail(-EBADMSG, "duplicate TCP flag", ret_reason);
                l->tcp_flags |= flag;
        }
        return 0;
}

#define REPEAT8(b) (UINT64_C(0x0101010101010101) * (uint8_t) (b))

/*
 * The token scanner reads eight bytes at a time: measured with bench/bench-parse and
 * callgrind, the plain byte loop costs a third more instructions per line (3,100
 * against 2,040) and ran at 0.65-0.75 times this version's rate on the same machine,
 * which is below the 3 M lines/s target. The invariants that make it safe:
 *   - whole words are loaded only while at least eight bytes are left before end, so no
 *     read goes past the message; the tail is done a byte at a time;
 *   - a byte is a token byte exactly when the byte loop would say so ((uint8_t) c > ' '
 *     and c != 0x7f; bytes >= 0x80 are token bytes in both);
 *   - of the marks computed below only the lowest is used, and the lowest is exact.
 *
 * bytes_below(): marks (high bit) the bytes of x below n (n <= 0x80). A borrow only
 * travels upwards, so bytes above a marked one may be marked wrongly, but the lowest mark
 * is always right; a byte >= 0x80 is never marked (~x clears its high bit).
 */
static inline uint64_t bytes_below(uint64_t x, uint8_t n) {
        return (x - REPEAT8(n)) & ~x & REPEAT8(0x80);
}

static inline uint64_t bytes_equal(uint64_t x, uint8_t c) {
        return bytes_below(x ^ REPEAT8(c), 1);
}

/* The next space or control byte at or after p, eight bytes at a time (see above). There
 * is one before end: the message ends in a space, so the byte loop stops in time. The
 * lowest mark of the OR of two masks is the lower of their two exact lowest marks. */
static inline const char *next_space(const char *p, const char *end) {
        while (end - p >= 8) {
                uint64_t x, m;

                memcpy(&x, p, sizeof(x));
                x = le64toh(x);
                m = bytes_below(x, ' ' + 1) | bytes_equal(x, 0x7f);
                if (m)
                        return p + (__builtin_ctzll(m) >> 3);
                p += 8;
        }
        while ((uint8_t) *p > ' ' && *p != 0x7f)
                p++;
        return p;
}

/* Tokenise the message after "PREFIX ", which ends in a space (checked by the caller). */
static int scan_message(const char *p, const char *end, Line *l, const char **ret_reason) {
        const char *start = p;
        bool l4 = false;
        int r;

        assert(p < end && end[-1] == ' ');

        while (p < end) {
                const char *t = p;
                size_t n;
                Key k;

                p = next_space(p, end);
                if (*p != ' ')
                        return fail(-EBADMSG, "control byte in line", ret_reason);
                n = (size_t) (p - t);
                if (n == 0)
                        return fail(-EBADMSG, "empty token (two spaces)", ret_reason);
                if (*t == '[') {
                        /* A quoted packet (after the ICMP type and code of an error), or
                         * "INCOMPLETE [n bytes]": nothing after this is ours to read. The
                         * kernel writes '[' nowhere else, so elsewhere it is a log prefix
                         * dressed up as a header, hiding the real one behind it. The token
                         * before is looked at only here, not for every token. */
                        bool after_incomplete = t - start >= 11 && memcmp(t - 11, "INCOMPLETE ", 11) == 0 &&
                                                (t - start == 11 || t[-12] == ' ');

                        if (!after_incomplete &&
                            !(l4 && (l->proto == PROTO_ICMP || l->proto == PROTO_ICMPV6) &&
                              (l->seen & (1U << FIELD_CODE))))
                                return fail(-EBADMSG, "\"[\" where the kernel writes none", ret_reason);
                        l->incomplete = after_incomplete;
                        for (; p < end; p++)
                                if (is_control(*p))
                                        return fail(-EBADMSG, "control byte in line", ret_reason);
                        return 0;
                }

                k = token_key(t, n);
                if (k != _KEY_NONE)
                        r = scan_key(l, k, t, n, &l4, ret_reason);
                else
                        r = scan_word(l, t, n, l4, ret_reason);
                if (r < 0)
                        return r;
                p++; /* the space */
        }
        return 0;
}

static int parse_u16_field(const Line *l, Field f, uint32_t min, uint32_t max, uint16_t *ret,
                           const char **ret_reason) {
        uint32_t v;

        if (!(l->seen & (1U << f)))
                return fail(-EBADMSG, field_info[f].missing, ret_reason);
        if (!parse_decimal(l->field[f], max, &v) || v < min)
                return fail(-EBADMSG, field_info[f].bad, ret_reason);
        *ret = (uint16_t) v;
        return 0;
}

/* Several fields in turn, each with its own range: the first failure is the result. */
typedef struct FieldRange {
        Field field;
        uint16_t min, max;
        uint16_t *ret;
} FieldRange;

static int parse_u16_fields(const Line *l, const FieldRange *f, size_t n, const char **ret_reason) {
        for (size_t i = 0; i < n; i++) {
                int r = parse_u16_field(l, f[i].field, f[i].min, f[i].max, f[i].ret, ret_reason);

                if (r < 0)
                        return r;
        }
        return 0;
}

/* The kernel prints IPv6 addresses fully expanded: eight groups of four lower-case hex
 * digits. Anything else did not come from it. */
static bool is_expanded_ipv6(Span s) {
        if (s.n != 39)
                return false;
        for (size_t i = 0; i < 39; i++) {
                char c = s.p[i];

                if (i % 5 == 4) {
                        if (c != ':')
                                return false;
                } else if (!is_lower_hex(c))
                        return false;
        }
        return true;
}

/* The kernel's %pI4: four decimal parts 0…255, no leading zeros. */
static bool parse_ipv4(Span s, uint8_t ret[static 4]) {
        size_t i = 0;

        for (size_t part = 0; part < 4; part++) {
                size_t start;
                unsigned v = 0;

                if (part > 0) {
                        if (i >= s.n || s.p[i] != '.')
                                return false;
                        i++;
                }
                for (start = i; i < s.n && ascii_isdigit(s.p[i]) && i - start < 4; i++)
                        v = v * 10 + (unsigned) (s.p[i] - '0');
                if (i == start || i - start > 3 || v > 255 || (s.p[start] == '0' && i - start > 1))
                        return false;
                ret[part] = (uint8_t) v;
        }
        return i == s.n;
}

static int parse_src(const Line *l, KnockAddr *ret, const char **ret_reason) {
        static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
        Span s = l->field[FIELD_SRC];
        KnockAddr a = {};

        if (!(l->seen & (1U << FIELD_SRC)))
                return fail(-EBADMSG, "missing SRC", ret_reason);
        if (!memchr(s.p, ':', s.n)) {
                if (!parse_ipv4(s, a.bytes))
                        return fail(-EBADMSG, "bad SRC address", ret_reason);
                a.family = AF_INET;
        } else {
                if (!is_expanded_ipv6(s))
                        return fail(-EBADMSG, "IPv6 SRC not fully expanded", ret_reason);
                if (knock_addr_parse_n(s.p, s.n, &a) < 0)
                        return fail(-EBADMSG, "bad SRC address", ret_reason);
                if (memcmp(a.bytes, v4mapped, sizeof(v4mapped)) == 0)
                        return fail(-EBADMSG, "IPv4-mapped IPv6 SRC", ret_reason);
        }
        *ret = a;
        return 0;
}

static int judge_tcp(const Line *l, KnockStep *ret, const char **ret_reason) {
        uint16_t spt, dpt, urgp;
        Span res = l->field[FIELD_RES];
        int r;

        r = parse_u16_fields(l, (const FieldRange[]) {
                { FIELD_SPT, 0, 65535, &spt },
                { FIELD_DPT, 1, 65535, &dpt },
        }, 2, ret_reason);
        if (r < 0)
                return r;
        if (!(l->seen & (1U << FIELD_RES)))
                return fail(-EBADMSG, "missing RES", ret_reason);
        if (res.n != 4 || res.p[0] != '0' || res.p[1] != 'x' || !is_lower_hex(res.p[2]) ||
            !is_lower_hex(res.p[3]))
                return fail(-EBADMSG, "bad RES", ret_reason);
        r = parse_u16_field(l, FIELD_URGP, 0, 65535, &urgp, ret_reason);
        if (r < 0)
                return r;

        if (!(l->tcp_flags & TCP_SYN))
                return fail(0, "TCP without SYN", ret_reason);
        if (l->tcp_flags & TCP_ACK)
                return fail(0, "SYN with ACK", ret_reason);
        if (l->tcp_flags & TCP_RST)
                return fail(0, "SYN with RST", ret_reason);
        if (l->tcp_flags & TCP_FIN)
                return fail(0, "SYN with FIN", ret_reason);
        *ret = (KnockStep) { .proto = KNOCK_PROTO_TCP, .value = dpt };
        return 1;
}

static int judge_udp(const Line *l, KnockStep *ret, const char **ret_reason) {
        uint16_t spt, dpt, ulen;
        int r;

        r = parse_u16_fields(l, (const FieldRange[]) {
                { FIELD_SPT, 0, 65535, &spt },
                { FIELD_DPT, 1, 65535, &dpt },
                { FIELD_ULEN, 0, 65535, &ulen },
        }, 3, ret_reason);
        if (r < 0)
                return r;
        *ret = (KnockStep) { .proto = KNOCK_PROTO_UDP, .value = dpt };
        return 1;
}

/* ICMP and ICMPv6: an echo request is a knock whose value is its payload size. */
static int judge_icmp(const Line *l, uint32_t len, KnockStep *ret, const char **ret_reason) {
        bool v6 = l->proto == PROTO_ICMPV6;
        uint32_t headers = v6 ? 40 + 8 : 20 + 8;
        uint32_t max = v6 ? KNOCK_PING_MAX : KNOCK_PING_MAX_IPV4;
        uint16_t type, code, id, seq;
        int r;

        r = parse_u16_fields(l, (const FieldRange[]) {
                { FIELD_TYPE, 0, 255, &type },
                { FIELD_CODE, 0, 255, &code },
        }, 2, ret_reason);
        if (r < 0)
                return r;
        if (type != (v6 ? 128 : 8))
                return fail(0, v6 ? "ICMPv6 type is not echo request" : "ICMP type is not echo request",
                            ret_reason);
        r = parse_u16_fields(l, (const FieldRange[]) {
                { FIELD_ID, 0, 65535, &id },
                { FIELD_SEQ, 0, 65535, &seq },
        }, 2, ret_reason);
        if (r < 0)
                return r;
        if (len < headers)
                return fail(-EBADMSG, "LEN too small for an echo request", ret_reason);
        if (len - headers > max)
                return fail(-EBADMSG, "echo payload too large", ret_reason);
        *ret = (KnockStep) { .proto = KNOCK_PROTO_PING, .value = (uint16_t) (len - headers) };
        return 1;
}

/* msg starts with an accepted prefix of prefix_len bytes, then "IN=", and is at most
 * LOGLINE_MESSAGE_MAX bytes. Inlined into its one caller, as it was before the trust
 * checks grew it past gcc's own limit (bench/bench-parse, run interleaved with the
 * older code, showed the call). */
static inline _always_inline_ int parse_message(const char *msg, size_t len, size_t prefix_len,
                                                KnockEvent *ret_event, const char **ret_reason) {
        const char *p = msg + prefix_len, *end = msg + len;
        Line l; /* the spans are read only where l.seen says they were set */
        KnockAddr src;
        KnockStep step;
        uint32_t ip_len;
        int r;

        if (end[-1] != ' ')
                return fail(-EBADMSG, "line does not end in a space (truncated)", ret_reason);

        l.seen = 0;
        l.keys_l3 = l.keys_l4 = 0;
        l.tcp_flags = 0;
        l.fragment = l.incomplete = false;
        l.proto = PROTO_BAD;
        r = scan_message(p, end, &l, ret_reason);
        if (r < 0)
                return r;

        /* The interfaces: a knock comes in (OUT= empty) from outside (not IN=lo). */
        if (!(l.seen & (1U << FIELD_IN)))
                return fail(-EBADMSG, "missing IN", ret_reason);
        if (!(l.seen & (1U << FIELD_OUT)))
                return fail(-EBADMSG, "missing OUT", ret_reason);
        if (l.field[FIELD_OUT].n > 0)
                return fail(0, "not received (OUT= set: a log rule on output or forward)", ret_reason);
        if (l.field[FIELD_IN].n == 0)
                return fail(-EBADMSG, "IN= and OUT= both empty", ret_reason);
        if (SPAN_EQ(l.field[FIELD_IN], "lo"))
                return fail(0, "from the loopback interface (IN=lo)", ret_reason);

        r = parse_src(&l, &src, ret_reason);
        if (r < 0)
                return r;
        if (!(l.seen & (1U << FIELD_LEN)))
                return fail(-EBADMSG, "missing LEN", ret_reason);
        if (!parse_decimal(l.field[FIELD_LEN], UINT32_MAX, &ip_len))
                return fail(-EBADMSG, "LEN out of range", ret_reason);
        if (!(l.seen & (1U << FIELD_PROTO)))
                return fail(-EBADMSG, "missing PROTO", ret_reason);
        if (l.proto == PROTO_BAD)
                return fail(-EBADMSG, "bad PROTO", ret_reason);
        if (l.fragment)
                return fail(0, "IP fragment", ret_reason);
        if (l.incomplete)
                return fail(0, "incomplete transport header", ret_reason);

        switch (l.proto) {
        case PROTO_TCP:
                r = judge_tcp(&l, &step, ret_reason);
                break;
        case PROTO_UDP:
                r = judge_udp(&l, &step, ret_reason);
                break;
        case PROTO_ICMP:
                if (src.family != AF_INET)
                        return fail(-EBADMSG, "ICMP with an IPv6 SRC", ret_reason);
                r = judge_icmp(&l, ip_len, &step, ret_reason);
                break;
        case PROTO_ICMPV6:
                if (src.family != AF_INET6)
                        return fail(-EBADMSG, "ICMPv6 with an IPv4 SRC", ret_reason);
                r = judge_icmp(&l, ip_len, &step, ret_reason);
                break;
        default:
                return fail(0, "not TCP, UDP or ICMP", ret_reason);
        }
        if (r <= 0)
                return r;

        *ret_event = (KnockEvent) { .src = src, .step = step, .time = 0 };
        return 1;
}

/* dmesg's "[  350.725725] ": returns the length of the stamp with its space, or 0. */
static size_t stamp_length(const char *s, size_t n) {
        size_t i = 1, digits;

        if (n < 1 || s[0] != '[')
                return 0;
        while (i < n && i <= 12 && s[i] == ' ')
                i++;
        for (digits = 0; i < n && ascii_isdigit(s[i]) && digits < 12; i++, digits++)
                ;
        if (digits == 0 || i >= n || s[i] != '.')
                return 0;
        i++;
        for (digits = 0; i < n && ascii_isdigit(s[i]) && digits < 6; i++, digits++)
                ;
        if (digits != 6 || n - i < 2 || s[i] != ']' || s[i + 1] != ' ')
                return 0;
        return i + 2;
}

static inline bool all_digits(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!ascii_isdigit(s[i]))
                        return false;
        return true;
}

/* "2026-11-22T22:37:26.574865+00:00" (or "…+0000"): returns its length, or 0. */
static size_t rfc3339_length(const char *s, size_t n) {
        size_t i = 19;

        if (n < 20 ||
            !all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) || s[7] != '-' ||
            !all_digits(s + 8, 2) || (s[10] != 'T' && s[10] != 't') ||
            !all_digits(s + 11, 2) || s[13] != ':' || !all_digits(s + 14, 2) || s[16] != ':' ||
            !all_digits(s + 17, 2))
                return 0;
        if (s[i] == '.') {
                size_t digits = 0;

                for (i++; i < n && ascii_isdigit(s[i]) && digits < 9; i++, digits++)
                        ;
                if (digits == 0)
                        return 0;
        }
        if (i < n && (s[i] == 'Z' || s[i] == 'z'))
                return i + 1;
        if (n - i < 5 || (s[i] != '+' && s[i] != '-') || !all_digits(s + i + 1, 2))
                return 0;
        if (n - i >= 6 && s[i + 3] == ':' && all_digits(s + i + 4, 2))
                return i + 6;
        /* journalctl -o short-iso writes the zone without the colon */
        if (all_digits(s + i + 3, 2))
                return i + 5;
        return 0;
}

/* "Nov 22 22:37:26" or "Nov  2 22:37:26": returns its length, or 0. */
static size_t traditional_length(const char *s, size_t n) {
        static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
        bool month = false;

        if (n < 15)
                return 0;
        for (size_t m = 0; m < 12; m++)
                if (memcmp(s, months + 3 * m, 3) == 0)
                        month = true;
        if (!month || s[3] != ' ' || !(s[4] == ' ' || ascii_isdigit(s[4])) || !ascii_isdigit(s[5]) ||
            s[6] != ' ' || !all_digits(s + 7, 2) || s[9] != ':' || !all_digits(s + 10, 2) ||
            s[12] != ':' || !all_digits(s + 13, 2))
                return 0;
        return 15;
}

/* "TIMESTAMP HOST kernel: [ secs] ": sets *ret_offset to where the message starts. */
static int skip_syslog_header(const char *line, size_t len, size_t *ret_offset,
                              const char **ret_reason) {
        size_t i, host;

        i = rfc3339_length(line, len);
        if (i == 0)
                i = traditional_length(line, len);
        if (i == 0 || i >= len || line[i] != ' ')
                return fail(-ENOMSG, "no syslog timestamp", ret_reason);
        i++;

        for (host = i; i < len && line[i] != ' '; i++)
                if (is_control(line[i]))
                        return fail(-EBADMSG, "control byte in line", ret_reason);
        if (i == host || i >= len)
                return fail(-ENOMSG, "no syslog host and tag", ret_reason);
        if (i - host > 255)
                return fail(-EBADMSG, "syslog host too long", ret_reason);
        i++;

        if (len - i < STRLEN("kernel: ") || memcmp(line + i, "kernel: ", STRLEN("kernel: ")) != 0)
                return fail(-EPERM, "syslog tag is not kernel:", ret_reason);
        i += STRLEN("kernel: ");

        i += stamp_length(line + i, len - i);
        *ret_offset = i;
        return 0;
}

static LoglineForm form_by_first_byte(const char *line, size_t len) {
        if (len == 0)
                return LOGLINE_FORM_KERNEL;
        if (line[0] == '[')
                return LOGLINE_FORM_DMESG;
        /* RFC 3339 starts with the year, the traditional form with a month (J F M A S O N
         * D); the prefix starts with P. */
        if (ascii_isdigit(line[0]) || memchr("JFMASOND", line[0], 8))
                return LOGLINE_FORM_SYSLOG;
        return LOGLINE_FORM_KERNEL;
}

const LoglinePrefixes logline_prefixes_any = { .plain = true, .any_secret = true };

static bool is_secret_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || ascii_isdigit(c);
}

/* The secret at s (of at most n bytes) up to the next byte that cannot be in one: its
 * length if that is LOGLINE_SECRET_MIN…LOGLINE_SECRET_MAX, else 0. */
static size_t secret_length(const char *s, size_t n) {
        size_t i = 0;

        while (i < n && i <= LOGLINE_SECRET_MAX && is_secret_char(s[i]))
                i++;
        return i >= LOGLINE_SECRET_MIN && i <= LOGLINE_SECRET_MAX ? i : 0;
}

int logline_prefix_classify(const char *prefix, size_t n, const char **ret_secret, size_t *ret_len) {
        const char *s = prefix + STRLEN(LOGLINE_PREFIX);
        size_t k;

        if (n < STRLEN(LOGLINE_PREFIX) || memcmp(prefix, LOGLINE_PREFIX, STRLEN(LOGLINE_PREFIX)) != 0)
                return 0;
        n -= STRLEN(LOGLINE_PREFIX);
        if (n == 0)
                return 1;
        k = secret_length(s, n);
        if (k == 0 || n != k + 1 || s[k] != ' ')
                return -EINVAL;
        *ret_secret = s;
        *ret_len = k;
        return 2;
}

int logline_prefixes_add_secret(LoglinePrefixes *p, const char *secret, size_t len) {
        if (len < LOGLINE_SECRET_MIN || len > LOGLINE_SECRET_MAX || secret_length(secret, len) != len)
                return -EINVAL;
        for (unsigned i = 0; i < p->n_secrets; i++)
                if (p->secrets[i].len == len && memcmp(p->secrets[i].text, secret, len) == 0)
                        return 0;
        if (p->n_secrets >= LOGLINE_SECRETS_MAX)
                return -E2BIG;
        p->secrets[p->n_secrets].len = (uint8_t) len;
        memcpy(p->secrets[p->n_secrets].text, secret, len);
        p->n_secrets++;
        return 1;
}

/*
 * After "PORT_KNOCKING " at s (n bytes of the message left): "IN=" (the plain prefix) or a
 * secret, one space and "IN=". Sets *ret_len to the length of what follows the literal
 * prefix up to "IN=". The kernel writes "IN=" straight after the prefix, so anything
 * else is another rule's prefix.
 */
static int match_prefix(const char *s, size_t n, const LoglinePrefixes *prefixes, size_t *ret_len,
                        const char **ret_reason) {
        size_t k;

        if (n >= 3 && memcmp(s, "IN=", 3) == 0) {
                if (!prefixes->plain)
                        return fail(-EACCES, "plain PORT_KNOCKING prefix not accepted "
                                    "(net.netfilter.nf_log_all_netns=1)", ret_reason);
                *ret_len = 0;
                return 0;
        }
        k = secret_length(s, n);
        if (k == 0 || n - k < 4 || memcmp(s + k, " IN=", 4) != 0)
                return fail(-ENOMSG, "prefix is not exactly PORT_KNOCKING or PORT_KNOCKING <secret>",
                            ret_reason);
        *ret_len = k + 1;
        if (prefixes->any_secret)
                return 0;
        for (unsigned i = 0; i < prefixes->n_secrets; i++)
                if (prefixes->secrets[i].len == k && memcmp(prefixes->secrets[i].text, s, k) == 0)
                        return 0;
        return fail(-EACCES, "log prefix with an unknown secret", ret_reason);
}

int logline_parse(const char *line, size_t len, LoglineForm form, const LoglinePrefixes *prefixes,
                  KnockEvent *ret_event, const char **ret_reason) {
        size_t offset = 0, secret_len;
        int r;

        assert(line || len == 0);
        assert(prefixes);
        assert(ret_event);

        if (len > LOGLINE_LINE_MAX)
                return fail(-E2BIG, "line too long", ret_reason);

        if (form == LOGLINE_FORM_ANY)
                form = form_by_first_byte(line, len);
        switch (form) {
        case LOGLINE_FORM_KERNEL:
                break;
        case LOGLINE_FORM_DMESG:
                offset = stamp_length(line, len);
                if (offset == 0)
                        return fail(-ENOMSG, "no dmesg [ secs] stamp", ret_reason);
                break;
        case LOGLINE_FORM_SYSLOG:
                r = skip_syslog_header(line, len, &offset, ret_reason);
                if (r < 0)
                        return r;
                break;
        default:
                return fail(-EINVAL, "unknown line form", ret_reason);
        }

        if (len - offset < STRLEN(LOGLINE_PREFIX) ||
            memcmp(line + offset, LOGLINE_PREFIX, STRLEN(LOGLINE_PREFIX)) != 0)
                return fail(-ENOMSG, "no PORT_KNOCKING prefix", ret_reason);
        if (len - offset > LOGLINE_MESSAGE_MAX)
                return fail(-E2BIG, "message too long", ret_reason);
        r = match_prefix(line + offset + STRLEN(LOGLINE_PREFIX), len - offset - STRLEN(LOGLINE_PREFIX),
                         prefixes, &secret_len, ret_reason);
        if (r < 0)
                return r;

        return parse_message(line + offset, len - offset, STRLEN(LOGLINE_PREFIX) + secret_len,
                             ret_event, ret_reason);
}
