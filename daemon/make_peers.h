/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon/ private: sealnetd's MAKE peers (docs/protocol.md), shared by
 * make_peers.c (the peer table: lifetime, rekey, re-MAKE, revocation,
 * status), make_keys.c (one MAKE session: evidence, keys into the data
 * plane, failure) and make_dial.c (who connects: dial, redial backoff,
 * accept).  The design is in make_peers.c's opening comment.
 */
#ifndef SEALNETD_MAKE_PEERS_H
#define SEALNETD_MAKE_PEERS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <event2/listener.h>
#include <event2/util.h>

#include "sealnet/make.h"
#include "sealnetd.h"

/* denial of service: at most this many sessions started per peer within
 * SN_MAKE_STARTS_WINDOW seconds; more are refused (closed at accept) */
#define SN_MAKE_STARTS_MAX    8
#define SN_MAKE_STARTS_WINDOW 10
/* one current session and up to three candidates per peer */
#define SN_MAKE_SLOTS 4
/* the client starts a new MAKE this long before the lifetime ends: a third
 * of the lifetime, at most 30 s (room for the handshake and retries) */
#define SN_REMAKE_LEAD_MS(l) ((l) / 3 < 30000 ? (l) / 3 : 30000)
#define SN_TICK_MS	     250
/* redial backoff: the first retry after SN_BACKOFF_FIRST_MS +-1/3 (a
 * dial that found the peer still starting: 100-200 ms, not a second),
 * then doubling up to SN_BACKOFF_MAX_MS; the jitter spreads the redials
 * of many nodes that failed together */
#define SN_BACKOFF_FIRST_MS 150
#define SN_BACKOFF_MAX_MS   30000

struct sn_mpeer;

/* one MAKE session of a peer; the callbacks' argument */
struct sn_mslot {
	struct sn_mpeer *mp;
	struct sn_make_session *s;
	int64_t started_ms;
	int64_t appraised_ms; /* its epoch 1 was derived (both accepted) */
};

struct sn_mpeer {
	struct sealnetd *d;
	struct sn_peer_config *pc;
	struct sn_mslot slot[SN_MAKE_SLOTS];
	int cur; /* slot of the session whose keys are in use, -1 */
	struct event *retry;
	unsigned int backoff_ms; /* the next retry's base delay */
	int64_t keyed_ms;	 /* monotonic ms of the newest keys */
	int64_t rekey_at_ms;	 /* client: next rekey */
	/* appraisal time of the keys in each data-plane slot (0: none) */
	int64_t rx_appr_ms[2], tx_appr_ms[2];
	int64_t appr_ms;   /* of the keys we send with (0: none) */
	uint16_t epoch;	   /* newest installed epoch */
	uint16_t tx_epoch; /* the epoch we send with */
	int rx_slot;	   /* slot holding the newest rx key, -1 none */
	bool client;	   /* we dial */
	bool cut_off;
	bool remake_due; /* client: a new MAKE wanted now (new manifest
			  * version, or the retry of a failed re-MAKE) */
	time_t starts[SN_MAKE_STARTS_MAX]; /* recent session starts (ring) */
	unsigned int n_starts;
	unsigned int makes; /* sessions that reached keys */
	char session[17];   /* id of the current session (hex) */
	char state[24];
	char reason[512];
	char appraisal[512];   /* the last rejection of the peer's evidence */
	unsigned int failures; /* sessions that ended without keys */
	uint64_t rekeys;       /* epochs > 1 installed */
	uint64_t fail_reason[SN_R_COUNT]; /* failures by first appraisal reason
					   */
	uint64_t fail_session; /* failures without an appraisal rejection */
	bool revoked;	       /* by the KBS: no MAKE with it (kbs_client.c) */
	bool has_meas;	       /* meas: the last accepted appraisal's */
	uint8_t meas[SN_MEASUREMENT_LEN];
};

static inline time_t sn_mp_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static inline int64_t sn_mp_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int sn_mp_slot_index(const struct sn_mslot *sl)
{
	return (int)(sl - sl->mp->slot);
}

static inline struct sn_make_session *
sn_mp_cur_session(const struct sn_mpeer *mp)
{
	return mp->cur < 0 ? NULL : mp->slot[mp->cur].s;
}

/* a session other than the current one is running */
static inline bool sn_mp_has_candidate(const struct sn_mpeer *mp)
{
	for (int i = 0; i < SN_MAKE_SLOTS; i++)
		if (i != mp->cur && mp->slot[i].s)
			return true;
	return false;
}

/* make_peers.c: end a slot's session; a peer's state and reason (why
 * NULL: the reason stays); an event to the control clients and the audit
 * log */
void sn_mp_slot_end(struct sn_mslot *sl);
void sn_mp_set_state(struct sn_mpeer *mp, const char *st, const char *why);
void sn_mp_broadcast(struct sealnetd *d, enum sn_control_event_kind ev,
		     struct sn_mpeer *mp, const char *text);

/* make_keys.c: a MAKE session with mp on the connected fd (closed on
 * failure), as TLS client or server */
int sn_mp_start_session(struct sn_mpeer *mp, int fd, bool client);

/* make_dial.c: the redial timer's callback and its scheduling (client
 * side only), a dial now, the control mark on a MAKE socket, the MAKE
 * listener's callback and its per-peer start limit */
void sn_mp_retry(evutil_socket_t fd, short what, void *arg);
void sn_mp_schedule_retry(struct sn_mpeer *mp);
void sn_mp_dial(evutil_socket_t fd_unused, short what, void *arg);
int sn_mp_mark_socket(struct sealnetd *d, int fd);
bool sn_mp_start_allowed(struct sn_mpeer *mp);
void sn_mp_on_accept(struct evconnlistener *l, evutil_socket_t fd,
		     struct sockaddr *sa, int salen, void *arg);

#endif
