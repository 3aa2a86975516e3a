/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.c — see log.h. Console lines are "knockwatch: message"; journal records
 * carry MESSAGE, PRIORITY, SYSLOG_IDENTIFIER and, for errors, ERRNO.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "log.h"
#include "string-util.h"

static LogTarget log_target = LOG_TARGET_AUTO;
static int log_max_level = LOG_INFO;

void log_set_target(LogTarget target) {
        log_target = target;
}

/* Is stderr the stream systemd gave us to the journal? (JOURNAL_STREAM=dev:ino) */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

LogTarget log_get_target(void) {
        if (log_target == LOG_TARGET_AUTO)
                log_target = stderr_is_journal() ? LOG_TARGET_JOURNAL : LOG_TARGET_CONSOLE;
        return log_target;
}

int log_target_from_string(const char *s, LogTarget *ret) {
        if (streq(s, "auto"))
                *ret = LOG_TARGET_AUTO;
        else if (streq(s, "console"))
                *ret = LOG_TARGET_CONSOLE;
        else if (streq(s, "journal"))
                *ret = LOG_TARGET_JOURNAL;
        else
                return -EINVAL;
        return 0;
}

int log_level_from_string(const char *s) {
        static const struct {
                const char *name;
                int level;
        } levels[] = {
                { "err", LOG_ERR }, { "error", LOG_ERR }, { "warning", LOG_WARNING },
                { "notice", LOG_NOTICE }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
        };

        for (size_t i = 0; i < ELEMENTSOF(levels); i++)
                if (streq(s, levels[i].name))
                        return levels[i].level;
        return -EINVAL;
}

void log_set_max_level(int level) {
        log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) {
        char buf[2048];
        va_list ap;

        /* %m in the format prints the error we were given, not whatever errno holds. */
        errno = error;
        va_start(ap, format);
        (void) vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);

        if (log_get_target() == LOG_TARGET_JOURNAL) {
                char code_file[256], code_line[32];

                (void) snprintf(code_file, sizeof(code_file), "CODE_FILE=%s", file);
                (void) snprintf(code_line, sizeof(code_line), "CODE_LINE=%d", line);
                if (sd_journal_send_with_location(code_file, code_line, func,
                                                  "MESSAGE=%s", buf,
                                                  "PRIORITY=%i", level,
                                                  "SYSLOG_IDENTIFIER=knockwatch",
                                                  error > 0 ? "ERRNO=%i" : NULL, error,
                                                  NULL) >= 0)
                        return -error;
                /* No journal: fall through to stderr so nothing is lost. */
        }

        (void) fprintf(stderr, "knockwatch: %s\n", buf);
        return -error;
}
