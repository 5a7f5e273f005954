/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A follower's view of one KBS's `GET /events` (lib/kbs/revset.c,
 * docs/kbs-api.md "GET /events", "Following GET /events"): the
 * revocations in force, each kept with the sequence number of the event
 * that made it; the position followed (`after`); the KBS's event epoch.
 * sealnetd (daemon/kbs_client.c) holds one.
 *
 * Rules, each refusing rather than un-revoking:
 * - an event whose seq is not above the position is ignored (a replayed
 *   or reordered event, an old lift replayed after a new revocation);
 * - a lift removes exactly the revocation whose seq it names, and only
 *   when that revocation has the same kind, value and domain (a lift naming
 *   another revocation, a later one, or itself is malformed); another
 *   revocation of the same node or measurement still holds it;
 * - when the KBS's sequence restarted (another epoch, or a head below the
 *   position), the follower re-reads from 0: the revocations held stay in
 *   force while it does (marked stale), and are dropped only when the
 *   re-read reached the KBS's head, so a revocation is never dropped
 *   before the full set was read again and a lift missed across the
 *   restart still takes effect.
 *
 * Functions return 0 (or a verdict >= 0) or negative errno; nothing is
 * printed.
 */
#ifndef SEALNET_KBS_REVSET_H
#define SEALNET_KBS_REVSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define SN_KBS_REV_VALUE_MAX  100 /* a node name or 96 hex digits */
#define SN_KBS_REV_REASON_MAX 160
#define SN_KBS_REV_MAX	      65536 /* revocations held at most */

struct sn_kbs_revset;

/* one event of GET /events, parsed (sn_kbs_rev_event_parse) */
struct sn_kbs_rev_event {
	int64_t seq;
	bool lift;     /* "op": "lift" */
	int64_t lifts; /* the seq of the revocation lifted (lift only) */
	char kind[16]; /* "node" | "measurement" */
	char value[SN_KBS_REV_VALUE_MAX]; /* measurements in lower case */
	char reason[SN_KBS_REV_REASON_MAX];
	char domain[64]; /* "" for the KBS's own domain */
};

enum sn_kbs_rev_verdict {
	SN_KBS_REV_REVOKED = 0,	 /* a revocation is now held */
	SN_KBS_REV_LIFTED,	 /* lifted: kind/value no longer revoked */
	SN_KBS_REV_LIFTED_KEPT,	 /* lifted, another revocation still holds */
	SN_KBS_REV_LIFT_UNKNOWN, /* a lift of a revocation not held: nothing */
	SN_KBS_REV_OLD,		 /* seq not above the position: ignored */
	SN_KBS_REV_MISMATCH,	 /* a lift naming a revocation of another
				  * kind/value/domain: ignored */
};

/* 0, or -EINVAL: not {seq >= 1, kind node|measurement, value, reason,
 * op revoke|lift (absent: revoke), lifts (lift: 1 <= lifts < seq)} */
int sn_kbs_rev_event_parse(const json_t *ev, struct sn_kbs_rev_event *out);
const char *sn_kbs_rev_verdict_name(int verdict);

int sn_kbs_revset_new(struct sn_kbs_revset **out);
void sn_kbs_revset_free(struct sn_kbs_revset *s);

/* Before the events of an answer: its "epoch" (NULL or "" when absent)
 * and "head" (has_head false when absent).  1 when the KBS's sequence
 * restarted: the answer must be dropped, the position is 0, every
 * revocation held is marked stale (still in force); 0 otherwise. */
int sn_kbs_revset_answer_begin(struct sn_kbs_revset *s, const char *epoch,
			       bool has_head, int64_t head);
/* one event, in answer order: a verdict >= 0, or -ENOSPC (more than
 * SN_KBS_REV_MAX held: the position does not move) */
int sn_kbs_revset_apply(struct sn_kbs_revset *s,
			const struct sn_kbs_rev_event *e);
/* after an answer's events: its "last", how many events it had, its head.
 * While re-reading after a restart, an answer with no event or with last
 * >= head completes it: the stale revocations are dropped, their number
 * returned (>= 0). */
int sn_kbs_revset_answer_end(struct sn_kbs_revset *s, int64_t last,
			     size_t n_events, bool has_head, int64_t head);

/* true (and *reason, valid until the next change) when kind/value is
 * revoked */
bool sn_kbs_revset_revoked(const struct sn_kbs_revset *s, const char *kind,
			   const char *value, const char **reason);
int64_t sn_kbs_revset_after(const struct sn_kbs_revset *s);
/* the epoch the position counts in ("" before the first answer) */
const char *sn_kbs_revset_epoch(const struct sn_kbs_revset *s);
/* true while re-reading the full set (from 0, until the head) */
bool sn_kbs_revset_resyncing(const struct sn_kbs_revset *s);
size_t sn_kbs_revset_count(const struct sn_kbs_revset *s);

#endif
