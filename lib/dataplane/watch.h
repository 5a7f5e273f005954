/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The data-plane watchdog's two halves (internal to libsealnet; the
 * public entry points are sn_dp_check_attached() and sn_dp_enforce() in
 * sealnet/dataplane.h):
 *
 *  - hooks.c: everything attached to the interface that could run
 *    before or instead of sealnet's programs: clsact filters of any kind,
 *    pref, handle or chain; tcx programs; XDP; netkit.  Only sealnet's
 *    own filter (SN_TC_PRIO, SN_TC_HANDLE, kind bpf, direct action, the
 *    measured program id, no actions) is allowed.
 *  - integrity.c: a shadow of the maps sealnetd writes, kept from the
 *    library's own writes (SHA-256 of each entry's value, never the value
 *    itself), compared with the kernel's maps.
 */
#ifndef SEALNET_DP_WATCH_H
#define SEALNET_DP_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bpf/libbpf.h>

/* Look at ifindex's hooks.  own_id[0] / own_id[1]: the measured egress /
 * ingress program ids.  Returns 0 (only sealnet's filters, both present),
 * -EPERM (why names what was found; with remove, each foreign item was
 * also detached or deleted), or a negative errno when the kernel could
 * not be asked.  *own_ok[d] tells whether sealnet's own filter in
 * direction d is present and the measured one. */
int sn_dp_hooks_check(int ifindex, const unsigned int own_id[2], bool remove,
		      bool own_ok[2], char *why, size_t why_len);

struct sn_dp_shadow;

/* Classify obj's maps (watched / written by the BPF programs / unknown:
 * an error naming it) and start the shadow of the watched ones as the
 * kernel creates them (arrays zero, hashes empty). */
int sn_dp_shadow_new(struct bpf_object *obj, struct sn_dp_shadow **out);
void sn_dp_shadow_free(struct sn_dp_shadow *s);
/* bpf_map_update_elem / bpf_map_delete_elem that also record the write
 * when fd is a watched map.  Same returns as libbpf (negative errno, with
 * errno set).  s may be NULL (nothing recorded). */
int sn_dp_shadow_update(struct sn_dp_shadow *s, int fd, const void *key,
			const void *value, uint64_t flags);
int sn_dp_shadow_delete(struct sn_dp_shadow *s, int fd, const void *key);
/* Compare every watched map with the shadow: 0 same, -EPERM different
 * (why names the map and the kind of change, never a value), or a
 * negative errno when a map could not be read. */
int sn_dp_shadow_check(struct sn_dp_shadow *s, char *why, size_t why_len);

#endif
