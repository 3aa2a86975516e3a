/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.h — diagnostics for the edges of the program (CLI, daemon).
 *
 * Library-like modules (parser, detector, doors, nft, sources) return -errno and
 * leave the wording to their caller; only the edges log. The log_*_errno() forms
 * return -abs(error), so an edge can write `return log_error_errno(r, "…: %m");`
 * (%m prints the error passed in). Messages go to stderr ("knockwatch: …"), or to
 * the journal with PRIORITY= when stderr is connected to it (JOURNAL_STREAM) or
 * the target is set explicitly.
 */
#pragma once

#include <errno.h>
#include <syslog.h>

#include "macro.h"

typedef enum LogTarget {
        LOG_TARGET_AUTO,    /* journal when stderr is the journal stream, else console */
        LOG_TARGET_CONSOLE, /* stderr */
        LOG_TARGET_JOURNAL, /* sd_journal_send(), falls back to stderr if that fails */
} LogTarget;

void log_set_target(LogTarget target);
LogTarget log_get_target(void); /* the resolved target: CONSOLE or JOURNAL */
int log_target_from_string(const char *s, LogTarget *ret);
void log_set_max_level(int level); /* LOG_ERR … LOG_DEBUG; default LOG_INFO */
int log_level_from_string(const char *s); /* "err" … "debug" → LOG_*, or -EINVAL */
int log_get_max_level(void);

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) _printf_(6, 7);

#define log_full_errno(level, error, ...)                                               \
        ({                                                                              \
                int _level_ = (level), _e_ = (error);                                   \
                _e_ = _e_ < 0 ? -_e_ : _e_;                                             \
                _level_ <= log_get_max_level()                                          \
                        ? log_internal(_level_, _e_, __FILE__, __LINE__, __func__, __VA_ARGS__) \
                        : -_e_;                                                         \
        })
#define log_full(level, ...) (void) log_full_errno((level), 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, error, __VA_ARGS__)
#define log_info_errno(error, ...) log_full_errno(LOG_INFO, error, __VA_ARGS__)
#define log_notice_errno(error, ...) log_full_errno(LOG_NOTICE, error, __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, error, __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, error, __VA_ARGS__)

/* For failed allocations at the edges. */
#define log_oom() log_error_errno(ENOMEM, "Out of memory.")
