// SPDX-License-Identifier: Apache-2.0
/* The library's only way to speak: one callback, installed by the program. */
#include <stdio.h>

#include "sealnet/log.h"

static sn_log_fn log_fn;
static void *log_arg;
static enum sn_log_level log_max = SN_LOG_INFO;

void sn_log_set(sn_log_fn fn, void *arg)
{
	log_fn = fn;
	log_arg = arg;
}

void sn_log_set_level(enum sn_log_level max)
{
	log_max = max;
}

void sn_log_stderr(enum sn_log_level level, const char *msg, void *arg)
{
	static const char *const names[] = {
		[SN_LOG_ERR] = "error", [SN_LOG_WARN] = "warning",
		[SN_LOG_INFO] = "info", [SN_LOG_DEBUG] = "debug",
	};
	const char *prog = arg ? arg : "sealnet";

	fprintf(stderr, "%s: %s: %s\n", prog,
		(unsigned)level < sizeof(names) / sizeof(names[0]) &&
				names[level] ?
			names[level] :
			"log",
		msg);
}

__attribute__((format(printf, 2, 0)))
void sn_vlog(enum sn_log_level level, const char *fmt, va_list ap)
{
	char buf[1024];

	if (!log_fn || level > log_max)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	log_fn(level, buf, log_arg);
}

void sn_log(enum sn_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sn_vlog(level, fmt, ap);
	va_end(ap);
}
