/* SPDX-License-Identifier: Apache-2.0 */
/* Private to lib/evidence: the evidence producers of produce/. */
#ifndef SEALNET_EVIDENCE_PRODUCE_H
#define SEALNET_EVIDENCE_PRODUCE_H

#include "../formats/formats.h"

/* sim_platform.c: the simulated platform's TCB */
extern const struct sn_tcb sn_sim_tcb;

#endif
