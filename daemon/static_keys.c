// SPDX-License-Identifier: Apache-2.0
/*
 * Static-key mode: per-start epochs with derived keys, so that no (key,
 * counter) pair is sealed twice across restarts, crashes and power losses,
 * and a restarted receiver does not accept what was sealed before.  The
 * argument is in docs/wire-format.md ("Static keys"); in short:
 *
 * - Each configured key is a pre-shared key (PSK).  The packet key of a
 *   direction and epoch is HKDF-SHA256(PSK, sender, receiver, epoch).
 * - Sender: an epoch is reserved in STATE_DIR/static-<peer id>.json
 *   (temp file, fsync, rename, fsync of the directory) before the first
 *   packet is sealed with it, and never reserved again: each start, and
 *   each rotation (every static_rekey_interval_s, when the epoch in use
 *   has sealed a packet), takes the next one.  Counters start at 0 under a
 *   key that was never used before.
 * - Receiver: the file also holds a floor, one above the highest receive
 *   epoch ever installed (the margin covers a sender that rotated before
 *   this node noticed).  A start with floor F persists F+3, then installs
 *   F+1 and F+2; when the higher slot's epoch E is in use, E+2 is
 *   persisted first, then E+1 installed over the older slot.  Nothing at
 *   or below the floor of a previous run is ever installed again.
 *
 * The files are keyed by a PSK id (HKDF of the PSK, another label), so a
 * rotated PSK starts from epoch 1 and a PSK used again continues where it
 * stopped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "sealnet/log.h"
#include "sealnet/util.h"
#include "sealnetd.h"
#include "static_keys.h"

#define SN_STATIC_SALT	  "sealnet static v1"
#define SN_STATIC_ID_INFO "sealnet static psk id"
#define SN_EPOCH_MAX	  65535u
#define SN_STATE_MAX	  65536u

struct sn_speer {
	struct sn_peer_config *pc;
	char tx_id[33], rx_id[33]; /* PSK ids, hex */
	char path[512];		   /* STATE_DIR/static-<id>.json */
	json_t *doc;		   /* its content */
	uint32_t tx_epoch;	   /* sealing with it; 0: none */
	uint32_t tx_reserved;	   /* persisted: >= every epoch ever used */
	uint32_t rx_floor;	   /* persisted: > every rx epoch installed */
	uint32_t rx_ep[2];	   /* epoch in rx slot 0 / 1 */
	time_t tx_since;
	bool tx_exhausted, rx_exhausted; /* logged once */
};

struct sn_static {
	struct sn_speer *p;
	size_t n;
	struct event *tick;
};

static time_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static int hkdf(const uint8_t psk[SN_KEY_LEN], const void *info,
		size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[5];
	int err = -EIO;

	if (!ctx)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						     "SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						      (void *)psk, SN_KEY_LEN);
	params[2] = OSSL_PARAM_construct_octet_string(
		OSSL_KDF_PARAM_SALT, SN_STATIC_SALT, strlen(SN_STATIC_SALT));
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
						      (void *)info, info_len);
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, out_len, params) == 1)
		err = 0;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return err;
}

int sn_static_derive(const uint8_t psk[SN_KEY_LEN], uint32_t sender,
		     uint32_t receiver, uint16_t epoch, uint8_t out[SN_KEY_LEN])
{
	uint8_t info[10] = {
		sender >> 24,	sender >> 16,	sender >> 8,   sender,
		receiver >> 24, receiver >> 16, receiver >> 8, receiver,
		epoch >> 8,	epoch,
	};
	uint8_t k[SN_KEY_LEN];
	int err = hkdf(psk, info, sizeof(info), k, sizeof(k));

	if (!err)
		memcpy(out, k, SN_KEY_LEN);
	OPENSSL_cleanse(k, sizeof(k));
	return err;
}

static int psk_id(const uint8_t psk[SN_KEY_LEN], char out[33])
{
	uint8_t id[16];
	int err = hkdf(psk, SN_STATIC_ID_INFO, strlen(SN_STATIC_ID_INFO), id,
		       sizeof(id));

	if (!err)
		sn_hex_encode(id, sizeof(id), out);
	return err;
}

/* ---- the state file ---------------------------------------------------- */

static int epoch_of(struct sn_speer *sp, const char *dir, const char *id,
		    uint32_t *out)
{
	json_t *v = json_object_get(json_object_get(sp->doc, dir), id);

	if (!v) {
		*out = 0;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > SN_EPOCH_MAX) {
		sn_err("%s: %s.%s: not an epoch (0..65535): refusing to start, "
		       "as epochs could repeat; restore the file, or rotate "
		       "peer %s's keys and remove it",
		       sp->path, dir, id, sp->pc->name);
		return -EINVAL;
	}
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

static int state_load(struct sn_speer *sp)
{
	json_error_t jerr;
	uint8_t *buf;
	size_t len;
	int err;

	err = sn_read_file(sp->path, SN_STATE_MAX, &buf, &len);
	if (err == -ENOENT) {
		sp->doc = json_pack("{si s{} s{}}", "peer", (int)sp->pc->id,
				    "tx", "rx");
		return sp->doc ? 0 : -ENOMEM;
	}
	if (err) {
		sn_err("%s: cannot read it: %s: refusing to start (static-key "
		       "epochs could repeat)",
		       sp->path, strerror(-err));
		return err;
	}
	sp->doc = json_loadb((const char *)buf, len, 0, &jerr);
	free(buf);
	if (!sp->doc || !json_is_object(json_object_get(sp->doc, "tx")) ||
	    !json_is_object(json_object_get(sp->doc, "rx"))) {
		sn_err("%s: not a static-key state file (%s): refusing to "
		       "start, "
		       "as epochs could repeat; restore it, or rotate peer "
		       "%s's "
		       "keys and remove it",
		       sp->path, sp->doc ? "no tx/rx objects" : jerr.text,
		       sp->pc->name);
		return -EINVAL;
	}
	if ((err = epoch_of(sp, "tx", sp->tx_id, &sp->tx_reserved)) ||
	    (err = epoch_of(sp, "rx", sp->rx_id, &sp->rx_floor)))
		return err;
	return 0;
}

/* Write sp's file durably: temp file, fsync, rename, fsync the directory.
 * Only after it returns 0 may what it records be used. */
static int state_save(struct sealnetd *d, struct sn_speer *sp, uint32_t tx,
		      uint32_t rx)
{
	char tmp[530], *s = NULL;
	int fd, dfd = -1, err = 0;
	size_t n;

	if (json_object_set_new(json_object_get(sp->doc, "tx"), sp->tx_id,
				json_integer(tx)) ||
	    json_object_set_new(json_object_get(sp->doc, "rx"), sp->rx_id,
				json_integer(rx)))
		return -ENOMEM;
	s = json_dumps(sp->doc, JSON_COMPACT | JSON_SORT_KEYS);
	if (!s)
		return -ENOMEM;
	n = strlen(s);
	s[n++] = '\n';
	snprintf(tmp, sizeof(tmp), "%s.tmp", sp->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (write(fd, s, n) != (ssize_t)n)
		err = -EIO; /* a short write to a regular file: no space */
	else if (fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (err)
		goto out;
	if (rename(tmp, sp->path)) {
		err = -errno;
		goto out;
	}
	dfd = open(d->cfg->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd))
		err = -errno;
out:
	if (err)
		sn_err("%s: cannot write it durably: %s (the epoch it would "
		       "reserve is not used)",
		       sp->path, strerror(-err));
	if (dfd >= 0)
		close(dfd);
	free(s);
	return err;
}

/* ---- keys -------------------------------------------------------------- */

static int install(struct sealnetd *d, struct sn_speer *sp, enum sn_key_dir dir,
		   unsigned int slot, uint32_t epoch)
{
	const struct sn_peer_config *pc = sp->pc;
	uint8_t k[SN_KEY_LEN];
	int err;

	if (dir == SN_KEY_TX)
		err = sn_static_derive(pc->tx_key, d->cfg->id, pc->id,
				       (uint16_t)epoch, k);
	else
		err = sn_static_derive(pc->rx_key, pc->id, d->cfg->id,
				       (uint16_t)epoch, k);
	if (!err)
		err = sn_dp_install_key(d->dp, pc->id, dir, slot,
					(uint16_t)epoch, k);
	OPENSSL_cleanse(k, sizeof(k));
	if (err)
		sn_err("peer %s: installing the %s key of static epoch %u "
		       "failed: %s",
		       pc->name, dir == SN_KEY_TX ? "send" : "receive", epoch,
		       strerror(-err));
	return err;
}

static int peer_start(struct sealnetd *d, struct sn_speer *sp)
{
	struct sn_peer_config *pc = sp->pc;
	uint32_t tx, rx;
	int err;

	if ((err = psk_id(pc->tx_key, sp->tx_id)) ||
	    (err = psk_id(pc->rx_key, sp->rx_id)))
		return err;
	snprintf(sp->path, sizeof(sp->path), "%s/static-%u.json",
		 d->cfg->state_dir, pc->id);
	if ((err = state_load(sp)))
		return err;
	tx = sp->tx_reserved + 1;
	rx = sp->rx_floor + 3; /* installs floor+1 and floor+2; margin 1 */
	if (tx > SN_EPOCH_MAX || rx > SN_EPOCH_MAX) {
		sn_err("peer %s: the static-key epochs of its %s are used up "
		       "(65535 starts and rotations): rotate that pre-shared "
		       "key "
		       "(a new key on both nodes); refusing to start",
		       pc->name, tx > SN_EPOCH_MAX ? "tx_key" : "rx_key");
		return -ERANGE;
	}
	/* reserve before any use: persisted and fsynced first */
	if ((err = state_save(d, sp, tx, rx)))
		return err;
	sp->tx_reserved = tx;
	sp->rx_floor = rx;
	if ((err = install(d, sp, SN_KEY_TX, 0, tx)) ||
	    (err = install(d, sp, SN_KEY_RX, 0, rx - 2)) ||
	    (err = install(d, sp, SN_KEY_RX, 1, rx - 1)))
		return err;
	err = sn_dp_set_tx_slot(d->dp, pc->id, 0);
	if (err) {
		sn_err("peer %s: selecting the send key failed: %s", pc->name,
		       strerror(-err));
		return err;
	}
	sp->tx_epoch = tx;
	sp->rx_ep[0] = rx - 2;
	sp->rx_ep[1] = rx - 1;
	sp->tx_since = mono();
	pc->epoch = (uint16_t)tx;
	sn_info("peer %s: static keys: sending with epoch %u, accepting "
		"epochs %u and %u (state %s)",
		pc->name, tx, rx - 2, rx - 1, sp->path);
	return 0;
}

int sn_static_install(struct sealnetd *d)
{
	struct sn_node_config *c = d->cfg;
	struct sn_static *st;
	int err;

	for (size_t i = 0; i < c->n_peers; i++)
		if (c->peers[i].has_static_keys)
			goto have;
	return 0;
have:
	sn_warn("INSECURE: static keys (insecure_static_keys): no attestation "
		"and no key exchange protect these peers; for tests only; "
		"production keys peers with the \"make\" section");
	if (mkdir(c->state_dir, 0700) && errno != EEXIST) {
		sn_err("state_dir %s: cannot create it: %s", c->state_dir,
		       strerror(errno));
		return -errno;
	}
	st = calloc(1, sizeof(*st));
	if (st)
		st->p = calloc(c->n_peers, sizeof(*st->p));
	if (!st || !st->p) {
		free(st);
		return -ENOMEM;
	}
	d->statics = st;
	for (size_t i = 0; i < c->n_peers; i++) {
		if (!c->peers[i].has_static_keys)
			continue;
		st->p[st->n].pc = &c->peers[i];
		err = peer_start(d, &st->p[st->n++]);
		if (err)
			return err;
	}
	return 0;
}

/* Rotate the send epoch when due and the one in use sealed something. */
static void tx_tick(struct sealnetd *d, struct sn_speer *sp, time_t now)
{
	struct sn_peer_config *pc = sp->pc;
	uint32_t next = sp->tx_epoch + 1;
	uint64_t ctr;
	int cur;

	if (now - sp->tx_since < (time_t)d->cfg->static_rekey_s ||
	    sn_dp_tx_counter(d->dp, pc->id, &ctr) || !ctr)
		return;
	if (next > SN_EPOCH_MAX) {
		if (!sp->tx_exhausted)
			sn_err("peer %s: static-key epochs of tx_key used up: "
			       "staying on epoch %u; rotate the pre-shared key",
			       pc->name, sp->tx_epoch);
		sp->tx_exhausted = true;
		return;
	}
	cur = sn_dp_tx_slot(d->dp, pc->id);
	if (cur < 0)
		return;
	/* reserved (persisted) before the key exists; an epoch reserved
	 * but never selected for sending (a failure below) is reused */
	if (sp->tx_reserved < next) {
		if (state_save(d, sp, next, sp->rx_floor))
			return;
		sp->tx_reserved = next;
	}
	if (install(d, sp, SN_KEY_TX, (unsigned int)cur ^ 1, next) ||
	    sn_dp_set_tx_slot(d->dp, pc->id, (unsigned int)cur ^ 1))
		return;
	sp->tx_epoch = next;
	sp->tx_since = now;
	pc->epoch = (uint16_t)next;
	sn_dbg("peer %s: sending with static epoch %u", pc->name, next);
}

/* When the higher receive epoch is in use, replace the older one by the
 * next epoch (persisted first). */
static void rx_tick(struct sealnetd *d, struct sn_speer *sp)
{
	unsigned int hi = sp->rx_ep[1] > sp->rx_ep[0];
	uint32_t next = sp->rx_ep[hi] + 1;
	uint64_t top;

	if (sn_dp_rx_top(d->dp, sp->pc->id, hi, &top) || !top)
		return;
	if (next + 1 > SN_EPOCH_MAX) {
		if (!sp->rx_exhausted)
			sn_err("peer %s: static-key epochs of rx_key used up; "
			       "rotate the pre-shared key",
			       sp->pc->name);
		sp->rx_exhausted = true;
		return;
	}
	if (sp->rx_floor < next + 1) {
		if (state_save(d, sp, sp->tx_reserved, next + 1))
			return;
		sp->rx_floor = next + 1;
	}
	if (install(d, sp, SN_KEY_RX, hi ^ 1, next))
		return;
	sp->rx_ep[hi ^ 1] = next;
	sn_dbg("peer %s: accepting static epochs %u and %u", sp->pc->name,
	       sp->rx_ep[hi], next);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct sealnetd *d = arg;
	time_t now = mono();

	if (d->tampered)
		return; /* keys revoked: nothing is installed again */
	for (size_t i = 0; i < d->statics->n; i++) {
		tx_tick(d, &d->statics->p[i], now);
		rx_tick(d, &d->statics->p[i]);
	}
}

int sn_static_start(struct sealnetd *d)
{
	struct sn_static *st = d->statics;

	if (!st)
		return 0;
	st->tick = event_new(d->base, -1, EV_PERSIST, tick, d);
	if (!st->tick || event_add(st->tick, &(struct timeval){.tv_sec = 1}))
		return -ENOMEM;
	sn_info("static keys: epochs rotate every %u s (state in %s)",
		d->cfg->static_rekey_s, d->cfg->state_dir);
	return 0;
}

void sn_static_stop(struct sealnetd *d)
{
	struct sn_static *st = d->statics;

	if (!st)
		return;
	if (st->tick)
		event_free(st->tick);
	for (size_t i = 0; i < st->n; i++)
		json_decref(st->p[i].doc);
	free(st->p);
	free(st);
	d->statics = NULL;
}
