/* SPDX-License-Identifier: Apache-2.0 */
/* lib/kbs private: the store's handle and transaction helpers. */
#ifndef SEALNET_LIB_KBS_INTERNAL_H
#define SEALNET_LIB_KBS_INTERNAL_H

#include <sqlite3.h>

#include "sealnet/kbs.h"

struct sn_kbs_store {
	sqlite3 *db;
	char path[256];
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
