/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers for the evidence unit tests (header-only). */
#ifndef SN_TEST_EV_HELPERS_H
#define SN_TEST_EV_HELPERS_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "sealnet/evidence.h"
#include "sealnet/util.h"

static inline const char *td_path(const char *rel)
{
	static char buf[8][4096];
	static int idx;
	const char *root = getenv("SEALNET_TESTDATA");
	char *b = buf[idx++ % 8];

	if (!root)
		root = "../shared/testdata";
	snprintf(b, 4096, "%s/%s", root, rel);
	return b;
}

static inline uint8_t *td_read(const char *rel, size_t *len)
{
	uint8_t *buf = NULL;

	assert_int_equal(sn_read_file(td_path(rel), 1 << 20, &buf, len), 0);
	return buf;
}

/* load evidence from a buffer plus certificate files (NULL-terminated) */
static inline struct sn_evidence *ev_from(const uint8_t *buf, size_t len,
					  const char *cert, ...)
{
	struct sn_evidence *ev = NULL;
	va_list ap;

	assert_int_equal(sn_evidence_parse(buf, len, &ev), 0);
	va_start(ap, cert);
	for (const char *c = cert; c; c = va_arg(ap, const char *))
		assert_int_equal(sn_evidence_add_cert_file(ev, td_path(c)), 0);
	va_end(ap);
	return ev;
}

/* the Milan report (hex) with its VCEK and ASK/ARK chain */
static inline struct sn_evidence *milan_ev(void)
{
	size_t len;
	uint8_t *buf = td_read("snp/milan-report.hex", &len);
	struct sn_evidence *ev = ev_from(buf, len, "snp/milan-vcek.der",
					 "snp/milan-ask-ark.pem", NULL);

	free(buf);
	return ev;
}

static inline time_t ymd(int y, int m, int d)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};

	return timegm(&tm);
}

static inline void dump_reasons(const struct sn_appraisal *a)
{
	for (size_t i = 0; i < a->n_reasons; i++)
		fprintf(stderr, "  reason %s: %s\n",
			sn_reason_name(a->reasons[i].code),
			a->reasons[i].detail);
}

#endif
