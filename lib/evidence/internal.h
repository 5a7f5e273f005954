/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to lib/evidence: the evidence object and the appraisal result that
 * every subsystem folder builds on.  Each folder has its own header that
 * includes the one below it, so dependencies go one way:
 *   produce/ -> formats/ -> this;  appraise/ -> verify/ -> formats/ -> this
 */
#ifndef SEALNET_EVIDENCE_INTERNAL_H
#define SEALNET_EVIDENCE_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "sealnet/evidence.h"

static inline uint16_t sn_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t sn_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t sn_le64(const uint8_t *p)
{
	return (uint64_t)sn_le32(p) | (uint64_t)sn_le32(p + 4) << 32;
}

static inline void sn_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void sn_put_le64(uint8_t *p, uint64_t v)
{
	sn_put_le32(p, (uint32_t)v);
	sn_put_le32(p + 4, (uint32_t)(v >> 32));
}

/* reasons.c: add a rejection reason to an appraisal */
void sn_appraisal_add(struct sn_appraisal *a, enum sn_reason r, const char *fmt,
		      ...) __attribute__((format(printf, 3, 4)));

/* evidence.c */
int sn_evidence_new(struct sn_evidence **out);
int sn_evidence_add_der(struct sn_evidence *ev, const uint8_t *der, size_t len);

#endif
