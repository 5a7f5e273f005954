// SPDX-License-Identifier: Apache-2.0
/*
 * sealnet-kbs's workers (docs/kbs-api.md "Workers"): cfg.workers event
 * loops serve the API, the first in the main thread, the others in
 * threads, all accepting on the one listening socket (each has its own
 * libevent listener on a dup() of it: the kernel hands a connection to a
 * loop waiting in accept, i.e. an idle one; a kept-alive connection stays
 * with the loop that accepted it).
 *
 * A worker is a copy of the main struct kbs with its own event base,
 * evhttp, SQLite connection (WAL: readers in parallel, writers one at a
 * time under BEGIN IMMEDIATE and the busy timeout, so the audit chain
 * stays one chain), policy cache and GET /events waiters.  Shared, and
 * safe to share: the TLS context and admin CA store (OpenSSL objects used
 * read-only after set-up), the token signer (its key read-only, a digest
 * context per signature), the manifest (read-only after start-up), the
 * challenge table (its own lock: a challenge is consumed once whichever
 * worker issued it) and the metrics (their lock).
 *
 * A revocation committed by one worker wakes every worker's waiters
 * through each one's eventfd; the same eventfd tells a worker to stop,
 * and the main worker to re-sync the federation followers (which run on
 * its loop only, started once) after a manifest import, a withdrawal or
 * a re-admission on any worker.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sealnet/log.h"
#include "kbs.h"

struct kbs_workers {
	int n;		/* workers, the main one included */
	struct kbs **w; /* [0]: the main struct kbs */
	pthread_t *t;	/* [i] runs w[i], i >= 1 */
	bool *started;	/* t[i] was created */
	bool stopping;	/* atomic */
};

static void on_notify(evutil_socket_t fd, short what, void *arg)
{
	struct kbs *k = arg;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	if (__atomic_load_n(&k->wk->stopping, __ATOMIC_ACQUIRE)) {
		event_base_loopexit(k->base, NULL);
		return;
	}
	/* only the main worker's flag is ever set (kbs_fed_resync) */
	if (__atomic_exchange_n(&k->fed_sync, false, __ATOMIC_ACQ_REL))
		kbs_fed_sync(k);
	kbs_events_notify(k);
}

static void wake(struct kbs *k)
{
	uint64_t one = 1;

	if (k->notify_fd >= 0 &&
	    write(k->notify_fd, &one, sizeof(one)) != sizeof(one))
		sn_warn("worker wake-up not sent: %s", strerror(errno));
}

/* the eventfd and its event on k->base */
static int notify_setup(struct kbs *k)
{
	k->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (k->notify_fd < 0)
		return -errno;
	k->notify_ev = event_new(k->base, k->notify_fd, EV_READ | EV_PERSIST,
				 on_notify, k);
	if (!k->notify_ev || event_add(k->notify_ev, NULL))
		return -ENOMEM;
	return 0;
}

static void notify_free(struct kbs *k)
{
	if (k->notify_ev)
		event_free(k->notify_ev);
	if (k->notify_fd >= 0)
		close(k->notify_fd);
	k->notify_ev = NULL;
	k->notify_fd = -1;
}

/* worker i >= 1: a copy of the main struct with its own loop, evhttp on a
 * dup of the listening socket, store connection */
static void worker_free(struct kbs *w);

static int worker_new(struct kbs *m, struct kbs **out)
{
	struct kbs *w = calloc(1, sizeof(*w));
	int fd = -1, err;

	if (!w)
		return -ENOMEM;
	w->cfg = m->cfg;
	w->ssl = m->ssl;
	w->admin_store = m->admin_store;
	w->kr = m->kr;
	w->ch = m->ch;
	w->certs = m->certs;
	w->metrics = m->metrics;
	w->alim = m->alim;
	w->wfs = m->wfs;
	w->wk = m->wk;
	w->listen_fd = -1;
	w->notify_fd = -1;
	LIST_INIT(&w->waiters);
	err = sn_kbs_store_open(m->cfg.database, &w->st);
	if (!err) {
		sn_kbs_store_set_head_signer(w->st, kbs_head_signer, w);
		sn_kbs_store_set_head_keys(w->st, kbs_head_keys);
	}
	if (!err && !(w->base = event_base_new()))
		err = -ENOMEM;
	if (!err)
		err = notify_setup(w);
	if (!err)
		err = kbs_http_new(w);
	if (err)
		goto fail;
	fd = dup(m->listen_fd);
	if (fd < 0 || evhttp_accept_socket(w->http, fd)) {
		err = fd < 0 ? -errno : -EIO;
		if (fd >= 0)
			close(fd);
		sn_err("worker: cannot accept on the listening socket: %s",
		       strerror(-err));
		goto fail;
	}
	*out = w;
	return 0;
fail:
	worker_free(w);
	return err;
}

static void worker_free(struct kbs *w)
{
	if (!w)
		return;
	kbs_events_free(w);
	kbs_batch_free(w);
	if (w->http)
		evhttp_free(w->http);
	notify_free(w);
	if (w->base)
		event_base_free(w->base);
	kbs_policy_cache_free(w);
	sn_kbs_store_close(w->st);
	free(w);
}

static void *worker_run(void *arg)
{
	struct kbs *w = arg;
	sigset_t all;

	/* signals go to the main thread's loop */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (event_base_dispatch(w->base) < 0)
		sn_err("a worker's event loop failed; the others go on");
	return NULL;
}

int kbs_workers_start(struct kbs *k)
{
	struct kbs_workers *wk;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int err;

	if (!k->cfg.workers)
		k->cfg.workers = cpus < 1 ? 1 : cpus > 64 ? 64 : (int)cpus;
	wk = calloc(1, sizeof(*wk));
	if (!wk)
		return -ENOMEM;
	k->wk = wk;
	wk->w = calloc((size_t)k->cfg.workers, sizeof(*wk->w));
	wk->t = calloc((size_t)k->cfg.workers, sizeof(*wk->t));
	wk->started = calloc((size_t)k->cfg.workers, sizeof(*wk->started));
	if (!wk->w || !wk->t || !wk->started)
		return -ENOMEM;
	wk->w[0] = k;
	wk->n = 1;
	err = notify_setup(k);
	if (err)
		return err;
	for (int i = 1; i < k->cfg.workers; i++) {
		err = worker_new(k, &wk->w[i]);
		if (err)
			return err;
		wk->n = i + 1;
	}
	for (int i = 1; i < wk->n; i++) {
		err = -pthread_create(&wk->t[i], NULL, worker_run, wk->w[i]);
		if (err) {
			sn_err("cannot start worker %d: %s", i, strerror(-err));
			return err;
		}
		wk->started[i] = true;
	}
	return 0;
}

void kbs_workers_stop(struct kbs *k)
{
	struct kbs_workers *wk = k->wk;

	if (!wk)
		return;
	__atomic_store_n(&wk->stopping, true, __ATOMIC_RELEASE);
	for (int i = 1; i < wk->n; i++)
		if (wk->started && wk->started[i]) {
			wake(wk->w[i]);
			pthread_join(wk->t[i], NULL);
		}
	for (int i = 1; i < wk->n; i++)
		worker_free(wk->w[i]);
	notify_free(k);
	free(wk->w);
	free(wk->t);
	free(wk->started);
	free(wk);
	k->wk = NULL;
}

void kbs_workers_notify(struct kbs *k)
{
	if (!k->wk) {
		kbs_events_notify(k);
		return;
	}
	for (int i = 0; i < k->wk->n; i++)
		if (k->wk->w[i] == k)
			kbs_events_notify(k);
		else
			wake(k->wk->w[i]);
}

void kbs_fed_resync(struct kbs *k)
{
	struct kbs *m = k->wk ? k->wk->w[0] : k;

	/* the followers live on the main worker's loop: it syncs them when
	 * its eventfd wakes it (a deferred call, also from the main thread,
	 * so never inside a follower's own callback) */
	__atomic_store_n(&m->fed_sync, true, __ATOMIC_RELEASE);
	wake(m);
}

int kbs_workers_waiters(struct kbs *k)
{
	int n = 0;

	if (!k->wk)
		return __atomic_load_n(&k->n_waiters, __ATOMIC_RELAXED);
	for (int i = 0; i < k->wk->n; i++)
		n += __atomic_load_n(&k->wk->w[i]->n_waiters, __ATOMIC_RELAXED);
	return n;
}
