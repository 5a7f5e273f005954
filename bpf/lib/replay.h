/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Anti-replay window, RFC 6479 style: a ring of SN_REPLAY_WORDS 64-bit
 * words indexed by counter / 64; moving the top clears whole words.  At
 * least SN_REPLAY_WINDOW (4032) counters behind the newest are tracked.
 *
 * Used in two steps around the tag check: sn_replay_check() before (cheap
 * reject, no state change) and sn_replay_update() after the tag verified,
 * which re-checks under the entry's spin lock, so two CPUs receiving the
 * same counter cannot both accept it.
 */
#ifndef SN_BPF_REPLAY_H
#define SN_BPF_REPLAY_H

#include "lib/maps.h"

#define SN_RW_MASK (SN_REPLAY_WORDS - 1)

/* 0 ok, else a drop reason. Caller holds the lock. */
static __always_inline __u32 sn_replay_test(const struct sn_replay_state *st,
					    __u64 c)
{
	if (c >= st->top)
		return SN_DROP_NONE;
	if (st->top - c > SN_REPLAY_WINDOW)
		return SN_DROP_TOO_OLD;
	if (st->bitmap[(c >> 6) & SN_RW_MASK] & (1ull << (c & 63)))
		return SN_DROP_REPLAY;
	return SN_DROP_NONE;
}

/* gen: the generation of the key that will open the packet.  A window of
 * an older generation counts as empty (the update resets it); one of a
 * newer generation means that key was replaced: KEY_CHANGED. */
static __always_inline __u32 sn_replay_check(struct sn_replay *r, __u64 c,
					     __u32 gen)
{
	__u32 reason;

	bpf_spin_lock(&r->lock);
	if (gen < r->gen)
		reason = SN_DROP_KEY_CHANGED;
	else if (gen > r->gen)
		reason = SN_DROP_NONE;
	else
		reason = sn_replay_test(&r->st, c);
	bpf_spin_unlock(&r->lock);
	return reason;
}

/*
 * k/gen: the key slot the packet was opened with and its generation when
 * the key was copied.  Inside the lock: the slot must still be VALID with
 * that generation (else KEY_CHANGED: the key was replaced meanwhile); a
 * window of an older generation is reset to empty for this one (only
 * these programs write windows: generations only grow, so a window is
 * never reset twice for one key); a window of a newer one: KEY_CHANGED.
 */
static __always_inline __u32 sn_replay_update(struct sn_replay *r, __u64 c,
					      const struct sn_key *k, __u32 gen)
{
	__u32 reason;

	bpf_spin_lock(&r->lock);
	if (*(volatile const __u8 *)&k->state != SN_KEY_VALID ||
	    *(volatile const __u32 *)&k->gen != gen || gen < r->gen) {
		reason = SN_DROP_KEY_CHANGED;
	} else {
		if (gen > r->gen) {
			for (__u32 i = 0; i < SN_REPLAY_WORDS; i++)
				r->st.bitmap[i] = 0;
			r->st.top = 0;
			r->gen = gen;
		}
		reason = sn_replay_test(&r->st, c);
	}
	if (reason == SN_DROP_NONE) {
		if (c >= r->st.top) {
			/* clear the words between the old top and c */
			__u64 from = r->st.top ? ((r->st.top - 1) >> 6) + 1 : 0;
			__u64 to = c >> 6;
			__u64 n = to >= from ? to - from + 1 : 0;

			if (n > SN_REPLAY_WORDS)
				n = SN_REPLAY_WORDS;
			for (__u32 i = 0; i < SN_REPLAY_WORDS; i++) {
				if (i >= n)
					break;
				r->st.bitmap[(from + i) & SN_RW_MASK] = 0;
			}
			r->st.top = c + 1;
		}
		r->st.bitmap[(c >> 6) & SN_RW_MASK] |= 1ull << (c & 63);
	}
	bpf_spin_unlock(&r->lock);
	return reason;
}

#endif
