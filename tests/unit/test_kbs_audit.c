// SPDX-License-Identifier: Apache-2.0
/*
 * lib/kbs audit log: the chain verifies; an edited, deleted, reordered or
 * forged row and a dropped tail are each detected (the file is tampered
 * with directly, as an attacker with the database would); the triggers
 * refuse UPDATE and DELETE through SQL; the store survives a reopen and
 * records its schema version.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "kbs_fixture.h"
#include "sealnet/kbs.h"

static int setup(void **state)
{
	struct fx *f;

	kbs_fx_setup(state, "kbs-audit");
	f = *state;
	for (int i = 1; i <= 5; i++) {
		char detail[32];
		const struct sn_kbs_audit_in a = {"admin:test", "enrol", "n",
						  "ok", detail};

		snprintf(detail, sizeof(detail), "entry %d", i);
		assert_int_equal(sn_kbs_audit_append(f->st, &a), 0);
	}
	return 0;
}

static int teardown(void **state)
{
	return kbs_fx_teardown(state);
}

/* tamper with the file through a second connection, triggers dropped */
static void tamper(struct fx *f, const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	assert_int_equal(sqlite3_exec(db,
				      "DROP TRIGGER IF EXISTS audit_no_update;"
				      "DROP TRIGGER IF EXISTS audit_no_delete;",
				      NULL, NULL, &msg),
			 SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("tamper: %s", msg);
	sqlite3_close(db);
}

static void verify(struct fx *f, struct sn_kbs_audit_report *r)
{
	assert_int_equal(sn_kbs_audit_verify(f->st, r), 0);
}

static void chain_ok(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_audit_report r;
	int v;

	verify(f, &r);
	assert_true(r.ok);
	assert_int_equal(r.rows, 5);
	assert_int_equal(sn_kbs_store_version(f->st, &v), 0);
	assert_int_equal(v, SN_KBS_SCHEMA_VERSION);
	/* reopen: same chain, appends continue it */
	sn_kbs_store_close(f->st);
	assert_int_equal(sn_kbs_store_open(f->path, &f->st), 0);
	{
		const struct sn_kbs_audit_in a = {"x", "y", "z", "ok", ""};

		assert_int_equal(sn_kbs_audit_append(f->st, &a), 0);
	}
	verify(f, &r);
	assert_true(r.ok);
	assert_int_equal(r.rows, 6);
}

static void sql_update_refused(void **state)
{
	struct fx *f = *state;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE audit SET detail='x'",
					  NULL, NULL, NULL),
			     SQLITE_OK);
	assert_int_not_equal(
		sqlite3_exec(db, "DELETE FROM audit", NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
}

static void edit_detected(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_audit_report r;

	tamper(f, "UPDATE audit SET detail='nothing' WHERE seq=3");
	verify(f, &r);
	assert_false(r.ok);
	assert_int_equal(r.bad_seq, 3);
	assert_non_null(strstr(r.what, "edited"));
}

static void edit_time_detected(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_audit_report r;

	tamper(f, "UPDATE audit SET at=at-3600 WHERE seq=2");
	verify(f, &r);
	assert_false(r.ok);
	assert_int_equal(r.bad_seq, 2);
}

static void delete_detected(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_audit_report r;

	tamper(f, "DELETE FROM audit WHERE seq=3");
	verify(f, &r);
	assert_false(r.ok);
	assert_int_equal(r.bad_seq, 4);
}

/* the deleted row's successors renumbered: only the chain (prev) shows it */
static void delete_renumbered_detected(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_audit_report r;

	tamper(f, "DELETE FROM audit WHERE seq=3;"
		  "UPDATE audit SET seq=seq-1 WHERE seq>3;"
		  "UPDATE audit_head SET seq=4");
	verify(f, &r);
	assert_false(r.ok);
	assert_int_equal(r.bad_seq, 3);
}

static void reorder_detected(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_audit_report r;

	tamper(f, "UPDATE audit SET seq=100 WHERE seq=2;"
		  "UPDATE audit SET seq=2 WHERE seq=3;"
		  "UPDATE audit SET seq=3 WHERE seq=100");
	verify(f, &r);
	assert_false(r.ok);
	assert_int_equal(r.bad_seq, 2);
}

/* row 3 replaced by a self-consistent forgery (its own hash recomputed
 * over the forged content and the right prev): row 4's prev shows it */
static void forged_row_detected(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_audit_report r;
	struct sn_kbs_audit_row row = {.seq = 3,
				       .at = 1000,
				       .actor = "admin:test",
				       .action = "enrol",
				       .subject = "n",
				       .outcome = "ok",
				       .detail = "forged"};
	uint8_t h[32];
	char sql[512], hex[65];
	sqlite3 *db;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
		sqlite3_prepare_v2(db, "SELECT prev FROM audit WHERE seq=3", -1,
				   &st, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	memcpy(row.prev, sqlite3_column_blob(st, 0), 32);
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_int_equal(sn_kbs_audit_row_hash(&row, h), 0);
	for (int i = 0; i < 32; i++) {
		sprintf(hex + 2 * i, "%02x", h[i]);
	}
	snprintf(sql, sizeof(sql),
		 "UPDATE audit SET at=1000, detail='forged', hash=x'%s' WHERE "
		 "seq=3",
		 hex);
	tamper(f, sql);
	verify(f, &r);
	assert_false(r.ok);
	assert_int_equal(r.bad_seq, 4);
	assert_non_null(strstr(r.what, "prev"));
}

static void tail_drop_detected(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_audit_report r;

	tamper(f, "DELETE FROM audit WHERE seq=5");
	verify(f, &r);
	assert_false(r.ok);
	assert_non_null(strstr(r.what, "head"));
}

/* the rewrite an attacker with write access to the file can do: edit row
 * `from`, then recompute prev and hash of it and every later row and the
 * head's hash, so that the unkeyed chain verifies again */
static void rewrite(struct fx *f, int64_t from, const char *detail)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	uint8_t running[32] = {0};
	char sql[200];

	tamper(f, "SELECT 1");
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	snprintf(sql, sizeof(sql),
		 "UPDATE audit SET detail='%s' WHERE seq=%lld", detail,
		 (long long)from);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT seq, at, actor, action, "
					    "subject, outcome, detail, hash "
					    "FROM audit ORDER BY seq",
					    -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct sn_kbs_audit_row r = {
			.seq = sqlite3_column_int64(st, 0),
			.at = sqlite3_column_int64(st, 1),
			.actor = (const char *)sqlite3_column_text(st, 2),
			.action = (const char *)sqlite3_column_text(st, 3),
			.subject = (const char *)sqlite3_column_text(st, 4),
			.outcome = (const char *)sqlite3_column_text(st, 5),
			.detail = (const char *)sqlite3_column_text(st, 6),
		};
		uint8_t h[32];
		sqlite3_stmt *up;

		memcpy(r.prev, running, 32);
		assert_int_equal(sn_kbs_audit_row_hash(&r, h), 0);
		if (r.seq >= from) {
			assert_int_equal(
				sqlite3_prepare_v2(db,
						   "UPDATE audit SET prev=?1, "
						   "hash=?2 WHERE seq=?3",
						   -1, &up, NULL),
				SQLITE_OK);
			sqlite3_bind_blob(up, 1, r.prev, 32, SQLITE_TRANSIENT);
			sqlite3_bind_blob(up, 2, h, 32, SQLITE_TRANSIENT);
			sqlite3_bind_int64(up, 3, r.seq);
			assert_int_equal(sqlite3_step(up), SQLITE_DONE);
			sqlite3_finalize(up);
		}
		memcpy(running, h, 32);
	}
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "UPDATE audit_head SET hash=?1 "
					    "WHERE id=1",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_blob(st, 1, running, 32, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static struct sn_kbs_signer *test_key(const char *name)
{
	struct sn_kbs_signer *k;
	char p[64];

	snprintf(p, sizeof(p), "/tmp/sn-kbs-audit-%s-%d.pem", name,
		 (int)getpid());
	unlink(p);
	assert_int_equal(sn_kbs_signer_load(p, true, &k), 0);
	unlink(p);
	return k;
}

static const struct sn_kbs_signer *the_key;
static const struct sn_kbs_signer *get_key(void *arg)
{
	return the_key;
}

/* the head signed at each commit: a rewrite with recomputed hashes passes
 * the unkeyed chain check and fails the signature; an unsigned head, a
 * head signed by another key fail too */
static size_t get_keys(void *arg, const struct sn_kbs_signer **out, size_t cap)
{
	out[0] = the_key;
	return 1;
}

/* the head signed at each commit: a rewrite with recomputed hashes passes
 * the unkeyed chain check and fails the signature; an unsigned head, a
 * head signed by another key fail too; and the store never signs over a
 * head it did not sign (the next commit after a rewrite leaves the head
 * unsigned) unless the head is adopted */
static void signed_head(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_audit_report r;
	struct sn_kbs_audit_head h;
	struct sn_kbs_signer *k = test_key("k"), *other = test_key("o");
	const struct sn_kbs_audit_in a = {"admin:test", "enrol", "n", "ok",
					  "entry 7"};
	const struct sn_kbs_audit_in adopt = {"operator", "audit-adopt", "",
					      "ok", "entry 6"};
	uint8_t msg[SN_KBS_AUDIT_HEAD_MSG_LEN];

	/* the 5 rows of setup were written without a signer: unsigned */
	assert_int_equal(sn_kbs_audit_verify_signed(f->st, &k, 1, &r), 0);
	assert_false(r.ok);
	assert_non_null(strstr(r.what, "head: not signed"));
	the_key = k;
	sn_kbs_store_set_head_signer(f->st, get_key, NULL);
	sn_kbs_store_set_head_keys(f->st, get_keys);
	/* a commit extending that unsigned head does not sign it ... */
	assert_int_equal(sn_kbs_audit_append(f->st, &a), 0);
	assert_int_equal(sn_kbs_audit_head_get(f->st, &h), 0);
	assert_false(h.is_signed);
	/* ... until it is adopted */
	assert_int_equal(sn_kbs_audit_adopt(f->st, &adopt), 0);
	assert_int_equal(sn_kbs_audit_verify_signed(f->st, &k, 1, &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.rows, 7);
	/* then every commit signs */
	assert_int_equal(sn_kbs_audit_append(f->st, &a), 0);
	assert_int_equal(sn_kbs_audit_verify_signed(f->st, &k, 1, &r), 0);
	assert_true(r.ok);
	/* the head: seq, hash, kid, a signature over the documented bytes */
	assert_int_equal(sn_kbs_audit_head_get(f->st, &h), 0);
	assert_true(h.is_signed);
	assert_int_equal(h.seq, 8);
	assert_string_equal(h.kid, sn_kbs_signer_kid(k));
	sn_kbs_audit_head_msg(h.seq, h.hash, msg);
	assert_memory_equal(msg, "sealnet-kbs-audit-head-v1", 26);
	assert_int_equal(sn_kbs_signer_verify_raw(k, msg, sizeof(msg), h.sig),
			 0);
	/* verified with another key only: refused */
	assert_int_equal(sn_kbs_audit_verify_signed(f->st, &other, 1, &r), 0);
	assert_false(r.ok);
	assert_non_null(strstr(r.what, "not among the keys"));
	/* the attack: row 2 rewritten, the chain recomputed */
	rewrite(f, 2, "nothing happened");
	verify(f, &r);
	assert_true(r.ok); /* the unkeyed chain cannot tell */
	assert_int_equal(sn_kbs_audit_verify_signed(f->st, &k, 1, &r), 0);
	assert_false(r.ok);
	assert_non_null(strstr(r.what, "signature does not verify"));
	/* the KBS's next commit does not launder it: the head stays unsigned */
	assert_int_equal(sn_kbs_audit_append(f->st, &a), 0);
	assert_int_equal(sn_kbs_audit_verify_signed(f->st, &k, 1, &r), 0);
	assert_false(r.ok);
	assert_non_null(strstr(r.what, "not signed"));
	/* ... a head signed by the attacker's key: not a key of this KBS */
	the_key = other;
	sn_kbs_store_set_head_keys(f->st, NULL);
	assert_int_equal(sn_kbs_audit_append(f->st, &a), 0);
	the_key = k;
	sn_kbs_store_set_head_keys(f->st, get_keys);
	assert_int_equal(sn_kbs_audit_verify_signed(f->st, &k, 1, &r), 0);
	assert_false(r.ok);
	assert_non_null(strstr(r.what, "not among the keys"));
	assert_int_equal(sn_kbs_audit_append(f->st, &a), 0);
	assert_int_equal(sn_kbs_audit_head_get(f->st, &h), 0);
	assert_false(h.is_signed);
	sn_kbs_store_set_head_signer(f->st, NULL, NULL);
	sn_kbs_store_set_head_keys(f->st, NULL);
	sn_kbs_signer_free(k);
	sn_kbs_signer_free(other);
}

/* a commit whose head cannot be signed is rolled back: no row without a
 * signed head */
static void unsigned_commit_refused(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_audit_report r;
	const struct sn_kbs_audit_in a = {"admin:test", "enrol", "n", "ok",
					  "entry 6"};

	the_key = NULL;
	sn_kbs_store_set_head_signer(f->st, get_key, NULL);
	assert_int_equal(sn_kbs_audit_append(f->st, &a), -ENOKEY);
	sn_kbs_store_set_head_signer(f->st, NULL, NULL);
	verify(f, &r);
	assert_true(r.ok);
	assert_int_equal(r.rows, 5);
}

static void migrations_refuse_newer(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_store *s2;

	tamper(f, "UPDATE schema_version SET version=99");
	assert_int_equal(sn_kbs_store_open(f->path, &s2), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(chain_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(sql_update_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(edit_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(edit_time_detected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(delete_detected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(delete_renumbered_detected,
						setup, teardown),
		cmocka_unit_test_setup_teardown(reorder_detected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(forged_row_detected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(tail_drop_detected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(migrations_refuse_newer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(signed_head, setup, teardown),
		cmocka_unit_test_setup_teardown(unsigned_commit_refused, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
