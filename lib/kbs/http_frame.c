// SPDX-License-Identifier: Apache-2.0
/*
 * The KBS's HTTP/1.1 request framer (include/sealnet/kbs_http.h).
 *
 * Where libevent 2.1.12's evhttp (http.c) refuses a request without
 * calling the server, this is at least as strict, so such a request never
 * reaches evhttp:
 *  - request line: evhttp takes "METHOD SP URI SP HTTP/d.d" (spaces in
 *    the URI allowed, trailing spaces trimmed) and parses the URI with
 *    EVHTTP_URI_NONCONFORMANT, which fails only on "//" (an authority) or
 *    a scheme; here: exactly two spaces, a method the KBS allows (GET,
 *    POST, PUT, DELETE, HEAD: evhttp answers others 501), an origin-form
 *    target ("/" not followed by "/", visible ASCII), HTTP/1.0 or 1.1;
 *  - head size: evhttp counts the lines without their EOLs against
 *    max_headers_size; here the whole head with EOLs counts (>=);
 *  - header lines: evhttp needs a ':' and folds continuation lines; here
 *    a token name, ':', a value of visible ASCII, SP, HT or obs-text, no
 *    folding, no control character anywhere;
 *  - Content-Length: evhttp takes the first one, strtoll'd (sign and
 *    spaces allowed), refuses it when invalid or over max_body_size; here
 *    digits only, one only, at most body_max; HEAD (whose body evhttp
 *    does not read) has none;
 *  - Transfer-Encoding: evhttp reads "chunked" bodies (chunk sizes up to
 *    max_body_size in all); here any Transfer-Encoding is refused (411),
 *    so a body's end is known from its head;
 *  - Expect: evhttp answers anything but "100-continue" with 417; same.
 * The end of a head is the first empty line, an EOL being LF or CR LF as
 * evbuffer_readln(EVBUFFER_EOL_CRLF) finds it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sealnet/kbs_http.h"

void sn_kbs_http_framer_init(struct sn_kbs_http_framer *f, size_t head_max,
			     uint64_t body_max)
{
	memset(f, 0, sizeof(*f));
	f->head_max = head_max;
	f->body_max = body_max;
	f->eol = 1;
}

static int refuse(struct sn_kbs_http_refusal *r, int status, const char *code,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int refuse(struct sn_kbs_http_refusal *r, int status, const char *code,
		  const char *fmt, ...)
{
	va_list ap;

	r->status = status;
	snprintf(r->code, sizeof(r->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	return -EPROTO;
}

enum sn_kbs_http_step sn_kbs_http_scan(struct sn_kbs_http_framer *f,
				       const uint8_t *b, size_t n, size_t *used,
				       struct sn_kbs_http_refusal *r)
{
	size_t i;

	if (f->body_left) {
		*used = n < f->body_left ? n : (size_t)f->body_left;
		f->body_left -= *used;
		return SN_KBS_HTTP_BODY;
	}
	for (i = 0; i < n; i++) {
		if (f->head_len >= f->head_max) {
			*used = i;
			refuse(r, 431, "headers-too-large",
			       "the request line and headers are more than "
			       "%zu bytes: send fewer or shorter headers",
			       f->head_max);
			return SN_KBS_HTTP_REFUSED;
		}
		f->head_len++;
		if (b[i] == '\n') {
			if (f->eol) {
				*used = i + 1;
				return SN_KBS_HTTP_HEAD;
			}
			f->eol = 1;
		} else {
			f->eol = b[i] == '\r' && f->eol == 1 ? 2 : 0;
		}
	}
	*used = n;
	return SN_KBS_HTTP_MORE;
}

/* a printable excerpt of client bytes for a message */
static const char *excerpt(const char *s, size_t n, char out[48])
{
	size_t i, m = n < 40 ? n : 40;

	for (i = 0; i < m; i++)
		out[i] =
			s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' ? s[i] : '?';
	out[i] = '\0';
	if (n > m)
		strcpy(out + i, "...");
	return out;
}

static bool tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int request_line(const char *s, size_t n, bool *head_method,
			struct sn_kbs_http_refusal *r)
{
	static const char *const methods[] = {"GET", "POST", "PUT", "DELETE",
					      "HEAD"};
	const char *sp1 = memchr(s, ' ', n), *sp2, *t;
	size_t i, ml, tl;
	char ex[48];

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return refuse(r, 400, "bad-request",
				      "the request line \"%s\" has a control "
				      "or non-ASCII byte at %zu: send "
				      "\"METHOD /path HTTP/1.1\"",
				      excerpt(s, n, ex), i);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - s)) : NULL;
	if (!sp1 || !sp2 || memchr(sp2 + 1, ' ', n - (size_t)(sp2 + 1 - s)))
		return refuse(r, 400, "bad-request",
			      "the request line \"%s\" is not \"METHOD "
			      "/path HTTP/1.1\" (three parts, one space "
			      "between them)",
			      excerpt(s, n, ex));
	ml = (size_t)(sp1 - s);
	for (i = 0; i < ml; i++)
		if (!tchar((unsigned char)s[i]))
			break;
	if (!ml || i < ml)
		return refuse(r, 400, "bad-request",
			      "the request line \"%s\" does not start with "
			      "a method",
			      excerpt(s, n, ex));
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strlen(methods[i]) == ml && !memcmp(methods[i], s, ml))
			break;
	if (i == sizeof(methods) / sizeof(methods[0]))
		return refuse(r, 405, "bad-method",
			      "method \"%s\" is not one of GET, POST, PUT, "
			      "DELETE, HEAD",
			      excerpt(s, ml, ex));
	*head_method = i == 4;
	t = sp1 + 1;
	tl = (size_t)(sp2 - t);
	if (!tl || t[0] != '/' || (tl > 1 && t[1] == '/'))
		return refuse(r, 400, "bad-request",
			      "the request target \"%s\" is not a path "
			      "starting with one \"/\" (origin form)",
			      excerpt(t, tl, ex));
	if ((size_t)(s + n - (sp2 + 1)) != 8 ||
	    (memcmp(sp2 + 1, "HTTP/1.1", 8) && memcmp(sp2 + 1, "HTTP/1.0", 8)))
		return refuse(r, 400, "bad-request",
			      "the request line \"%s\" does not end with "
			      "HTTP/1.1 or HTTP/1.0",
			      excerpt(s, n, ex));
	return 0;
}

/* name: value (OWS trimmed); 0 or refused */
static int header_line(const char *s, size_t n, const char **name, size_t *nl,
		       const char **val, size_t *vl,
		       struct sn_kbs_http_refusal *r)
{
	const char *colon = memchr(s, ':', n);
	size_t i;
	char ex[48];

	if (s[0] == ' ' || s[0] == '\t')
		return refuse(r, 400, "bad-request",
			      "header line \"%s\" starts with white space "
			      "(obsolete line folding is not accepted)",
			      excerpt(s, n, ex));
	if (!colon || colon == s)
		return refuse(r, 400, "bad-request",
			      "header line \"%s\" is not \"Name: value\"",
			      excerpt(s, n, ex));
	for (i = 0; s + i < colon; i++)
		if (!tchar((unsigned char)s[i]))
			return refuse(r, 400, "bad-request",
				      "header name \"%s\" has a byte that is "
				      "not a token character",
				      excerpt(s, (size_t)(colon - s), ex));
	for (i = (size_t)(colon + 1 - s); i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return refuse(r, 400, "bad-request",
				      "header \"%s\" has a control byte in "
				      "its value",
				      excerpt(s, (size_t)(colon - s), ex));
	}
	*name = s;
	*nl = (size_t)(colon - s);
	*val = colon + 1;
	*vl = n - *nl - 1;
	while (*vl && (**val == ' ' || **val == '\t')) {
		(*val)++;
		(*vl)--;
	}
	while (*vl && ((*val)[*vl - 1] == ' ' || (*val)[*vl - 1] == '\t'))
		(*vl)--;
	return 0;
}

static bool name_is(const char *s, size_t n, const char *want)
{
	return strlen(want) == n && !strncasecmp(s, want, n);
}

int sn_kbs_http_head(struct sn_kbs_http_framer *f, const char *head, size_t len,
		     struct sn_kbs_http_refusal *r)
{
	const char *p = head, *end = head + len, *nlp, *name, *val;
	size_t ll, nl, vl, i;
	bool head_method = false, have_cl = false, done = false;
	uint64_t cl = 0;
	unsigned line = 0;
	char ex[48];
	int err;

	for (; p < end; p = nlp + 1, line++) {
		nlp = memchr(p, '\n', (size_t)(end - p));
		if (!nlp) /* not what sn_kbs_http_scan reported */
			break;
		ll = (size_t)(nlp - p);
		if (ll && p[ll - 1] == '\r')
			ll--;
		if (!ll && line) {
			if (nlp + 1 != end)
				return refuse(r, 400, "bad-request",
					      "the request head has bytes "
					      "after its empty line");
			done = true;
			break;
		}
		if (memchr(p, '\r', ll) || memchr(p, '\0', ll))
			return refuse(r, 400, "bad-request",
				      "line %u of the request head has a CR "
				      "or NUL byte inside it",
				      line + 1);
		if (!line) {
			if (!ll)
				return refuse(r, 400, "bad-request",
					      "the request line is empty: "
					      "send \"METHOD /path "
					      "HTTP/1.1\"");
			err = request_line(p, ll, &head_method, r);
			if (err)
				return err;
			continue;
		}
		err = header_line(p, ll, &name, &nl, &val, &vl, r);
		if (err)
			return err;
		if (name_is(name, nl, "Transfer-Encoding"))
			return refuse(r, 411, "length-required",
				      "Transfer-Encoding \"%s\" is not "
				      "accepted: send the body with a "
				      "Content-Length",
				      excerpt(val, vl, ex));
		if (name_is(name, nl, "Expect") &&
		    !name_is(val, vl, "100-continue"))
			return refuse(r, 417, "bad-expect",
				      "Expect \"%s\" cannot be met (only "
				      "100-continue is)",
				      excerpt(val, vl, ex));
		if (!name_is(name, nl, "Content-Length"))
			continue;
		if (have_cl)
			return refuse(r, 400, "bad-request",
				      "more than one Content-Length header");
		have_cl = true;
		for (i = 0; i < vl; i++)
			if (val[i] < '0' || val[i] > '9')
				break;
		if (!vl || i < vl || vl > 19)
			return refuse(r, 400, "bad-request",
				      "Content-Length \"%s\" is not a decimal "
				      "number of bytes",
				      excerpt(val, vl, ex));
		for (i = 0; i < vl; i++)
			cl = cl * 10 + (uint64_t)(val[i] - '0');
		if (cl > f->body_max)
			return refuse(r, 413, "too-large",
				      "request body of %llu bytes is above "
				      "the %llu-byte limit of this server",
				      (unsigned long long)cl,
				      (unsigned long long)f->body_max);
	}
	if (!done)
		return refuse(r, 400, "bad-request",
			      "the request head does not end with an empty "
			      "line");
	if (head_method && cl)
		return refuse(r, 400, "bad-request",
			      "a HEAD request has no body (Content-Length "
			      "%llu)",
			      (unsigned long long)cl);
	f->body_left = cl;
	f->head_len = 0;
	f->eol = 1;
	f->requests++;
	return 0;
}
