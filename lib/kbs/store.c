// SPDX-License-Identifier: Apache-2.0
/*
 * sealnet-kbs state in SQLite: WAL journal, synchronous=FULL (a commit is
 * on disk before the answer that depends on it is sent), a schema version
 * table and migrations.  Every change is written with its audit entry in
 * one transaction (audit.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "sealnet/log.h"
#include "sealnet/util.h"
#include "internal.h"

/* migrations[i] brings the schema from version i to i + 1 */
static const char *const migrations[] = {
	"CREATE TABLE nodes (id TEXT PRIMARY KEY, stage TEXT NOT NULL,"
	" spki_sha256 TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,"
	" enrolled_at INTEGER NOT NULL);"
	"CREATE TABLE refvals (stage TEXT PRIMARY KEY, policy TEXT NOT NULL,"
	" updated_at INTEGER NOT NULL);"
	"CREATE TABLE resources (path TEXT PRIMARY KEY, stage TEXT NOT NULL,"
	" node TEXT NOT NULL DEFAULT '', data BLOB NOT NULL,"
	" updated_at INTEGER NOT NULL);"
	"CREATE TABLE tokens (jti TEXT PRIMARY KEY, node TEXT NOT NULL,"
	" stage TEXT NOT NULL, measurement TEXT NOT NULL,"
	" iat INTEGER NOT NULL, exp INTEGER NOT NULL);"
	"CREATE TABLE revocations (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" kind TEXT NOT NULL, value TEXT NOT NULL, reason TEXT NOT NULL,"
	" at INTEGER NOT NULL);"
	"CREATE INDEX revocations_kv ON revocations (kind, value);"
	"CREATE TABLE audit (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
	" actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL,"
	" outcome TEXT NOT NULL, detail TEXT NOT NULL,"
	" prev BLOB NOT NULL, hash BLOB NOT NULL);"
	"CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1),"
	" seq INTEGER NOT NULL, hash BLOB NOT NULL);"
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN"
	" SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN"
	" SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
	/* 2: the imported workflow manifest (manifest.c) */
	"CREATE TABLE manifest (id INTEGER PRIMARY KEY CHECK (id = 1),"
	" digest TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,"
	" imported_at INTEGER NOT NULL);"
	"CREATE TABLE manifest_stages (node TEXT NOT NULL, stage TEXT NOT NULL,"
	" PRIMARY KEY (node, stage));",
	/* 3: the imported manifest's text and signature envelope, the KBS's
	 * one copy of the manifest (manifest.c sn_kbs_manifest_load) */
	("ALTER TABLE manifest ADD COLUMN text TEXT;"
	 "ALTER TABLE manifest ADD COLUMN signatures TEXT;"),
	/* 4: federation (fedstore.c): peers' bundles, fetch results, event
	 * positions, withdrawals; revocations re-published from a peer
	 * domain carry it */
	"ALTER TABLE revocations ADD COLUMN domain TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE peer_bundles (domain TEXT PRIMARY KEY,"
	" sequence INTEGER NOT NULL, not_before INTEGER NOT NULL,"
	" not_after INTEGER NOT NULL, digest TEXT NOT NULL,"
	" bundle TEXT NOT NULL, accepted_at INTEGER NOT NULL);"
	"CREATE TRIGGER peer_bundles_no_rollback BEFORE UPDATE ON"
	" peer_bundles WHEN NEW.sequence < OLD.sequence OR"
	" (NEW.sequence = OLD.sequence AND NEW.digest <> OLD.digest) BEGIN"
	" SELECT RAISE(ABORT, 'trust bundle rollback'); END;"
	"CREATE TABLE peer_status (domain TEXT PRIMARY KEY,"
	" fetched_at INTEGER NOT NULL DEFAULT 0,"
	" ok_at INTEGER NOT NULL DEFAULT 0,"
	" result TEXT NOT NULL DEFAULT '',"
	" events_after INTEGER NOT NULL DEFAULT 0,"
	" withdrawn INTEGER NOT NULL DEFAULT 0);",
	/* 5: federation (fedstore.c): this database's event epoch (GET
	 * /events "epoch", new with every database), a peer's epoch,
	 * withdrawal time and pending re-admission, and which revocations a
	 * withdrawal made (lifted at re-admission) */
	"CREATE TABLE instance (id INTEGER PRIMARY KEY CHECK (id = 1),"
	" epoch TEXT NOT NULL);"
	"INSERT INTO instance VALUES (1, lower(hex(randomblob(16))));"
	"ALTER TABLE peer_status ADD COLUMN events_epoch TEXT NOT NULL"
	" DEFAULT '';"
	"ALTER TABLE peer_status ADD COLUMN withdrawn_at INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE peer_status ADD COLUMN readmit INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE revocations ADD COLUMN withdrawal INTEGER NOT NULL"
	" DEFAULT 0;",
	/* 6: the signed audit head (audit.c): the head's ES256 signature by
	 * the token key and its kid; NULL while unsigned.  Nodes by key
	 * (GET /challenge: sn_kbs_node_by_spki) */
	("ALTER TABLE audit_head ADD COLUMN sig BLOB;"
	 "ALTER TABLE audit_head ADD COLUMN kid TEXT;"
	 "CREATE INDEX nodes_spki ON nodes (spki_sha256);"),
	/* 7: lift events (docs/kbs-api.md "GET /events"): a row whose lifts
	 * is N > 0 is the event "revocation N is lifted" (that row is
	 * deleted in the same transaction); 0 for a revocation */
	"ALTER TABLE revocations ADD COLUMN lifts INTEGER NOT NULL DEFAULT 0;",
};

_Static_assert(SN_ARRAY_SIZE(migrations) == SN_KBS_SCHEMA_VERSION,
	       "one migration per schema version (include/sealnet/kbs.h)");

int sn_kbs_db_err(struct sn_kbs_store *s, const char *what)
{
	sn_err("kbs store %s: %s failed: %s", s->path, what,
	       sqlite3_errmsg(s->db));
	return -EIO;
}

int sn_kbs_stmt(struct sn_kbs_store *s, const char *sql, sqlite3_stmt **out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < SN_KBS_STMT_CACHE && s->stmt[i].sql; i++)
		if (s->stmt[i].st && !strcmp(s->stmt[i].sql, sql)) {
			st = s->stmt[i].st;
			s->stmt[i].st = NULL;
			break;
		}
	if (!st)
		s->stmt_prepared++;
	pthread_mutex_unlock(&s->lock);
	if (st) {
		*out = st;
		return SQLITE_OK;
	}
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
				NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		*out = NULL;
		return rc;
	}
	*out = st;
	return SQLITE_OK;
}

void sn_kbs_stmt_done(struct sn_kbs_store *s, sqlite3_stmt *st)
{
	const char *sql;
	int i;

	if (!st)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sql = sqlite3_sql(st);
	pthread_mutex_lock(&s->lock);
	/* its slot, else the first free one */
	for (i = 0; i < SN_KBS_STMT_CACHE && s->stmt[i].sql; i++)
		if (!s->stmt[i].st && !strcmp(s->stmt[i].sql, sql))
			break;
	if (i < SN_KBS_STMT_CACHE && !s->stmt[i].sql && sql)
		s->stmt[i].sql = strdup(sql);
	if (i < SN_KBS_STMT_CACHE && s->stmt[i].sql && !s->stmt[i].st &&
	    !strcmp(s->stmt[i].sql, sql ? sql : "")) {
		s->stmt[i].st = st;
		st = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	sqlite3_finalize(st); /* the cache is full, or a second copy */
}

int sn_kbs_exec(struct sn_kbs_store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		sn_err("kbs store %s: %.60s...: %s", s->path, sql,
		       msg ? msg : "?");
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

int sn_kbs_begin(struct sn_kbs_store *s)
{
	return sn_kbs_exec(s, "BEGIN IMMEDIATE");
}

int sn_kbs_commit(struct sn_kbs_store *s)
{
	int err = sn_kbs_audit_head_sign_tx(s);

	return err ? err : sn_kbs_exec(s, "COMMIT");
}

void sn_kbs_rollback(struct sn_kbs_store *s)
{
	s->head_dirty = false;
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int sn_kbs_end(struct sn_kbs_store *s, int err, const struct sn_kbs_audit_in *a)
{
	if (!err && a)
		err = sn_kbs_audit_append_tx(s, a);
	if (!err)
		err = sn_kbs_commit(s);
	if (err)
		sn_kbs_rollback(s);
	return err;
}

static int get_version(struct sn_kbs_store *s, int *out)
{
	sqlite3_stmt *st = NULL;
	int err = 0;

	if (sn_kbs_stmt(s, "SELECT version FROM schema_version", &st) !=
	    SQLITE_OK)
		return sn_kbs_db_err(s, "reading the schema version");
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	else
		err = sn_kbs_db_err(s, "reading the schema version");
	sn_kbs_stmt_done(s, st);
	return err;
}

int sn_kbs_store_version(struct sn_kbs_store *s, int *out)
{
	return get_version(s, out);
}

static int migrate(struct sn_kbs_store *s)
{
	int v = 0, err;

	err = sn_kbs_begin(s);
	if (err)
		return err;
	err = sn_kbs_exec(s, "CREATE TABLE IF NOT EXISTS schema_version "
			     "(version INTEGER NOT NULL);"
			     "INSERT INTO schema_version SELECT 0 WHERE NOT "
			     "EXISTS (SELECT 1 FROM schema_version)");
	if (!err)
		err = get_version(s, &v);
	if (err)
		goto fail;
	if (v > (int)SN_ARRAY_SIZE(migrations)) {
		sn_err("kbs store %s: schema version %d is newer than this "
		       "sealnet-kbs knows (%zu): use a newer sealnet-kbs",
		       s->path, v, SN_ARRAY_SIZE(migrations));
		err = -EPROTO;
		goto fail;
	}
	for (; v < (int)SN_ARRAY_SIZE(migrations); v++) {
		char sql[64];

		err = sn_kbs_exec(s, migrations[v]);
		snprintf(sql, sizeof(sql),
			 "UPDATE schema_version SET version=%d", v + 1);
		if (!err)
			err = sn_kbs_exec(s, sql);
		if (err)
			goto fail;
		sn_info("kbs store %s: schema migrated to version %d", s->path,
			v + 1);
	}
	return sn_kbs_commit(s);
fail:
	sn_kbs_rollback(s);
	return err;
}

int sn_kbs_store_open(const char *path, struct sn_kbs_store **out)
{
	struct sn_kbs_store *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		err = sn_kbs_db_err(s, "opening the database");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	/* WAL: readers do not block the writer; FULL: every commit fsynced */
	err = sn_kbs_exec(s, "PRAGMA journal_mode=WAL;"
			     "PRAGMA synchronous=FULL;"
			     "PRAGMA foreign_keys=ON;"
			     "PRAGMA secure_delete=ON");
	if (!err)
		err = migrate(s);
	if (err)
		goto fail;
	*out = s;
	return 0;
fail:
	sn_kbs_store_close(s);
	return err;
}

void sn_kbs_store_close(struct sn_kbs_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < SN_KBS_STMT_CACHE; i++) {
		sqlite3_finalize(s->stmt[i].st);
		free(s->stmt[i].sql);
	}
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* prepare, bind text parameters (NULL: skip), step once */
static int run(struct sn_kbs_store *s, const char *what, const char *sql, int n,
	       const char *const *texts)
{
	sqlite3_stmt *st = NULL;
	int err = 0;

	if (sn_kbs_stmt(s, sql, &st) != SQLITE_OK)
		return sn_kbs_db_err(s, what);
	for (int i = 0; i < n; i++)
		sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = sn_kbs_db_err(s, what);
	sn_kbs_stmt_done(s, st);
	return err;
}

/* change + audit in one transaction */
static int change(struct sn_kbs_store *s, const char *what, const char *sql,
		  int n, const char *const *texts,
		  const struct sn_kbs_audit_in *a)
{
	int err = sn_kbs_begin(s);

	if (err)
		return err;
	err = run(s, what, sql, n, texts);
	return sn_kbs_end(s, err, a);
}

int sn_kbs_enrol(struct sn_kbs_store *s, const struct sn_kbs_node *n,
		 const struct sn_kbs_audit_in *a)
{
	char spki[2 * SN_SHA256_LEN + 1];
	const char *t[3] = {n->id, n->stage, spki};

	if (sn_kbs_name_check(n->id) || sn_kbs_name_check(n->stage))
		return -EINVAL;
	sn_hex_encode(n->spki_sha256, SN_SHA256_LEN, spki);
	/* re-enrolling replaces stage and key but never clears a revocation */
	return change(s, "enrolling a node",
		      "INSERT INTO nodes (id, stage, spki_sha256, enrolled_at)"
		      " VALUES (?1, ?2, ?3, unixepoch()) ON CONFLICT(id) DO"
		      " UPDATE SET stage=?2, spki_sha256=?3",
		      3, t, a);
}

int sn_kbs_node_get(struct sn_kbs_store *s, const char *id,
		    struct sn_kbs_node *out)
{
	sqlite3_stmt *st = NULL;
	struct sn_kbs_node n = {0};
	int err = -ENOENT, rc;

	if (sn_kbs_stmt(s,
			"SELECT stage, spki_sha256, revoked FROM nodes "
			"WHERE id=?1",
			&st) != SQLITE_OK)
		return sn_kbs_db_err(s, "reading a node");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *stage = (const char *)sqlite3_column_text(st, 0);
		const char *spki = (const char *)sqlite3_column_text(st, 1);

		snprintf(n.id, sizeof(n.id), "%s", id);
		snprintf(n.stage, sizeof(n.stage), "%s", stage ? stage : "");
		n.revoked = sqlite3_column_int(st, 2) != 0;
		if (!spki ||
		    sn_hex_decode(spki, strlen(spki), n.spki_sha256,
				  sizeof(n.spki_sha256)) != SN_SHA256_LEN)
			err = -EIO;
		else
			err = 0;
	} else if (rc != SQLITE_DONE) {
		err = sn_kbs_db_err(s, "reading a node");
	}
	sn_kbs_stmt_done(s, st);
	if (!err)
		*out = n;
	return err;
}

int sn_kbs_node_by_spki(struct sn_kbs_store *s,
			const uint8_t spki[SN_SHA256_LEN],
			char id[SN_KBS_NAME_MAX])
{
	sqlite3_stmt *st = NULL;
	char hex[2 * SN_SHA256_LEN + 1];
	int err = -ENOENT, rc;

	sn_hex_encode(spki, SN_SHA256_LEN, hex);
	if (sqlite3_prepare_v2(s->db,
			       "SELECT id FROM nodes WHERE spki_sha256=?1 "
			       "ORDER BY id LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		return sn_kbs_db_err(s, "finding a node by its key");
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);

		snprintf(id, SN_KBS_NAME_MAX, "%s", v ? v : "");
		err = 0;
	} else if (rc != SQLITE_DONE) {
		err = sn_kbs_db_err(s, "finding a node by its key");
	}
	sqlite3_finalize(st);
	return err;
}

int sn_kbs_reference_set(struct sn_kbs_store *s, const char *stage,
			 const char *policy_json,
			 const struct sn_kbs_audit_in *a)
{
	const char *t[2] = {stage, policy_json};

	if (sn_kbs_name_check(stage))
		return -EINVAL;
	return change(s, "setting reference values",
		      "INSERT INTO refvals (stage, policy, updated_at) VALUES"
		      " (?1, ?2, unixepoch()) ON CONFLICT(stage) DO UPDATE SET"
		      " policy=?2, updated_at=unixepoch()",
		      2, t, a);
}

int sn_kbs_reference_get(struct sn_kbs_store *s, const char *stage, char **out)
{
	sqlite3_stmt *st = NULL;
	int err = -ENOENT, rc;

	if (sn_kbs_stmt(s, "SELECT policy FROM refvals WHERE stage=?1", &st) !=
	    SQLITE_OK)
		return sn_kbs_db_err(s, "reading reference values");
	sqlite3_bind_text(st, 1, stage, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		char *p = strdup((const char *)sqlite3_column_text(st, 0));

		err = p ? 0 : -ENOMEM;
		if (p)
			*out = p;
	} else if (rc != SQLITE_DONE) {
		err = sn_kbs_db_err(s, "reading reference values");
	}
	sn_kbs_stmt_done(s, st);
	return err;
}

int sn_kbs_resource_put(struct sn_kbs_store *s, const char *path,
			const char *stage, const char *node,
			const uint8_t *data, size_t len,
			const struct sn_kbs_audit_in *a)
{
	sqlite3_stmt *st = NULL;
	int err;

	if (sn_kbs_path_check(path) || sn_kbs_name_check(stage) ||
	    (node[0] && sn_kbs_name_check(node)) || len > SN_KBS_RESOURCE_MAX)
		return -EINVAL;
	err = sn_kbs_begin(s);
	if (err)
		return err;
	if (sn_kbs_stmt(s,
			"INSERT INTO resources (path, stage, node, data,"
			" updated_at) VALUES (?1, ?2, ?3, ?4, unixepoch())"
			" ON CONFLICT(path) DO UPDATE SET stage=?2,"
			" node=?3, data=?4, updated_at=unixepoch()",
			&st) != SQLITE_OK) {
		err = sn_kbs_db_err(s, "storing a resource");
		goto out;
	}
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, stage, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, node, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, data, (int)len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = sn_kbs_db_err(s, "storing a resource");
out:
	sn_kbs_stmt_done(s, st);
	err = sn_kbs_end(s, err, a);
	return err;
}

int sn_kbs_resource_get(struct sn_kbs_store *s, const char *path,
			struct sn_kbs_resource *out)
{
	sqlite3_stmt *st = NULL;
	int err = -ENOENT, rc;

	if (sn_kbs_stmt(s,
			"SELECT stage, node, data FROM resources WHERE"
			" path=?1",
			&st) != SQLITE_OK)
		return sn_kbs_db_err(s, "reading a resource");
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		struct sn_kbs_resource r = {0};
		const void *d = sqlite3_column_blob(st, 2);
		int n = sqlite3_column_bytes(st, 2);

		snprintf(r.stage, sizeof(r.stage), "%s",
			 (const char *)sqlite3_column_text(st, 0));
		snprintf(r.node, sizeof(r.node), "%s",
			 (const char *)sqlite3_column_text(st, 1));
		r.data = malloc(n > 0 ? (size_t)n : 1);
		if (!r.data) {
			err = -ENOMEM;
		} else {
			if (n > 0)
				memcpy(r.data, d, (size_t)n);
			r.len = (size_t)n;
			*out = r;
			err = 0;
		}
	} else if (rc != SQLITE_DONE) {
		err = sn_kbs_db_err(s, "reading a resource");
	}
	sn_kbs_stmt_done(s, st);
	return err;
}

void sn_kbs_resource_clear(struct sn_kbs_resource *r)
{
	if (r->data) {
		OPENSSL_cleanse(r->data, r->len);
		free(r->data);
	}
	r->data = NULL;
	r->len = 0;
}

int sn_kbs_token_record(struct sn_kbs_store *s,
			const struct sn_kbs_token_rec *t,
			const struct sn_kbs_audit_in *a)
{
	char iat[24], exp[24];
	const char *v[6] = {t->jti,	    t->node, t->stage,
			    t->measurement, iat,     exp};

	snprintf(iat, sizeof(iat), "%lld", (long long)t->iat);
	snprintf(exp, sizeof(exp), "%lld", (long long)t->exp);
	return change(s, "recording a token",
		      "INSERT INTO tokens (jti, node, stage, measurement, iat,"
		      " exp) VALUES (?1, ?2, ?3, ?4, CAST(?5 AS INTEGER),"
		      " CAST(?6 AS INTEGER))",
		      6, v, a);
}

int sn_kbs_token_record_many(struct sn_kbs_store *s,
			     const struct sn_kbs_token_rec *t,
			     const struct sn_kbs_audit_in *a, size_t n)
{
	int err = sn_kbs_begin(s);

	for (size_t i = 0; !err && i < n; i++) {
		char iat[24], exp[24];
		const char *v[6] = {t[i].jti,	      t[i].node, t[i].stage,
				    t[i].measurement, iat,	 exp};

		snprintf(iat, sizeof(iat), "%lld", (long long)t[i].iat);
		snprintf(exp, sizeof(exp), "%lld", (long long)t[i].exp);
		err = run(s, "recording a token",
			  "INSERT INTO tokens (jti, node, stage, measurement,"
			  " iat, exp) VALUES (?1, ?2, ?3, ?4, CAST(?5 AS"
			  " INTEGER), CAST(?6 AS INTEGER))",
			  6, v);
		if (!err)
			err = sn_kbs_audit_append_tx(s, &a[i]);
	}
	if (!err)
		err = sn_kbs_commit(s);
	if (err)
		sn_kbs_rollback(s);
	return err;
}

int sn_kbs_exists(struct sn_kbs_store *s, const char *what, const char *sql,
		  const char *a1, const char *a2, const char *a3)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sn_kbs_stmt(s, sql, &st) != SQLITE_OK)
		return sn_kbs_db_err(s, what);
	sqlite3_bind_text(st, 1, a1, -1, SQLITE_STATIC);
	if (a2)
		sqlite3_bind_text(st, 2, a2, -1, SQLITE_STATIC);
	if (a3)
		sqlite3_bind_text(st, 3, a3, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sn_kbs_stmt_done(s, st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return sn_kbs_db_err(s, what);
}

int sn_kbs_token_known(struct sn_kbs_store *s, const char *jti)
{
	int r = sn_kbs_exists(s, "looking up a token",
			      "SELECT 1 FROM tokens WHERE jti=?1", jti, NULL,
			      NULL);

	return r < 0 ? r : r ? 0 : -ENOENT;
}

int sn_kbs_revoke(struct sn_kbs_store *s, const char *kind, const char *value,
		  const char *reason, const struct sn_kbs_audit_in *a,
		  int64_t *seq)
{
	const char *t[3] = {kind, value, reason};
	int64_t id = 0;
	int err;

	if (!strcmp(kind, "node")) {
		if (sn_kbs_name_check(value))
			return -EINVAL;
	} else if (!strcmp(kind, "measurement")) {
		uint8_t m[SN_MEASUREMENT_LEN];

		if (strlen(value) != 2 * SN_MEASUREMENT_LEN ||
		    sn_hex_decode(value, strlen(value), m, sizeof(m)) !=
			    SN_MEASUREMENT_LEN)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	err = sn_kbs_begin(s);
	if (err)
		return err;
	err = run(s, "recording a revocation",
		  "INSERT INTO revocations (kind, value, reason, at) VALUES"
		  " (?1, lower(?2), ?3, unixepoch())",
		  3, t);
	/* the revocation's seq, before the audit row's INSERT moves
	 * last_insert_rowid */
	if (!err)
		id = sqlite3_last_insert_rowid(s->db);
	if (!err && !strcmp(kind, "node"))
		err = run(s, "revoking a node",
			  "UPDATE nodes SET revoked=1 WHERE id=?2", 2, t);
	err = sn_kbs_end(s, err, a);
	if (!err && seq)
		*seq = id;
	return err;
}

int sn_kbs_is_revoked(struct sn_kbs_store *s, const char *kind,
		      const char *value)
{
	return sn_kbs_exists(s, "looking up revocations",
			     "SELECT 1 FROM revocations WHERE kind=?1 AND"
			     " value=lower(?2) AND lifts=0",
			     kind, value, NULL);
}

int sn_kbs_events_json(struct sn_kbs_store *s, int64_t after, int limit,
		       char **out, int64_t *last)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();
	int64_t l = after;
	int err = 0, rc;
	char *txt;

	if (!arr)
		return -ENOMEM;
	if (sn_kbs_stmt(s,
			"SELECT seq, kind, value, reason, at, domain, lifts"
			" FROM revocations WHERE seq > ?1 ORDER BY seq"
			" LIMIT ?2",
			&st) != SQLITE_OK) {
		json_decref(arr);
		return sn_kbs_db_err(s, "reading revocation events");
	}
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *dom = (const char *)sqlite3_column_text(st, 5);
		int64_t lifts = sqlite3_column_int64(st, 6);
		json_t *ev;

		l = sqlite3_column_int64(st, 0);
		ev = json_pack(
			"{s:I,s:s,s:s,s:s,s:I}", "seq", (json_int_t)l, "kind",
			(const char *)sqlite3_column_text(st, 1), "value",
			(const char *)sqlite3_column_text(st, 2), "reason",
			(const char *)sqlite3_column_text(st, 3), "at",
			(json_int_t)sqlite3_column_int64(st, 4));
		/* a peer domain's revocation re-published (fedstore.c) */
		if (ev && dom && dom[0])
			json_object_set_new(ev, "domain", json_string(dom));
		/* "op": a revocation, or the lift of revocation `lifts` */
		if (ev)
			json_object_set_new(
				ev, "op",
				json_string(lifts ? "lift" : "revoke"));
		if (ev && lifts)
			json_object_set_new(ev, "lifts", json_integer(lifts));
		json_array_append_new(arr, ev);
	}
	if (rc != SQLITE_DONE)
		err = sn_kbs_db_err(s, "reading revocation events");
	sn_kbs_stmt_done(s, st);
	if (err) {
		json_decref(arr);
		return err;
	}
	txt = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (!txt)
		return -ENOMEM;
	*out = txt;
	*last = l;
	return 0;
}

/* every row of sql as an object with the given column names */
static int rows_json(struct sn_kbs_store *s, const char *sql,
		     const char *const *cols, int ncols, json_t **out)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();
	int rc;

	if (!arr)
		return -ENOMEM;
	if (sn_kbs_stmt(s, sql, &st) != SQLITE_OK) {
		json_decref(arr);
		return sn_kbs_db_err(s, "listing");
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_object();

		for (int i = 0; i < ncols; i++) {
			if (sqlite3_column_type(st, i) == SQLITE_INTEGER)
				json_object_set_new(
					o, cols[i],
					json_integer(
						sqlite3_column_int64(st, i)));
			else
				json_object_set_new(
					o, cols[i],
					json_string((const char *)
							    sqlite3_column_text(
								    st, i)));
		}
		json_array_append_new(arr, o);
	}
	sn_kbs_stmt_done(s, st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return sn_kbs_db_err(s, "listing");
	}
	*out = arr;
	return 0;
}

int sn_kbs_list_json(struct sn_kbs_store *s, char **out)
{
	static const char *const nc[] = {"id", "stage", "spki_sha256",
					 "revoked"};
	static const char *const rc[] = {"stage", "updated_at"};
	static const char *const sc[] = {"path", "stage", "node", "size"};
	static const char *const vc[] = {"seq",	   "kind", "value",
					 "reason", "at",   "domain"};
	static const char *const tc[] = {"tokens"};
	json_t *o = json_object(), *a;
	char *txt;
	int err;

	if (!o)
		return -ENOMEM;
	err = rows_json(s,
			"SELECT id, stage, spki_sha256, revoked FROM nodes"
			" ORDER BY id",
			nc, 4, &a);
	if (!err) {
		json_object_set_new(o, "nodes", a);
		err = rows_json(s,
				"SELECT stage, updated_at FROM refvals"
				" ORDER BY stage",
				rc, 2, &a);
	}
	if (!err) {
		json_object_set_new(o, "references", a);
		err = rows_json(s,
				"SELECT path, stage, node, length(data) FROM"
				" resources ORDER BY path",
				sc, 4, &a);
	}
	if (!err) {
		json_object_set_new(o, "resources", a);
		err = rows_json(s,
				"SELECT seq, kind, value, reason, at, domain"
				" FROM revocations WHERE lifts=0 ORDER BY seq",
				vc, 6, &a);
	}
	if (!err) {
		json_object_set_new(o, "revocations", a);
		err = rows_json(s, "SELECT count(*) FROM tokens", tc, 1, &a);
	}
	if (!err) {
		json_object_set(
			o, "tokens",
			json_object_get(json_array_get(a, 0), "tokens"));
		json_decref(a);
	}
	if (!err) {
		struct sn_kbs_manifest m;
		int e = sn_kbs_manifest_get(s, &m);

		if (e && e != -ENOENT)
			err = e;
		else
			json_object_set_new(
				o, "manifest",
				e ? json_null() :
				    json_pack("{s:s,s:I,s:s,s:I}", "name",
					      m.name, "version",
					      (json_int_t)m.version, "digest",
					      m.digest, "stages",
					      (json_int_t)m.n_stages));
	}
	txt = err ? NULL : json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (err)
		return err;
	if (!txt)
		return -ENOMEM;
	*out = txt;
	return 0;
}
