// SPDX-License-Identifier: Apache-2.0
/*
 * A follower's view of one KBS's GET /events (include/sealnet/kbs_revset.h,
 * docs/kbs-api.md "Following GET /events"): revocations held by the seq of
 * the event that made them, lift events applied to exactly the revocation
 * they name, the position and the epoch, the full re-read after the KBS's
 * sequence restarted.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/kbs_revset.h"

struct rev {
	int64_t seq; /* the event that made it; 0 once stale */
	bool stale;  /* held from before a restart of the KBS's sequence */
	char kind[16];
	char value[SN_KBS_REV_VALUE_MAX];
	char reason[SN_KBS_REV_REASON_MAX];
	char domain[64]; /* "" for the KBS's own domain */
};

struct sn_kbs_revset {
	struct rev *r;
	size_t n, cap;
	int64_t after;
	bool resyncing;
	char epoch[65];
};

static int copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		return -EINVAL;
	memcpy(dst, src, n + 1);
	return 0;
}

int sn_kbs_rev_event_parse(const json_t *ev, struct sn_kbs_rev_event *out)
{
	struct sn_kbs_rev_event e = {0};
	const char *kind = NULL, *value = NULL, *reason = "", *op = "revoke",
		   *dom = "";
	json_int_t seq = 0, lifts = 0;
	json_error_t jerr;

	if (json_unpack_ex((json_t *)ev, &jerr, 0, "{sI ss ss s?s s?s s?s s?I}",
			   "seq", &seq, "kind", &kind, "value", &value,
			   "reason", &reason, "op", &op, "domain", &dom,
			   "lifts", &lifts) ||
	    seq < 1)
		return -EINVAL;
	e.seq = seq;
	if (!strcmp(op, "lift")) {
		/* a lift names an earlier revocation */
		if (lifts < 1 || lifts >= seq)
			return -EINVAL;
		e.lift = true;
		e.lifts = lifts;
	} else if (strcmp(op, "revoke") || lifts) {
		return -EINVAL;
	}
	if (copy(e.kind, sizeof(e.kind), kind) ||
	    copy(e.value, sizeof(e.value), value) || !*value)
		return -EINVAL;
	if (!strcmp(kind, "measurement")) {
		if (strlen(value) != 96)
			return -EINVAL;
		for (char *p = e.value; *p; p++) {
			if (!isxdigit((unsigned char)*p))
				return -EINVAL;
			*p = (char)tolower((unsigned char)*p);
		}
	} else if (strcmp(kind, "node")) {
		return -EINVAL;
	}
	snprintf(e.reason, sizeof(e.reason), "%s", reason);
	if (copy(e.domain, sizeof(e.domain), dom))
		return -EINVAL;
	*out = e;
	return 0;
}

const char *sn_kbs_rev_verdict_name(int v)
{
	static const char *const names[] = {
		[SN_KBS_REV_REVOKED] = "revoked",
		[SN_KBS_REV_LIFTED] = "lifted",
		[SN_KBS_REV_LIFTED_KEPT] = "lifted-still-revoked",
		[SN_KBS_REV_LIFT_UNKNOWN] = "lift-of-unknown-revocation",
		[SN_KBS_REV_OLD] = "old-sequence",
		[SN_KBS_REV_MISMATCH] = "lift-mismatch",
	};

	if (v < 0)
		return "error";
	return (size_t)v < sizeof(names) / sizeof(names[0]) ? names[v] :
							      "unknown";
}

int sn_kbs_revset_new(struct sn_kbs_revset **out)
{
	struct sn_kbs_revset *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->resyncing = true; /* the first read, from 0 */
	*out = s;
	return 0;
}

void sn_kbs_revset_free(struct sn_kbs_revset *s)
{
	if (!s)
		return;
	free(s->r);
	free(s);
}

int sn_kbs_revset_answer_begin(struct sn_kbs_revset *s, const char *epoch,
			       bool has_head, int64_t head)
{
	bool other, rewound;

	if (!epoch || !*epoch || strlen(epoch) >= sizeof(s->epoch))
		return 0; /* a KBS that does not say */
	other = s->epoch[0] && strcmp(s->epoch, epoch);
	rewound = has_head && head < s->after;
	snprintf(s->epoch, sizeof(s->epoch), "%s", epoch);
	if (!other && !rewound)
		return 0;
	/* the held revocations stay in force until the full set is read
	 * again; their seqs count in the old sequence: no lift of the new
	 * one can name them */
	for (size_t i = 0; i < s->n; i++) {
		s->r[i].stale = true;
		s->r[i].seq = 0;
	}
	s->after = 0;
	s->resyncing = true;
	return 1;
}

static bool same(const struct rev *r, const char *kind, const char *value)
{
	return !strcmp(r->kind, kind) && !strcmp(r->value, value);
}

int sn_kbs_revset_apply(struct sn_kbs_revset *s,
			const struct sn_kbs_rev_event *e)
{
	struct rev *r;
	size_t i;

	if (e->seq <= s->after)
		return SN_KBS_REV_OLD;
	if (e->lift) {
		for (i = 0; i < s->n; i++)
			if (!s->r[i].stale && s->r[i].seq == e->lifts)
				break;
		s->after = e->seq;
		if (i == s->n)
			return SN_KBS_REV_LIFT_UNKNOWN;
		/* the lift must name that very revocation: same node or
		 * measurement, same domain */
		if (!same(&s->r[i], e->kind, e->value) ||
		    strcmp(s->r[i].domain, e->domain))
			return SN_KBS_REV_MISMATCH;
		s->r[i] = s->r[--s->n];
		return sn_kbs_revset_revoked(s, e->kind, e->value, NULL) ?
			       SN_KBS_REV_LIFTED_KEPT :
			       SN_KBS_REV_LIFTED;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;

		if (s->n >= SN_KBS_REV_MAX)
			return -ENOSPC;
		if (cap > SN_KBS_REV_MAX)
			cap = SN_KBS_REV_MAX;
		r = realloc(s->r, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		s->r = r;
		s->cap = cap;
	}
	r = &s->r[s->n++];
	memset(r, 0, sizeof(*r));
	r->seq = e->seq;
	memcpy(r->kind, e->kind, sizeof(r->kind));
	memcpy(r->value, e->value, sizeof(r->value));
	memcpy(r->reason, e->reason, sizeof(r->reason));
	memcpy(r->domain, e->domain, sizeof(r->domain));
	s->after = e->seq;
	return SN_KBS_REV_REVOKED;
}

int sn_kbs_revset_answer_end(struct sn_kbs_revset *s, int64_t last,
			     size_t n_events, bool has_head, int64_t head)
{
	int dropped = 0;

	if (last > s->after)
		s->after = last;
	if (!s->resyncing || (n_events && !(has_head && last >= head)))
		return 0;
	for (size_t i = 0; i < s->n;) {
		if (s->r[i].stale) {
			s->r[i] = s->r[--s->n];
			dropped++;
		} else {
			i++;
		}
	}
	s->resyncing = false;
	return dropped;
}

bool sn_kbs_revset_revoked(const struct sn_kbs_revset *s, const char *kind,
			   const char *value, const char **reason)
{
	/* the most recent revocation's reason */
	const struct rev *best = NULL;

	for (size_t i = 0; i < s->n; i++)
		if (same(&s->r[i], kind, value) &&
		    (!best || s->r[i].seq > best->seq))
			best = &s->r[i];
	if (best && reason)
		*reason = best->reason;
	return best != NULL;
}

int64_t sn_kbs_revset_after(const struct sn_kbs_revset *s)
{
	return s->after;
}

const char *sn_kbs_revset_epoch(const struct sn_kbs_revset *s)
{
	return s->epoch;
}

bool sn_kbs_revset_resyncing(const struct sn_kbs_revset *s)
{
	return s->resyncing;
}

size_t sn_kbs_revset_count(const struct sn_kbs_revset *s)
{
	return s->n;
}
