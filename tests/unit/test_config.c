// SPDX-License-Identifier: Apache-2.0
/* sealnetd's config parser: accepts the documented format, and every
 * error names the field at fault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "sealnet/config.h"

#define K1 "0101010101010101010101010101010101010101010101010101010101010101"
#define K2 "0202020202020202020202020202020202020202020202020202020202020202"

static const char good[] =
	"{\"node\":\"h1\",\"id\":1,\"interface\":\"eth0\",\"udp_port\":5000,"
	"\"unprotected\":{\"egress\":\"drop\"},"
	"\"peers\":[{\"name\":\"h2\",\"id\":2,\"address\":\"198.18.0.2\","
	"\"epoch\":3,\"tx_key\":\"" K1 "\",\"rx_key\":\"" K2 "\"}],"
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
	assert_int_equal(c->peers[0].epoch, 3);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_good),
		cmocka_unit_test(errors_name_the_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
