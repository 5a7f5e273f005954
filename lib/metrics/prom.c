// SPDX-License-Identifier: Apache-2.0
/* Prometheus text exposition format 0.0.4 (include/sealnet/prom.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet/prom.h"

struct sn_prom {
	char *buf;
	size_t len, cap;
	int err;
};

int sn_prom_new(struct sn_prom **out)
{
	struct sn_prom *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->cap = 4096;
	p->buf = malloc(p->cap);
	if (!p->buf) {
		free(p);
		return -ENOMEM;
	}
	p->buf[0] = '\0';
	*out = p;
	return 0;
}

void sn_prom_free(struct sn_prom *p)
{
	if (!p)
		return;
	free(p->buf);
	free(p);
}

static int put(struct sn_prom *p, const char *s, size_t n)
{
	if (p->err)
		return p->err;
	if (p->len + n + 1 > p->cap) {
		size_t cap = p->cap;
		char *b;

		while (p->len + n + 1 > cap)
			cap *= 2;
		b = realloc(p->buf, cap);
		if (!b)
			return p->err = -ENOMEM;
		p->buf = b;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
	return 0;
}

static int puts_(struct sn_prom *p, const char *s)
{
	return put(p, s, strlen(s));
}

static int printf_(struct sn_prom *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int printf_(struct sn_prom *p, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return p->err = -EINVAL;
	return put(p, tmp, (size_t)n);
}

static int valid_name(const char *s, int colon)
{
	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' ||
		      (colon && *s == ':')))
			return 0;
	return 1;
}

/* s escaped: \\ and \n always, \" in label values */
static int put_escaped(struct sn_prom *p, const char *s, int quote)
{
	for (; *s && !p->err; s++) {
		if (*s == '\\')
			puts_(p, "\\\\");
		else if (*s == '\n')
			puts_(p, "\\n");
		else if (quote && *s == '"')
			puts_(p, "\\\"");
		else
			put(p, s, 1);
	}
	return p->err;
}

int sn_prom_family(struct sn_prom *p, const char *name, const char *type,
		   const char *help)
{
	if (p->err)
		return p->err;
	if (!valid_name(name, 1) ||
	    (strcmp(type, "counter") && strcmp(type, "gauge") &&
	     strcmp(type, "histogram")))
		return p->err = -EINVAL;
	puts_(p, "# HELP ");
	puts_(p, name);
	puts_(p, " ");
	put_escaped(p, help ? help : "", 0);
	puts_(p, "\n# TYPE ");
	puts_(p, name);
	puts_(p, " ");
	puts_(p, type);
	return puts_(p, "\n");
}

static int put_labels(struct sn_prom *p, const char *const *labels,
		      const char *le)
{
	int first = 1;

	if ((!labels || !labels[0]) && !le)
		return p->err;
	puts_(p, "{");
	for (size_t i = 0; labels && labels[i]; i += 2) {
		if (!valid_name(labels[i], 0) || !labels[i + 1] ||
		    !strncmp(labels[i], "__", 2))
			return p->err = -EINVAL;
		if (!first)
			puts_(p, ",");
		first = 0;
		puts_(p, labels[i]);
		puts_(p, "=\"");
		put_escaped(p, labels[i + 1], 1);
		puts_(p, "\"");
	}
	if (le) {
		if (!first)
			puts_(p, ",");
		puts_(p, "le=\"");
		puts_(p, le);
		puts_(p, "\"");
	}
	return puts_(p, "}");
}

static int sample_head(struct sn_prom *p, const char *name, const char *suffix,
		       const char *const *labels, const char *le)
{
	if (p->err)
		return p->err;
	if (!valid_name(name, 1))
		return p->err = -EINVAL;
	puts_(p, name);
	if (suffix)
		puts_(p, suffix);
	put_labels(p, labels, le);
	return puts_(p, " ");
}

int sn_prom_u64(struct sn_prom *p, const char *name, const char *const *labels,
		uint64_t v)
{
	if (sample_head(p, name, NULL, labels, NULL))
		return p->err;
	return printf_(p, "%llu\n", (unsigned long long)v);
}

/* the shortest %g form that reads back as v (0.1, not 0.1000...01) */
static void fmt_double(char *buf, size_t cap, double v)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

static int put_double(struct sn_prom *p, double v)
{
	char buf[32];

	if (isnan(v))
		return puts_(p, "NaN");
	if (isinf(v))
		return puts_(p, v > 0 ? "+Inf" : "-Inf");
	fmt_double(buf, sizeof(buf), v);
	return puts_(p, buf);
}

int sn_prom_f64(struct sn_prom *p, const char *name, const char *const *labels,
		double v)
{
	if (sample_head(p, name, NULL, labels, NULL))
		return p->err;
	put_double(p, v);
	return puts_(p, "\n");
}

void sn_prom_hist_observe(struct sn_prom_hist *h, double v)
{
	size_t i = 0;

	while (i < h->n_bounds && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->count++;
	h->sum += v;
}

int sn_prom_hist(struct sn_prom *p, const char *name, const char *const *labels,
		 const struct sn_prom_hist *h)
{
	uint64_t cum = 0;
	char le[32];

	if (h->n_bounds > SN_PROM_HIST_MAX)
		return p->err = -EINVAL;
	for (size_t i = 0; i <= h->n_bounds && !p->err; i++) {
		cum += h->counts[i];
		if (i < h->n_bounds)
			fmt_double(le, sizeof(le), h->bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		sample_head(p, name, "_bucket", labels, le);
		printf_(p, "%llu\n", (unsigned long long)cum);
	}
	sample_head(p, name, "_sum", labels, NULL);
	put_double(p, h->sum);
	puts_(p, "\n");
	sample_head(p, name, "_count", labels, NULL);
	return printf_(p, "%llu\n", (unsigned long long)h->count);
}

const char *sn_prom_text(const struct sn_prom *p, size_t *len)
{
	if (p->err)
		return NULL;
	if (len)
		*len = p->len;
	return p->buf;
}
