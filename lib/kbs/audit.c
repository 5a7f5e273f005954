// SPDX-License-Identifier: Apache-2.0
/*
 * The audit log: append-only (triggers refuse UPDATE and DELETE) and
 * hash-chained, so that an edit, a deletion or a reordering made behind
 * the KBS's back (the file edited directly) is detected by
 * sn_kbs_audit_verify().
 *
 * Canonical bytes of a row (all integers big-endian):
 *   "sealnet-kbs-audit-v1" (20 bytes) || seq (u64) || at (i64)
 *   || for actor, action, subject, outcome, detail: len (u32) || bytes
 *   || prev (32)
 * hash = SHA-256(canonical bytes); prev = the previous row's hash (32 zero
 * bytes for row 1).  audit_head holds the last seq and hash, updated in
 * the same transaction, so that dropping the newest rows is detected too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "sealnet/log.h"
#include "sealnet/util.h"
#include "internal.h"

#define AUDIT_LABEL	"sealnet-kbs-audit-v1"
#define AUDIT_FIELD_MAX 1024 /* longer fields are cut (at append) */

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

int sn_kbs_audit_row_hash(const struct sn_kbs_audit_row *r,
			  uint8_t out[SN_SHA256_LEN])
{
	const char *f[5] = {r->actor, r->action, r->subject, r->outcome,
			    r->detail};
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t b[8];
	int ok;

	if (!md)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(md, AUDIT_LABEL, strlen(AUDIT_LABEL));
	put_be(b, (uint64_t)r->seq, 8);
	ok = ok && EVP_DigestUpdate(md, b, 8);
	put_be(b, (uint64_t)r->at, 8);
	ok = ok && EVP_DigestUpdate(md, b, 8);
	for (int i = 0; i < 5; i++) {
		const char *s = f[i] ? f[i] : "";
		size_t n = strlen(s);

		put_be(b, n, 4);
		ok = ok && EVP_DigestUpdate(md, b, 4) &&
		     EVP_DigestUpdate(md, s, n);
	}
	ok = ok && EVP_DigestUpdate(md, r->prev, SN_SHA256_LEN) &&
	     EVP_DigestFinal_ex(md, out, NULL);
	EVP_MD_CTX_free(md);
	return ok ? 0 : -EIO;
}

static int read_head(struct sn_kbs_store *s, int64_t *seq,
		     uint8_t hash[SN_SHA256_LEN])
{
	sqlite3_stmt *st = NULL;
	int rc, err = 0;

	if (sn_kbs_stmt(s,
			"SELECT seq, hash FROM audit_head"
			" WHERE id=1",
			&st) != SQLITE_OK)
		return sn_kbs_db_err(s, "reading the audit head");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 1) == SN_SHA256_LEN) {
		*seq = sqlite3_column_int64(st, 0);
		memcpy(hash, sqlite3_column_blob(st, 1), SN_SHA256_LEN);
	} else if (rc == SQLITE_DONE) {
		*seq = 0;
		memset(hash, 0, SN_SHA256_LEN);
	} else {
		err = rc == SQLITE_ROW ?
			      -EIO :
			      sn_kbs_db_err(s, "reading the audit head");
	}
	sn_kbs_stmt_done(s, st);
	return err;
}

/* a copy cut to AUDIT_FIELD_MAX bytes with non-printable bytes replaced,
 * so that the log stays one line per field */
static char *field(const char *s)
{
	size_t n = s ? strnlen(s, AUDIT_FIELD_MAX) : 0;
	char *c = malloc(n + 1);

	if (!c)
		return NULL;
	for (size_t i = 0; i < n; i++)
		c[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	c[n] = '\0';
	return c;
}

static bool head_is_ours(struct sn_kbs_store *s);

int sn_kbs_audit_append_tx(struct sn_kbs_store *s,
			   const struct sn_kbs_audit_in *a)
{
	struct sn_kbs_audit_row r = {0};
	char *f[5] = {field(a->actor), field(a->action), field(a->subject),
		      field(a->outcome), field(a->detail)};
	uint8_t h[SN_SHA256_LEN];
	sqlite3_stmt *st = NULL;
	int64_t seq;
	int err;

	for (int i = 0; i < 5; i++)
		if (!f[i]) {
			err = -ENOMEM;
			goto out;
		}
	err = read_head(s, &seq, r.prev);
	if (err)
		goto out;
	/* the first row of this transaction: is the head it extends ours? */
	if (!s->head_dirty)
		s->head_trusted = head_is_ours(s);
	r.seq = seq + 1;
	r.at = (int64_t)time(NULL);
	r.actor = f[0];
	r.action = f[1];
	r.subject = f[2];
	r.outcome = f[3];
	r.detail = f[4];
	err = sn_kbs_audit_row_hash(&r, h);
	if (err)
		goto out;
	if (sn_kbs_stmt(s,
			"INSERT INTO audit (seq, at, actor, action,"
			" subject, outcome, detail, prev, hash) VALUES"
			" (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
			&st) != SQLITE_OK) {
		err = sn_kbs_db_err(s, "appending to the audit log");
		goto out;
	}
	sqlite3_bind_int64(st, 1, r.seq);
	sqlite3_bind_int64(st, 2, r.at);
	for (int i = 0; i < 5; i++)
		sqlite3_bind_text(st, 3 + i, f[i], -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 8, r.prev, SN_SHA256_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 9, h, SN_SHA256_LEN, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err = sn_kbs_db_err(s, "appending to the audit log");
		goto out;
	}
	sn_kbs_stmt_done(s, st);
	st = NULL;
	/* unsigned until the commit signs it (sn_kbs_audit_head_sign_tx) */
	s->head_dirty = true;
	if (sn_kbs_stmt(s,
			"INSERT INTO audit_head (id, seq, hash) VALUES"
			" (1, ?1, ?2) ON CONFLICT(id) DO UPDATE SET"
			" seq=?1, hash=?2, sig=NULL, kid=NULL",
			&st) != SQLITE_OK) {
		err = sn_kbs_db_err(s, "updating the audit head");
		goto out;
	}
	sqlite3_bind_int64(st, 1, r.seq);
	sqlite3_bind_blob(st, 2, h, SN_SHA256_LEN, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = sn_kbs_db_err(s, "updating the audit head");
out:
	sn_kbs_stmt_done(s, st);
	for (int i = 0; i < 5; i++)
		free(f[i]);
	return err;
}

int sn_kbs_audit_append(struct sn_kbs_store *s, const struct sn_kbs_audit_in *a)
{
	int err = sn_kbs_begin(s);

	if (err)
		return err;
	return sn_kbs_end(s, 0, a);
}

static const char *col(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);

	return t ? t : "";
}

int sn_kbs_audit_json(struct sn_kbs_store *s, int64_t after, int limit,
		      char **out)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();
	char *txt;
	int rc;

	if (!arr)
		return -ENOMEM;
	if (sn_kbs_stmt(s,
			"SELECT seq, at, actor, action, subject, outcome,"
			" detail, hash FROM audit WHERE seq > ?1 ORDER BY"
			" seq LIMIT ?2",
			&st) != SQLITE_OK) {
		json_decref(arr);
		return sn_kbs_db_err(s, "reading the audit log");
	}
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char hex[2 * SN_SHA256_LEN + 1] = "";

		if (sqlite3_column_bytes(st, 7) == SN_SHA256_LEN)
			sn_hex_encode(sqlite3_column_blob(st, 7), SN_SHA256_LEN,
				      hex);
		json_array_append_new(
			arr,
			json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "seq",
				  (json_int_t)sqlite3_column_int64(st, 0), "at",
				  (json_int_t)sqlite3_column_int64(st, 1),
				  "actor", col(st, 2), "action", col(st, 3),
				  "subject", col(st, 4), "outcome", col(st, 5),
				  "detail", col(st, 6), "hash", hex));
	}
	sn_kbs_stmt_done(s, st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return sn_kbs_db_err(s, "reading the audit log");
	}
	txt = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (!txt)
		return -ENOMEM;
	*out = txt;
	return 0;
}

static void fail(struct sn_kbs_audit_report *r, int64_t seq, const char *what)
{
	if (!r->ok)
		return;
	r->ok = false;
	r->bad_seq = seq;
	snprintf(r->what, sizeof(r->what), "%s", what);
}

static int check_head_sig(struct sn_kbs_store *s,
			  struct sn_kbs_signer *const *keys, size_t n,
			  int64_t last, struct sn_kbs_audit_report *r);

static int verify(struct sn_kbs_store *s, struct sn_kbs_signer *const *keys,
		  size_t n_keys, struct sn_kbs_audit_report *out)
{
	struct sn_kbs_audit_report r = {.ok = true};
	uint8_t running[SN_SHA256_LEN] = {0}, head[SN_SHA256_LEN];
	sqlite3_stmt *st = NULL;
	int64_t expect = 1, head_seq;
	int rc, err;

	err = sn_kbs_exec(s, "BEGIN"); /* one consistent snapshot */
	if (err)
		return err;
	err = read_head(s, &head_seq, head);
	if (err)
		goto out;
	if (sn_kbs_stmt(s,
			"SELECT seq, at, actor, action, subject, outcome,"
			" detail, prev, hash FROM audit ORDER BY seq",
			&st) != SQLITE_OK) {
		err = sn_kbs_db_err(s, "reading the audit log");
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct sn_kbs_audit_row row = {
			.seq = sqlite3_column_int64(st, 0),
			.at = sqlite3_column_int64(st, 1),
			.actor = col(st, 2),
			.action = col(st, 3),
			.subject = col(st, 4),
			.outcome = col(st, 5),
			.detail = col(st, 6),
		};
		uint8_t h[SN_SHA256_LEN];
		char what[160];

		r.rows++;
		if (row.seq != expect) {
			snprintf(what, sizeof(what),
				 "row %lld follows row %lld: rows are missing",
				 (long long)row.seq, (long long)expect - 1);
			fail(&r, row.seq, what);
		}
		if (sqlite3_column_bytes(st, 7) != SN_SHA256_LEN ||
		    sqlite3_column_bytes(st, 8) != SN_SHA256_LEN) {
			fail(&r, row.seq, "a hash column is not 32 bytes");
			break;
		}
		memcpy(row.prev, sqlite3_column_blob(st, 7), SN_SHA256_LEN);
		if (sn_memeq_ct(row.prev, running, SN_SHA256_LEN))
			fail(&r, row.seq,
			     "prev is not the hash of the row before it "
			     "(a row was deleted, inserted or moved)");
		err = sn_kbs_audit_row_hash(&row, h);
		if (err)
			goto out;
		if (sn_memeq_ct(h, sqlite3_column_blob(st, 8), SN_SHA256_LEN))
			fail(&r, row.seq,
			     "the row's content does not match its hash "
			     "(the row was edited)");
		memcpy(running, h, SN_SHA256_LEN);
		expect = row.seq + 1;
	}
	if (rc != SQLITE_DONE) {
		err = sn_kbs_db_err(s, "reading the audit log");
		goto out;
	}
	if (head_seq != expect - 1 ||
	    sn_memeq_ct(head, running, SN_SHA256_LEN)) {
		char what[160];

		snprintf(what, sizeof(what),
			 "the head (row %lld) is not the last row (%lld): the "
			 "newest rows were removed or edited",
			 (long long)head_seq, (long long)expect - 1);
		fail(&r, expect - 1, what);
	}
	memcpy(r.head, running, SN_SHA256_LEN);
	if (keys && r.ok)
		err = check_head_sig(s, keys, n_keys, expect - 1, &r);
out:
	sn_kbs_stmt_done(s, st);
	sn_kbs_rollback(s);
	if (!err)
		*out = r;
	return err;
}

int sn_kbs_audit_verify(struct sn_kbs_store *s, struct sn_kbs_audit_report *out)
{
	return verify(s, NULL, 0, out);
}

int sn_kbs_audit_verify_signed(struct sn_kbs_store *s,
			       struct sn_kbs_signer *const *keys, size_t n,
			       struct sn_kbs_audit_report *out)
{
	static struct sn_kbs_signer *const none[1];

	/* no keys: every signed head fails ("no key"), not skipped */
	return verify(s, keys ? keys : none, keys ? n : 0, out);
}

/* --- the signed head ------------------------------------------------------ */

#define HEAD_LABEL "sealnet-kbs-audit-head-v1" /* 25 bytes, then 0x00 */

void sn_kbs_audit_head_msg(int64_t seq, const uint8_t hash[SN_SHA256_LEN],
			   uint8_t out[SN_KBS_AUDIT_HEAD_MSG_LEN])
{
	memcpy(out, HEAD_LABEL, sizeof(HEAD_LABEL)); /* with its NUL */
	put_be(out + 26, (uint64_t)seq, 8);
	memcpy(out + 34, hash, SN_SHA256_LEN);
}

void sn_kbs_store_set_head_keys(struct sn_kbs_store *s,
				size_t (*fn)(void *arg,
					     const struct sn_kbs_signer **out,
					     size_t cap))
{
	s->head_keys = fn;
}

/* the head as stored now: empty, or signed by one of the head keys (no
 * head keys set: trusted, the library's plain behaviour) */
static bool head_is_ours(struct sn_kbs_store *s)
{
	const struct sn_kbs_signer *keys[8];
	struct sn_kbs_audit_head h;
	uint8_t msg[SN_KBS_AUDIT_HEAD_MSG_LEN];
	size_t n;

	if (s->head_adopt || !s->head_keys)
		return true;
	if (sn_kbs_audit_head_get(s, &h))
		return false;
	if (!h.seq)
		return true;
	if (!h.is_signed)
		return false;
	n = s->head_keys(s->head_arg, keys, 8);
	sn_kbs_audit_head_msg(h.seq, h.hash, msg);
	for (size_t i = 0; i < n; i++)
		if (keys[i] && !strcmp(sn_kbs_signer_kid(keys[i]), h.kid))
			return !sn_kbs_signer_verify_raw(keys[i], msg,
							 sizeof(msg), h.sig);
	return false;
}

int sn_kbs_audit_adopt(struct sn_kbs_store *s, const struct sn_kbs_audit_in *a)
{
	int err;

	s->head_adopt = true;
	err = sn_kbs_audit_append(s, a);
	s->head_adopt = false;
	return err;
}

void sn_kbs_store_set_head_signer(struct sn_kbs_store *s,
				  const struct sn_kbs_signer *(*fn)(void *arg),
				  void *arg)
{
	s->head_signer = fn;
	s->head_arg = arg;
}

int sn_kbs_audit_head_get(struct sn_kbs_store *s, struct sn_kbs_audit_head *out)
{
	struct sn_kbs_audit_head h = {0};
	sqlite3_stmt *st = NULL;
	int rc, err = 0;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT seq, hash, sig, kid FROM audit_head"
			       " WHERE id=1",
			       -1, &st, NULL) != SQLITE_OK)
		return sn_kbs_db_err(s, "reading the audit head");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *kid = (const char *)sqlite3_column_text(st, 3);

		h.seq = sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) != SN_SHA256_LEN)
			err = -EIO;
		else
			memcpy(h.hash, sqlite3_column_blob(st, 1),
			       SN_SHA256_LEN);
		if (!err && sqlite3_column_bytes(st, 2) == SN_KBS_SIG_LEN &&
		    kid && strlen(kid) < sizeof(h.kid)) {
			memcpy(h.sig, sqlite3_column_blob(st, 2),
			       SN_KBS_SIG_LEN);
			snprintf(h.kid, sizeof(h.kid), "%s", kid);
			h.is_signed = true;
		}
	} else if (rc != SQLITE_DONE) {
		err = sn_kbs_db_err(s, "reading the audit head");
	}
	sqlite3_finalize(st);
	if (!err)
		*out = h;
	return err;
}

int sn_kbs_audit_head_sign_tx(struct sn_kbs_store *s)
{
	const struct sn_kbs_signer *k;
	struct sn_kbs_audit_head h;
	uint8_t msg[SN_KBS_AUDIT_HEAD_MSG_LEN], sig[SN_KBS_SIG_LEN];
	sqlite3_stmt *st = NULL;
	int err;

	if (!s->head_dirty || !s->head_signer)
		return 0;
	if (!s->head_trusted) {
		/* never sign over a head we did not sign: the new head stays
		 * unsigned (set so at append) and verify keeps reporting it */
		sn_err("kbs: the audit head this commit extends is not signed "
		       "by this KBS's keys (the log was written or rewritten "
		       "by something else): the new head is left unsigned; "
		       "check the chain ('sealnet kbs audit verify'), then "
		       "'sealnet-kbs --adopt-audit-head' if it is right");
		s->head_dirty = false;
		return 0;
	}
	k = s->head_signer(s->head_arg);
	if (!k)
		return -ENOKEY;
	err = sn_kbs_audit_head_get(s, &h);
	if (err)
		return err;
	sn_kbs_audit_head_msg(h.seq, h.hash, msg);
	err = sn_kbs_signer_sign_raw(k, msg, sizeof(msg), sig);
	if (err) {
		sn_err("kbs: signing the audit head failed");
		return err;
	}
	if (sqlite3_prepare_v2(s->db,
			       "UPDATE audit_head SET sig=?1, kid=?2"
			       " WHERE id=1",
			       -1, &st, NULL) != SQLITE_OK)
		return sn_kbs_db_err(s, "signing the audit head");
	sqlite3_bind_blob(st, 1, sig, sizeof(sig), SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sn_kbs_signer_kid(k), -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = sn_kbs_db_err(s, "signing the audit head");
	sqlite3_finalize(st);
	if (!err)
		s->head_dirty = false;
	return err;
}

/* inside verify's read transaction: the head (row last) signed by one of
 * keys */
static int check_head_sig(struct sn_kbs_store *s,
			  struct sn_kbs_signer *const *keys, size_t n,
			  int64_t last, struct sn_kbs_audit_report *r)
{
	struct sn_kbs_audit_head h;
	uint8_t msg[SN_KBS_AUDIT_HEAD_MSG_LEN];
	const struct sn_kbs_signer *k = NULL;
	char what[160];
	int err = sn_kbs_audit_head_get(s, &h);

	if (err)
		return err;
	if (!h.seq && !last)
		return 0; /* an empty log: nothing to sign */
	if (!h.is_signed) {
		fail(r, last,
		     "head: not signed (written by something else than the "
		     "KBS, or the signature was removed)");
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (keys[i] && !strcmp(sn_kbs_signer_kid(keys[i]), h.kid))
			k = keys[i];
	if (!k) {
		snprintf(what, sizeof(what),
			 "head: signed by key %s, which is not among the keys "
			 "given",
			 h.kid);
		fail(r, last, what);
		return 0;
	}
	sn_kbs_audit_head_msg(h.seq, h.hash, msg);
	if (sn_kbs_signer_verify_raw(k, msg, sizeof(msg), h.sig))
		fail(r, last,
		     "head: the signature does not verify (the chain was "
		     "rewritten, or the head edited)");
	return 0;
}
