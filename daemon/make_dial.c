// SPDX-License-Identifier: Apache-2.0
/*
 * sealnetd's MAKE peers, who connects (make_peers.c has the design): of
 * two peers the lower node id dials; a failed session is redialled with
 * exponential backoff and jitter; the higher id accepts, only from the
 * peer's configured address and at most SN_MAKE_STARTS_MAX sessions per
 * SN_MAKE_STARTS_WINDOW seconds.  Every MAKE socket carries the control
 * mark.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "sealnet/log.h"
#include "make_peers.h"

/* the retry timer: with an established session, the new MAKE goes
 * through maybe_remake (at epoch 1 it rekeys first: a new session's
 * epoch 1 must not collide with the one in use) */
void sn_mp_retry(evutil_socket_t fd, short what, void *arg)
{
	struct sn_mpeer *mp = arg;

	if (mp->cur >= 0) {
		mp->remake_due = true;
		return;
	}
	sn_mp_dial(fd, what, arg);
}

void sn_mp_schedule_retry(struct sn_mpeer *mp)
{
	uint32_t r = 0;
	unsigned int b = mp->backoff_ms, ms;
	struct timeval tv;

	if (!mp->client)
		return; /* the peer dials us again */
	/* uniform in [2/3 b, 4/3 b] */
	evutil_secure_rng_get_bytes(&r, sizeof(r));
	ms = b - b / 3 + (unsigned int)(r % (2 * (b / 3) + 1));
	tv = (struct timeval){.tv_sec = ms / 1000,
			      .tv_usec = (suseconds_t)(ms % 1000) * 1000};
	event_add(mp->retry, &tv);
	mp->backoff_ms = b >= SN_BACKOFF_MAX_MS / 2 ? SN_BACKOFF_MAX_MS : b * 2;
}

/* true when another session may start now (records it) */
bool sn_mp_start_allowed(struct sn_mpeer *mp)
{
	time_t now = sn_mp_mono();

	if (mp->d->tampered)
		return false;
	time_t *oldest = &mp->starts[mp->n_starts % SN_MAKE_STARTS_MAX];

	if (mp->n_starts >= SN_MAKE_STARTS_MAX &&
	    now - *oldest < SN_MAKE_STARTS_WINDOW)
		return false;
	*oldest = now;
	mp->n_starts++;
	return true;
}

/* sealnetd's MAKE sockets carry the control mark: the only TCP to or from
 * a peer's control port that the data plane lets pass in clear
 * (bpf/lib/control.h). */
int sn_mp_mark_socket(struct sealnetd *d, int fd)
{
	uint32_t mark = d->cfg->dp.control_mark ? d->cfg->dp.control_mark :
						  SN_CONTROL_MARK_DEFAULT;

	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark))) {
		int err = -errno;

		sn_err("MAKE: setting the control mark (SO_MARK 0x%x) on a "
		       "socket "
		       "failed: %s (needs CAP_NET_ADMIN)",
		       mark, strerror(-err));
		return err;
	}
	return 0;
}

void sn_mp_dial(evutil_socket_t fd_unused, short what, void *arg)
{
	struct sn_mpeer *mp = arg;
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(mp->pc->make_port),
		.sin_addr.s_addr = mp->pc->make_addr,
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || sn_mp_mark_socket(mp->d, fd)) {
		if (fd >= 0)
			close(fd);
		sn_mp_schedule_retry(mp);
		return;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    errno != EINPROGRESS) {
		sn_mp_set_state(mp, "unreachable", strerror(errno));
		close(fd);
		sn_mp_schedule_retry(mp);
		return;
	}
	sn_mp_start_session(mp, fd, true);
}

void sn_mp_on_accept(struct evconnlistener *l, evutil_socket_t fd,
		     struct sockaddr *sa, int salen, void *arg)
{
	struct sealnetd *d = arg;
	struct sockaddr_in *sin = (struct sockaddr_in *)sa;

	if (sa->sa_family == AF_INET) {
		for (size_t i = 0; i < d->cfg->n_peers; i++) {
			struct sn_mpeer *mp = &d->mpeers[i];

			/* only peers that dial us (lower id); our own
			 * outgoing session is never replaced from outside */
			if (mp->pc->addr == sin->sin_addr.s_addr &&
			    !mp->pc->has_static_keys && !mp->client) {
				if (!sn_mp_start_allowed(mp)) {
					sn_warn("peer %s: more than %u MAKE "
						"sessions in %u s: refused",
						mp->pc->name,
						SN_MAKE_STARTS_MAX,
						SN_MAKE_STARTS_WINDOW);
					break;
				}
				sn_mp_start_session(mp, fd, false);
				return;
			}
		}
	}
	close(fd); /* not a MAKE peer of ours */
}
