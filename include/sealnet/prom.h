/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prometheus text exposition format (version 0.0.4), written into a
 * growable buffer: the daemons build one page per scrape.
 *
 *   # HELP name text        once per family, before its samples
 *   # TYPE name counter|gauge|histogram
 *   name{label="value",...} value
 *
 * Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 * [a-zA-Z_][a-zA-Z0-9_]*; label values are escaped (\\, \", \n); HELP text
 * escapes \\ and \n.  Every call returns 0 or a negative errno (-EINVAL
 * for a bad name, -ENOMEM); after an error the page is unusable and
 * sn_prom_text() returns NULL.
 */
#ifndef SEALNET_PROM_H
#define SEALNET_PROM_H

#include <stddef.h>
#include <stdint.h>

struct sn_prom;

int sn_prom_new(struct sn_prom **out);
void sn_prom_free(struct sn_prom *p);

/* Start a family: type is "counter", "gauge" or "histogram". */
int sn_prom_family(struct sn_prom *p, const char *name, const char *type,
		   const char *help);
/* One sample.  labels: NULL, or name, value, name, value, ..., NULL. */
int sn_prom_u64(struct sn_prom *p, const char *name, const char *const *labels,
		uint64_t v);
int sn_prom_f64(struct sn_prom *p, const char *name, const char *const *labels,
		double v);

/* A histogram with fixed upper bounds (ascending, +Inf implicit). */
#define SN_PROM_HIST_MAX 16
struct sn_prom_hist {
	const double *bounds;
	size_t n_bounds;		       /* <= SN_PROM_HIST_MAX */
	uint64_t counts[SN_PROM_HIST_MAX + 1]; /* per bucket, not cumulative */
	uint64_t count;
	double sum;
};
void sn_prom_hist_observe(struct sn_prom_hist *h, double v);
/* name_bucket{..., le="b"} (cumulative), name_sum, name_count. */
int sn_prom_hist(struct sn_prom *p, const char *name, const char *const *labels,
		 const struct sn_prom_hist *h);

/* The page so far (NUL-terminated), NULL after an error. */
const char *sn_prom_text(const struct sn_prom *p, size_t *len);

/*
 * Serve GET/HEAD /metrics on listen ("ADDR:PORT" or "[IPv6]:PORT") from
 * base's loop, fn(p, arg) building the page at each scrape (0, or an
 * error: 500); other paths 404, other methods 405 (lib/metrics/serve.c).
 * -EINVAL (listen), -ENOMEM, -EADDRNOTAVAIL (bind), each logged naming
 * listen.
 */
struct event_base;
struct sn_prom_server;
typedef int (*sn_prom_page_fn)(struct sn_prom *p, void *arg);
int sn_prom_serve(struct event_base *base, const char *listen,
		  sn_prom_page_fn fn, void *arg, struct sn_prom_server **out);
void sn_prom_server_free(struct sn_prom_server *s);

#endif
