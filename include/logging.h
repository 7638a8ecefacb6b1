/*
 * logging.h - the broker's log lines, in Kafka's log4j layout
 * "[yyyy-MM-dd HH:mm:ss,SSS] LEVEL message (component)".
 * Thread-safe: each line is one write(2) to the log fd.
 */
#ifndef SAMSA_LOGGING_H
#define SAMSA_LOGGING_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Opens (or reopens, for SIGHUP) the log file; NULL means stderr. */
int log_open(const char *path);
void log_reopen(void);
void log_set_level(enum log_level lvl);
void log_msg(enum log_level lvl, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(comp, ...) log_msg(LOG_DEBUG, comp, __VA_ARGS__)
#define log_info(comp, ...) log_msg(LOG_INFO, comp, __VA_ARGS__)
#define log_warn(comp, ...) log_msg(LOG_WARN, comp, __VA_ARGS__)
#define log_error(comp, ...) log_msg(LOG_ERROR, comp, __VA_ARGS__)

#endif
