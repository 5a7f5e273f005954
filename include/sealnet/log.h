/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libsealnet logging: the library never prints. It reports through one
 * process-wide callback that the program installs (sealnetd sends it to
 * syslog/stderr, the CLI to stderr, tests capture it).
 */
#ifndef SEALNET_LOG_H
#define SEALNET_LOG_H

#include <stdarg.h>

enum sn_log_level {
	SN_LOG_ERR = 3,
	SN_LOG_WARN = 4,
	SN_LOG_INFO = 6,
	SN_LOG_DEBUG = 7,
};

typedef void (*sn_log_fn)(enum sn_log_level level, const char *msg,
			  void *arg);

/* Install the callback (NULL: discard everything). Not thread-safe. */
void sn_log_set(sn_log_fn fn, void *arg);
/* Messages above this level are not formatted at all. Default SN_LOG_INFO. */
void sn_log_set_level(enum sn_log_level max);

/* A ready callback printing "sealnet: LEVEL: msg" to stderr. */
void sn_log_stderr(enum sn_log_level level, const char *msg, void *arg);

void sn_log(enum sn_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sn_vlog(enum sn_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define sn_err(...) sn_log(SN_LOG_ERR, __VA_ARGS__)
#define sn_warn(...) sn_log(SN_LOG_WARN, __VA_ARGS__)
#define sn_info(...) sn_log(SN_LOG_INFO, __VA_ARGS__)
#define sn_dbg(...) sn_log(SN_LOG_DEBUG, __VA_ARGS__)

#endif
