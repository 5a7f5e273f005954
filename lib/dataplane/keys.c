// SPDX-License-Identifier: Apache-2.0
/*
 * Keys: two slots per peer and direction, installed in the order that
 * keeps a (key, counter) pair from ever repeating and a replay window from
 * ever being reset under a live key (docs/wire-format.md §7), plus the
 * transmit slot, counters and revocation.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <openssl/crypto.h>

#include "sealnet/dataplane.h"
#include "sealnet/log.h"
#include "internal.h"

/*
 * Replace (peer, dir, slot) in three steps, each a complete map update:
 *   1. empty the slot (state EMPTY, key zeroed, generation 0): from here
 *      no packet seals or opens with it, and a packet that took the old
 *      key sees the change (seal.h sn_key_take, replay.h);
 *   2. reset what belongs to the slot: the send counter (tx) or the
 *      replay window (rx, under its spin lock: BPF_F_LOCK);
 *   3. install key and epoch (still EMPTY), then state VALID with a fresh
 *      generation over the identical key bytes.
 * The old key is never live with a reset counter or an empty window.
 */
static int key_write(struct sn_dataplane *dp, int fd, uint32_t peer_id,
		     enum sn_key_dir dir, unsigned int slot,
		     const struct sn_key *nk)
{
	union {
		struct sn_tx tx;
		struct sn_rx rx;
	} v;
	int err = 0;

	if (bpf_map_lookup_elem(fd, &peer_id, &v))
		return -errno;
	memcpy(dir == SN_KEY_TX ? &v.tx.slot[slot] : &v.rx.slot[slot], nk,
	       sizeof(*nk));
	if (bpf_map_update_elem(fd, &peer_id, &v, BPF_ANY))
		err = -errno;
	OPENSSL_cleanse(&v, sizeof(v));
	return err;
}

/*
 * An array-map update rewrites the value in place with a plain copy, key
 * bytes before state and generation: a reader could see VALID with the old
 * generation around a half-written key.  So a slot is never changed in
 * one update from VALID to other key bytes: first (state EMPTY, gen 0)
 * with the key bytes untouched, then the key bytes; and an installation
 * writes key and epoch while EMPTY, then (VALID, gen) over identical key
 * bytes.  Each update is a syscall, a full barrier in between.
 */
static int slots_invalidate(struct sn_dataplane *dp, int fd, uint32_t peer_id,
			    enum sn_key_dir dir, unsigned int mask)
{
	union {
		struct sn_tx tx;
		struct sn_rx rx;
	} v;
	int err = 0;

	if (bpf_map_lookup_elem(fd, &peer_id, &v))
		return -errno;
	for (unsigned int s = 0; s < 2; s++) {
		struct sn_key *k =
			dir == SN_KEY_TX ? &v.tx.slot[s] : &v.rx.slot[s];

		if (mask & (1u << s)) {
			k->state = SN_KEY_EMPTY;
			k->gen = 0;
		}
	}
	if (bpf_map_update_elem(fd, &peer_id, &v, BPF_ANY))
		err = -errno;
	OPENSSL_cleanse(&v, sizeof(v));
	return err;
}

int sn_dp_install_key(struct sn_dataplane *dp, uint32_t peer_id,
		      enum sn_key_dir dir, unsigned int slot, uint16_t epoch,
		      const uint8_t key[SN_KEY_LEN])
{
	struct sn_key nk = {0};
	uint32_t *gp;
	int fd, err;

	if (check_peer(peer_id) || slot > 1)
		return -EINVAL;
	fd = bpf_map__fd(dir == SN_KEY_TX ? dp->skel->maps.sn_tx :
					    dp->skel->maps.sn_rx);
	if (dir == SN_KEY_TX) {
		struct sn_tx tx;
		bool busy;

		if (bpf_map_lookup_elem(fd, &peer_id, &tx))
			return -errno;
		busy = tx.cur == slot && tx.slot[slot].state == SN_KEY_VALID;
		OPENSSL_cleanse(&tx, sizeof(tx));
		if (busy) {
			sn_err("data plane: refusing to overwrite the tx key "
			       "in "
			       "use (peer %u slot %u)",
			       peer_id, slot);
			return -EBUSY;
		}
	}
	/* 1. empty: state and generation first, then the key bytes */
	err = slots_invalidate(dp, fd, peer_id, dir, 1u << slot);
	if (!err)
		err = key_write(dp, fd, peer_id, dir, slot, &nk);
	if (err)
		return err;
	/* 2. no reset from here: the counter and the replay window of the
	 * slot are the programs' own (read-only to the syscall); the first
	 * packet of the new generation starts them afresh.
	 * 3. install, with a generation greater than every one before
	 * (generations only grow: a wrap would let an old entry pass as
	 * current) */

	gp = &dp->slot_gen[peer_id][dir == SN_KEY_TX][slot];
	if (*gp >= SN_GEN_MAX) {
		sn_err("data plane: %u keys installed in slot %u of peer %u "
		       "in this instance: restart sealnetd (new maps) to "
		       "install more",
		       SN_GEN_MAX, slot, peer_id);
		return -EOVERFLOW;
	}
	++*gp;
	memcpy(nk.key, key, SN_KEY_LEN);
	nk.epoch = epoch;
	nk.state = SN_KEY_EMPTY; /* key bytes while unusable, then VALID */
	err = key_write(dp, fd, peer_id, dir, slot, &nk);
	nk.state = SN_KEY_VALID;
	nk.gen = *gp;
	if (!err)
		err = key_write(dp, fd, peer_id, dir, slot, &nk);
	OPENSSL_cleanse(&nk, sizeof(nk));
	if (!err && dp->has_sink)
		err = dp->sink.install(dp->sink.arg, peer_id, dir, slot, epoch,
				       key);
	return err;
}

static int slot_op(struct sn_dataplane *dp, uint32_t peer_id,
		   enum sn_key_dir dir, unsigned int slot, bool clear)
{
	union {
		struct sn_tx tx;
		struct sn_rx rx;
	} v;
	struct sn_key *k;
	int fd, ret;

	if (check_peer(peer_id) || slot > 1)
		return -EINVAL;
	fd = bpf_map__fd(dir == SN_KEY_TX ? dp->skel->maps.sn_tx :
					    dp->skel->maps.sn_rx);
	if (bpf_map_lookup_elem(fd, &peer_id, &v))
		return -errno;
	k = dir == SN_KEY_TX ? &v.tx.slot[slot] : &v.rx.slot[slot];
	ret = k->state == SN_KEY_VALID ? k->epoch : -ENOKEY;
	if (clear) {
		int e2 = slots_invalidate(dp, fd, peer_id, dir, 1u << slot);

		if (e2) {
			OPENSSL_cleanse(&v, sizeof(v));
			return e2;
		}
		memset(k, 0, sizeof(*k));
		ret = bpf_map_update_elem(fd, &peer_id, &v, BPF_ANY) ? -errno :
								       0;
	}
	OPENSSL_cleanse(&v, sizeof(v));
	return ret;
}

int sn_dp_clear_key(struct sn_dataplane *dp, uint32_t peer_id,
		    enum sn_key_dir dir, unsigned int slot)
{
	if (dp->has_sink && !check_peer(peer_id) && slot <= 1)
		dp->sink.clear(dp->sink.arg, peer_id, dir, slot);
	return slot_op(dp, peer_id, dir, slot, true);
}

int sn_dp_key_epoch(struct sn_dataplane *dp, uint32_t peer_id,
		    enum sn_key_dir dir, unsigned int slot)
{
	return slot_op(dp, peer_id, dir, slot, false);
}

int sn_dp_tx_slot(struct sn_dataplane *dp, uint32_t peer_id)
{
	struct sn_tx tx;
	int cur;

	if (check_peer(peer_id))
		return -EINVAL;
	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.sn_tx), &peer_id,
				&tx))
		return -errno;
	cur = (int)(tx.cur & 1);
	OPENSSL_cleanse(&tx, sizeof(tx));
	return cur;
}

int sn_dp_set_tx_slot(struct sn_dataplane *dp, uint32_t peer_id,
		      unsigned int slot)
{
	struct sn_tx tx;
	int fd = bpf_map__fd(dp->skel->maps.sn_tx), err = 0;

	if (check_peer(peer_id) || slot > 1)
		return -EINVAL;
	if (bpf_map_lookup_elem(fd, &peer_id, &tx))
		return -errno;
	if (tx.slot[slot].state != SN_KEY_VALID)
		err = -ENOKEY;
	else {
		tx.cur = slot;
		if (bpf_map_update_elem(fd, &peer_id, &tx, BPF_ANY))
			err = -errno;
		else if (dp->has_sink)
			dp->sink.set_tx(dp->sink.arg, peer_id, slot);
	}
	OPENSSL_cleanse(&tx, sizeof(tx));
	return err;
}

int sn_dp_tx_counter(struct sn_dataplane *dp, uint32_t peer_id, uint64_t *out)
{
	int slot = sn_dp_tx_slot(dp, peer_id);
	struct sn_tx tx;
	uint64_t c;
	uint32_t idx, gen;

	if (slot < 0)
		return slot;
	if (dp->has_sink)
		return dp->sink.tx_counter(dp->sink.arg, peer_id,
					   (unsigned int)slot, out);
	idx = peer_id * 2 + (uint32_t)slot;
	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.sn_tx), &peer_id,
				&tx))
		return -errno;
	gen = tx.slot[slot].gen;
	OPENSSL_cleanse(&tx, sizeof(tx));
	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.sn_tx_ctr), &idx,
				&c))
		return -errno;
	/* an entry of an older generation: the slot's key has sent nothing */
	*out = (uint32_t)(c >> SN_CTR_GEN_SHIFT) == gen ? c & SN_CTR_MAX : 0;
	return 0;
}

uint64_t sn_dp_counter_limit(struct sn_dataplane *dp)
{
	return dp->cfg.counter_limit;
}

int sn_dp_revoke_peer(struct sn_dataplane *dp, uint32_t peer_id)
{
	struct sn_tx tx = {0};
	struct sn_rx rx;
	int err = 0;

	if (check_peer(peer_id))
		return -EINVAL;
	if (dp->has_sink)
		for (unsigned int s = 0; s < 2; s++) {
			dp->sink.clear(dp->sink.arg, peer_id, SN_KEY_TX, s);
			dp->sink.clear(dp->sink.arg, peer_id, SN_KEY_RX, s);
		}
	/* state and generations first, key bytes after (slots_invalidate) */
	err = slots_invalidate(dp, bpf_map__fd(dp->skel->maps.sn_tx), peer_id,
			       SN_KEY_TX, 3);
	if (!err)
		err = slots_invalidate(dp, bpf_map__fd(dp->skel->maps.sn_rx),
				       peer_id, SN_KEY_RX, 3);
	if (err)
		return err;
	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.sn_rx), &peer_id,
				&rx))
		return -errno;
	memset(rx.slot, 0, sizeof(rx.slot));
	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sn_tx), &peer_id,
				&tx, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sn_rx), &peer_id,
				&rx, BPF_ANY))
		err = -errno;
	return err;
}

int sn_dp_rx_top(struct sn_dataplane *dp, uint32_t peer_id, unsigned int slot,
		 uint64_t *top)
{
	struct {
		uint32_t lock, gen;
		struct sn_replay_state st;
	} r;
	uint32_t idx = peer_id * 2 + slot, gen;
	struct sn_rx rx;

	if (check_peer(peer_id) || slot > 1)
		return -EINVAL;
	if (dp->has_sink)
		return dp->sink.rx_top(dp->sink.arg, peer_id, slot, top);
	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.sn_rx), &peer_id,
				&rx))
		return -errno;
	gen = rx.slot[slot].gen;
	OPENSSL_cleanse(&rx, sizeof(rx));
	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.sn_replay), &idx,
				&r))
		return -errno;
	/* a window of an older generation: nothing accepted under this key */
	*top = r.gen == gen ? r.st.top : 0;
	return 0;
}
