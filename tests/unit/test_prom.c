// SPDX-License-Identifier: Apache-2.0
/* The Prometheus text writer (lib/metrics/prom.c) and sn_parse_listen. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sealnet/prom.h"
#include "sealnet/util.h"

static void families_and_samples(void **state)
{
	struct sn_prom *p;
	const char *l[] = {"peer", "h2", NULL};
	size_t len;

	assert_int_equal(sn_prom_new(&p), 0);
	assert_int_equal(sn_prom_family(p, "sealnet_x_total", "counter",
					"Things.\nSecond line \\ here."),
			 0);
	assert_int_equal(sn_prom_u64(p, "sealnet_x_total", l, 42), 0);
	assert_int_equal(sn_prom_u64(p, "sealnet_x_total", NULL,
				     18446744073709551615ull),
			 0);
	assert_int_equal(sn_prom_family(p, "sealnet_g", "gauge", "G"), 0);
	assert_int_equal(sn_prom_f64(p, "sealnet_g", NULL, 0.25), 0);
	assert_string_equal(sn_prom_text(p, &len),
			    "# HELP sealnet_x_total Things.\\nSecond line "
			    "\\\\ here.\n"
			    "# TYPE sealnet_x_total counter\n"
			    "sealnet_x_total{peer=\"h2\"} 42\n"
			    "sealnet_x_total 18446744073709551615\n"
			    "# HELP sealnet_g G\n"
			    "# TYPE sealnet_g gauge\n"
			    "sealnet_g 0.25\n");
	assert_int_equal(len, strlen(sn_prom_text(p, NULL)));
	sn_prom_free(p);
}

static void label_values_escaped(void **state)
{
	struct sn_prom *p;
	/* a peer name cannot break out of its label, nor add a line */
	const char *l[] = {"peer", "a\"} 1\nevil{x=\"\\", NULL};

	assert_int_equal(sn_prom_new(&p), 0);
	assert_int_equal(sn_prom_u64(p, "m", l, 1), 0);
	assert_string_equal(sn_prom_text(p, NULL),
			    "m{peer=\"a\\\"} 1\\nevil{x=\\\"\\\\\"} 1\n");
	sn_prom_free(p);
}

static void bad_names_refused_and_sticky(void **state)
{
	static const char *const bad[] = {"", "1abc", "a-b", "a b", "é"};
	struct sn_prom *p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sn_prom_new(&p), 0);
		assert_int_equal(sn_prom_u64(p, bad[i], NULL, 1), -EINVAL);
		assert_null(sn_prom_text(p, NULL));
		/* once failed, nothing more is written */
		assert_int_equal(sn_prom_u64(p, "ok", NULL, 1), -EINVAL);
		sn_prom_free(p);
	}
	assert_int_equal(sn_prom_new(&p), 0);
	{
		const char *l[] = {"le-x", "1", NULL};

		assert_int_equal(sn_prom_u64(p, "m", l, 1), -EINVAL);
	}
	sn_prom_free(p);
	assert_int_equal(sn_prom_new(&p), 0);
	{
		const char *l[] = {"__name__", "x", NULL}; /* reserved */

		assert_int_equal(sn_prom_u64(p, "m", l, 1), -EINVAL);
	}
	sn_prom_free(p);
	assert_int_equal(sn_prom_new(&p), 0);
	assert_int_equal(sn_prom_family(p, "m", "summary", "no"), -EINVAL);
	sn_prom_free(p);
}

static void histogram_cumulative(void **state)
{
	static const double b[] = {0.01, 0.1, 1};
	struct sn_prom_hist h = {.bounds = b, .n_bounds = 3};
	struct sn_prom *p;
	const char *l[] = {"peer", "h2", NULL};

	sn_prom_hist_observe(&h, 0.005);
	sn_prom_hist_observe(&h, 0.01); /* le is inclusive */
	sn_prom_hist_observe(&h, 0.5);
	sn_prom_hist_observe(&h, 7);
	assert_int_equal(sn_prom_new(&p), 0);
	assert_int_equal(sn_prom_hist(p, "d_seconds", l, &h), 0);
	assert_string_equal(sn_prom_text(p, NULL),
			    "d_seconds_bucket{peer=\"h2\",le=\"0.01\"} 2\n"
			    "d_seconds_bucket{peer=\"h2\",le=\"0.1\"} 2\n"
			    "d_seconds_bucket{peer=\"h2\",le=\"1\"} 3\n"
			    "d_seconds_bucket{peer=\"h2\",le=\"+Inf\"} 4\n"
			    "d_seconds_sum{peer=\"h2\"} 7.515\n"
			    "d_seconds_count{peer=\"h2\"} 4\n");
	sn_prom_free(p);
}

static void listen_addresses(void **state)
{
	static const char *const bad[] = {"",
					  "localhost:80",
					  "1.2.3.4",
					  "1.2.3.4:",
					  "1.2.3.4:0",
					  "1.2.3.4:65536",
					  "1.2.3.4:-1",
					  "1.2.3.4:+80",
					  "::1:80",
					  "[::1]80",
					  "[::1]:",
					  "[]:80",
					  "[1.2.3.4]:80",
					  "1.2.3.4:80 ",
					  "1.2.3.4: 80",
					  "[::1:80"};
	char host[64] = "unchanged";
	uint16_t port = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
			sn_parse_listen(bad[i], host, sizeof(host), &port),
			-EINVAL);
		assert_string_equal(host, "unchanged");
		assert_int_equal(port, 7);
	}
	assert_int_equal(
		sn_parse_listen("127.0.0.1:9477", host, sizeof(host), &port),
		0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 9477);
	assert_int_equal(
		sn_parse_listen("[fd00::1]:65535", host, sizeof(host), &port),
		0);
	assert_string_equal(host, "fd00::1");
	assert_int_equal(port, 65535);
	/* host buffer too small: refused, not truncated */
	assert_int_equal(sn_parse_listen("127.0.0.1:1", host, 5, &port),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(families_and_samples),
		cmocka_unit_test(label_values_escaped),
		cmocka_unit_test(bad_names_refused_and_sticky),
		cmocka_unit_test(histogram_cumulative),
		cmocka_unit_test(listen_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
