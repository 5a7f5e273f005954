// SPDX-License-Identifier: Apache-2.0
/*
 * pipeline_stage: one stage of bench/compare's 4-stage pipeline.  Not a
 * test: figures only.
 *
 * A stage takes its input in chunks of 1 MiB (the first stage generates
 * it; every other stage reads it from one TCP connection it accepts),
 * does a fixed amount of work on each chunk, and forwards the chunk over
 * one TCP connection to the next stage (the last stage drops it).  The
 * work is K thousand iterations per MiB of a dependent multiply-xor chain
 * over the chunk's 64-bit words (about 1-2 ns an iteration: a fixed
 * amount of CPU, independent of the transport underneath).  Its digest
 * is printed, so the compiler cannot remove it.
 *
 *   source:  pipeline_stage --bytes N --to ADDR:PORT [--work K]
 *   middle:  pipeline_stage --listen PORT --to ADDR:PORT [--work K]
 *   sink:    pipeline_stage --listen PORT [--work K]
 *   calibrate: pipeline_stage --calibrate
 *
 * Connecting retries for up to 10 s (the next stage may still be
 * starting).  On success the source prints one JSON object with its start
 * time ("start_ns", CLOCK_MONOTONIC, taken before it connects), the sink
 * one with its end time ("end_ns", after the last byte); the pipeline's
 * time is end_ns - start_ns (one clock for every network namespace).
 * --calibrate prints the ns one thousand iterations take on this CPU.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1u << 20)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ITERS iterations of the chain over the LEN bytes at BUF */
static uint64_t work(const unsigned char *buf, size_t len, uint64_t iters,
		     uint64_t acc)
{
	size_t nw = len / 8, j = 0;
	uint64_t w;

	if (nw == 0)
		return acc;
	for (uint64_t i = 0; i < iters; i++) {
		memcpy(&w, buf + 8 * j, 8);
		acc ^= w;
		acc *= 0x9e3779b97f4a7c15ull;
		acc ^= acc >> 29;
		if (++j == nw)
			j = 0;
	}
	return acc;
}

static int parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535)
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

static int connect_retry(const struct sockaddr_in *sa)
{
	for (int tries = 0; tries < 1000; tries++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -errno;
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
			return fd;
		int e = errno;

		close(fd);
		if (e != ECONNREFUSED && e != ENETUNREACH &&
		    e != EHOSTUNREACH && e != ETIMEDOUT)
			return -e;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

static int accept_one(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_ANY)};
	int one = 1, lfd, fd;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 1) < 0) {
		int e = errno;

		close(lfd);
		return -e;
	}
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	close(lfd);
	return fd;
}

/* read up to LEN bytes (fewer only at end of stream); bytes or -errno */
static ssize_t read_full(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int write_full(int fd, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pipeline_stage [--bytes N | --listen PORT] [--to "
		   "ADDR:PORT]\n"
		   "                      [--work K] | --calibrate\n"
		   "  --bytes N        first stage: generate N bytes\n"
		   "  --listen PORT    accept one TCP connection on PORT, read "
		   "it to EOF\n"
		   "  --to ADDR:PORT   forward every chunk there (IPv4); "
		   "absent: last stage\n"
		   "  --work K         K thousand iterations of work per MiB "
		   "(default 0)\n"
		   "  --calibrate      print the ns that 1000 iterations take, "
		   "then exit\n"
		   "Output: one JSON object (source: start_ns; sink: end_ns, "
		   "bytes).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"bytes", required_argument, NULL, 'b'},
		{"listen", required_argument, NULL, 'l'},
		{"to", required_argument, NULL, 't'},
		{"work", required_argument, NULL, 'w'},
		{"calibrate", no_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	unsigned long long bytes = 0, total = 0, kwork = 0;
	int port = 0, calibrate = 0, in = -1, out = -1, c, rc = 1;
	const char *to = NULL;
	struct sockaddr_in next;
	unsigned char *buf = NULL;
	uint64_t acc = 0, start;
	char *end;

	while ((c = getopt_long(argc, argv, "b:l:t:w:ch", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bytes = strtoull(optarg, &end, 10);
			if (*end || bytes == 0) {
				fprintf(stderr,
					"pipeline_stage: --bytes '%s': want a "
					"positive integer\n",
					optarg);
				return 2;
			}
			break;
		case 'l':
			port = (int)strtol(optarg, &end, 10);
			if (*end || port <= 0 || port > 65535) {
				fprintf(stderr,
					"pipeline_stage: --listen '%s': want a "
					"port 1-65535\n",
					optarg);
				return 2;
			}
			break;
		case 't':
			to = optarg;
			break;
		case 'w':
			kwork = strtoull(optarg, &end, 10);
			if (*end) {
				fprintf(stderr,
					"pipeline_stage: --work '%s': want an "
					"integer >= 0\n",
					optarg);
				return 2;
			}
			break;
		case 'c':
			calibrate = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (!calibrate && !!bytes == !!port) ||
	    (bytes && !to)) {
		fprintf(stderr, "pipeline_stage: give either --bytes N --to "
				"ADDR:PORT or --listen PORT (see --help)\n");
		return 2;
	}
	if (to && parse_addr(to, &next) < 0) {
		fprintf(stderr,
			"pipeline_stage: --to '%s': want IPv4ADDR:PORT\n", to);
		return 2;
	}
	buf = malloc(CHUNK);
	if (!buf) {
		fprintf(stderr, "pipeline_stage: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < CHUNK; i++)
		buf[i] = (unsigned char)(i * 131 + (i >> 8));

	if (calibrate) {
		uint64_t best = UINT64_MAX;

		for (int r = 0; r < 7; r++) {
			uint64_t t0 = now_ns();

			acc = work(buf, CHUNK, 10000000, acc);
			uint64_t t = now_ns() - t0;

			if (t < best)
				best = t;
		}
		printf("{\"ns_per_kiter\":%.1f,\"digest\":\"%016llx\"}\n",
		       (double)best / 10000.0, (unsigned long long)acc);
		free(buf);
		return 0;
	}

	start = now_ns();
	if (port) {
		in = accept_one(port);
		if (in < 0) {
			fprintf(stderr,
				"pipeline_stage: accepting on port %d: %s\n",
				port, strerror(-in));
			goto cleanup;
		}
	}
	if (to) {
		out = connect_retry(&next);
		if (out < 0) {
			fprintf(stderr,
				"pipeline_stage: connecting to %s: %s (is the "
				"next stage listening?)\n",
				to, strerror(-out));
			goto cleanup;
		}
	}
	for (;;) {
		size_t len;

		if (in >= 0) {
			ssize_t n = read_full(in, buf, CHUNK);

			if (n < 0) {
				fprintf(stderr,
					"pipeline_stage: reading from port %d: "
					"%s\n",
					port, strerror((int)-n));
				goto cleanup;
			}
			len = (size_t)n;
		} else {
			len = bytes - total < CHUNK ? (size_t)(bytes - total) :
						      CHUNK;
		}
		if (len == 0)
			break;
		acc = work(buf, len, kwork * 1000ull * len / CHUNK, acc);
		if (out >= 0) {
			int e = write_full(out, buf, len);

			if (e < 0) {
				fprintf(stderr,
					"pipeline_stage: writing to %s: %s\n",
					to, strerror(-e));
				goto cleanup;
			}
		}
		total += len;
	}
	if (out >= 0) {
		/* the last byte is on its way; EOF tells the next stage */
		shutdown(out, SHUT_WR);
		char b;

		while (read(out, &b, 1) > 0)
			;
	}
	if (bytes)
		printf("{\"role\":\"source\",\"start_ns\":%llu,\"bytes\":%llu,"
		       "\"digest\":\"%016llx\"}\n",
		       (unsigned long long)start, total,
		       (unsigned long long)acc);
	else if (!to)
		printf("{\"role\":\"sink\",\"end_ns\":%llu,\"bytes\":%llu,"
		       "\"digest\":\"%016llx\"}\n",
		       (unsigned long long)now_ns(), total,
		       (unsigned long long)acc);
	else
		printf("{\"role\":\"middle\",\"bytes\":%llu,\"digest\":\"%"
		       "016llx\"}\n",
		       total, (unsigned long long)acc);
	rc = 0;
cleanup:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	free(buf);
	return rc;
}
