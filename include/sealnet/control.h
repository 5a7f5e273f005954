/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control socket between sealnetd and the sealnet CLI.
 *
 * A unix stream socket, mode 0600 (root only).  The client sends one JSON
 * object on one line, {"cmd": "status"} or {"cmd": "monitor"}; the daemon
 * answers one JSON object on one line and closes ("status"), or streams
 * one JSON object per line until the client goes away ("monitor").
 * Requests longer than SN_CONTROL_MAX_REQ bytes are refused.
 */
#ifndef SEALNET_CONTROL_H
#define SEALNET_CONTROL_H

#include <jansson.h>

#define SN_CONTROL_SOCKET_DEFAULT "/run/sealnet/sealnetd.sock"
#define SN_CONTROL_MAX_REQ 4096

/* Connect to path; 0 and *fd, or negative errno. */
int sn_control_connect(const char *path, int *fd);

/* Send {"cmd": cmd} and read one JSON line back into *reply. */
int sn_control_request(const char *path, const char *cmd, json_t **reply);

#endif
