/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KBS's HTTP/1.1 request framer (lib/kbs/http_frame.c): a bounded,
 * incremental pre-parser of the bytes a client sends, ahead of libevent's
 * evhttp, that finds where each request's head (request line and headers)
 * and body begin and end, and decides which requests evhttp is not to see
 * because they are malformed or over the KBS's limits.  It is stricter
 * than evhttp 2.1.12 everywhere evhttp would refuse a request by itself
 * (without calling the KBS), so every such request is refused, answered
 * and audited by the KBS instead (docs/kbs-api.md "Request framing").
 * Pure: bytes in, verdicts out; no I/O, no allocation.
 */
#ifndef SEALNET_KBS_HTTP_H
#define SEALNET_KBS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sn_kbs_http_framer {
	size_t head_max;    /* bytes of request line + headers, with EOLs */
	uint64_t body_max;  /* Content-Length */
	uint64_t body_left; /* of the current request's body */
	size_t head_len;    /* bytes of the head being scanned */
	uint8_t eol;	    /* 0 in a line, 1 at a line's start, 2 + CR */
	uint64_t requests;  /* heads accepted */
};

/* why a request is refused */
struct sn_kbs_http_refusal {
	int status;    /* HTTP status: 400, 405, 411, 413, 417, 431 */
	char code[24]; /* the error code of the JSON answer */
	char msg[240]; /* what is wrong and what to do (printable ASCII) */
};

void sn_kbs_http_framer_init(struct sn_kbs_http_framer *f, size_t head_max,
			     uint64_t body_max);

enum sn_kbs_http_step {
	SN_KBS_HTTP_BODY,    /* *used bytes of a body: pass them on */
	SN_KBS_HTTP_MORE,    /* all n bytes belong to an incomplete head */
	SN_KBS_HTTP_HEAD,    /* the head ends after *used bytes: check it
				(f->head_len bytes) with sn_kbs_http_head */
	SN_KBS_HTTP_REFUSED, /* the head is over head_max (r filled) */
};

/* Look at the next n (> 0) bytes of a connection's stream.  *used (<= n,
 * > 0) says how many were taken; the rest is to be given again. */
enum sn_kbs_http_step sn_kbs_http_scan(struct sn_kbs_http_framer *f,
				       const uint8_t *b, size_t n, size_t *used,
				       struct sn_kbs_http_refusal *r);

/* The head that SN_KBS_HTTP_HEAD reported, len == f->head_len bytes:
 * 0 (its body, if any, is what sn_kbs_http_scan returns next) or -EPROTO
 * (refused: r filled; the stream cannot be framed any further). */
int sn_kbs_http_head(struct sn_kbs_http_framer *f, const char *head, size_t len,
		     struct sn_kbs_http_refusal *r);

#endif
