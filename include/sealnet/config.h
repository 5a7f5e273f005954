/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sealnetd's node configuration (JSON).  The format is documented in
 * docs/sealnetd.md.  The parser is strict: unknown members are errors (a
 * typo must not silently weaken the policy), and every error names the
 * field: "peers[1].address: ...".
 */
#ifndef SEALNET_CONFIG_H
#define SEALNET_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealnet/abi.h"
#include "sealnet/dataplane.h"

#define SN_NAME_MAX 64

struct sn_peer_config {
	char name[SN_NAME_MAX];
	uint16_t make_port;	   /* the peer's MAKE port (MAKE mode) */
	uint32_t make_addr;	   /* where to dial its MAKE; default addr */
	uint32_t id;
	uint32_t addr;		   /* IPv4, network order */
	bool has_addr6;
	uint8_t addr6[16];	   /* its IPv6 address: dropped, never in clear */
	bool has_static_keys;
	bool engine_simd;	   /* "engine": "simd": the peer runs the SIMD
				    * engine, so the SIMD engine may send it
				    * UDP GSO super-datagrams whole */
	uint16_t epoch;		   /* static: tx epoch in use (set by sealnetd) */
	uint8_t tx_key[SN_KEY_LEN]; /* secret; static: pre-shared key A->B */
	uint8_t rx_key[SN_KEY_LEN]; /* secret; static: pre-shared key B->A */
};

/* MAKE mode ("make" object): peers without static keys are keyed by the
 * mutually attested key exchange (docs/protocol.md). */
struct sn_make_config {
	bool enabled;
	uint16_t port;			/* listen port, default 51821 */
	char tee[8];			/* "sim" (snp/tdx: configfs-tsm) */
	char sim_platform[256];		/* sealnet sim-tee init DIR */
	char policy[256];		/* appraisal policy JSON */
	uint32_t rekey_s;		/* default 120 */
	uint32_t lifetime_s;		/* hard key lifetime, default 300 */
	uint8_t (*dp_digests)[48];	/* allowed peer mlog digests */
	size_t n_dp_digests;
};

/* "kbs": the domain's key broker (docs/sealnetd.md, daemon/kbs_client.c) */
struct sn_kbs_node_config {
	bool enabled;
	char server[128];		/* "HOST:PORT" (from "https://HOST:PORT") */
	char ca[256];			/* PEM: the KBS's TLS trust anchor */
	uint32_t poll_s;		/* GET /events ?wait=, default 20 */
	/* token mode (both or neither): the node's TLS key pair, enrolled
	 * at the KBS, used for attestation and as the MAKE certificate */
	char node_cert[256], node_key[256];
	uint8_t make_accept; /* enum sn_make_accept; default 1 (evidence),
			      * 3 (token-or-evidence) with node_cert */
	/* resources fetched with each token, into STATE_DIR/resources */
	char resources[16][200];
	size_t n_resources;
};

struct sn_node_config {
	char path[256];			/* the file it was read from */
	struct sn_make_config make;
	struct sn_kbs_node_config kbs;
	char node[SN_NAME_MAX];
	uint32_t id;
	char ifname[32];
	char control_socket[108];
	char metrics_listen[64];	/* "ADDR:PORT" of /metrics; "" = off */
	char state_dir[256];		/* audit log, static epochs; "" = none */
	bool insecure_static_keys;	/* static keys allowed (tests only) */
	uint32_t static_rekey_s;	/* static epoch rotation, default 30 */
	bool on_stop_detach;		/* on SIGTERM: detach (true) or keep the
					 * data plane keyless (false, default) */
	struct sn_dp_opts dp;	/* ifname points into this struct */
	struct sn_peer_config *peers;
	size_t n_peers;
	struct sn_dp_rule *rules;
	size_t n_rules;
};

/*
 * Parse json[0..len).  On failure returns -EINVAL and writes a message
 * naming the field into err.  base_dir resolves relative paths (may be
 * NULL: current directory).
 */
int sn_config_parse(const char *json, size_t len, struct sn_node_config **out,
		    char *err, size_t errlen);
/*
 * Read and parse the file at path.  A file holding static keys must be
 * owned by root or the effective uid and give group and others no access
 * (-EPERM, err names the file and says `chmod 600`).  The file's text and
 * every block jansson freed during the parse are wiped (OPENSSL_cleanse).
 * sn_config_parse is not reentrant (it swaps jansson's allocator).
 */
int sn_config_load(const char *path, struct sn_node_config **out, char *err,
		   size_t errlen);
/* Wipes the keys. NULL is fine. */
void sn_config_free(struct sn_node_config *c);

/*
 * Open directory path (for sealnetd's state or control socket) and check
 * that it belongs to root or the effective uid and is not writable by
 * group or others.  *fd (O_DIRECTORY, close-on-exec) on success; -EPERM
 * when it is not private, -errno when it cannot be opened; err names
 * `what`, the path and the fix.
 */
int sn_open_private_dir(const char *path, const char *what, int *fd,
			char *err, size_t errlen);

#endif
