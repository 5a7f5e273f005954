// SPDX-License-Identifier: Apache-2.0
/*
 * sn_selftest_kat_cached: a pass is recorded and then believed; a record
 * that is not exactly ours (other key, stale, readable or writable by
 * others, a symbolic link, a directory others can write) is not believed
 * and the kernel AEAD self-test runs again.  Root (BPF).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>

#include "sealnet/selftest.h"

struct fx {
	char dir[PATH_MAX];    /* the record directory (under top) */
	char top[PATH_MAX];    /* mkdtemp */
	char record[PATH_MAX]; /* the one record, once written */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->top, sizeof(f->top), "/tmp/sn-stcache.XXXXXX");
	if (!mkdtemp(f->top))
		return -1;
	/* a missing directory is created, 0700 */
	snprintf(f->dir, sizeof(f->dir), "%s/selftest", f->top);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->top);
	if (system(cmd))
		return -1;
	free(f);
	return 0;
}

/* the name of the one kat-* file in dir, or "" */
static void find_record(struct fx *f)
{
	DIR *d = opendir(f->dir);
	struct dirent *e;

	f->record[0] = 0;
	if (!d)
		return;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "kat-", 4))
			snprintf(f->record, sizeof(f->record), "%s/%s", f->dir,
				 e->d_name);
	closedir(d);
}

static bool run(struct fx *f, unsigned int max_age)
{
	struct sn_selftest_stats st = {0};
	bool cached = true;

	assert_int_equal(sn_selftest_kat_cached(f->dir, max_age, 1, NULL, NULL,
						&st, &cached),
			 0);
	assert_int_equal(st.failed, 0);
	assert_true(st.total > 0);
	assert_int_equal(st.passed, st.total);
	return cached;
}

/* first run: the test runs and its pass is recorded, 0600 in a 0700
 * directory; second run: the record is used */
static void test_record_then_use(void **state)
{
	struct fx *f = *state;
	struct stat st;

	assert_false(run(f, 600));
	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	find_record(f);
	assert_true(f->record[0]);
	assert_int_equal(stat(f->record, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(run(f, 600));
	assert_true(run(f, 600));
}

/* rewrite the record's key (first hex digit flipped) */
static void test_other_key(void **state)
{
	struct fx *f = *state;
	char buf[512], *k;
	FILE *fp;
	size_t n;

	assert_false(run(f, 600));
	find_record(f);
	fp = fopen(f->record, "r+");
	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = 0;
	k = strchr(buf, ' ');
	assert_non_null(k);
	k[1] = k[1] == '0' ? '1' : '0';
	rewind(fp);
	assert_int_equal(fwrite(buf, 1, n, fp), n);
	fclose(fp);
	assert_false(run(f, 600)); /* not believed: ran again */
	assert_true(run(f, 600));  /* and recorded anew */
}

/* a record older than max_age is stale */
static void test_stale(void **state)
{
	struct fx *f = *state;

	assert_false(run(f, 600));
	sleep(2);
	assert_false(run(f, 1));
	assert_true(run(f, 600));
}

/* a record others may read or write is not believed */
static void test_record_mode(void **state)
{
	struct fx *f = *state;

	assert_false(run(f, 600));
	find_record(f);
	assert_int_equal(chmod(f->record, 0644), 0);
	assert_false(run(f, 600));
	assert_true(run(f, 600)); /* replaced by a private one */
	assert_int_equal(chmod(f->record, 0620), 0);
	assert_false(run(f, 600));
}

/* a symbolic link in the record's place is not followed */
static void test_symlink(void **state)
{
	struct fx *f = *state;
	char real[PATH_MAX + 16];

	assert_false(run(f, 600));
	find_record(f);
	snprintf(real, sizeof(real), "%s/real", f->top);
	assert_int_equal(rename(f->record, real), 0);
	assert_int_equal(symlink(real, f->record), 0);
	assert_false(run(f, 600));
}

/* a second hard link to the record: not believed */
static void test_hardlink(void **state)
{
	struct fx *f = *state;
	char other[PATH_MAX + 16];

	assert_false(run(f, 600));
	find_record(f);
	snprintf(other, sizeof(other), "%s/other", f->top);
	assert_int_equal(link(f->record, other), 0);
	assert_false(run(f, 600));
}

/* a directory others can write: neither believed nor written */
static void test_dir_mode(void **state)
{
	struct fx *f = *state;

	assert_false(run(f, 600));
	assert_int_equal(chmod(f->dir, 0777), 0);
	assert_false(run(f, 600));
	assert_false(run(f, 600));
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_true(run(f, 600));
}

/* four starts at once: one runs the test, three wait and use its record
 * (without the directory lock, most of them run it) */
static void test_concurrent(void **state)
{
	struct fx *f = *state;
	pid_t pid[4];
	int ran = 0;

	for (int i = 0; i < 4; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (!pid[i]) {
			struct sn_selftest_stats st = {0};
			bool cached = false;
			int err = sn_selftest_kat_cached(f->dir, 600, 1, NULL,
							 NULL, &st, &cached);

			_exit(err || st.failed ? 2 : cached ? 0 : 1);
		}
	}
	for (int i = 0; i < 4; i++) {
		int ws;

		assert_int_equal(waitpid(pid[i], &ws, 0), pid[i]);
		assert_true(WIFEXITED(ws));
		assert_true(WEXITSTATUS(ws) < 2);
		ran += WEXITSTATUS(ws);
	}
	assert_int_equal(ran, 1);
}

/* dir NULL: always run, nothing recorded */
static void test_off(void **state)
{
	struct sn_selftest_stats st = {0};
	bool cached = true;

	(void)state;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(sn_selftest_kat_cached(NULL, 600, 1, NULL,
							NULL, &st, &cached),
				 0);
		assert_false(cached);
		assert_true(st.total > 0 && st.failed == 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_record_then_use, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_other_key, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_mode, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hardlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_off, setup, teardown),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_selftest_cache: needs root (BPF)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
