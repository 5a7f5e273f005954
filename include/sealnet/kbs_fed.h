/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sealnet-kbs's federation state in its SQLite store (lib/kbs/fedstore.c,
 * docs/federation.md "The KBS and its peers"): the last trust bundle
 * accepted from each peer domain, the result of the last fetch, the
 * position in the peer's revocation events, withdrawn domains, and the
 * peer revocations re-published on this KBS's GET /events.
 *
 * The store is the rollback state: a bundle whose sequence is below the
 * stored one (or equal with another digest) is refused by the store
 * itself (-ESTALE), whatever the caller checked before.  Every change is
 * written with its audit entry in one transaction.  0 or negative errno;
 * out-parameters written only on success.
 */
#ifndef SEALNET_KBS_FED_H
#define SEALNET_KBS_FED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealnet/kbs.h"

#define SN_KBS_FED_RESULT_MAX 48 /* "ok", a refusal code, "unreachable" */
#define SN_KBS_EPOCH_MAX      65 /* an event epoch: 1..64 characters */

struct sn_kbs_peer_bundle {
	char domain[SN_KBS_NAME_MAX];
	uint64_t sequence;
	int64_t not_before, not_after;
	int64_t accepted_at;
	char digest[2 * 48 + 1]; /* bundle_digest, hex */
	char *text;		 /* the bundle's exact bytes (malloc'd) */
	size_t len;
};
void sn_kbs_peer_bundle_clear(struct sn_kbs_peer_bundle *b);

/* -ENOENT when no bundle of domain was ever accepted */
int sn_kbs_peer_bundle_get(struct sn_kbs_store *s, const char *domain,
			   struct sn_kbs_peer_bundle *out);
/*
 * Store b as domain's bundle (accepted_at = now) with its audit entry.
 * -ESTALE (nothing written) when the stored one has a higher sequence,
 * or the same sequence with another digest; the same bundle again is 0
 * (nothing changes, nothing audited).  -EPERM the domain is withdrawn.
 * With a re-admission pending (sn_kbs_peer_readmit): the same bundle
 * again is -ESTALE too, a bundle whose not_before is before the
 * withdrawal is -ETIME; an accepted one completes the re-admission in
 * the same transaction (the revocations the withdrawal made are
 * deleted: lifted).  -EINVAL bad arguments.
 */
int sn_kbs_peer_bundle_put(struct sn_kbs_store *s,
			   const struct sn_kbs_peer_bundle *b,
			   const struct sn_kbs_audit_in *a);
/* Every stored bundle (with text), ordered by domain; *out malloc'd
 * (free each with sn_kbs_peer_bundle_clear, then the array). */
int sn_kbs_peer_bundles(struct sn_kbs_store *s, struct sn_kbs_peer_bundle **out,
			size_t *n);

/* the fetch bookkeeping of a peer domain */
struct sn_kbs_peer_status {
	int64_t fetched_at; /* last fetch attempt (0: never) */
	int64_t ok_at;	    /* last fetch that gave an accepted bundle */
	char result[SN_KBS_FED_RESULT_MAX]; /* of the last attempt */
	int64_t events_after; /* the peer's last event seq applied */
	/* the peer's GET /events "epoch" events_after counts in ("": not
	 * known yet) */
	char events_epoch[SN_KBS_EPOCH_MAX];
	bool withdrawn;
	int64_t withdrawn_at; /* when it last withdrew (0: never) */
	/* re-admitted by an admin, waiting for a bundle issued after the
	 * withdrawal (sn_kbs_peer_bundle_put) */
	bool readmit;
};
/* all zero when nothing is recorded for domain */
int sn_kbs_peer_status_get(struct sn_kbs_store *s, const char *domain,
			   struct sn_kbs_peer_status *out);
/* Record a fetch attempt at `at` with its result ("ok" also sets ok_at);
 * a not NULL: its audit entry in the same transaction. */
int sn_kbs_peer_fetch_note(struct sn_kbs_store *s, const char *domain,
			   int64_t at, const char *result,
			   const struct sn_kbs_audit_in *a);

/* What `sealnet kbs bundles` shows for a domain at now: "withdrawn",
 * "none" (no bundle), "expired" (now >= not_after), "stale" (valid, but
 * the last fetch did not give it), "fresh". */
const char *sn_kbs_peer_state(const struct sn_kbs_peer_bundle *b,
			      const struct sn_kbs_peer_status *st, int64_t now);
/* [{"domain", "state", "sequence", "not_before", "not_after",
 *   "accepted_at", "last_fetch_at", "last_ok_at", "last_result",
 *   "withdrawn", "events_after"}, ...] for every domain with a bundle
 * or a status (*out malloc'd) */
int sn_kbs_peer_bundles_json(struct sn_kbs_store *s, int64_t now, char **out);

/*
 * A revocation event of peer domain (its sequence peer_seq on its own
 * GET /events) re-published here: recorded as kind/value with the
 * domain, the domain's event position moved to peer_seq, the audit entry
 * a, in one transaction; *seq the local event's sequence.  An event at or
 * below the stored position is -EALREADY (nothing written); one the
 * domain made before (kind/value recorded for it, not by a withdrawal)
 * is -EALREADY with only the position moved (not audited).
 */
int sn_kbs_revoke_peer(struct sn_kbs_store *s, const char *domain,
		       int64_t peer_seq, const char *kind, const char *value,
		       const char *reason, const struct sn_kbs_audit_in *a,
		       int64_t *seq);
/* Move domain's event position to after (a refused event), with its
 * audit entry (may be NULL). */
int sn_kbs_peer_events_skip(struct sn_kbs_store *s, const char *domain,
			    int64_t after, const struct sn_kbs_audit_in *a);
/*
 * The domain has withdrawn (or was expelled): mark it, and publish a
 * node revocation (with the domain) for each of nodes[0..n), with the
 * audit entry a, in one transaction.  *first: the sequence of the first
 * event (0 when n == 0).  -EALREADY when already withdrawn.
 */
int sn_kbs_peer_withdraw(struct sn_kbs_store *s, const char *domain,
			 const char *const *nodes, size_t n, const char *reason,
			 const struct sn_kbs_audit_in *a, int64_t *first);
/*
 * An admin re-admits a withdrawn domain: no longer withdrawn, a
 * re-admission pending until a bundle issued after the withdrawal is
 * stored (sn_kbs_peer_bundle_put), with the audit entry a.  -EALREADY
 * when the domain is not withdrawn.
 */
int sn_kbs_peer_readmit(struct sn_kbs_store *s, const char *domain,
			const struct sn_kbs_audit_in *a);
/*
 * This database's event epoch (random, made with the database: a
 * recreated database has another) and the highest event sequence it
 * ever gave (0: none), for GET /events.
 */
int sn_kbs_events_head(struct sn_kbs_store *s, char epoch[SN_KBS_EPOCH_MAX],
		       int64_t *head);
/* Record the epoch of domain's GET /events; reset: its sequence
 * restarted, the event position goes back to 0.  a: audit entry or
 * NULL. */
int sn_kbs_peer_events_epoch(struct sn_kbs_store *s, const char *domain,
			     const char *epoch, bool reset,
			     const struct sn_kbs_audit_in *a);

#endif
