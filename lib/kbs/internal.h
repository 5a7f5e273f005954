/* SPDX-License-Identifier: Apache-2.0 */
/* lib/kbs private: the store's handle and transaction helpers. */
#ifndef SEALNET_LIB_KBS_INTERNAL_H
#define SEALNET_LIB_KBS_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "sealnet/kbs.h"

#define SN_KBS_STMT_CACHE 48

struct sn_kbs_store {
	sqlite3 *db;
	char path[256];
	/* prepared statements kept across calls (sn_kbs_stmt): text and
	 * statement; st NULL while one is in use */
	pthread_mutex_t lock;
	struct {
		char *sql;
		sqlite3_stmt *st;
	} stmt[SN_KBS_STMT_CACHE];
	unsigned long stmt_prepared; /* statements compiled (tests) */
	/* audit.c: the head's signer, and whether this transaction moved
	 * the head (signed at its commit) */
	const struct sn_kbs_signer *(*head_signer)(void *arg);
	size_t (*head_keys)(void *arg, const struct sn_kbs_signer **out,
			    size_t cap);
	void *head_arg;
	bool head_dirty;
	bool head_trusted; /* the head this transaction extends was ours */
	bool head_adopt;   /* sn_kbs_audit_adopt: extend it whatever it is */
};

/*
 * A prepared statement for sql from the store's cache, or compiled now
 * (SQLITE_OK or sqlite's error code, *out NULL).  Give it back with
 * sn_kbs_stmt_done, which resets it (ends its read, drops the bindings)
 * and keeps it for the next call with the same text.  A cached statement
 * holds no data: each step reads the database as it is (a schema change
 * makes sqlite compile it again).  Thread-safe.
 */
int sn_kbs_stmt(struct sn_kbs_store *s, const char *sql, sqlite3_stmt **out);
void sn_kbs_stmt_done(struct sn_kbs_store *s, sqlite3_stmt *st);

/* 1 when sql (SELECT 1 ... with text parameters ?1 [?2 [?3]]: a2, a3 NULL
 * when absent) finds a row, 0 when not, -EIO (logged for what) */
int sn_kbs_exists(struct sn_kbs_store *s, const char *what, const char *sql,
		  const char *a1, const char *a2, const char *a3);
/* log sqlite's message for what and return -EIO */
int sn_kbs_db_err(struct sn_kbs_store *s, const char *what);
int sn_kbs_exec(struct sn_kbs_store *s, const char *sql);
int sn_kbs_begin(struct sn_kbs_store *s);
int sn_kbs_commit(struct sn_kbs_store *s);
/* End a transaction begun with sn_kbs_begin: with err 0, append a (when
 * not NULL) to the audit log in it and commit; roll back when err was set
 * or either step failed.  Returns the resulting error. */
int sn_kbs_end(struct sn_kbs_store *s, int err,
	       const struct sn_kbs_audit_in *a);
void sn_kbs_rollback(struct sn_kbs_store *s);
/* before COMMIT: sign the head when this transaction moved it */
int sn_kbs_audit_head_sign_tx(struct sn_kbs_store *s);
/* append inside an open transaction */
int sn_kbs_audit_append_tx(struct sn_kbs_store *s,
			   const struct sn_kbs_audit_in *a);

#endif
