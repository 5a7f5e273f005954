// SPDX-License-Identifier: Apache-2.0
/*
 * sealnet-kbs: a domain's attestation service and key broker
 * (docs/kbs-api.md): nodes attest with TEE evidence bound to a challenge
 * and their TLS key, get an attestation-result token, and fetch the
 * resources their stage may have, sealed to the key in their evidence.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "sealnet/log.h"
#include "sealnet/util.h"
#include "sealnet/workflow.h"
#include "kbs.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealnet-kbs --config FILE [--check] [--verbose]\n"
		"       sealnet-kbs --config FILE --adopt-audit-head\n"
		"       sealnet-kbs --help | --version\n\n"
		"The domain's attestation service and key broker.  Serves "
		"HTTPS\n"
		"(TLS 1.3 only) on the configured address:\n"
		"  GET  /challenge         a single-use challenge\n"
		"  POST /attest            evidence -> attestation-result "
		"token (JWT " SN_KBS_TOKEN_ALG ")\n"
		"  GET  /resource/PATH     a resource sealed to the node's key "
		"(Bearer token)\n"
		"  GET  /keys              the token signing keys (JWKS)\n"
		"  GET  /federation/bundles the peer domains' trust bundles held\n"
		"  GET  /events            revocation events (long-poll)\n"
		"  GET  /bundle            this domain's trust bundle "
		"(docs/federation.md)\n"
		"  GET  /federation/bundles  the valid trust bundles of peer "
		"domains\n"
		"  /admin/...              enrol, reference values, resources, "
		"revocation,\n"
		"                          list, audit, peers' bundles: "
		"admin client "
		"certificate only\n"
		"('sealnet kbs --help' is the admin and node client.)\n\n"
		"options:\n"
		"  -c, --config FILE  JSON configuration (docs/kbs-api.md, "
		"Configuration):\n"
		"                     {\"listen\": \"HOST:PORT\", \"domain\": "
		"NAME,\n"
		"                      \"tls_cert\", \"tls_key\", "
		"\"admin_ca\", \"database\",\n"
		"                      \"token_key\" (paths; relative to "
		"FILE's directory),\n"
		"                      \"token_lifetime\" (s, 300), "
		"\"challenge_lifetime\"\n"
		"                      (s, 60), \"request_timeout\" (s, 10),\n"
		"                      \"max_challenges\" (4096), "
		"\"max_event_waiters\" (1024),\n"
		"                      \"max_challenges_per_node\" (4),\n"
		"                      \"audit_refusal_burst\" (20), "
		"\"audit_refusal_rate\" (1/s),\n"
		"                      \"manifest\" (an initial import: the "
		"imported manifest\n"
		"                      is the one source of truth), "
		"\"trust_dir\", \"bundle\" (federation),\n"
		"                      \"peer_refresh_max_s\" (s, 3600), "
		"\"token_key_next\" (rollover)}\n"
		"      --check        load the configuration, keys and "
		"database, then exit\n"
		"      --adopt-audit-head  check the audit chain and, when "
		"it is whole,\n"
		"                     sign its head as this KBS's (an "
		"unsigned head of\n"
		"                     a schema-4 database; audited), then "
		"exit\n"
		"  -v, --verbose      log debug messages\n"
		"  -h, --help         this text\n"
		"      --version      print the version\n\n"
		"The token key is created (" SN_KBS_TOKEN_CRV ", mode 0600) when missing; "
		"the\n"
		"database is created and migrated.  Exit status: 0 clean stop\n"
		"(SIGTERM/SIGINT), 1 start-up failure, 2 bad usage.\n");
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	sn_info("signal %d: stopping", (int)sig);
	event_base_loopexit(arg, NULL);
}

/* --adopt-audit-head: a whole chain's head signed as ours (0), or 1 */
static int adopt_head(struct kbs *k)
{
	struct sn_kbs_audit_report r;
	char hex[2 * SN_SHA256_LEN + 1], detail[200];

	if (sn_kbs_audit_verify(k->st, &r))
		return 1;
	if (!r.ok) {
		fprintf(stderr,
			"sealnet-kbs: the audit chain is broken at row %lld "
			"(%s): not adopted\n",
			(long long)r.bad_seq, r.what);
		return 1;
	}
	sn_hex_encode(r.head, sizeof(r.head), hex);
	snprintf(detail, sizeof(detail),
		 "the head of %lld rows (hash %s) adopted and signed",
		 (long long)r.rows, hex);
	{
		const struct sn_kbs_audit_in a = {"operator", "audit-adopt", "",
						  "ok", detail};

		if (sn_kbs_audit_adopt(k->st, &a))
			return 1;
	}
	printf("sealnet-kbs: %s\n", detail);
	return 0;
}

static int setup(struct kbs *k)
{
	int err;

	err = sn_kbs_store_open(k->cfg.database, &k->st);
	if (!err)
		err = sn_kbs_signer_load(k->cfg.token_key, true, &k->signer);
	if (!err)
		err = kbs_keys_setup(k);
	if (!err) { /* every commit with audit rows signs the head */
		sn_kbs_store_set_head_signer(k->st, kbs_head_signer, k);
		sn_kbs_store_set_head_keys(k->st, kbs_head_keys);
	}
	if (!err)
		err = sn_kbs_challenges_new(
			(size_t)k->cfg.max_challenges,
			(uint64_t)k->cfg.challenge_lifetime * 1000, &k->ch);
	if (!err)
		sn_kbs_challenges_set_per_key(
			k->ch, (uint32_t)k->cfg.max_challenges_per_node);
	if (!err) /* certificates by reference (docs/kbs-api.md) */
		err = sn_kbs_certref_new(KBS_CERTREF_CAP, &k->certs);
	if (!err)
		err = kbs_manifest_setup(k);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'C'},
		{"adopt-audit-head", no_argument, NULL, 'A'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct kbs k = {0};
	struct event *sigs[2] = {NULL, NULL};
	const char *config = NULL;
	bool check = false, adopt = false;
	int c, rc = 1;

	sn_log_set(sn_log_stderr, "sealnet-kbs");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 'A':
			adopt = true;
			break;
		case 'v':
			sn_log_set_level(SN_LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("sealnet-kbs %s\n", SEALNET_VERSION);
			return 0;
		default:
			fprintf(stderr,
				"sealnet-kbs: unknown option or missing "
				"argument "
				"'%s' (see --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (!config || optind != argc) {
		fprintf(stderr, "sealnet-kbs: %s (see --help)\n",
			config ? "unexpected argument" :
				 "--config FILE is required");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	LIST_INIT(&k.waiters);
	k.listen_fd = k.notify_fd = -1;
	if (kbs_config_load(config, &k.cfg) || setup(&k))
		goto out;
	if (adopt) {
		rc = adopt_head(&k);
		goto out;
	}
	if (check) {
		printf("sealnet-kbs: configuration %s, database %s and token "
		       "key "
		       "%s are usable\n",
		       config, k.cfg.database, k.cfg.token_key);
		rc = 0;
		goto out;
	}
	k.base = event_base_new();
	if (!k.base || kbs_metrics_start(&k) || kbs_alim_start(&k) ||
	    kbs_server_start(&k) || kbs_fed_start(&k) || kbs_workers_start(&k))
		goto out;
	sigs[0] = evsignal_new(k.base, SIGTERM, on_signal, k.base);
	sigs[1] = evsignal_new(k.base, SIGINT, on_signal, k.base);
	if (!sigs[0] || !sigs[1] || event_add(sigs[0], NULL) ||
	    event_add(sigs[1], NULL))
		goto out;
	sn_info("domain %s: listening on %s port %s, %d workers (token key "
		"%s)",
		k.cfg.domain, k.cfg.listen_host, k.cfg.listen_port,
		k.cfg.workers, sn_kbs_signer_kid(kbs_signer(&k)));
	rc = event_base_dispatch(k.base) ? 1 : 0;
out:
	for (int i = 0; i < 2; i++)
		if (sigs[i])
			event_free(sigs[i]);
	kbs_workers_stop(&k);
	kbs_alim_stop(&k);
	kbs_fed_stop(&k);
	kbs_server_stop(&k);
	kbs_metrics_stop(&k);
	if (k.base)
		event_base_free(k.base);
	sn_kbs_challenges_free(k.ch);
	sn_kbs_certref_free(k.certs);
	kbs_manifest_free(&k);
	kbs_policy_cache_free(&k);
	kbs_keys_free(&k);
	sn_kbs_signer_free(k.signer);
	sn_kbs_store_close(k.st);
	if (rc == 1)
		fprintf(stderr, "sealnet-kbs: not started (see the messages "
				"above)\n");
	return rc;
}
