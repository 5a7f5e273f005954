// SPDX-License-Identifier: Apache-2.0
/*
 * Integrity of the maps sealnetd writes (the watchdog).
 *
 * Every write the library makes to a watched map goes through
 * sn_dp_shadow_update() (the lib/dataplane files route all of their
 * bpf_map_update_elem calls there), which records, per entry, the key and
 * the SHA-256 of the value it wrote.  The expected state is therefore
 * built from what sealnetd meant to write, not read back from the kernel,
 * so an edit made between a write and the next check cannot be absorbed.
 * Values are never kept (they hold key material), only their hashes.
 *
 * sn_dp_shadow_check() reads each watched map whole (one batch lookup)
 * and compares: an entry sealnetd did not write, one it wrote that is
 * gone, or one whose value differs is tampering.
 *
 * Maps the BPF programs write themselves change under traffic and cannot
 * be compared this way; they are listed in bpf_written[] and not checked.
 * A map in the object that is in neither list is refused at load, so a
 * new map must be classified here before sealnetd runs with it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <openssl/evp.h>

#include "watch.h"
#include "sealnet/log.h"

#define HASH_LEN 32

/* written by sealnetd only (user space): checked */
static const char *const watched[] = {
	"sn_config", "sn_peer_by_addr", "sn_peer_by_addr6",
	"sn_policy", "sn_tx",		"sn_rx",
};
/* written by the BPF programs (counters, replay windows, statistics,
 * events, scratch): not checked */
static const char *const bpf_written[] = {
	"sn_tx_ctr", "sn_replay", "sn_drops",	"sn_peer_stats",
	"sn_events", "sn_evrate", "sn_scratch", "sn_aead_work", "sn_flows",
};

struct wmap {
	const char *name;
	int fd;
	bool array;
	uint32_t key_size, value_size, max_entries;
	uint8_t zero_hash[HASH_LEN]; /* of an all-zero value */
	size_t n;		     /* entries in ent */
	uint8_t *ent; /* n * (key_size + HASH_LEN); arrays: by index,
		       * hashes: sorted by key (memcmp) */
	uint8_t *keys, *vals, *batch; /* read buffers */
};

struct sn_dp_shadow {
	EVP_MD *sha256;
	size_t n;
	struct wmap m[sizeof(watched) / sizeof(watched[0])];
};

static bool listed(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, list[i]))
			return true;
	return false;
}

static int hash_value(struct sn_dp_shadow *s, const void *v, size_t len,
		      uint8_t out[HASH_LEN])
{
	return EVP_Digest(v, len, out, NULL, s->sha256, NULL) ? 0 : -EIO;
}

static size_t ent_size(const struct wmap *m)
{
	return m->key_size + HASH_LEN;
}

/* Entry for key: arrays by index, hashes by binary search; *at: where it
 * is or would be inserted. */
static uint8_t *find(struct wmap *m, const void *key, size_t *at)
{
	size_t lo = 0, hi = m->n, es = ent_size(m);

	if (m->array) {
		uint32_t idx;

		memcpy(&idx, key, 4);
		*at = idx;
		return idx < m->n ? m->ent + (size_t)idx * es : NULL;
	}
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = memcmp(m->ent + mid * es, key, m->key_size);

		if (!c) {
			*at = mid;
			return m->ent + mid * es;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return NULL;
}

static struct wmap *by_fd(struct sn_dp_shadow *s, int fd)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (s->m[i].fd == fd)
			return &s->m[i];
	return NULL;
}

static int wmap_init(struct sn_dp_shadow *s, struct wmap *m,
		     const struct bpf_map *map)
{
	size_t es, bs;
	uint8_t *zero;
	int err;

	m->name = bpf_map__name(map);
	m->fd = bpf_map__fd(map);
	m->array = bpf_map__type(map) == BPF_MAP_TYPE_ARRAY;
	m->key_size = bpf_map__key_size(map);
	m->value_size = bpf_map__value_size(map);
	m->max_entries = bpf_map__max_entries(map);
	if (!m->array && bpf_map__type(map) != BPF_MAP_TYPE_HASH) {
		sn_err("data plane: map %s: only array and hash maps can be "
		       "watched (lib/dataplane/integrity.c)",
		       m->name);
		return -EINVAL;
	}
	es = ent_size(m);
	bs = m->key_size > 8 ? m->key_size : 8;
	m->ent = calloc(m->max_entries, es);
	m->keys = calloc(m->max_entries, m->key_size);
	m->vals = calloc(m->max_entries, m->value_size);
	m->batch = calloc(1, bs);
	zero = calloc(1, m->value_size);
	if (!m->ent || !m->keys || !m->vals || !m->batch || !zero) {
		free(zero);
		return -ENOMEM;
	}
	err = hash_value(s, zero, m->value_size, m->zero_hash);
	if (!err && m->array) {
		/* as created: every index present, zero */
		for (uint32_t i = 0; i < m->max_entries; i++) {
			memcpy(m->ent + i * es, &i, m->key_size);
			memcpy(m->ent + i * es + m->key_size, m->zero_hash,
			       HASH_LEN);
		}
		m->n = m->max_entries;
	}
	free(zero);
	return err;
}

int sn_dp_shadow_new(struct bpf_object *obj, struct sn_dp_shadow **out)
{
	struct sn_dp_shadow *s = calloc(1, sizeof(*s));
	struct bpf_map *map;
	int err = 0;

	if (!s)
		return -ENOMEM;
	s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!s->sha256) {
		err = -EIO;
		goto fail;
	}
	bpf_object__for_each_map(map, obj)
	{
		const char *name = bpf_map__name(map);

		if (listed(name, watched,
			   sizeof(watched) / sizeof(watched[0]))) {
			err = wmap_init(s, &s->m[s->n++], map);
			if (err)
				goto fail;
		} else if (!listed(name, bpf_written,
				   sizeof(bpf_written) /
					   sizeof(bpf_written[0])) &&
			   !strstr(name, ".rodata")) {
			sn_err("data plane: map %s is neither watched nor "
			       "known "
			       "to be written by the BPF programs: classify it "
			       "in "
			       "lib/dataplane/integrity.c",
			       name);
			err = -EPROTO;
			goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	sn_dp_shadow_free(s);
	return err;
}

void sn_dp_shadow_free(struct sn_dp_shadow *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->m[i].ent);
		free(s->m[i].keys);
		if (s->m[i].vals)
			OPENSSL_cleanse(s->m[i].vals,
					(size_t)s->m[i].max_entries *
						s->m[i].value_size);
		free(s->m[i].vals);
		free(s->m[i].batch);
	}
	EVP_MD_free(s->sha256);
	free(s);
}

int sn_dp_shadow_update(struct sn_dp_shadow *s, int fd, const void *key,
			const void *value, uint64_t flags)
{
	struct wmap *m = by_fd(s, fd);
	uint8_t h[HASH_LEN], *e;
	size_t at, es;
	int err;

	err = bpf_map_update_elem(fd, key, value, flags);
	if (err || !m)
		return err;
	if (hash_value(s, value, m->value_size, h)) {
		/* cannot record it: the next check reports the map changed */
		sn_err("data plane: hashing a %s entry failed", m->name);
		return 0;
	}
	es = ent_size(m);
	e = find(m, key, &at);
	if (!e) {
		if (m->array || m->n >= m->max_entries)
			return 0; /* the kernel accepted it: cannot happen */
		e = m->ent + at * es;
		memmove(e + es, e, (m->n - at) * es);
		memcpy(e, key, m->key_size);
		m->n++;
	}
	memcpy(e + m->key_size, h, HASH_LEN);
	return 0;
}

int sn_dp_shadow_delete(struct sn_dp_shadow *s, int fd, const void *key)
{
	struct wmap *m = by_fd(s, fd);
	uint8_t *e;
	size_t at, es;
	int err;

	err = bpf_map_delete_elem(fd, key);
	if (err || !m || m->array)
		return err;
	es = ent_size(m);
	e = find(m, key, &at);
	if (e) {
		memmove(e, e + es, (m->n - at - 1) * es);
		m->n--;
	}
	return 0;
}

/* Read all of m into m->keys / m->vals; *count entries. */
static int read_all(struct wmap *m, size_t *count)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	size_t n = 0;
	bool first = true;
	int err;

	for (;;) {
		__u32 c = m->max_entries - (__u32)n;

		if (!c)
			break;
		err = bpf_map_lookup_batch(m->fd, first ? NULL : m->batch,
					   m->batch, m->keys + n * m->key_size,
					   m->vals + n * m->value_size, &c, &o);
		first = false;
		n += c;
		if (err == -ENOENT)
			break; /* the last batch */
		if (err)
			return err;
	}
	*count = n;
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return !acc;
}

static int check_map(struct sn_dp_shadow *s, struct wmap *m, char *why,
		     size_t why_len)
{
	size_t count, at;
	int err = read_all(m, &count);

	if (err) {
		sn_err("data plane: reading map %s failed: %s", m->name,
		       strerror(-err));
		return err;
	}
	for (size_t i = 0; i < count; i++) {
		const uint8_t *k = m->keys + i * m->key_size;
		const uint8_t *v = m->vals + i * m->value_size;
		uint8_t h[HASH_LEN], *e = find(m, k, &at);

		/* most array entries are unused (zero): no hashing for them */
		if (all_zero(v, m->value_size))
			memcpy(h, m->zero_hash, HASH_LEN);
		else if ((err = hash_value(s, v, m->value_size, h)))
			break;
		if (!e) {
			snprintf(why, why_len,
				 "map %s: an entry sealnetd did "
				 "not write",
				 m->name);
			err = -EPERM;
		} else if (memcmp(e + m->key_size, h, HASH_LEN)) {
			if (m->array)
				snprintf(why, why_len,
					 "map %s: entry %zu "
					 "changed",
					 m->name, at);
			else
				snprintf(why, why_len,
					 "map %s: an entry "
					 "changed",
					 m->name);
			err = -EPERM;
		}
		if (err)
			break;
	}
	if (!err && count != m->n) {
		snprintf(why, why_len,
			 "map %s: %zu entries, sealnetd wrote %zu", m->name,
			 count, m->n);
		err = -EPERM;
	}
	OPENSSL_cleanse(m->vals, count * m->value_size);
	return err;
}

int sn_dp_shadow_check(struct sn_dp_shadow *s, char *why, size_t why_len)
{
	why[0] = 0;
	for (size_t i = 0; i < s->n; i++) {
		int err = check_map(s, &s->m[i], why, why_len);

		if (err)
			return err;
	}
	return 0;
}
