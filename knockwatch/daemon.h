/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon.h — the knockwatch daemon: the one place where the modules are wired
 * together. Data flows one way:
 *
 *   source --line--> logline_parse --KnockEvent--> detector --action--> nft batch
 *                                                                  |
 *   nft monitor --ruleset/element events--> doors, grants record --+--> audit, status
 */
#pragma once

#include "config.h"
#include "nft.h"
#include "source.h"

#define RULESET_DEFAULT SYSCONFDIR "/knockwatch/knockwatch.nft"

typedef struct DaemonOptions {
        SourceKind source_kind;
        const char *source_path;      /* for SOURCE_FILE */
        NftTable table;
        const char *state_dir;        /* resume positions */
        const char *runtime_dir;      /* status file */
        const char *journal_dir;      /* journal source reads this directory (tests) */
        size_t capacity;              /* detector capacity */
        size_t max_grants;            /* bound of the record of live grants */
        const char *ruleset;          /* put the table back from this file; NULL or "": never */
        const char *key_dir;          /* the rotating doors' keys (keyfile.h); NULL: the default */
        const char *metrics_file;     /* Prometheus text, rewritten with the status; NULL: none */
        const char *exec_on_grant;    /* hooks (hooks.h); NULL: none */
        const char *exec_on_revoke;
        const char *fleet_url;        /* --fleet=mqtts://…; NULL: no fleet (fleet.h) */
        const char *fleet_name;       /* NULL: "default" */
        const char *fleet_ca;         /* NULL: the credentials (fleet.h) */
        const char *fleet_cert;
        const char *fleet_cert_key;
        const char *fleet_key;
} DaemonOptions;

/* Run until SIGTERM/SIGINT (or the end of stdin). Returns the process exit status. */
int daemon_run(const DaemonOptions *options);
