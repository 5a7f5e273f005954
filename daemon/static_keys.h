/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Static-key mode (an explicit insecure test mode): the configured
 * tx_key/rx_key are pre-shared keys; packet keys are derived per epoch,
 * epochs are reserved in state_dir before use and never reused
 * (docs/wire-format.md, "Static keys").
 */
#ifndef SEALNETD_STATIC_KEYS_H
#define SEALNETD_STATIC_KEYS_H

#include <stdint.h>

#include "sealnet/abi.h"

struct sealnetd;

/* Reserve and install the first epochs of every static peer (before any
 * traffic can be sealed with them).  0 or negative errno (logged). */
int sn_static_install(struct sealnetd *d);
/* Start the 1-second tick (rotation, receive-window advance): after
 * d->base exists. */
int sn_static_start(struct sealnetd *d);
void sn_static_stop(struct sealnetd *d);

/* The packet key of one direction and epoch: HKDF-SHA256(ikm = psk, salt =
 * "sealnet static v1", info = sender id (be32) || receiver id (be32) ||
 * epoch (be16)).  0 or negative errno. */
int sn_static_derive(const uint8_t psk[SN_KEY_LEN], uint32_t sender,
		     uint32_t receiver, uint16_t epoch,
		     uint8_t out[SN_KEY_LEN]);

#endif
