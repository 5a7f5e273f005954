/* SPDX-License-Identifier: Apache-2.0 */
/* sealnet-kbs federation, private: the peers and the helpers shared by
 * federation.c (pinned TLS, bundle fetches, start/stop, metrics),
 * fed_accept.c (accepting bundles, withdrawal, GET /federation/bundles,
 * admin) and fed_events.c (peers' revocations). */
#ifndef SEALNET_KBS_FED_INTERNAL_H
#define SEALNET_KBS_FED_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/http.h>

#include "sealnet/kbs_fed.h"
#include "kbs.h"

#define FED_BODY_MAX	  (4u << 20)
#define FED_EVENTS_WAIT_S 25
#define FED_REFRESH_MIN_S 1
#define FED_BACKOFF_MAX_S 60

enum { CH_BUNDLE, CH_EVENTS, CH_N };

struct kbs_peer {
	struct kbs_fed *f;
	char domain[SN_KBS_NAME_MAX];
	char url[SN_WF_TEXT_MAX]; /* the manifest's kbs.url followed */
	char host[128], prefix[SN_WF_TEXT_MAX];
	uint16_t port;
	bool host_is_ip;
	uint8_t pin[SN_SHA256_LEN];
	struct {
		struct evhttp_connection *conn;
		struct event *timer;
		unsigned int backoff_s;
		bool pin_failed; /* the last handshake's verdict */
		bool ok;	 /* the last request worked */
	} ch[CH_N];
	struct event *expiry; /* at the stored bundle's not_after */
	int64_t events_after;
	char events_epoch[SN_KBS_EPOCH_MAX]; /* of events_after */
	bool stopped; /* withdrawn */
	uint64_t fetch_ok, fetch_failed, bundles_refused;
	uint64_t revocations, events_refused;
};

struct kbs_fed {
	struct kbs *k;
	SSL_CTX *ctx;
	struct evdns_base *dns;
	/* the followed peers, kept in step with the manifest and the
	 * withdrawals by kbs_fed_sync (main thread only) */
	struct kbs_peer **peers;
	size_t n_peers;
};

int64_t fed_now_s(void);
/* x +- 20 %, at least 1 */
unsigned int fed_jitter(unsigned int x);
/* an audit row with actor "federation" */
void fed_audit(struct kbs *k, const char *action, const char *subject,
	       const char *outcome, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* one GET on channel c of peer p over the pinned TLS; 0 or -ENOMEM */
int fed_request(struct kbs_peer *p, int c, const char *target, int timeout_s);
/* why a request got no HTTP answer: "tls-pin-mismatch", or NULL and the
 * TLS/connection error in buf */
const char *fed_no_answer(struct kbs_peer *p, int c, char *buf, size_t cap);
void fed_schedule(struct kbs_peer *p, int c, unsigned int s);
/* retry channel c after the jittered backoff */
void fed_failed(struct kbs_peer *p, int c);
struct kbs_peer *fed_find_peer(struct kbs *k, const char *domain);
void fed_stop_peer(struct kbs_peer *p);
void fed_arm_expiry(struct kbs_peer *p, int64_t not_after);
/* fed_events.c: the events channel's timer and answer */
void fed_poll_events(evutil_socket_t fd, short what, void *arg);
void fed_on_events(struct evhttp_request *req, void *arg);

#endif
