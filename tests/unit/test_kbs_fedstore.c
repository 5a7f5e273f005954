// SPDX-License-Identifier: Apache-2.0
/*
 * lib/kbs/fedstore.c: peers' trust bundles in the KBS store.  A database
 * of schema version 2 migrates to the current one keeping its
 * revocations; a lower sequence, or the same sequence with another
 * digest, is refused by the store (-ESTALE) and by its trigger (direct
 * SQL); the same bundle again changes nothing; fetch results give the states
 * fresh / stale / expired / withdrawn; re-published peer revocations carry
 * their domain on GET /events, are applied once (the peer's position), and a
 * withdrawal revokes every node of the domain once.  Every statement comes
 * from the store's statement cache: a second round of every call compiles
 * none again.
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
#include <jansson.h>
#include <sqlite3.h>

#include "kbs_fixture.h"
#include "sealnet/kbs.h"
#include "sealnet/kbs_fed.h"
#include "../../lib/kbs/internal.h"

static int setup(void **state)
{
	return kbs_fx_setup(state, "kbs-fed");
}

static int teardown(void **state)
{
	return kbs_fx_teardown(state);
}

static void raw(const char *path, const char *sql, int want)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), want);
	sqlite3_close(db);
}

static struct sn_kbs_peer_bundle mk(const char *dom, uint64_t seq, char dig,
				    int64_t nb, int64_t na)
{
	struct sn_kbs_peer_bundle b = {0};

	snprintf(b.domain, sizeof(b.domain), "%s", dom);
	b.sequence = seq;
	b.not_before = nb;
	b.not_after = na;
	memset(b.digest, dig, 96);
	b.text = "{\"bundle\":1}";
	b.len = strlen(b.text);
	return b;
}

static int64_t audit_rows(struct sn_kbs_store *s)
{
	struct sn_kbs_audit_report r;

	assert_int_equal(sn_kbs_audit_verify(s, &r), 0);
	assert_true(r.ok);
	return r.rows;
}

static const struct sn_kbs_audit_in A = {"test", "bundle-fetch", "lab", "ok",
					 "x"};

static void test_migrate_from_v2(void **state)
{
	struct fx *f = *state;
	char *ev = NULL;
	int64_t last;
	int v;

	/* back to a version 2 file with one revocation */
	sn_kbs_store_close(f->st);
	raw(f->path,
	    "DROP TABLE peer_bundles; DROP TABLE peer_status;"
	    "DROP TABLE instance;"
	    "ALTER TABLE revocations DROP COLUMN withdrawal;"
	    "ALTER TABLE revocations DROP COLUMN domain;"
	    "ALTER TABLE manifest DROP COLUMN text;"
	    "ALTER TABLE manifest DROP COLUMN signatures;"
	    "ALTER TABLE audit_head DROP COLUMN sig;" /* 5 */
	    "ALTER TABLE audit_head DROP COLUMN kid;"
	    "DROP INDEX nodes_spki;"
	    "ALTER TABLE revocations DROP COLUMN lifts;" /* 7 */
	    "INSERT INTO revocations (kind, value, reason, at) VALUES"
	    " ('node', 'old1', 'before the upgrade', 1);"
	    "UPDATE schema_version SET version=2",
	    SQLITE_OK);
	assert_int_equal(sn_kbs_store_open(f->path, &f->st), 0);
	assert_int_equal(sn_kbs_store_version(f->st, &v), 0);
	assert_int_equal(v, SN_KBS_SCHEMA_VERSION);
	assert_int_equal(sn_kbs_events_json(f->st, 0, 10, &ev, &last), 0);
	assert_int_equal(last, 1);
	/* a local revocation has no "domain" member */
	assert_non_null(strstr(ev, "\"value\":\"old1\""));
	assert_null(strstr(ev, "domain"));
	free(ev);
	{
		struct sn_kbs_peer_bundle b = mk("lab", 5, 'a', 0, 100);

		assert_int_equal(sn_kbs_peer_bundle_put(f->st, &b, &A), 0);
	}
}

static void test_rollback_refused(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_peer_bundle b = mk("lab", 5, 'a', 10, 100), got;
	int64_t rows;

	assert_int_equal(sn_kbs_peer_bundle_get(f->st, "lab", &got), -ENOENT);
	assert_int_equal(sn_kbs_peer_bundle_put(f->st, &b, &A), 0);
	rows = audit_rows(f->st);
	assert_int_equal(rows, 1);
	/* the same bundle again: nothing changes, nothing audited */
	assert_int_equal(sn_kbs_peer_bundle_put(f->st, &b, &A), 0);
	assert_int_equal(audit_rows(f->st), rows);
	/* lower sequence */
	b = mk("lab", 4, 'b', 10, 200);
	assert_int_equal(sn_kbs_peer_bundle_put(f->st, &b, &A), -ESTALE);
	/* same sequence, other content */
	b = mk("lab", 5, 'c', 10, 200);
	assert_int_equal(sn_kbs_peer_bundle_put(f->st, &b, &A), -ESTALE);
	assert_int_equal(audit_rows(f->st), rows);
	assert_int_equal(sn_kbs_peer_bundle_get(f->st, "lab", &got), 0);
	assert_int_equal(got.sequence, 5);
	assert_int_equal(got.not_after, 100);
	assert_int_equal(got.digest[0], 'a');
	assert_string_equal(got.text, "{\"bundle\":1}");
	sn_kbs_peer_bundle_clear(&got);
	/* the trigger refuses it through SQL too */
	raw(f->path, "UPDATE peer_bundles SET sequence=3 WHERE domain='lab'",
	    SQLITE_CONSTRAINT);
	raw(f->path, "UPDATE peer_bundles SET digest='x' WHERE domain='lab'",
	    SQLITE_CONSTRAINT);
	/* a higher sequence replaces it */
	b = mk("lab", 6, 'd', 10, 300);
	assert_int_equal(sn_kbs_peer_bundle_put(f->st, &b, &A), 0);
	assert_int_equal(audit_rows(f->st), rows + 1);
	assert_int_equal(sn_kbs_peer_bundle_get(f->st, "lab", &got), 0);
	assert_int_equal(got.sequence, 6);
	assert_int_equal(got.not_after, 300);
	sn_kbs_peer_bundle_clear(&got);
	/* malformed */
	b = mk("bad name", 7, 'e', 10, 300);
	assert_int_equal(sn_kbs_peer_bundle_put(f->st, &b, &A), -EINVAL);
	b = mk("lab", 0, 'e', 10, 300);
	assert_int_equal(sn_kbs_peer_bundle_put(f->st, &b, &A), -EINVAL);
}

static const char *state_of(struct fx *f, const char *dom, int64_t now)
{
	static char out[32];
	char *txt;
	json_t *a, *o;
	size_t i;

	out[0] = '\0';
	assert_int_equal(sn_kbs_peer_bundles_json(f->st, now, &txt), 0);
	a = json_loads(txt, 0, NULL);
	assert_non_null(a);
	json_array_foreach(a, i, o)
	{
		if (!strcmp(json_string_value(json_object_get(o, "domain")),
			    dom))
			snprintf(
				out, sizeof(out), "%s",
				json_string_value(json_object_get(o, "state")));
	}
	json_decref(a);
	free(txt);
	return out;
}

static void test_states(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_peer_bundle b = mk("lab", 5, 'a', 10, 100);
	struct sn_kbs_peer_status ps;

	assert_int_equal(
		sn_kbs_peer_fetch_note(f->st, "lab", 20, "unreachable", NULL),
		0);
	assert_string_equal(state_of(f, "lab", 20), "none");
	assert_int_equal(sn_kbs_peer_bundle_put(f->st, &b, &A), 0);
	assert_int_equal(sn_kbs_peer_fetch_note(f->st, "lab", 30, "ok", NULL),
			 0);
	assert_string_equal(state_of(f, "lab", 30), "fresh");
	assert_string_equal(state_of(f, "lab", 5), "not-yet-valid");
	/* the peer KBS stops answering: stale until not_after, then
	 * expired */
	assert_int_equal(
		sn_kbs_peer_fetch_note(f->st, "lab", 60, "unreachable", NULL),
		0);
	assert_string_equal(state_of(f, "lab", 60), "stale");
	assert_string_equal(state_of(f, "lab", 99), "stale");
	assert_string_equal(state_of(f, "lab", 100), "expired");
	assert_int_equal(sn_kbs_peer_status_get(f->st, "lab", &ps), 0);
	assert_int_equal(ps.fetched_at, 60);
	assert_int_equal(ps.ok_at, 30);
	assert_string_equal(ps.result, "unreachable");
	/* a refused answer keeps the bundle, state stale */
	assert_int_equal(
		sn_kbs_peer_fetch_note(f->st, "lab", 61, "rollback", &A), 0);
	assert_string_equal(state_of(f, "lab", 61), "stale");
	assert_int_equal(audit_rows(f->st), 2);
	assert_int_equal(sn_kbs_peer_status_get(f->st, "nobody", &ps), 0);
	assert_int_equal(ps.fetched_at, 0);
	assert_false(ps.withdrawn);
}

static void test_peer_revocations(void **state)
{
	struct fx *f = *state;
	struct sn_kbs_peer_status ps;
	const char *nodes[] = {"l1", "l2"};
	int64_t seq = 0, last;
	char *ev = NULL;
	json_t *a;

	assert_int_equal(
		sn_kbs_revoke(f->st, "node", "h9", "local", NULL, &seq), 0);
	assert_int_equal(sn_kbs_revoke_peer(f->st, "lab", 7, "node", "l1",
					    "compromised", &A, &seq),
			 0);
	assert_int_equal(seq, 2);
	/* the same event again (a poll repeated): applied once */
	assert_int_equal(sn_kbs_revoke_peer(f->st, "lab", 7, "node", "l1",
					    "compromised", &A, &seq),
			 -EALREADY);
	assert_int_equal(sn_kbs_revoke_peer(f->st, "lab", 3, "node", "l2",
					    "old", &A, &seq),
			 -EALREADY);
	assert_int_equal(sn_kbs_revoke_peer(f->st, "lab", 8, "bogus", "l1", "x",
					    &A, &seq),
			 -EINVAL);
	assert_int_equal(sn_kbs_revoke_peer(f->st, "lab", 8, "measurement",
					    "abc", "x", &A, &seq),
			 -EINVAL);
	assert_int_equal(sn_kbs_peer_events_skip(f->st, "lab", 9, &A), 0);
	assert_int_equal(sn_kbs_peer_status_get(f->st, "lab", &ps), 0);
	assert_int_equal(ps.events_after, 9);
	/* never backwards */
	assert_int_equal(sn_kbs_peer_events_skip(f->st, "lab", 4, NULL), 0);
	assert_int_equal(sn_kbs_peer_status_get(f->st, "lab", &ps), 0);
	assert_int_equal(ps.events_after, 9);
	assert_int_equal(sn_kbs_events_json(f->st, 0, 10, &ev, &last), 0);
	a = json_loads(ev, 0, NULL);
	free(ev);
	assert_int_equal(json_array_size(a), 2);
	assert_null(json_object_get(json_array_get(a, 0), "domain"));
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(a, 1), "domain")),
			    "lab");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(a, 1), "value")),
			    "l1");
	json_decref(a);
	/* withdrawal: every node of the domain, once */
	assert_int_equal(sn_kbs_peer_withdraw(f->st, "lab", nodes, 2,
					      "withdrawn", &A, &seq),
			 0);
	assert_int_equal(seq, 3);
	assert_int_equal(sn_kbs_peer_withdraw(f->st, "lab", nodes, 2,
					      "withdrawn", &A, &seq),
			 -EALREADY);
	assert_int_equal(sn_kbs_events_json(f->st, 2, 10, &ev, &last), 0);
	assert_int_equal(last, 4);
	assert_non_null(strstr(ev, "\"value\":\"l2\""));
	free(ev);
	assert_string_equal(state_of(f, "lab", 1), "withdrawn");
	assert_int_equal(audit_rows(f->st), 3);
	/* a local revocation with its audit row: the seq it answers is the
	 * revocation's (GET /events'), not the audit row's */
	assert_int_equal(sn_kbs_revoke(f->st, "node", "h8", "local", &A, &seq),
			 0);
	assert_int_equal(sn_kbs_events_json(f->st, 4, 10, &ev, &last), 0);
	assert_non_null(strstr(ev, "\"value\":\"h8\""));
	free(ev);
	assert_int_equal(seq, 5);
	assert_int_equal(last, 5);
}

/* the values of the events after 0 with domain dom, in order */
static void events_of(struct fx *f, const char *dom, char *out, size_t cap)
{
	char *ev = NULL;
	int64_t last;
	json_t *a, *e;
	size_t i;

	out[0] = '\0';
	assert_int_equal(sn_kbs_events_json(f->st, 0, 100, &ev, &last), 0);
	a = json_loads(ev, 0, NULL);
	free(ev);
	assert_non_null(a);
	json_array_foreach(a, i, e)
	{
		const char *d = json_string_value(json_object_get(e, "domain"));

		const char *op = json_string_value(json_object_get(e, "op"));

		/* a revocation: "value"; a lift: "-value@lifts" */
		assert_non_null(op);
		if (d && !strcmp(d, dom) && !strcmp(op, "lift"))
			snprintf(out + strlen(out), cap - strlen(out),
				 "-%s@%lld ",
				 json_string_value(json_object_get(e, "value")),
				 (long long)json_integer_value(
					 json_object_get(e, "lifts")));
		else if (d && !strcmp(d, dom))
			snprintf(
				out + strlen(out), cap - strlen(out), "%s ",
				json_string_value(json_object_get(e, "value")));
	}
	json_decref(a);
}

/* docs/federation.md "Re-admission": only after an admin's readmit, only a
 * bundle issued after the withdrawal and newer than the one held then; it
 * lifts the withdrawal's revocations, not the domain's own */
static void test_readmission(void **state)
{
	struct fx *f = *state;
	const char *nodes[] = {"l1", "l2"};
	struct sn_kbs_peer_bundle b = mk("lab", 5, 'a', 100, 1LL << 40);
	struct sn_kbs_peer_status ps;
	char got[200];
	int64_t seq, now = (int64_t)time(NULL);

	assert_int_equal(sn_kbs_peer_bundle_put(f->st, &b, &A), 0);
	assert_int_equal(sn_kbs_revoke_peer(f->st, "lab", 3, "node", "l1",
					    "lab's own", &A, &seq),
			 0);
	assert_int_equal(sn_kbs_peer_readmit(f->st, "lab", &A), -EALREADY);
	assert_int_equal(sn_kbs_peer_withdraw(f->st, "lab", nodes, 2,
					      "withdrawn", &A, &seq),
			 0);
	events_of(f, "lab", got, sizeof(got));
	assert_string_equal(got, "l1 l1 l2 ");
	assert_int_equal(sn_kbs_peer_status_get(f->st, "lab", &ps), 0);
	assert_true(ps.withdrawn_at >= now);
	/* withdrawn: refused by the store itself */
	b = mk("lab", 6, 'b', now + 5, 1LL << 40);
	assert_int_equal(sn_kbs_peer_bundle_put(f->st, &b, &A), -EPERM);
	assert_int_equal(sn_kbs_peer_readmit(f->st, "lab", &A), 0);
	assert_int_equal(sn_kbs_peer_readmit(f->st, "lab", &A), -EALREADY);
	assert_int_equal(sn_kbs_peer_status_get(f->st, "lab", &ps), 0);
	assert_true(ps.readmit && !ps.withdrawn);
	/* the bundle held at the withdrawal, replayed: refused */
	b = mk("lab", 5, 'a', 100, 1LL << 40);
	assert_int_equal(sn_kbs_peer_bundle_put(f->st, &b, &A), -ESTALE);
	/* newer, but signed before the withdrawal: refused */
	b = mk("lab", 9, 'c', 100, 1LL << 40);
	assert_int_equal(sn_kbs_peer_bundle_put(f->st, &b, &A), -ETIME);
	events_of(f, "lab", got, sizeof(got));
	assert_string_equal(got, "l1 l1 l2 ");
	/* issued after it: accepted, the withdrawal's revocations (2, 3)
	 * lifted: deleted, and one lift event each, after them; lab's own
	 * revocation of l1 kept */
	assert_int_equal(sn_kbs_is_revoked(f->st, "node", "l2"), 1);
	b = mk("lab", 6, 'b', ps.withdrawn_at, 1LL << 40);
	assert_int_equal(sn_kbs_peer_bundle_put(f->st, &b, &A), 0);
	assert_int_equal(sn_kbs_peer_status_get(f->st, "lab", &ps), 0);
	assert_false(ps.readmit || ps.withdrawn);
	events_of(f, "lab", got, sizeof(got));
	assert_string_equal(got, "l1 -l1@2 -l2@3 ");
	/* a lift event is not a revocation */
	assert_int_equal(sn_kbs_is_revoked(f->st, "node", "l2"), 0);
	assert_int_equal(sn_kbs_is_revoked(f->st, "node", "l1"), 1);
	{
		char e[SN_KBS_EPOCH_MAX];
		int64_t head;

		assert_int_equal(sn_kbs_events_head(f->st, e, &head), 0);
		assert_int_equal(head, 5);
	}
	/* lab revokes l2 itself after the re-admission: recorded (the lift
	 * row does not count as lab's revocation), after the lift */
	assert_int_equal(sn_kbs_revoke_peer(f->st, "lab", 4, "node", "l2",
					    "lab's own, later", &A, &seq),
			 0);
	assert_int_equal(seq, 6);
	events_of(f, "lab", got, sizeof(got));
	assert_string_equal(got, "l1 -l1@2 -l2@3 l2 ");
	assert_int_equal(sn_kbs_is_revoked(f->st, "node", "l2"), 1);
	/* for good: a bundle issued before the withdrawal stays refused */
	b = mk("lab", 10, 'd', 100, 1LL << 40);
	assert_int_equal(sn_kbs_peer_bundle_put(f->st, &b, &A), -ETIME);
	audit_rows(f->st);
}

/* GET /events' epoch and head; a peer's epoch, its reset; the same
 * revocation of a domain delivered again is recorded once */
static void test_event_epoch(void **state)
{
	struct fx *f = *state;
	const char *nodes[] = {"l2"};
	struct sn_kbs_peer_status ps;
	char e1[SN_KBS_EPOCH_MAX], e2[SN_KBS_EPOCH_MAX], got[200];
	struct sn_kbs_store *other = NULL;
	char path2[300];
	int64_t head, seq;

	assert_int_equal(sn_kbs_events_head(f->st, e1, &head), 0);
	assert_int_equal(strlen(e1), 32);
	assert_int_equal(head, 0);
	/* another database, another epoch */
	snprintf(path2, sizeof(path2), "%s.2", f->path);
	assert_int_equal(sn_kbs_store_open(path2, &other), 0);
	assert_int_equal(sn_kbs_events_head(other, e2, &head), 0);
	assert_string_not_equal(e1, e2);
	sn_kbs_store_close(other);
	unlink(path2);
	assert_int_equal(sn_kbs_revoke_peer(f->st, "lab", 7, "node", "l1",
					    "lab's own", &A, &seq),
			 0);
	assert_int_equal(sn_kbs_peer_withdraw(f->st, "lab", nodes, 1,
					      "withdrawn", &A, &seq),
			 0);
	assert_int_equal(sn_kbs_peer_readmit(f->st, "lab", &A), 0);
	{
		struct sn_kbs_peer_bundle b =
			mk("lab", 6, 'b', (int64_t)time(NULL), 1LL << 40);

		assert_int_equal(sn_kbs_peer_bundle_put(f->st, &b, &A), 0);
	}
	/* the head counts the lift event (3) */
	assert_int_equal(sn_kbs_events_head(f->st, e2, &head), 0);
	assert_string_equal(e1, e2);
	assert_int_equal(head, 3);
	/* first epoch: recorded, position kept */
	assert_int_equal(
		sn_kbs_peer_events_epoch(f->st, "lab", "aa", false, NULL), 0);
	assert_int_equal(sn_kbs_peer_status_get(f->st, "lab", &ps), 0);
	assert_string_equal(ps.events_epoch, "aa");
	assert_int_equal(ps.events_after, 7);
	/* a reset: position 0, audited */
	assert_int_equal(sn_kbs_peer_events_epoch(f->st, "lab", "bb", true, &A),
			 0);
	assert_int_equal(sn_kbs_peer_status_get(f->st, "lab", &ps), 0);
	assert_string_equal(ps.events_epoch, "bb");
	assert_int_equal(ps.events_after, 0);
	/* the new sequence's first event is applied... */
	assert_int_equal(sn_kbs_revoke_peer(f->st, "lab", 1, "node", "l2",
					    "new db", &A, &seq),
			 0);
	/* ...one the domain made before only moves the position */
	assert_int_equal(sn_kbs_revoke_peer(f->st, "lab", 2, "node", "L1",
					    "again", &A, &seq),
			 -EALREADY);
	assert_int_equal(sn_kbs_peer_status_get(f->st, "lab", &ps), 0);
	assert_int_equal(ps.events_after, 2);
	events_of(f, "lab", got, sizeof(got));
	assert_string_equal(got, "l1 -l2@2 l2 ");
	audit_rows(f->st);
}

/* every fedstore call on domain dom, each path that runs a statement:
 * bundle put (new, same, re-admission), get, list, JSON; fetch note,
 * event skip, epoch; peer revocation (new, again); withdraw, readmit */
static void fed_round(struct sn_kbs_store *s, const char *dom, int64_t now)
{
	const char *nodes[] = {"w1"};
	struct sn_kbs_peer_bundle b = mk(dom, 5, 'a', 100, 1LL << 40), got;
	struct sn_kbs_peer_bundle *all = NULL;
	struct sn_kbs_peer_status ps;
	char e[SN_KBS_EPOCH_MAX], *txt = NULL;
	int64_t head, seq;
	size_t n = 0;

	assert_int_equal(sn_kbs_peer_bundle_put(s, &b, &A), 0);
	assert_int_equal(sn_kbs_peer_bundle_put(s, &b, &A), 0);
	assert_int_equal(sn_kbs_peer_bundle_get(s, dom, &got), 0);
	assert_int_equal(got.sequence, 5);
	sn_kbs_peer_bundle_clear(&got);
	assert_int_equal(sn_kbs_peer_bundles(s, &all, &n), 0);
	assert_true(n >= 1);
	for (size_t i = 0; i < n; i++)
		sn_kbs_peer_bundle_clear(&all[i]);
	free(all);
	assert_int_equal(sn_kbs_peer_fetch_note(s, dom, now, "ok", NULL), 0);
	assert_int_equal(sn_kbs_peer_events_skip(s, dom, 1, NULL), 0);
	assert_int_equal(sn_kbs_peer_events_epoch(s, dom, "aa", true, NULL), 0);
	assert_int_equal(sn_kbs_peer_events_epoch(s, dom, "aa", false, NULL),
			 0);
	assert_int_equal(
		sn_kbs_revoke_peer(s, dom, 2, "node", "v1", "x", &A, &seq), 0);
	assert_int_equal(
		sn_kbs_revoke_peer(s, dom, 3, "node", "v1", "x", &A, &seq),
		-EALREADY);
	assert_int_equal(
		sn_kbs_peer_withdraw(s, dom, nodes, 1, "withdrawn", &A, &seq),
		0);
	assert_int_equal(sn_kbs_peer_readmit(s, dom, &A), 0);
	b = mk(dom, 6, 'b', now + 1, 1LL << 40);
	assert_int_equal(sn_kbs_peer_bundle_put(s, &b, &A), 0);
	assert_int_equal(sn_kbs_peer_status_get(s, dom, &ps), 0);
	assert_false(ps.readmit || ps.withdrawn);
	assert_int_equal(ps.events_after, 3);
	assert_int_equal(sn_kbs_peer_bundles_json(s, now, &txt), 0);
	assert_non_null(strstr(txt, dom));
	free(txt);
	assert_int_equal(sn_kbs_events_head(s, e, &head), 0);
}

/* the store's cached statements on the federation tables */
static int cached_peer_stmts(struct sn_kbs_store *s)
{
	int n = 0;

	for (int i = 0; i < SN_KBS_STMT_CACHE; i++)
		if (s->stmt[i].st && strstr(s->stmt[i].sql, "peer_"))
			n++;
	return n;
}

/* the statement cache (sn_kbs_stmt): after one round of every call, the
 * 14 statements on peer_status / peer_bundles are cached, and a second
 * round on another domain compiles no statement again and reads the
 * database as it is now (its revocation v1 stays; the withdrawal's
 * revocation of w1, seq 5, is lifted by the re-admission) */
static void test_stmt_cache(void **state)
{
	struct fx *f = *state;
	int64_t now = (int64_t)time(NULL);
	unsigned long before;
	char got[200];

	fed_round(f->st, "lab", now);
	assert_int_equal(cached_peer_stmts(f->st), 14);
	before = f->st->stmt_prepared;
	fed_round(f->st, "lab2", now);
	assert_int_equal(f->st->stmt_prepared, before);
	events_of(f, "lab2", got, sizeof(got));
	assert_string_equal(got, "v1 -w1@5 ");
	audit_rows(f->st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrate_from_v2, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rollback_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_states, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_revocations, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_readmission, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_event_epoch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stmt_cache, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
