/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * door.h — doors: the knock sequences declared in the comments of nftables sets.
 *
 *   set ssh4 { type ipv4_addr; flags timeout; timeout 60s;
 *              comment "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 10s"; }
 *   set ssh6 { type ipv6_addr; flags timeout; timeout 60s; comment "knockwatch ssh"; }
 *
 * Grammar of a comment (nft limits it to 128 characters):
 *
 *   comment  = "knockwatch" SP name [ ":" SP ( steps / totp ) SP "within" SP duration
 *                                     [ SP "close" SP steps ] [ SP "fleet" ]
 *                                   / SP "fleet" ] [ SP "/" prefix ]
 *   prefix   = 1*3DIGIT, no leading zero     ; 1 … 128, the set's family's bits at most
 *   name     = 1*32 ( a-z / 0-9 / "_" / "-" ), starting with a letter
 *   steps    = step *( SP step )            ; 1 … DOOR_STEPS_MAX steps
 *   step     = ( "tcp" / "udp" ) ":" port / "ping:" size     ; knock_step_parse()
 *   duration = 1*DIGIT ( "ms" / "s" / "m" )  ; 1 ms … DOOR_WINDOW_MAX
 *   totp     = "totp" SP "key=" keyname SP count SP ( "tcp" / "udp" ) ":" port "-" port
 *              [ SP "step" SP duration ]
 *   keyname  = 1*32 ( a-z / 0-9 / "_" / "-" )  ; a name, never a path
 *   count    = "2" … "8"
 *
 * A totp door ("knockwatch ssh: totp key=ssh 4 tcp:20000-59999 within 10s") has no fixed
 * opening sequence: its steps are derived every step (default 30 s, whole seconds from
 * 10 s to 10 min) from the keys named by keyname (totp.h, keyfile.h). Its range holds at
 * least 1,000 ports, and its window must not exceed its step.
 *
 * Fleets (issue 12, fleet.h): a declaring comment that ends with the word "fleet"
 * ("knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 10s fleet") is a door whose grants,
 * refreshes and revokes the daemon publishes to its fleet. "knockwatch NAME fleet" is a
 * set that takes door NAME's grants from the fleet: such a door has no sequence here, and
 * every set of it must say "fleet" (a door is knocked here or taken from the fleet, never
 * both: a host that wants both names two doors).
 *
 * A comment that does not start with the word "knockwatch" is not ours (that set is
 * no door). "knockwatch NAME" alone attaches the set to a door declared in full by
 * another set (typically the v6 set of a v4 door). Pure parsing and validation; the
 * sets are read from the kernel by nft-sets.c. No I/O here.
 */
#pragma once

#include "knock.h"
#include "time-util.h"
#include "totp.h"

#define DOOR_NAME_MAX 32
#define DOOR_STEPS_MAX 16
#define DOOR_COMMENT_MAX 128
#define DOOR_WINDOW_MAX (3600 * USEC_PER_SEC)
#define DOOR_SET_NAME_MAX 256 /* NFT_SET_MAXNAMELEN, with its NUL */

typedef enum DoorFleet {
        DOOR_FLEET_NONE = 0,
        DOOR_FLEET_PUBLISH = 1,   /* declared with a trailing "fleet": publish its grants */
        DOOR_FLEET_TAKE = 2,      /* "knockwatch NAME fleet": take its grants from the fleet */
} DoorFleet;

/* Laid out without padding, so that two equal specs are equal bytes. */
typedef struct DoorSpec {
        char name[DOOR_NAME_MAX + 1];
        bool has_sequence;                 /* false for "knockwatch NAME" alone */
        bool is_totp;                      /* a totp door: totp_key and totp set, n_open 0 */
        char totp_key[TOTP_NAME_MAX + 1];  /* key=KEYNAME */
        TotpParams totp;                   /* count, proto and range, step */
        KnockStep open[DOOR_STEPS_MAX];
        unsigned n_open;
        KnockStep close[DOOR_STEPS_MAX];   /* completing it revokes the source's grant */
        unsigned n_close;                  /* 0: no closing sequence */
        uint16_t fleet;                    /* DoorFleet */
        uint16_t prefix;                   /* a trailing "/N": the set's grants cover the
                                            * source's /N; 0: the address alone */
        usec_t window;                     /* whole sequence, first to last knock */
} DoorSpec;

typedef struct DoorSyntaxError {
        unsigned column;                   /* 1-based column in the comment */
        char message[128];                 /* e.g. "expected a step like tcp:3721, got \"tcp:0\"" */
} DoorSyntaxError;

/* Returns 1 and fills *ret for a door comment; 0 if the comment is not ours (no leading
 * "knockwatch" word; *ret untouched); -EINVAL with *ret_error filled if it is ours but
 * malformed. comment is NUL-terminated. */
int door_comment_parse(const char *comment, DoorSpec *ret, DoorSyntaxError *ret_error);

/* What the kernel says about one named set of the table (filled by nft-sets.c). */
typedef struct DoorSetInfo {
        char name[DOOR_SET_NAME_MAX];
        uint64_t handle;           /* the kernel's; a set created anew gets another */
        uint32_t key_type;         /* nft's datatype: 7 ipv4_addr, 8 ipv6_addr (0: not said) */
        uint32_t key_len;          /* 4: ipv4_addr, 16: ipv6_addr, else not usable */
        uint32_t flags;            /* NFT_SET_* */
        uint64_t timeout_ms;       /* the set's default element timeout; 0 = none */
        bool has_comment;
        char comment[DOOR_COMMENT_MAX * 2 + 1]; /* NUL-terminated; a longer one is cut here */
} DoorSetInfo;

/* nft's datatypes of set keys (include/datatype.h: TYPE_IPADDR, TYPE_IP6ADDR). */
#define DOOR_KEY_TYPE_IPV4 7
#define DOOR_KEY_TYPE_IPV6 8

typedef struct Door {
        DoorSpec spec;
        char set4[DOOR_SET_NAME_MAX];      /* "" = no IPv4 set: IPv4 sources are not granted */
        uint64_t timeout4_ms;
        uint64_t handle4;
        unsigned prefix4;                  /* what a grant covers: 32, or the set's "/N" */
        char set6[DOOR_SET_NAME_MAX];      /* "" = no IPv6 set */
        uint64_t timeout6_ms;
        uint64_t handle6;
        unsigned prefix6;                  /* 128, or the set's "/N" */
} Door;

/* Prefix lengths a set may give: shorter ones would open the door to a large part of the
 * Internet with one knock; below the _WARN ones `knockwatch check` warns. */
#define DOOR_PREFIX4_MIN 8
#define DOOR_PREFIX6_MIN 16
#define DOOR_PREFIX4_WARN 24
#define DOOR_PREFIX6_WARN 48

typedef enum DoorSeverity {
        DOOR_ERROR,    /* the door (or set) is not used */
        DOOR_WARNING,  /* used, but unsafe or surprising */
} DoorSeverity;

/* Called once per problem. set is the set's name (NULL for a problem of the whole table);
 * message names the set (or door) itself and says what is wrong and what to change, e.g.
 * "set \"ssh4\": comment column 23: expected a step like tcp:3721, got \"tcp:0\"". */
typedef void (*door_problem_fn)(DoorSeverity severity, const char *set, const char *message,
                                void *userdata);

/* report(severity, NULL, the message formatted, userdata) — a problem of the whole table or
 * of a door, not of one set — if report is not NULL. Cut at DOOR_MESSAGE_MAX. */
#define DOOR_MESSAGE_MAX 1024
void door_report(door_problem_fn report, void *userdata, DoorSeverity severity, const char *format, ...)
        _printf_(4, 5);

/*
 * Build the doors of a table from its sets. Each door needs exactly one set that declares its
 * sequence; other sets may name it (at most one IPv4 and one IPv6 set per door). Problems:
 * errors — malformed comment, set without "flags timeout", door set without a default
 * timeout, key not ipv4_addr/ipv6_addr, two sets declaring the same door with different
 * sequences, two v4 (or v6) sets for one door, a set naming a door nobody declares, a
 * sequence that can never complete (the same step twice in a row); warnings — a sequence
 * strictly rising or falling in port (a port scan opens it), a one-step door, a closing
 * sequence equal to the opening one.
 * On success *ret_doors (malloc'ed, may be NULL when *ret_n is 0) holds the doors without
 * errors. Returns the number of errors reported (>= 0), or -ENOMEM.
 */
int doors_build(const DoorSetInfo *sets, size_t n_sets, Door **ret_doors, size_t *ret_n,
                door_problem_fn report, void *userdata);

/* The name of the door a comment belongs to, also when the rest of it does not parse:
 * 1 and the name in ret, 0 if the comment is not ours, -EINVAL if not even the name reads. */
int door_comment_name(const char *comment, char ret[static DOOR_NAME_MAX + 1]);

/* The sets whose comment belongs to door name, also where the comment or the door has
 * errors (for revoke and status, which must reach the grants of a broken door too): up to
 * max of them into ret. Returns how many there are. */
size_t door_sets_named(const DoorSetInfo *sets, size_t n_sets, const char *name,
                       const DoorSetInfo **ret, size_t max);

/* Find a door by name; NULL if none. */
const Door *doors_find(const Door *doors, size_t n, const char *name);

/* Format a door's sequence as "tcp:3721 tcp:4728 tcp:6742 within 10s" or "totp key=ssh 4
 * tcp:20000-59999 within 10s" (" step D" unless 30 s; + " close …", + " fleet" for a door
 * that publishes to its fleet); "" without a sequence. Returns 0, or -ENOBUFS if it did not fit (buf then holds a cut,
 * NUL-terminated string). */
int door_spec_format(const DoorSpec *spec, char *buf, size_t size);
