/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * metrics.h — the daemon's counters in the Prometheus text exposition format (0.0.4),
 * for node_exporter's textfile collector: knockwatch serves no HTTP (its unit denies
 * IP), so `--metrics-file=/var/lib/prometheus/node-exporter/knockwatch.prom` makes the
 * StatusWriter (status.h) rewrite that file with each status write, and `knockwatch
 * metrics` prints the same from the status file. The names and labels are listed in
 * knockwatch(8) and stay stable. Pure formatting, no I/O.
 */
#pragma once

#include "status.h"

/* The largest metrics text: STATUS_DOORS_MAX doors with 20-digit counters fit. */
#define METRICS_FILE_MAX (128 * 1024)

/* Returns the length written (< size; buf NUL-terminated) or -ENOBUFS. */
int metrics_format(const DaemonStatus *s, char *buf, size_t size);

/* A usable --metrics-file: an absolute path whose last component is a plain file name
 * (not empty, no leading '.', at most 64 bytes) and no control bytes. */
bool metrics_path_valid(const char *path);
