// SPDX-License-Identifier: Apache-2.0
/* sealnetd's config parser: accepts the documented format, and every
 * error names the field at fault. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>
#include <jansson.h>

#include "sealnet/config.h"

#define K1 "0101010101010101010101010101010101010101010101010101010101010101"
#define K2 "0202020202020202020202020202020202020202020202020202020202020202"

static const char good[] =
	"{\"node\":\"h1\",\"id\":1,\"interface\":\"eth0\",\"udp_port\":5000,"
	"\"unprotected\":{\"egress\":\"drop\"},"
	"\"insecure_static_keys\":true,\"state_dir\":\"/var/lib/sn\","
	"\"static_rekey_interval_s\":7,"
	"\"peers\":[{\"name\":\"h2\",\"id\":2,\"address\":\"198.18.0.2\","
	"\"tx_key\":\"" K1 "\",\"rx_key\":\"" K2 "\"}],"
	"\"rules\":[{\"peer\":\"h2\",\"direction\":\"egress\",\"protocol\":\"tcp\",\"port\":80,\"local_port\":9},"
	"{\"peer\":\"h2\",\"direction\":\"ingress\",\"protocol\":\"icmp\"}]}";

static void parses_good(void **state)
{
	struct sn_node_config *c = NULL;
	char err[256] = "";

	assert_int_equal(sn_config_parse(good, strlen(good), &c, err, sizeof(err)), 0);
	assert_string_equal(c->node, "h1");
	assert_int_equal(c->dp.udp_port, 5000);
	assert_true(c->dp.drop_unprotected_egress);
	assert_false(c->dp.drop_unprotected_ingress);
	assert_int_equal(c->n_peers, 1);
	assert_int_equal(c->peers[0].addr, inet_addr("198.18.0.2"));
	assert_true(c->insecure_static_keys);
	assert_int_equal(c->static_rekey_s, 7);
	assert_int_equal(c->peers[0].tx_key[31], 1);
	assert_int_equal(c->peers[0].rx_key[0], 2);
	assert_int_equal(c->n_rules, 2);
	assert_int_equal(c->rules[0].local_kind, SN_LOCAL_PORT);
	assert_int_equal(c->rules[0].local, 9);
	assert_int_equal(c->rules[1].proto, 1);
	assert_int_equal(c->rules[1].dir, SN_DIR_INGRESS);
	sn_config_free(c);
}

/* replace the first occurrence of from by to in good, expect an error
 * containing needle */
static void bad(const char *from, const char *to, const char *needle)
{
	char buf[4096], err[256] = "";
	struct sn_node_config *c = NULL;
	const char *p = strstr(good, from);

	assert_non_null(p);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - good), good, to,
		 p + strlen(from));
	assert_int_equal(sn_config_parse(buf, strlen(buf), &c, err, sizeof(err)),
			 -22);
	assert_null(c);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not contain '%s'", err, needle);
}

static void errors_name_the_field(void **state)
{
	bad("\"198.18.0.2\"", "\"198.18.0.999\"", "peers[0].address");
	bad("\"id\":2", "\"id\":1", "peers[0].id");
	bad("\"id\":2", "\"id\":5000", "peers[0].id");
	bad(K1, "01", "peers[0].tx_key");
	bad(K2, K2 "zz", "peers[0].rx_key");
	bad("\"protocol\":\"tcp\"", "\"protocol\":\"sctp\"", "rules[0].protocol");
	bad("\"peer\":\"h2\",\"direction\":\"ingress\"",
	    "\"peer\":\"h9\",\"direction\":\"ingress\"", "rules[1].peer");
	bad("\"direction\":\"egress\"", "\"direction\":\"both\"", "rules[0].direction");
	bad("\"udp_port\":5000", "\"udp_port\":70000", "udp_port");
	bad("\"udp_port\":5000", "\"udp_prot\":5000", "udp_prot: unknown member");
	bad("\"egress\":\"drop\"", "\"egress\":\"maybe\"", "unprotected.egress");
	bad("\"interface\":\"eth0\",", "", "interface: missing");
	bad("{\"node\"", "[{\"node\"", "line 1");
	bad("\"protocol\":\"icmp\"", "\"protocol\":\"icmp\",\"port\":3", "rules[1].port");
	bad("\"protocol\":\"icmp\"", "\"protocol\":\"icmp\",\"local_port\":3",
	    "rules[1]: cgroup/local_port");
	bad("\"local_port\":9", "\"cgroup\":\"/nonexistent/cg\"", "rules[0].cgroup");
}

/* "kbs" (docs/sealnetd.md "KBS"): parsed, and each mistake named */
#define KBS_OK                                                                \
	"\"kbs\":{\"url\":\"https://198.18.0.4:8443\",\"ca\":\"/ca.pem\","    \
	"\"node_cert\":\"/n.pem\",\"node_key\":\"/n.key\","                   \
	"\"make_accept\":\"token\",\"resources\":[\"s/secret\"]},"
static void kbs_member(void **state)
{
	char buf[4096], err[256] = "";
	struct sn_node_config *c = NULL;
	const char *at = strstr(good, "\"udp_port\"");

	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - good), good, KBS_OK,
		 at);
	assert_int_equal(sn_config_parse(buf, strlen(buf), &c, err, sizeof(err)),
			 0);
	assert_true(c->kbs.enabled);
	assert_string_equal(c->kbs.server, "198.18.0.4:8443");
	assert_int_equal(c->kbs.make_accept, 2); /* SN_MAKE_ACCEPT_TOKEN */
	assert_int_equal(c->kbs.n_resources, 1);
	assert_string_equal(c->kbs.resources[0], "s/secret");
	sn_config_free(c);
}

static void bad_kbs(const char *from, const char *to, const char *needle)
{
	char ok[4096], buf[4096], err[256] = "";
	struct sn_node_config *c = NULL;
	const char *at = strstr(good, "\"udp_port\""), *p;

	snprintf(ok, sizeof(ok), "%.*s%s%s", (int)(at - good), good, KBS_OK,
		 at);
	p = strstr(ok, from);
	assert_non_null(p);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - ok), ok, to,
		 p + strlen(from));
	assert_int_equal(sn_config_parse(buf, strlen(buf), &c, err, sizeof(err)),
			 -22);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not contain '%s'", err, needle);
}

static void kbs_errors(void **state)
{
	bad_kbs("https://198.18.0.4:8443", "http://198.18.0.4:8443", "kbs.url");
	bad_kbs("https://198.18.0.4:8443", "https://198.18.0.4:8443/x", "kbs.url");
	bad_kbs("\"node_key\":\"/n.key\",", "", "kbs.node_cert and kbs.node_key");
	bad_kbs("\"token\"", "\"tokens\"", "kbs.make_accept");
	bad_kbs("\"s/secret\"", "\"../secret\"", "kbs.resources[0]");
	bad_kbs("\"state_dir\":\"/var/lib/sn\",", "", "needs state_dir");
	bad_kbs("\"ca\":", "\"cafile\":", "kbs.cafile: unknown member");
}

/* static keys (issue 9, item 3): one key for both directions, static keys
 * without the explicit insecure flag, or without a state_dir for the
 * per-start epochs, are refused; a configured epoch is gone */
static void static_keys_refused(void **state)
{
	bad("\"rx_key\":\"" K2, "\"rx_key\":\"" K1,
	    "peers[0]: tx_key and rx_key are the same key");
	bad("\"insecure_static_keys\":true,", "",
	    "static keys are for tests only");
	bad("\"insecure_static_keys\":true,", "\"insecure_static_keys\":false,",
	    "production keys peers with the \"make\" section");
	bad("\"insecure_static_keys\":true,", "\"insecure_static_keys\":1,",
	    "insecure_static_keys: must be true or false");
	bad("\"state_dir\":\"/var/lib/sn\",", "", "state_dir: required with static keys");
	bad("\"tx_key\"", "\"epoch\":3,\"tx_key\"", "peers[0].epoch: no longer configured");
	bad("\"static_rekey_interval_s\":7", "\"static_rekey_interval_s\":0",
	    "static_rekey_interval_s");
}

/* "dataplane": {"engine": "bpf" | "simd"} (issue 10): default bpf */
static void dataplane_engine(void **state)
{
	struct sn_node_config *c = NULL;
	char buf[4096], err[256] = "";
	const char *at = strstr(good, "\"peers\"");

	assert_int_equal(sn_config_parse(good, strlen(good), &c, err, sizeof(err)), 0);
	assert_false(c->dp.engine_simd);
	assert_false(c->dp.no_spread_receive);
	sn_config_free(c);
	c = NULL;
	snprintf(buf, sizeof(buf), "%.*s\"dataplane\":{\"engine\":\"simd\"},%s",
		 (int)(at - good), good, at);
	assert_int_equal(sn_config_parse(buf, strlen(buf), &c, err, sizeof(err)), 0);
	assert_true(c->dp.engine_simd);
	/* receive spreading: by default only for the BPF engine; an
	 * explicit setting wins either way */
	assert_true(c->dp.no_spread_receive);
	sn_config_free(c);
	c = NULL;
	snprintf(buf, sizeof(buf),
		 "%.*s\"dataplane\":{\"engine\":\"simd\"},"
		 "\"spread_receive\":true,%s",
		 (int)(at - good), good, at);
	assert_int_equal(sn_config_parse(buf, strlen(buf), &c, err, sizeof(err)), 0);
	assert_false(c->dp.no_spread_receive);
	sn_config_free(c);
	c = NULL;
	snprintf(buf, sizeof(buf), "%.*s\"spread_receive\":false,%s",
		 (int)(at - good), good, at);
	assert_int_equal(sn_config_parse(buf, strlen(buf), &c, err, sizeof(err)), 0);
	assert_true(c->dp.no_spread_receive);
	sn_config_free(c);
	bad("\"peers\"", "\"dataplane\":{\"engine\":\"gpu\"},\"peers\"",
	    "dataplane.engine: must be \"bpf\"");
	bad("\"peers\"", "\"dataplane\":{\"engin\":\"simd\"},\"peers\"",
	    "dataplane.engin: unknown member");
	bad("\"peers\"", "\"dataplane\":\"simd\",\"peers\"",
	    "dataplane: must be an object");
}

/* a peer's "engine" (the SIMD engine sends super-datagrams only to a peer
 * declared "simd"): default bpf */
static void peer_engine(void **state)
{
	struct sn_node_config *c = NULL;
	char buf[4096], err[256] = "";
	const char *at = strstr(good, "\"tx_key\"");

	assert_int_equal(sn_config_parse(good, strlen(good), &c, err, sizeof(err)), 0);
	assert_false(c->peers[0].engine_simd);
	sn_config_free(c);
	c = NULL;
	snprintf(buf, sizeof(buf), "%.*s\"engine\":\"simd\",%s",
		 (int)(at - good), good, at);
	assert_int_equal(sn_config_parse(buf, strlen(buf), &c, err, sizeof(err)), 0);
	assert_true(c->peers[0].engine_simd);
	sn_config_free(c);
	c = NULL;
	snprintf(buf, sizeof(buf), "%.*s\"engine\":\"bpf\",%s",
		 (int)(at - good), good, at);
	assert_int_equal(sn_config_parse(buf, strlen(buf), &c, err, sizeof(err)), 0);
	assert_false(c->peers[0].engine_simd);
	sn_config_free(c);
	bad("\"tx_key\"", "\"engine\":\"tc\",\"tx_key\"",
	    "peers[0].engine: must be \"bpf\"");
	bad("\"tx_key\"", "\"engine\":1,\"tx_key\"", "peers[0].engine");
}

/* --- secrets in freed memory (issue 9, item 10 d) ---------------------- */

/* a jansson allocator that looks into every block when it is freed: a
 * block that still holds a key's hex digits leaked the secret to the heap */
#define HDR 16
static unsigned int secret_frees, all_frees;

static void *t_malloc(size_t n)
{
	uint8_t *p = malloc(n + HDR);

	if (!p)
		return NULL;
	memcpy(p, &n, sizeof(n));
	return p + HDR;
}

static void t_free(void *q)
{
	uint8_t *p;
	size_t n;

	if (!q)
		return;
	p = (uint8_t *)q - HDR;
	memcpy(&n, p, sizeof(n));
	all_frees++;
	if (memmem(q, n, "0101010101010101", 16) ||
	    memmem(q, n, "0202020202020202", 16))
		secret_frees++;
	free(p);
}

static void config_buffers_wiped(void **state)
{
	struct sn_node_config *c = NULL;
	char err[256] = "";

	secret_frees = all_frees = 0;
	json_set_alloc_funcs(t_malloc, t_free);
	assert_int_equal(sn_config_parse(good, strlen(good), &c, err, sizeof(err)), 0);
	json_set_alloc_funcs(malloc, free);
	assert_true(all_frees > 0); /* the parse's objects went through us */
	if (secret_frees)
		fail_msg("%u of %u blocks freed by the config parser still held key hex digits",
			 secret_frees, all_frees);
	sn_config_free(c);
	/* and on an error path (the keys were read, a later field is bad) */
	{
		char buf[4096];
		const char *p = strstr(good, "\"protocol\":\"tcp\"");

		snprintf(buf, sizeof(buf), "%.*s\"protocol\":\"sctp\"%s",
			 (int)(p - good), good, p + strlen("\"protocol\":\"tcp\""));
		secret_frees = all_frees = 0;
		json_set_alloc_funcs(t_malloc, t_free);
		assert_int_equal(sn_config_parse(buf, strlen(buf), &c, err, sizeof(err)), -EINVAL);
		json_set_alloc_funcs(malloc, free);
		assert_int_equal(secret_frees, 0);
	}
}

/* --- file permissions (issue 9, item 10 b, c) ---------------------------- */

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void load_expect(const char *path, int want, const char *n1,
			const char *n2)
{
	struct sn_node_config *c = NULL;
	char err[512] = "";
	int r = sn_config_load(path, &c, err, sizeof(err));

	if (r != want)
		fail_msg("loading %s: %d (%s), expected %d", path, r, err, want);
	if (want) {
		assert_null(c);
		if (!strstr(err, n1) || (n2 && !strstr(err, n2)))
			fail_msg("error '%s' does not name '%s' and '%s'", err, n1,
				 n2 ? n2 : "");
	} else {
		sn_config_free(c);
	}
}

static const char make_cfg[] =
	"{\"node\":\"h1\",\"id\":1,\"interface\":\"eth0\","
	"\"make\":{\"sim_platform\":\"/p\",\"appraisal_policy\":\"/q\"},"
	"\"peers\":[{\"name\":\"h2\",\"id\":2,\"address\":\"198.18.0.2\"}]}";

static void key_file_permissions(void **state)
{
	char dir[] = "/tmp/sn-test-config.XXXXXX", path[64];

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/node.json", dir);
	/* static keys: group- or world-readable is refused */
	write_file(path, good, 0644);
	load_expect(path, -EPERM, path, "chmod 600");
	write_file(path, good, 0640);
	load_expect(path, -EPERM, path, "chmod 600");
	write_file(path, good, 0604);
	load_expect(path, -EPERM, path, "chmod 600");
	write_file(path, good, 0600);
	load_expect(path, 0, NULL, NULL);
	write_file(path, good, 0400);
	load_expect(path, 0, NULL, NULL);
	if (geteuid() == 0) { /* someone else's file holding our keys */
		write_file(path, good, 0600);
		assert_int_equal(chown(path, 65534, 65534), 0);
		load_expect(path, -EPERM, path, "chown");
	}
	/* no keys in it: readable configuration is fine */
	write_file(path, make_cfg, 0644);
	load_expect(path, 0, NULL, NULL);
	unlink(path);
	rmdir(dir);
}

/* kbs.node_key is the private key a KBS token's cnf names: whoever reads
 * it and sees the node's token (every MAKE peer does) is the node in token
 * mode; a group- or world-readable one, or another user's, is refused */
static void kbs_node_key_permissions(void **state)
{
	char dir[] = "/tmp/sn-test-config.XXXXXX", path[64], key[64];
	char cfg[1024];

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/node.json", dir);
	snprintf(key, sizeof(key), "%s/n.key", dir);
	snprintf(cfg, sizeof(cfg),
		 "{\"node\":\"h1\",\"id\":1,\"interface\":\"eth0\","
		 "\"make\":{\"sim_platform\":\"/p\",\"appraisal_policy\":"
		 "\"/q\"},\"kbs\":{\"url\":\"https://198.18.0.4:8443\","
		 "\"ca\":\"/ca.pem\",\"node_cert\":\"/n.pem\","
		 "\"node_key\":\"%s\"},\"peers\":[{\"name\":\"h2\","
		 "\"id\":2,\"address\":\"198.18.0.2\"}]}",
		 key);
	write_file(path, cfg, 0644);
	write_file(key, "not a key", 0644);
	load_expect(path, -EPERM, key, "chmod 600");
	write_file(key, "not a key", 0640);
	load_expect(path, -EPERM, key, "chmod 600");
	write_file(key, "not a key", 0600);
	load_expect(path, 0, NULL, NULL);
	if (geteuid() == 0) {
		assert_int_equal(chown(key, 65534, 65534), 0);
		load_expect(path, -EPERM, key, "chown");
	}
	unlink(key);
	unlink(path);
	rmdir(dir);
}

static void private_dirs(void **state)
{
	char dir[] = "/tmp/sn-test-dir.XXXXXX", file[64], err[512];
	int fd = -1;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(sn_open_private_dir(dir, "state_dir", &fd, err, sizeof(err)), 0);
	assert_true(fd >= 0);
	close(fd);
	fd = -1;
	for (mode_t m = 0; m < 3; m++) {
		static const mode_t bad_modes[] = { 0777, 0770, 0702 };

		chmod(dir, bad_modes[m]);
		err[0] = '\0';
		assert_int_equal(sn_open_private_dir(dir, "state_dir", &fd, err, sizeof(err)),
				 -EPERM);
		assert_int_equal(fd, -1);
		if (!strstr(err, dir) || !strstr(err, "chmod go-w") ||
		    !strstr(err, "state_dir"))
			fail_msg("error '%s' does not name the path and the fix", err);
	}
	chmod(dir, 0755); /* readable by others is fine: no secrets */
	assert_int_equal(sn_open_private_dir(dir, "state_dir", &fd, err, sizeof(err)), 0);
	close(fd);
	fd = -1;
	if (geteuid() == 0) {
		assert_int_equal(chown(dir, 65534, 65534), 0);
		assert_int_equal(sn_open_private_dir(dir, "state_dir", &fd, err, sizeof(err)),
				 -EPERM);
		if (!strstr(err, dir) || !strstr(err, "chown"))
			fail_msg("error '%s' does not name the path and the fix", err);
	}
	snprintf(file, sizeof(file), "%s/f", dir);
	write_file(file, "x", 0600);
	assert_int_equal(sn_open_private_dir(file, "state_dir", &fd, err, sizeof(err)),
			 -ENOTDIR);
	unlink(file);
	rmdir(dir);
}

/* make.allowed_dataplane pins the peer's data-plane digest, which only
 * EVIDENCE carries (a KBS token does not: the KBS never sees it): with a
 * KBS token node the default becomes token-and-evidence, and an explicit
 * token or token-or-evidence, which would skip the pin, is refused */
#define DP_DIGEST                                                          \
	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" \
	"00112233445566778899aabbccddeeff"
static int kbs_dp_parse(const char *accept, struct sn_node_config **c,
			char *err, size_t cap)
{
	char buf[1024];

	snprintf(buf, sizeof(buf),
		 "{\"node\":\"h1\",\"id\":1,\"interface\":\"eth0\","
		 "\"make\":{\"sim_platform\":\"/p\",\"appraisal_policy\":"
		 "\"/q\",\"allowed_dataplane\":[\"" DP_DIGEST "\"]},"
		 "\"kbs\":{\"url\":\"https://198.18.0.4:8443\",\"ca\":"
		 "\"/ca.pem\",\"node_cert\":\"/n.pem\",\"node_key\":"
		 "\"/n.key\"%s%s%s},"
		 "\"peers\":[{\"name\":\"h2\",\"id\":2,\"address\":"
		 "\"198.18.0.2\"}]}",
		 accept ? ",\"make_accept\":\"" : "", accept ? accept : "",
		 accept ? "\"" : "");
	return sn_config_parse(buf, strlen(buf), c, err, cap);
}

static void kbs_allowed_dataplane(void **state)
{
	static const char *const refused[] = {"token", "token-or-evidence"};
	struct sn_node_config *c = NULL;
	char err[256] = "";

	assert_int_equal(kbs_dp_parse(NULL, &c, err, sizeof(err)), 0);
	assert_int_equal(c->kbs.make_accept, 4); /* TOKEN_AND_EVIDENCE */
	sn_config_free(c);
	c = NULL;
	assert_int_equal(
		kbs_dp_parse("token-and-evidence", &c, err, sizeof(err)), 0);
	assert_int_equal(c->kbs.make_accept, 4);
	sn_config_free(c);
	c = NULL;
	assert_int_equal(kbs_dp_parse("evidence", &c, err, sizeof(err)), 0);
	assert_int_equal(c->kbs.make_accept, 1);
	sn_config_free(c);
	for (size_t i = 0; i < 2; i++) {
		c = NULL;
		err[0] = '\0';
		assert_int_equal(kbs_dp_parse(refused[i], &c, err, sizeof(err)),
				 -EINVAL);
		if (!strstr(err, "allowed_dataplane") ||
		    !strstr(err, "token-and-evidence"))
			fail_msg("error '%s' does not name allowed_dataplane "
				 "and the fix",
				 err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_good),
		cmocka_unit_test(errors_name_the_field),
		cmocka_unit_test(static_keys_refused),
		cmocka_unit_test(dataplane_engine),
		cmocka_unit_test(peer_engine),
		cmocka_unit_test(config_buffers_wiped),
		cmocka_unit_test(key_file_permissions),
		cmocka_unit_test(private_dirs),
		cmocka_unit_test(kbs_member),
		cmocka_unit_test(kbs_errors),
		cmocka_unit_test(kbs_allowed_dataplane),
		cmocka_unit_test(kbs_node_key_permissions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
