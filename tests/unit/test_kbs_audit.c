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
				      "DROP TRIGGER audit_no_update;"
				      "DROP TRIGGER audit_no_delete;",
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
