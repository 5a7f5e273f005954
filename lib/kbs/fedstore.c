// SPDX-License-Identifier: Apache-2.0
/*
 * sealnet-kbs's federation state (include/sealnet/kbs_fed.h): peers'
 * trust bundles, fetch results, event positions and withdrawals in the
 * SQLite store (schema versions 4 and 5, store.c).  The store refuses a bundle
 * rollback itself (a check here and a trigger), so no caller can
 * replace a bundle with an older one by mistake.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sealnet/kbs_fed.h"
#include "sealnet/log.h"
#include "sealnet/util.h"
#include "internal.h"

void sn_kbs_peer_bundle_clear(struct sn_kbs_peer_bundle *b)
{
	free(b->text);
	b->text = NULL;
	b->len = 0;
}

static void row_bundle(sqlite3_stmt *st, struct sn_kbs_peer_bundle *b)
{
	/* columns: domain, sequence, not_before, not_after, digest,
	 * accepted_at, bundle */
	snprintf(b->domain, sizeof(b->domain), "%s",
		 (const char *)sqlite3_column_text(st, 0));
	b->sequence = (uint64_t)sqlite3_column_int64(st, 1);
	b->not_before = sqlite3_column_int64(st, 2);
	b->not_after = sqlite3_column_int64(st, 3);
	snprintf(b->digest, sizeof(b->digest), "%s",
		 (const char *)sqlite3_column_text(st, 4));
	b->accepted_at = sqlite3_column_int64(st, 5);
}

#define BUNDLE_COLS                                               \
	"SELECT domain, sequence, not_before, not_after, digest," \
	" accepted_at, bundle FROM peer_bundles"

static int row_text(sqlite3_stmt *st, struct sn_kbs_peer_bundle *b)
{
	int n = sqlite3_column_bytes(st, 6);
	const void *t = sqlite3_column_text(st, 6);

	b->text = malloc((size_t)n + 1);
	if (!b->text)
		return -ENOMEM;
	memcpy(b->text, t ? t : "", (size_t)n);
	b->text[n] = '\0';
	b->len = (size_t)n;
	return 0;
}

int sn_kbs_peer_bundle_get(struct sn_kbs_store *s, const char *domain,
			   struct sn_kbs_peer_bundle *out)
{
	struct sn_kbs_peer_bundle b = {0};
	sqlite3_stmt *st = NULL;
	int err = -ENOENT, rc;

	if (sn_kbs_stmt(s, BUNDLE_COLS " WHERE domain=?1", &st) != SQLITE_OK)
		return sn_kbs_db_err(s, "reading a peer bundle");
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row_bundle(st, &b);
		err = row_text(st, &b);
	} else if (rc != SQLITE_DONE) {
		err = sn_kbs_db_err(s, "reading a peer bundle");
	}
	sn_kbs_stmt_done(s, st);
	if (!err)
		*out = b;
	return err;
}

int sn_kbs_peer_bundles(struct sn_kbs_store *s, struct sn_kbs_peer_bundle **out,
			size_t *n)
{
	struct sn_kbs_peer_bundle *arr = NULL, *na;
	sqlite3_stmt *st = NULL;
	size_t cnt = 0;
	int err = 0, rc;

	if (sn_kbs_stmt(s, BUNDLE_COLS " ORDER BY domain", &st) != SQLITE_OK)
		return sn_kbs_db_err(s, "listing peer bundles");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		na = realloc(arr, (cnt + 1) * sizeof(*arr));
		if (!na) {
			err = -ENOMEM;
			break;
		}
		arr = na;
		memset(&arr[cnt], 0, sizeof(arr[cnt]));
		row_bundle(st, &arr[cnt]);
		err = row_text(st, &arr[cnt]);
		if (err)
			break;
		cnt++;
	}
	if (!err && rc != SQLITE_DONE)
		err = sn_kbs_db_err(s, "listing peer bundles");
	sn_kbs_stmt_done(s, st);
	if (err) {
		for (size_t i = 0; i < cnt; i++)
			sn_kbs_peer_bundle_clear(&arr[i]);
		free(arr);
		return err;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

/* one statement with (domain[, text]) parameters, inside a transaction */
static int run_status(struct sn_kbs_store *s, const char *what, const char *sql,
		      const char *domain, const char *text)
{
	sqlite3_stmt *st = NULL;
	int err = 0;

	if (sn_kbs_stmt(s, sql, &st) != SQLITE_OK)
		return sn_kbs_db_err(s, what);
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	if (text)
		sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = sn_kbs_db_err(s, what);
	sn_kbs_stmt_done(s, st);
	return err;
}

/* one statement with (domain, n[, text]) parameters, inside a
 * transaction */
static int run_status_n(struct sn_kbs_store *s, const char *what,
			const char *sql, const char *domain, int64_t n,
			const char *text)
{
	sqlite3_stmt *st = NULL;
	int err = 0;

	if (sn_kbs_stmt(s, sql, &st) != SQLITE_OK)
		return sn_kbs_db_err(s, what);
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	if (text)
		sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = sn_kbs_db_err(s, what);
	sn_kbs_stmt_done(s, st);
	return err;
}

/* the status row exists afterwards (inside a transaction) */
static int status_row(struct sn_kbs_store *s, const char *domain)
{
	return run_status(s, "recording a peer domain",
			  "INSERT OR IGNORE INTO peer_status (domain)"
			  " VALUES (?1)",
			  domain, NULL);
}

/* the re-admission completes: no longer pending, the revocations the
 * withdrawal made lifted: one lift event each (GET /events "op": "lift",
 * in the order of the revocations), then deleted (inside a transaction) */
static int readmitted(struct sn_kbs_store *s, const char *domain)
{
	static const char *const sql[] = {
		"UPDATE peer_status SET readmit=0 WHERE domain=?1",
		("INSERT INTO revocations (kind, value, reason, at, domain,"
		 " lifts) SELECT kind, value, 'domain ' || domain ||"
		 " ' re-admitted: its withdrawal is lifted', unixepoch(),"
		 " domain, seq FROM revocations WHERE domain=?1 AND"
		 " withdrawal=1 AND lifts=0 ORDER BY seq"),
		("DELETE FROM revocations WHERE domain=?1 AND withdrawal=1"
		 " AND lifts=0"),
	};
	int err = 0;

	for (size_t i = 0; !err && i < SN_ARRAY_SIZE(sql); i++)
		err = run_status(s, "re-admitting a peer domain", sql[i],
				 domain, NULL);
	return err;
}

int sn_kbs_peer_bundle_put(struct sn_kbs_store *s,
			   const struct sn_kbs_peer_bundle *b,
			   const struct sn_kbs_audit_in *a)
{
	struct sn_kbs_peer_bundle last = {0};
	struct sn_kbs_peer_status ps = {0};
	sqlite3_stmt *st = NULL;
	int err;

	if (sn_kbs_name_check(b->domain) || !b->text || !b->sequence ||
	    strlen(b->digest) != 96)
		return -EINVAL;
	err = sn_kbs_begin(s);
	if (err)
		return err;
	err = sn_kbs_peer_status_get(s, b->domain, &ps);
	if (!err && ps.withdrawn)
		err = -EPERM;
	if (!err)
		err = sn_kbs_peer_bundle_get(s, b->domain, &last);
	if (!err) {
		bool same = last.sequence == b->sequence &&
			    !strcmp(last.digest, b->digest);

		if (last.sequence > b->sequence ||
		    (last.sequence == b->sequence && !same))
			err = -ESTALE;
		else if (same)
			err = -EALREADY;
		sn_kbs_peer_bundle_clear(&last);
	} else if (err == -ENOENT) {
		err = 0;
	}
	/* re-admission pending: strictly newer than the bundle held at the
	 * withdrawal (not even the same one again); and never a bundle
	 * issued before the last withdrawal */
	if (ps.readmit && err == -EALREADY)
		err = -ESTALE;
	if ((!err || err == -EALREADY) && b->not_before < ps.withdrawn_at)
		err = -ETIME;
	if (err)
		goto out;
	if (sn_kbs_stmt(
		    s,
		    "INSERT INTO peer_bundles (domain, sequence, not_before,"
		    " not_after, digest, bundle, accepted_at) VALUES (?1,"
		    " ?2, ?3, ?4, ?5, ?6, unixepoch()) ON CONFLICT(domain)"
		    " DO UPDATE SET sequence=?2, not_before=?3,"
		    " not_after=?4, digest=?5, bundle=?6,"
		    " accepted_at=unixepoch()",
		    &st) != SQLITE_OK) {
		err = sn_kbs_db_err(s, "storing a peer bundle");
		goto out;
	}
	sqlite3_bind_text(st, 1, b->domain, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)b->sequence);
	sqlite3_bind_int64(st, 3, b->not_before);
	sqlite3_bind_int64(st, 4, b->not_after);
	sqlite3_bind_text(st, 5, b->digest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, b->text, (int)b->len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = sn_kbs_db_err(s, "storing a peer bundle");
	if (!err)
		err = status_row(s, b->domain);
	if (!err && ps.readmit)
		err = readmitted(s, b->domain);
out:
	sn_kbs_stmt_done(s, st);
	err = sn_kbs_end(s, err, a);
	return err == -EALREADY ? 0 : err;
}

int sn_kbs_peer_status_get(struct sn_kbs_store *s, const char *domain,
			   struct sn_kbs_peer_status *out)
{
	struct sn_kbs_peer_status r = {0};
	sqlite3_stmt *st = NULL;
	int err = 0, rc;

	if (sn_kbs_stmt(s,
			"SELECT fetched_at, ok_at, result, events_after,"
			" withdrawn, events_epoch, withdrawn_at, readmit"
			" FROM peer_status WHERE domain=?1",
			&st) != SQLITE_OK)
		return sn_kbs_db_err(s, "reading a peer's status");
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		r.fetched_at = sqlite3_column_int64(st, 0);
		r.ok_at = sqlite3_column_int64(st, 1);
		snprintf(r.result, sizeof(r.result), "%s",
			 (const char *)sqlite3_column_text(st, 2));
		r.events_after = sqlite3_column_int64(st, 3);
		r.withdrawn = sqlite3_column_int(st, 4) != 0;
		snprintf(r.events_epoch, sizeof(r.events_epoch), "%s",
			 (const char *)sqlite3_column_text(st, 5));
		r.withdrawn_at = sqlite3_column_int64(st, 6);
		r.readmit = sqlite3_column_int(st, 7) != 0;
	} else if (rc != SQLITE_DONE) {
		err = sn_kbs_db_err(s, "reading a peer's status");
	}
	sn_kbs_stmt_done(s, st);
	if (!err)
		*out = r;
	return err;
}

/* one statement with (domain, n[, text]) parameters, in a transaction
 * with the status row and the audit entry */
static int status_change(struct sn_kbs_store *s, const char *what,
			 const char *sql, const char *domain, int64_t n,
			 const char *text, const struct sn_kbs_audit_in *a)
{
	int err;

	if (sn_kbs_name_check(domain))
		return -EINVAL;
	err = sn_kbs_begin(s);
	if (err)
		return err;
	err = status_row(s, domain);
	if (!err)
		err = run_status_n(s, what, sql, domain, n, text);
	return sn_kbs_end(s, err, a);
}

int sn_kbs_peer_fetch_note(struct sn_kbs_store *s, const char *domain,
			   int64_t at, const char *result,
			   const struct sn_kbs_audit_in *a)
{
	if (strlen(result) >= SN_KBS_FED_RESULT_MAX)
		return -EINVAL;
	return status_change(s, "recording a bundle fetch",
			     "UPDATE peer_status SET fetched_at=?2, result=?3,"
			     " ok_at=CASE WHEN ?3='ok' THEN ?2 ELSE ok_at END"
			     " WHERE domain=?1",
			     domain, at, result, a);
}

int sn_kbs_peer_events_skip(struct sn_kbs_store *s, const char *domain,
			    int64_t after, const struct sn_kbs_audit_in *a)
{
	return status_change(s, "moving a peer's event position",
			     "UPDATE peer_status SET events_after="
			     "max(events_after, ?2) WHERE domain=?1",
			     domain, after, NULL, a);
}

const char *sn_kbs_peer_state(const struct sn_kbs_peer_bundle *b,
			      const struct sn_kbs_peer_status *st, int64_t now)
{
	if (st && st->withdrawn)
		return "withdrawn";
	if (!b)
		return "none";
	if (now >= b->not_after)
		return "expired";
	if (now < b->not_before)
		return "not-yet-valid";
	if (!st || strcmp(st->result, "ok"))
		return "stale";
	return "fresh";
}

int sn_kbs_peer_bundles_json(struct sn_kbs_store *s, int64_t now, char **out)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();
	int err = 0, rc;
	char *txt;

	if (!arr)
		return -ENOMEM;
	if (sn_kbs_stmt(s,
			"SELECT domain FROM peer_status UNION SELECT"
			" domain FROM peer_bundles ORDER BY 1",
			&st) != SQLITE_OK) {
		json_decref(arr);
		return sn_kbs_db_err(s, "listing peer domains");
	}
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(st, 0);
		struct sn_kbs_peer_bundle b = {0};
		struct sn_kbs_peer_status ps;
		bool has_b;
		json_t *o;

		err = sn_kbs_peer_status_get(s, d, &ps);
		if (err)
			break;
		err = sn_kbs_peer_bundle_get(s, d, &b);
		if (err && err != -ENOENT)
			break;
		has_b = !err;
		err = 0;
		o = json_pack("{s:s,s:s,s:I,s:I,s:s,s:b,s:I}", "domain", d,
			      "state",
			      sn_kbs_peer_state(has_b ? &b : NULL, &ps, now),
			      "last_fetch_at", (json_int_t)ps.fetched_at,
			      "last_ok_at", (json_int_t)ps.ok_at, "last_result",
			      ps.result, "withdrawn", ps.withdrawn,
			      "events_after", (json_int_t)ps.events_after);
		if (o && has_b) {
			json_object_set_new(
				o, "sequence",
				json_integer((json_int_t)b.sequence));
			json_object_set_new(o, "not_before",
					    json_integer(b.not_before));
			json_object_set_new(o, "not_after",
					    json_integer(b.not_after));
			json_object_set_new(o, "accepted_at",
					    json_integer(b.accepted_at));
			json_object_set_new(o, "digest", json_string(b.digest));
		}
		sn_kbs_peer_bundle_clear(&b);
		if (!o || json_array_append_new(arr, o))
			err = -ENOMEM;
	}
	if (!err && rc != SQLITE_DONE)
		err = sn_kbs_db_err(s, "listing peer domains");
	sn_kbs_stmt_done(s, st);
	txt = err ? NULL : json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (err)
		return err;
	if (!txt)
		return -ENOMEM;
	*out = txt;
	return 0;
}

static int check_revocation(const char *kind, const char *value)
{
	if (!strcmp(kind, "node"))
		return sn_kbs_name_check(value);
	if (!strcmp(kind, "measurement")) {
		if (strlen(value) != 2 * SN_MEASUREMENT_LEN)
			return -EINVAL;
		for (const char *p = value; *p; p++)
			if (!strchr("0123456789abcdefABCDEF", *p))
				return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

/* one revocation row of domain (inside a transaction) */
static int insert_revocation(struct sn_kbs_store *s, const char *domain,
			     const char *kind, const char *value,
			     const char *reason, bool withdrawal, int64_t *seq)
{
	sqlite3_stmt *st = NULL;
	int err = 0;

	if (sn_kbs_stmt(s,
			"INSERT INTO revocations (kind, value, reason,"
			" at, domain, withdrawal) VALUES (?1, lower(?2),"
			" ?3, unixepoch(), ?4, ?5)",
			&st) != SQLITE_OK)
		return sn_kbs_db_err(s, "recording a peer revocation");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, domain, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, withdrawal);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = sn_kbs_db_err(s, "recording a peer revocation");
	else
		*seq = sqlite3_last_insert_rowid(s->db);
	sn_kbs_stmt_done(s, st);
	return err;
}

static int set_after(struct sn_kbs_store *s, const char *domain, int64_t after)
{
	return run_status_n(s, "moving a peer's event position",
			    "UPDATE peer_status SET events_after=?2 WHERE"
			    " domain=?1",
			    domain, after, NULL);
}

/* 1 when domain's own revocation of kind/value is recorded (not one a
 * withdrawal made), 0 not, or -errno */
static int peer_has(struct sn_kbs_store *s, const char *domain,
		    const char *kind, const char *value)
{
	return sn_kbs_exists(s, "looking up peer revocations",
			     "SELECT 1 FROM revocations WHERE kind=?1 AND"
			     " value=lower(?2) AND domain=?3 AND withdrawal=0"
			     " AND lifts=0",
			     kind, value, domain);
}

int sn_kbs_revoke_peer(struct sn_kbs_store *s, const char *domain,
		       int64_t peer_seq, const char *kind, const char *value,
		       const char *reason, const struct sn_kbs_audit_in *a,
		       int64_t *seq)
{
	struct sn_kbs_peer_status ps;
	int64_t id = 0;
	int err, dup = 0;

	if (sn_kbs_name_check(domain) || check_revocation(kind, value) ||
	    peer_seq < 1)
		return -EINVAL;
	err = sn_kbs_begin(s);
	if (err)
		return err;
	err = status_row(s, domain);
	if (!err)
		err = sn_kbs_peer_status_get(s, domain, &ps);
	if (!err && peer_seq <= ps.events_after)
		err = -EALREADY;
	if (!err) {
		/* the domain revoked the same thing before (its events
		 * delivered again after its sequence restarted): only the
		 * position moves */
		dup = peer_has(s, domain, kind, value);
		err = dup < 0 ? dup : 0;
	}
	if (!err && !dup)
		err = insert_revocation(s, domain, kind, value, reason, false,
					&id);
	if (!err)
		err = set_after(s, domain, peer_seq);
	err = sn_kbs_end(s, err, dup > 0 ? NULL : a);
	if (!err && dup > 0)
		return -EALREADY;
	if (err)
		return err;
	if (seq)
		*seq = id;
	return 0;
}

int sn_kbs_peer_withdraw(struct sn_kbs_store *s, const char *domain,
			 const char *const *nodes, size_t n, const char *reason,
			 const struct sn_kbs_audit_in *a, int64_t *first)
{
	struct sn_kbs_peer_status ps;
	int64_t id = 0, f = 0;
	int err;

	if (sn_kbs_name_check(domain))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (sn_kbs_name_check(nodes[i]))
			return -EINVAL;
	err = sn_kbs_begin(s);
	if (err)
		return err;
	err = status_row(s, domain);
	if (!err)
		err = sn_kbs_peer_status_get(s, domain, &ps);
	if (!err && ps.withdrawn)
		err = -EALREADY;
	for (size_t i = 0; !err && i < n; i++) {
		err = insert_revocation(s, domain, "node", nodes[i], reason,
					true, &id);
		if (!f)
			f = id;
	}
	if (!err)
		err = run_status(s, "withdrawing a peer domain",
				 "UPDATE peer_status SET withdrawn=1,"
				 " withdrawn_at=unixepoch(), readmit=0"
				 " WHERE domain=?1",
				 domain, NULL);
	err = sn_kbs_end(s, err, a);
	if (err)
		return err;
	if (first)
		*first = f;
	return 0;
}

int sn_kbs_peer_readmit(struct sn_kbs_store *s, const char *domain,
			const struct sn_kbs_audit_in *a)
{
	struct sn_kbs_peer_status ps;
	int err;

	if (sn_kbs_name_check(domain))
		return -EINVAL;
	err = sn_kbs_begin(s);
	if (err)
		return err;
	err = sn_kbs_peer_status_get(s, domain, &ps);
	if (!err && !ps.withdrawn)
		err = -EALREADY;
	if (!err)
		err = run_status(s, "re-admitting a peer domain",
				 "UPDATE peer_status SET withdrawn=0, readmit=1"
				 " WHERE domain=?1",
				 domain, NULL);
	return sn_kbs_end(s, err, a);
}

int sn_kbs_events_head(struct sn_kbs_store *s, char epoch[SN_KBS_EPOCH_MAX],
		       int64_t *head)
{
	sqlite3_stmt *st = NULL;
	char e[SN_KBS_EPOCH_MAX] = "";
	int64_t h = 0;
	int err = 0;

	/* sqlite_sequence: the highest seq ever given (rows deleted at a
	 * re-admission do not lower it) */
	if (sn_kbs_stmt(s,
			"SELECT (SELECT epoch FROM instance WHERE id=1),"
			" coalesce((SELECT seq FROM sqlite_sequence"
			" WHERE name='revocations'), 0)",
			&st) != SQLITE_OK)
		return sn_kbs_db_err(s, "reading the event epoch");
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
		snprintf(e, sizeof(e), "%s",
			 (const char *)sqlite3_column_text(st, 0));
		h = sqlite3_column_int64(st, 1);
	} else {
		err = sn_kbs_db_err(s, "reading the event epoch");
	}
	sn_kbs_stmt_done(s, st);
	if (err)
		return err;
	memcpy(epoch, e, sizeof(e));
	*head = h;
	return 0;
}

int sn_kbs_peer_events_epoch(struct sn_kbs_store *s, const char *domain,
			     const char *epoch, bool reset,
			     const struct sn_kbs_audit_in *a)
{
	int err;

	if (sn_kbs_name_check(domain) || strlen(epoch) >= SN_KBS_EPOCH_MAX)
		return -EINVAL;
	err = sn_kbs_begin(s);
	if (err)
		return err;
	err = status_row(s, domain);
	if (!err)
		err = run_status(
			s, "recording a peer's event epoch",
			reset ? "UPDATE peer_status SET events_epoch=?2,"
				" events_after=0 WHERE domain=?1" :
				"UPDATE peer_status SET events_epoch=?2"
				" WHERE domain=?1",
			domain, epoch);
	return sn_kbs_end(s, err, a);
}
