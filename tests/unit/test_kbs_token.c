// SPDX-License-Identifier: Apache-2.0
/*
 * lib/kbs tokens (JWT ES256): a signed token verifies and gives back its
 * claims; an edited payload, a signature from another key (with either
 * key id), an expired token, one issued in the future, alg "none", an
 * HMAC alg, extra header members and malformed compact forms are each
 * refused with their own error.  The JWKS names the key id.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "sealnet/kbs.h"

/* the other ECDSA algorithm: refused */
#if SN_KBS_TOKEN_ES384
#define TOK_OTHER_ALG "ES256"
#else
#define TOK_OTHER_ALG "ES384"
#endif

#define NOW 1800000000

struct fx {
	struct sn_kbs_signer *k1, *k2;
	char p1[64], p2[64];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->p1, sizeof(f->p1), "/tmp/sn-kbs-tok1-%d.pem", getpid());
	snprintf(f->p2, sizeof(f->p2), "/tmp/sn-kbs-tok2-%d.pem", getpid());
	unlink(f->p1);
	unlink(f->p2);
	assert_int_equal(sn_kbs_signer_load(f->p1, true, &f->k1), 0);
	assert_int_equal(sn_kbs_signer_load(f->p2, true, &f->k2), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	sn_kbs_signer_free(f->k1);
	sn_kbs_signer_free(f->k2);
	unlink(f->p1);
	unlink(f->p2);
	free(f);
	return 0;
}

static void claims(struct sn_kbs_claims *c, int64_t iat, int64_t exp)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->iss, "sealnet-kbs:d1");
	strcpy(c->sub, "node1");
	strcpy(c->domain, "d1");
	strcpy(c->stage, "A");
	strcpy(c->tee, "sim");
	memset(c->measurement, 'a', 96);
	c->tcb.bootloader = 3;
	c->tcb.snp = 8;
	c->tcb.microcode = 115;
	memset(c->cnf_spki, 0x11, sizeof(c->cnf_spki));
	memset(c->rek, 0x22, sizeof(c->rek));
	c->iat = iat;
	c->exp = exp;
	strcpy(c->jti, "jti-1");
}

static char *sign(struct sn_kbs_signer *k, int64_t iat, int64_t exp)
{
	struct sn_kbs_claims c;
	char *t = NULL;

	claims(&c, iat, exp);
	assert_int_equal(sn_kbs_token_sign(k, &c, &t), 0);
	return t;
}

static int verify(struct sn_kbs_signer *k, const char *t)
{
	struct sn_kbs_claims c;

	return sn_kbs_token_verify(k, t, strlen(t), NOW, &c);
}

static void roundtrip(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_claims in, out;
	char *t = sign(f->k1, NOW, NOW + 300);

	claims(&in, NOW, NOW + 300);
	assert_int_equal(sn_kbs_token_verify(f->k1, t, strlen(t), NOW, &out),
			 0);
	assert_memory_equal(&in, &out, sizeof(in));
	/* a reloaded key verifies too (the file holds the key) */
	{
		struct sn_kbs_signer *again;

		assert_int_equal(sn_kbs_signer_load(f->p1, false, &again), 0);
		assert_string_equal(sn_kbs_signer_kid(again),
				    sn_kbs_signer_kid(f->k1));
		assert_int_equal(verify(again, t), 0);
		sn_kbs_signer_free(again);
	}
	free(t);
}

/* replace part i (0 header, 1 payload, 2 signature) of t */
static char *with_part(const char *t, int i, const char *part)
{
	const char *d1 = strchr(t, '.'), *d2 = strchr(d1 + 1, '.');
	char *o = NULL;

	if (i == 0)
		assert_true(asprintf(&o, "%s%s", part, d1) > 0);
	else if (i == 1)
		assert_true(asprintf(&o, "%.*s.%s%s", (int)(d1 - t), t, part,
				     d2) > 0);
	else
		assert_true(asprintf(&o, "%.*s.%s", (int)(d2 - t), t, part) >
			    0);
	return o;
}

static char *b64(const char *s)
{
	char *o;

	assert_int_equal(
		sn_kbs_b64url_encode((const uint8_t *)s, strlen(s), &o), 0);
	return o;
}

static void forged_payload(void **state)
{
	struct fx *f = *state;
	char *t = sign(f->k1, NOW, NOW + 300);
	char *other = sign(f->k1, NOW, NOW + 3000); /* a valid, other payload */
	const char *d1 = strchr(other, '.'), *d2 = strchr(d1 + 1, '.');
	char *pl = strndup(d1 + 1, (size_t)(d2 - d1 - 1));
	char *forged = with_part(t, 1, pl);

	assert_int_equal(verify(f->k1, forged), -EBADMSG);
	free(forged);
	free(pl);
	free(other);
	free(t);
}

static void wrong_key(void **state)
{
	struct fx *f = *state;
	char *t = sign(f->k2, NOW, NOW + 300);
	char hdr[160], *h, *t2;

	/* another key's kid */
	assert_int_equal(verify(f->k1, t), -EKEYREJECTED);
	/* another key's signature under this key's kid */
	snprintf(hdr, sizeof(hdr),
		 "{\"alg\":\"" SN_KBS_TOKEN_ALG "\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
		 sn_kbs_signer_kid(f->k1));
	h = b64(hdr);
	t2 = with_part(t, 0, h);
	assert_int_equal(verify(f->k1, t2), -EBADMSG);
	free(t2);
	free(h);
	free(t);
}

static void expired(void **state)
{
	struct fx *f = *state;
	char *t = sign(f->k1, NOW - 400, NOW - 100);
	char *t2 = sign(f->k1, NOW - 300, NOW); /* exp == now: expired */
	char *t3 = sign(f->k1, NOW + 3600, NOW + 3900);

	assert_int_equal(verify(f->k1, t), -EKEYEXPIRED);
	assert_int_equal(verify(f->k1, t2), -EKEYEXPIRED);
	assert_int_equal(verify(f->k1, t3), -ETIME);
	free(t);
	free(t2);
	free(t3);
}

static void bad_headers(void **state)
{
	struct fx *f = *state;
	char *t = sign(f->k1, NOW, NOW + 300);
	/* around the kid */
	const char *hdrs[][2] = {
		{"{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"", "\"}"},
		{"{\"alg\":\"HS384\",\"typ\":\"JWT\",\"kid\":\"", "\"}"},
		{"{\"alg\":\"ES512\",\"typ\":\"JWT\",\"kid\":\"", "\"}"},
		{"{\"alg\":\"" TOK_OTHER_ALG "\",\"typ\":\"JWT\",\"kid\":\"", "\"}"},
		{"{\"alg\":\"" SN_KBS_TOKEN_ALG "\",\"typ\":\"JWT\",\"kid\":\"",
		 "\",\"jku\":\"x\"}"},
		{"{\"alg\":\"" SN_KBS_TOKEN_ALG "\",\"kid\":\"", "\"}"},
		{"[\"", "\"]"},
	};

	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		char hdr[200], *h, *t2;

		snprintf(hdr, sizeof(hdr), "%s%s%s", hdrs[i][0],
			 sn_kbs_signer_kid(f->k1), hdrs[i][1]);
		h = b64(hdr);
		t2 = with_part(t, 0, h);
		assert_int_equal(verify(f->k1, t2), -EINVAL);
		free(t2);
		free(h);
	}
	free(t);
}

static void malformed(void **state)
{
	struct fx *f = *state;
	char *t = sign(f->k1, NOW, NOW + 300), *t2, *big;
	const char *bad[] = {"", ".", "..", "a.b", "a.b.c.d", "a.b.c"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(verify(f->k1, bad[i]), -EINVAL);
	/* signature of the wrong length */
	t2 = with_part(t, 2, "AAAA");
	assert_int_equal(verify(f->k1, t2), -EINVAL);
	free(t2);
	/* a base64 (not base64url) character */
	t2 = strdup(t);
	t2[3] = '+';
	assert_int_equal(verify(f->k1, t2), -EINVAL);
	free(t2);
	/* too long */
	big = malloc(SN_KBS_TOKEN_MAX + 2);
	memset(big, 'A', SN_KBS_TOKEN_MAX + 1);
	big[SN_KBS_TOKEN_MAX + 1] = '\0';
	assert_int_equal(sn_kbs_token_verify(f->k1, big, SN_KBS_TOKEN_MAX + 1,
					     NOW, &(struct sn_kbs_claims){0}),
			 -EINVAL);
	free(big);
	free(t);
}

static void jwks(void **state)
{
	struct fx *f = *state;
	char *j = NULL;

	assert_int_equal(sn_kbs_jwks_json(f->k1, &j), 0);
	assert_non_null(strstr(j, sn_kbs_signer_kid(f->k1)));
	assert_non_null(strstr(j, "\"crv\":\"" SN_KBS_TOKEN_CRV "\""));
	assert_non_null(strstr(j, "\"alg\":\"" SN_KBS_TOKEN_ALG "\""));
	assert_null(strstr(j, "\"d\""));
	free(j);
}

/* a key on another curve (the other algorithm's) is refused */
static void wrong_curve(void **state)
{
	char path[64];
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
					SN_KBS_TOKEN_ES384 ? "P-256" : "P-384");
	struct sn_kbs_signer *s = NULL;
	FILE *fp;

	snprintf(path, sizeof(path), "/tmp/sn-kbs-curve-%d.pem", getpid());
	fp = fopen(path, "w");
	assert_non_null(fp);
	PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL);
	fclose(fp);
	EVP_PKEY_free(k);
	assert_int_equal(sn_kbs_signer_load(path, false, &s), -EINVAL);
	assert_null(s);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(forged_payload, setup,
						teardown),
		cmocka_unit_test_setup_teardown(wrong_key, setup, teardown),
		cmocka_unit_test_setup_teardown(expired, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(jwks, setup, teardown),
		cmocka_unit_test(wrong_curve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
