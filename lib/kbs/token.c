// SPDX-License-Identifier: Apache-2.0
/*
 * Attestation-result tokens: compact JWS (RFC 7515) with ES256 (RFC 7518
 * §3.4: ECDSA P-256 / SHA-256, signature r || s, 32 bytes each; ES384 with
 * -DSN_KBS_TOKEN_ES384=1, include/sealnet/kbs.h), signed and verified
 * with OpenSSL directly (docs/kbs-api.md says why, and why ES256).  The
 * verifier is strict: the header must be exactly {"alg":"ES256",
 * "typ":"JWT","kid":<this key's>}, every claim present with its type.
 * Also: the JWKS parser and the check of a peer's token in MAKE.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "sealnet/kbs.h"
#include "sealnet/log.h"
#include "sealnet/util.h"

/* the curve's coordinate and signature-half size, its group, digest */
#if SN_KBS_TOKEN_ES384
#define TOK_LEN  48
#define TOK_GROUP  "secp384r1"
#define TOK_MD()   EVP_sha384()
#else
#define TOK_LEN  32
#define TOK_GROUP  "prime256v1"
#define TOK_MD()   EVP_sha256()
#endif
#define IAT_SKEW  60

struct sn_kbs_signer {
	EVP_PKEY *key;
	bool priv;
	char x[72], y[72]; /* base64url coordinates */
	char kid[48];
};

static int coords(struct sn_kbs_signer *k)
{
	uint8_t pub[1 + 2 * TOK_LEN], h[SN_SHA256_LEN];
	char *x = NULL, *y = NULL, *kid = NULL, tp[256];
	size_t n = 0;
	int err;

	if (EVP_PKEY_get_octet_string_param(k->key,
					    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
					    pub, sizeof(pub), &n) != 1 ||
	    n != sizeof(pub) || pub[0] != 4)
		return -EINVAL;
	err = sn_kbs_b64url_encode(pub + 1, TOK_LEN, &x);
	if (!err)
		err = sn_kbs_b64url_encode(pub + 1 + TOK_LEN, TOK_LEN, &y);
	if (!err) {
		/* RFC 7638: required members, lexicographic, no spaces */
		snprintf(tp, sizeof(tp),
			 "{\"crv\":\"" SN_KBS_TOKEN_CRV "\",\"kty\":\"EC\",\"x\":\"%s\","
			 "\"y\":\"%s\"}",
			 x, y);
		if (EVP_Digest(tp, strlen(tp), h, NULL, EVP_sha256(), NULL) !=
		    1)
			err = -EIO;
	}
	if (!err)
		err = sn_kbs_b64url_encode(h, sizeof(h), &kid);
	if (!err) {
		snprintf(k->x, sizeof(k->x), "%s", x);
		snprintf(k->y, sizeof(k->y), "%s", y);
		snprintf(k->kid, sizeof(k->kid), "%s", kid);
	}
	free(x);
	free(y);
	free(kid);
	return err;
}

static int is_token_curve(EVP_PKEY *k)
{
	char g[32];

	return EVP_PKEY_is_a(k, "EC") &&
	       EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, g,
					      sizeof(g), NULL) == 1 &&
	       !strcmp(g, TOK_GROUP);
}

static int wrap(EVP_PKEY *key, bool priv, struct sn_kbs_signer **out)
{
	struct sn_kbs_signer *k;
	int err;

	if (!is_token_curve(key)) {
		sn_err("token key: not an EC " SN_KBS_TOKEN_CRV " key (" SN_KBS_TOKEN_ALG " needs one); move the old key file away to have a new one created");
		EVP_PKEY_free(key);
		return -EINVAL;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		EVP_PKEY_free(key);
		return -ENOMEM;
	}
	k->key = key;
	k->priv = priv;
	err = coords(k);
	if (err) {
		sn_kbs_signer_free(k);
		return err;
	}
	*out = k;
	return 0;
}

int sn_kbs_signer_load(const char *path, bool create,
		       struct sn_kbs_signer **out)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *key;
	int fd;

	if (f) {
		key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		if (!key) {
			sn_err("token key %s: not a PEM private key", path);
			return -EINVAL;
		}
		return wrap(key, true, out);
	}
	if (errno != ENOENT || !create) {
		sn_err("token key %s: %s", path, strerror(errno));
		return -errno;
	}
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", SN_KBS_TOKEN_CRV);
	if (!key)
		return -EIO;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f ||
	    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    fflush(f) || fsync(fileno(f))) {
		sn_err("token key %s: could not write a new key: %s", path,
		       strerror(errno));
		if (f)
			fclose(f);
		else if (fd >= 0)
			close(fd);
		unlink(path);
		EVP_PKEY_free(key);
		return -EIO;
	}
	fclose(f);
	sn_info("token key %s: created a new " SN_KBS_TOKEN_CRV " key", path);
	return wrap(key, true, out);
}

int sn_kbs_signer_from_pem(const char *pem, size_t len,
			   struct sn_kbs_signer **out)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	bool priv = key != NULL;

	if (b && !key) {
		BIO_free(b);
		b = BIO_new_mem_buf(pem, (int)len);
		key = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
	}
	BIO_free(b);
	if (!key)
		return -EINVAL;
	return wrap(key, priv, out);
}

void sn_kbs_signer_free(struct sn_kbs_signer *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->key);
	free(k);
}

const char *sn_kbs_signer_kid(const struct sn_kbs_signer *k)
{
	return k->kid;
}

int sn_kbs_jwks_json(const struct sn_kbs_signer *k, char **out)
{
	json_t *o = json_pack("{s:[{s:s,s:s,s:s,s:s,s:s,s:s,s:s}]}", "keys",
			      "kty", "EC", "crv", SN_KBS_TOKEN_CRV, "x", k->x, "y", k->y,
			      "kid", k->kid, "alg", SN_KBS_TOKEN_ALG, "use", "sig");
	char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (!t)
		return -ENOMEM;
	*out = t;
	return 0;
}

static json_t *claims_json(const struct sn_kbs_claims *c)
{
	char *cnf = NULL, *rek = NULL;
	json_t *o = NULL;

	if (sn_kbs_b64url_encode(c->cnf_spki, SN_SHA256_LEN, &cnf) ||
	    sn_kbs_b64url_encode(c->rek, SN_KBS_REK_LEN, &rek))
		goto out;
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,"
		      "s:{s:i,s:i,s:i,s:i,s:i},s:{s:s,s:s},s:I,s:I,s:s}",
		      "iss", c->iss, "sub", c->sub, "domain", c->domain,
		      "stage", c->stage, "manifest", c->manifest, "tee", c->tee,
		      "measurement", c->measurement, "tcb", "bootloader",
		      (int)c->tcb.bootloader, "tee", (int)c->tcb.tee, "snp",
		      (int)c->tcb.snp, "microcode", (int)c->tcb.microcode,
		      "fmc", (int)c->tcb.fmc, "cnf", "spki#S256", cnf, "rek",
		      rek, "iat", (json_int_t)c->iat, "exp", (json_int_t)c->exp,
		      "jti", c->jti);
out:
	free(cnf);
	free(rek);
	return o;
}

static int b64_json(json_t *o, char **out)
{
	char *t = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	int err;

	if (!t)
		return -ENOMEM;
	err = sn_kbs_b64url_encode((const uint8_t *)t, strlen(t), out);
	free(t);
	return err;
}

int sn_kbs_token_sign(const struct sn_kbs_signer *k,
		      const struct sn_kbs_claims *c, char **out)
{
	json_t *hdr = json_pack("{s:s,s:s,s:s}", "alg", SN_KBS_TOKEN_ALG, "typ", "JWT",
				"kid", k->kid);
	json_t *pl = claims_json(c);
	char *h = NULL, *p = NULL, *sig_s = NULL, *input = NULL, *tok = NULL;
	uint8_t der[160], rs[2 * TOK_LEN];
	size_t der_len = sizeof(der);
	const uint8_t *dp = der;
	ECDSA_SIG *sig = NULL;
	EVP_MD_CTX *md = NULL;
	int err = -EIO;

	if (!k->priv || !hdr || !pl) {
		err = k->priv ? -ENOMEM : -EINVAL;
		goto out;
	}
	if (b64_json(hdr, &h) || b64_json(pl, &p))
		goto out;
	if (asprintf(&input, "%s.%s", h, p) < 0) {
		input = NULL;
		goto out;
	}
	md = EVP_MD_CTX_new();
	if (!md ||
	    EVP_DigestSignInit(md, NULL, TOK_MD(), NULL, k->key) != 1 ||
	    EVP_DigestSign(md, der, &der_len, (const uint8_t *)input,
			   strlen(input)) != 1)
		goto out;
	sig = d2i_ECDSA_SIG(NULL, &dp, (long)der_len);
	if (!sig ||
	    BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, TOK_LEN) != TOK_LEN ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + TOK_LEN, TOK_LEN) !=
		    TOK_LEN ||
	    sn_kbs_b64url_encode(rs, sizeof(rs), &sig_s))
		goto out;
	if (asprintf(&tok, "%s.%s", input, sig_s) < 0) {
		tok = NULL;
		goto out;
	}
	err = 0;
	*out = tok;
out:
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	json_decref(hdr);
	json_decref(pl);
	free(h);
	free(p);
	free(sig_s);
	free(input);
	return err;
}

/* r || s (96 bytes) over input with the key: 0 or -EBADMSG */
static int verify_sig(const struct sn_kbs_signer *k, const char *input,
		      size_t len, const uint8_t rs[2 * TOK_LEN])
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(rs, TOK_LEN, NULL);
	BIGNUM *s = BN_bin2bn(rs + TOK_LEN, TOK_LEN, NULL);
	uint8_t *der = NULL;
	EVP_MD_CTX *md = NULL;
	int n, ok = 0;

	if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	n = i2d_ECDSA_SIG(sig, &der);
	md = EVP_MD_CTX_new();
	ok = n > 0 && md &&
	     EVP_DigestVerifyInit(md, NULL, TOK_MD(), NULL, k->key) == 1 &&
	     EVP_DigestVerify(md, der, (size_t)n, (const uint8_t *)input,
			      len) == 1;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	ECDSA_SIG_free(sig);
	return ok ? 0 : -EBADMSG;
}

int sn_kbs_signer_sign_raw(const struct sn_kbs_signer *k, const uint8_t *msg,
			   size_t len, uint8_t sig[SN_KBS_SIG_LEN])
{
	uint8_t der[160];
	size_t der_len = sizeof(der);
	const uint8_t *dp = der;
	ECDSA_SIG *s = NULL;
	EVP_MD_CTX *md = NULL;
	int err = -EIO;

	if (!k->priv)
		return -EINVAL;
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, TOK_MD(), NULL, k->key) != 1 ||
	    EVP_DigestSign(md, der, &der_len, msg, len) != 1)
		goto out;
	s = d2i_ECDSA_SIG(NULL, &dp, (long)der_len);
	if (s && BN_bn2binpad(ECDSA_SIG_get0_r(s), sig, TOK_LEN) == TOK_LEN &&
	    BN_bn2binpad(ECDSA_SIG_get0_s(s), sig + TOK_LEN, TOK_LEN) ==
		    TOK_LEN)
		err = 0;
out:
	ECDSA_SIG_free(s);
	EVP_MD_CTX_free(md);
	return err;
}

int sn_kbs_signer_verify_raw(const struct sn_kbs_signer *k, const uint8_t *msg,
			     size_t len, const uint8_t sig[SN_KBS_SIG_LEN])
{
	return verify_sig(k, (const char *)msg, len, sig);
}

/* base64url part [b, e) decoded to JSON */
static json_t *part_json(const char *b, const char *e)
{
	uint8_t *d = NULL;
	size_t n = 0;
	json_t *o;

	if (sn_kbs_b64url_decode(b, (size_t)(e - b), &d, &n))
		return NULL;
	o = json_loadb((const char *)d, n, JSON_REJECT_DUPLICATES, NULL);
	free(d);
	if (o && !json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int copy_str(char *dst, size_t cap, const char *s)
{
	if (strlen(s) >= cap)
		return -EINVAL;
	strcpy(dst, s);
	return 0;
}

static int parse_claims(json_t *o, struct sn_kbs_claims *c)
{
	const char *iss, *sub, *dom, *stage, *man, *tee, *meas, *cnf, *rek,
		*jti;
	json_int_t iat, exp;
	int bl, te, snp, mc, fmc;

	if (json_unpack(o,
			"{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:{s:i,s:i,s:i,s:i,s:i!},"
			"s:{s:s,s:s!},s:I,s:I,s:s!}",
			"iss", &iss, "sub", &sub, "domain", &dom, "stage",
			&stage, "manifest", &man, "tee", &tee, "measurement",
			&meas, "tcb", "bootloader", &bl, "tee", &te, "snp",
			&snp, "microcode", &mc, "fmc", &fmc, "cnf", "spki#S256",
			&cnf, "rek", &rek, "iat", &iat, "exp", &exp, "jti",
			&jti))
		return -EINVAL;
	if (copy_str(c->iss, sizeof(c->iss), iss) ||
	    copy_str(c->sub, sizeof(c->sub), sub) ||
	    copy_str(c->domain, sizeof(c->domain), dom) ||
	    copy_str(c->stage, sizeof(c->stage), stage) ||
	    copy_str(c->manifest, sizeof(c->manifest), man) ||
	    copy_str(c->tee, sizeof(c->tee), tee) ||
	    copy_str(c->measurement, sizeof(c->measurement), meas) ||
	    copy_str(c->jti, sizeof(c->jti), jti) ||
	    sn_kbs_b64url_decode_fixed(cnf, c->cnf_spki, SN_SHA256_LEN) ||
	    sn_kbs_b64url_decode_fixed(rek, c->rek, SN_KBS_REK_LEN))
		return -EINVAL;
	if (bl < 0 || bl > 255 || te < 0 || te > 255 || snp < 0 || snp > 255 ||
	    mc < 0 || mc > 255 || fmc < 0 || fmc > 255)
		return -EINVAL;
	c->tcb.bootloader = (uint8_t)bl;
	c->tcb.tee = (uint8_t)te;
	c->tcb.snp = (uint8_t)snp;
	c->tcb.microcode = (uint8_t)mc;
	c->tcb.fmc = (uint8_t)fmc;
	c->iat = iat;
	c->exp = exp;
	return 0;
}

int sn_kbs_token_verify(const struct sn_kbs_signer *k, const char *tok,
			size_t len, time_t now, struct sn_kbs_claims *out)
{
	const char *d1, *d2, *end = tok + len;
	struct sn_kbs_claims c = {0};
	const char *alg, *typ, *kid;
	json_t *hdr = NULL, *pl = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int err = -EINVAL;

	if (!len || len > SN_KBS_TOKEN_MAX || memchr(tok, '\0', len))
		return -EINVAL;
	d1 = memchr(tok, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', (size_t)(end - d1 - 1)) : NULL;
	if (!d2 || memchr(d2 + 1, '.', (size_t)(end - d2 - 1)))
		return -EINVAL;
	hdr = part_json(tok, d1);
	pl = part_json(d1 + 1, d2);
	if (!hdr || !pl ||
	    sn_kbs_b64url_decode(d2 + 1, (size_t)(end - d2 - 1), &sig,
				 &sig_len) ||
	    sig_len != 2 * TOK_LEN)
		goto out;
	if (json_unpack(hdr, "{s:s,s:s,s:s!}", "alg", &alg, "typ", &typ, "kid",
			&kid) ||
	    strcmp(alg, SN_KBS_TOKEN_ALG) || strcmp(typ, "JWT"))
		goto out;
	if (strcmp(kid, k->kid)) {
		err = -EKEYREJECTED;
		goto out;
	}
	err = verify_sig(k, tok, (size_t)(d2 - tok), sig);
	if (err)
		goto out;
	err = parse_claims(pl, &c);
	if (err)
		goto out;
	if (c.exp <= (int64_t)now)
		err = -EKEYEXPIRED;
	else if (c.iat > (int64_t)now + IAT_SKEW)
		err = -ETIME;
out:
	json_decref(hdr);
	json_decref(pl);
	free(sig);
	if (!err)
		*out = c;
	return err;
}

/* one JWK {"kty":"EC","crv":"P-384","x","y","kid",...}: the published kid
 * must be the key's RFC 7638 thumbprint */
static int from_jwk(json_t *j, struct sn_kbs_signer **out)
{
	const char *kty, *crv, *x, *y, *kid;
	uint8_t *xb = NULL, *yb = NULL, pub[1 + 2 * TOK_LEN];
	size_t xl = 0, yl = 0;
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *pc = NULL;
	EVP_PKEY *key = NULL;
	struct sn_kbs_signer *k = NULL;
	int err = -EINVAL;

	if (json_unpack(j, "{s:s,s:s,s:s,s:s,s:s}", "kty", &kty, "crv", &crv,
			"x", &x, "y", &y, "kid", &kid) ||
	    strcmp(kty, "EC") || strcmp(crv, SN_KBS_TOKEN_CRV) ||
	    sn_kbs_b64url_decode(x, strlen(x), &xb, &xl) ||
	    sn_kbs_b64url_decode(y, strlen(y), &yb, &yl) ||
	    xl != TOK_LEN || yl != TOK_LEN)
		goto out;
	pub[0] = 0x04;
	memcpy(pub + 1, xb, xl);
	memcpy(pub + 1 + xl, yb, yl);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						     (char *)SN_KBS_TOKEN_CRV, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
						      pub, sizeof(pub));
	params[2] = OSSL_PARAM_construct_end();
	pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!pc || EVP_PKEY_fromdata_init(pc) != 1 ||
	    EVP_PKEY_fromdata(pc, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	err = wrap(key, false, &k); /* takes key */
	key = NULL;
	if (err)
		goto out;
	if (strcmp(k->kid, kid)) {
		sn_kbs_signer_free(k);
		err = -EKEYREJECTED;
		goto out;
	}
	*out = k;
out:
	EVP_PKEY_free(key);
	EVP_PKEY_CTX_free(pc);
	free(xb);
	free(yb);
	return err;
}

int sn_kbs_jwks_parse(const char *json, size_t len,
		      struct sn_kbs_signer **keys, size_t cap, size_t *n)
{
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *arr = root ? json_object_get(root, "keys") : NULL, *j;
	size_t i, got = 0;
	int err = 0;

	if (!json_is_array(arr) || !json_array_size(arr) ||
	    json_array_size(arr) > cap) {
		json_decref(root);
		return -EINVAL;
	}
	json_array_foreach(arr, i, j) {
		err = from_jwk(j, &keys[got]);
		if (err)
			break;
		got++;
	}
	json_decref(root);
	if (err) {
		while (got)
			sn_kbs_signer_free(keys[--got]);
		return err;
	}
	*n = got;
	return 0;
}

int sn_kbs_token_check_peer(struct sn_kbs_signer *const *keys, size_t n,
			    const char *tok, size_t len, time_t now,
			    const uint8_t spki_sha256[SN_SHA256_LEN],
			    const char *expect_sub, struct sn_kbs_claims *out,
			    char *why, size_t cap)
{
	struct sn_kbs_claims c;
	int err = -EKEYREJECTED;

	for (size_t i = 0; i < n && err == -EKEYREJECTED; i++)
		err = sn_kbs_token_verify(keys[i], tok, len, now, &c);
	switch (err) {
	case 0:
		break;
	case -EKEYREJECTED:
		snprintf(why, cap, "signed with a key (kid) the KBS does not publish");
		return err;
	case -EBADMSG:
		snprintf(why, cap, "the signature does not verify");
		return err;
	case -EKEYEXPIRED:
		snprintf(why, cap, "expired");
		return err;
	case -ETIME:
		snprintf(why, cap, "issued in the future");
		return err;
	default:
		snprintf(why, cap, "malformed");
		return -EINVAL;
	}
	if (CRYPTO_memcmp(c.cnf_spki, spki_sha256, SN_SHA256_LEN)) {
		snprintf(why, cap, "bound (cnf) to another TLS key than this "
				   "session's certificate");
		return -EPERM;
	}
	if (expect_sub && strcmp(c.sub, expect_sub)) {
		snprintf(why, cap, "issued to node \"%s\", expected \"%s\"",
			 c.sub, expect_sub);
		return -EPERM;
	}
	*out = c;
	return 0;
}
