// SPDX-License-Identifier: Apache-2.0
/*
 * The kernel AEAD self-test at most once per machine boot, BPF objects
 * and kernel (see sn_selftest_kat_cached in sealnet/selftest.h, and
 * docs/sealnetd.md "Kernel AEAD self-test" for why a recorded pass is as
 * good as a run).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sealnet/dataplane.h"
#include "sealnet/kaead.h"
#include "sealnet/log.h"
#include "sealnet/selftest.h"
#include "sealnet/util.h"

#define REC_MAGIC "sealnet-selftest-v1"
#define REC_MAX	  256

/* Append the first line of a /proc or /sys file (absent: "-"). */
static int digest_file(EVP_MD_CTX *md, const char *path)
{
	char buf[128] = "-";
	FILE *f = fopen(path, "re");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			snprintf(buf, sizeof(buf), "-");
		fclose(f);
	}
	return EVP_DigestUpdate(md, path, strlen(path) + 1) == 1 &&
			       EVP_DigestUpdate(md, buf, strlen(buf) + 1) == 1 ?
		       0 :
		       -EIO;
}

/* The record's key: what the outcome of the test depends on. */
static int cache_key(unsigned int rounds, char hex[97])
{
	uint8_t obj[48], dp[48], key[48];
	struct utsname u;
	EVP_MD_CTX *md;
	uint32_t r = rounds;
	int err = -EIO;

	if (sn_kaead_object_digest(obj) || sn_dp_object_digest(dp) || uname(&u))
		return -EIO;
	md = EVP_MD_CTX_new();
	if (!md)
		return -ENOMEM;
	if (EVP_DigestInit_ex(md, EVP_sha384(), NULL) != 1 ||
	    EVP_DigestUpdate(md, REC_MAGIC, sizeof(REC_MAGIC)) != 1 ||
	    EVP_DigestUpdate(md, &r, sizeof(r)) != 1 ||
	    EVP_DigestUpdate(md, obj, sizeof(obj)) != 1 ||
	    EVP_DigestUpdate(md, dp, sizeof(dp)) != 1 ||
	    EVP_DigestUpdate(md, u.release, strlen(u.release) + 1) != 1 ||
	    EVP_DigestUpdate(md, u.version, strlen(u.version) + 1) != 1 ||
	    EVP_DigestUpdate(md, u.machine, strlen(u.machine) + 1) != 1 ||
	    digest_file(md, "/proc/sys/kernel/random/boot_id") ||
	    digest_file(md, "/proc/sys/net/core/bpf_jit_enable") ||
	    digest_file(md, "/proc/sys/net/core/bpf_jit_harden") ||
	    EVP_DigestFinal_ex(md, key, NULL) != 1)
		goto out;
	sn_hex_encode(key, sizeof(key), hex);
	err = 0;
out:
	EVP_MD_CTX_free(md);
	return err;
}

static double boottime_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ours, and writable by nobody else */
static bool private_stat(const struct stat *st)
{
	return st->st_uid == geteuid() && !(st->st_mode & 022);
}

/* dir as a directory fd we may trust, creating it (0700) when missing;
 * -errno otherwise (-EPERM: it exists but others could write it). */
static int open_dir(const char *dir)
{
	struct stat st;
	int fd;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		char parent[512];
		char *slash;

		/* one missing parent (/run/sealnet) is created too */
		snprintf(parent, sizeof(parent), "%s", dir);
		slash = strrchr(parent, '/');
		if (errno != ENOENT || !slash || slash == parent)
			return -errno;
		*slash = 0;
		if (mkdir(parent, 0755) && errno != EEXIST)
			return -errno;
		if (mkdir(dir, 0700) && errno != EEXIST)
			return -errno;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISDIR(st.st_mode) || !private_stat(&st)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* 0 and the recorded counts when name in dfd is a valid record of key
 * younger than max_age_s; -ENOENT otherwise. */
static int read_record(int dfd, const char *name, const char *key,
		       unsigned int max_age_s, struct sn_selftest_stats *out)
{
	char buf[REC_MAX + 1], k[97];
	struct stat st;
	unsigned int total, passed;
	double t, now = boottime_s();
	ssize_t n;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !private_stat(&st) ||
	    (st.st_mode & 077) || st.st_nlink != 1) {
		close(fd);
		sn_warn("self-test record %s is not a private file of this "
			"user: ignored (remove it)",
			name);
		return -ENOENT;
	}
	n = read(fd, buf, REC_MAX);
	close(fd);
	if (n <= 0)
		return -ENOENT;
	buf[n] = 0;
	if (sscanf(buf, REC_MAGIC " %96s %lf %u %u", k, &t, &total, &passed) !=
		    4 ||
	    strlen(k) != 96 || strcmp(k, key) || passed != total || !total)
		return -ENOENT;
	if (t > now || now - t > (double)max_age_s)
		return -ENOENT; /* stale */
	memset(out, 0, sizeof(*out));
	out->total = total;
	out->passed = passed;
	return 0;
}

static void write_record(int dfd, const char *name, const char *key,
			 const struct sn_selftest_stats *st)
{
	char tmp[64], buf[REC_MAX];
	int fd, n;

	for (int i = 0; i < 16; i++) {
		snprintf(tmp, sizeof(tmp), ".%s.%ld.%d", name, (long)getpid(),
			 i);
		fd = openat(dfd, tmp,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				    O_CLOEXEC,
			    0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		sn_warn("self-test record: cannot create %s: %s", tmp,
			strerror(errno));
		return;
	}
	n = snprintf(buf, sizeof(buf), REC_MAGIC " %s %.3f %u %u\n", key,
		     boottime_s(), st->total, st->passed);
	if (fchmod(fd, 0600) || write(fd, buf, (size_t)n) != n || close(fd) ||
	    renameat(dfd, tmp, dfd, name)) {
		sn_warn("self-test record: cannot write %s: %s", name,
			strerror(errno));
		unlinkat(dfd, tmp, 0);
	}
}

/* The directory's lock, so that of many sealnetd starting at once one
 * runs the test and the others find its record; given up (false) after
 * about 5 s: then the test runs unlocked. */
static bool lock_dir(int dfd)
{
	for (int i = 0; i < 1000; i++) {
		if (!flock(dfd, LOCK_EX | LOCK_NB))
			return true;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return false;
		usleep(5000);
	}
	return false;
}

int sn_selftest_kat_cached(const char *dir, unsigned int max_age_s,
			   unsigned int rounds, sn_selftest_fail_fn fn,
			   void *arg, struct sn_selftest_stats *stats,
			   bool *cached)
{
	struct sn_selftest_stats st;
	char key[97], name[64];
	int dfd = -1, err;

	if (cached)
		*cached = false;
	if (dir && cache_key(rounds, key) == 0) {
		dfd = open_dir(dir);
		if (dfd == -EPERM)
			sn_warn("self-test record directory %s is not private "
				"to this user (owner, mode): not used; "
				"remove it or make it 0700",
				dir);
		else if (dfd < 0)
			sn_warn("self-test record directory %s: %s: not used",
				dir, strerror(-dfd));
	}
	if (dfd >= 0) {
		snprintf(name, sizeof(name), "kat-%.32s", key);
		if (!lock_dir(dfd))
			sn_warn("self-test record directory %s: still locked "
				"after 5 s; running the test without it",
				dir);
		if (!read_record(dfd, name, key, max_age_s, &st)) {
			close(dfd);
			sn_info("kernel AEAD self-test: a pass of these BPF "
				"objects on this kernel and boot is recorded "
				"in "
				"%s/%s (at most %u s old); not run again",
				dir, name, max_age_s);
			if (stats)
				*stats = st;
			if (cached)
				*cached = true;
			return 0;
		}
	}
	err = sn_selftest_kat(rounds, fn, arg, &st);
	if (!err && dfd >= 0 && st.failed == 0 && st.passed == st.total &&
	    st.total)
		write_record(dfd, name, key, &st);
	if (dfd >= 0)
		close(dfd);
	if (!err && stats)
		*stats = st;
	return err;
}
