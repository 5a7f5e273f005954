// SPDX-License-Identifier: Apache-2.0
/*
 * bench/bpf_verify: what the kernel's verifier costs per BPF program, the
 * numbers `veristat` prints (not packaged in Debian): for every program of
 * every object given, load it alone with BPF_LOG_STATS and print one JSON
 * line with the verifier's own account (verification time, processed
 * instructions, states) and the program's verified_insns and size from
 * bpf_prog_info.  Loading the object whole (-w) instead times what a
 * sealnetd start pays: open, create maps, load every program.
 *
 *   bench/bpf_verify [-n ROUNDS] [-w] OBJECT.bpf.o...
 *
 * Root (BPF).  Loads nothing that stays: every object is closed again.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define LOG_SIZE      (1u << 20)
#define LOG_SIZE_FULL (1u << 29)

/* -l DIR: each program's whole verifier log (level 2) to DIR/PROG.log */
static const char *log_dir;

static int quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	(void)l;
	(void)f;
	(void)ap;
	return 0;
}

/* this process's CPU time (user + system), ms: the verifier runs in the
 * loading thread, so on a loaded machine this is the cost, the wall not */
static double cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* the value after key in the verifier's stats log, or -1 */
static long stat_of(const char *log, const char *key)
{
	const char *p = strstr(log, key);

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* Load only program `which` of path, with the stats log. */
static int one(const char *path, const char *which, char *log)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *p, *me = NULL;
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	double t0, t1, c0, c1;
	int err;

	if (!obj)
		return -errno;
	bpf_object__for_each_program(p, obj)
	{
		bool mine = !strcmp(bpf_program__name(p), which);

		bpf_program__set_autoload(p, mine);
		if (mine)
			me = p;
	}
	if (!me) {
		bpf_object__close(obj);
		return -ENOENT;
	}
	log[0] = 0;
	bpf_program__set_log_buf(me, log, log_dir ? LOG_SIZE_FULL : LOG_SIZE);
	/* BPF_LOG_STATS, with -l every instruction walked too */
	bpf_program__set_log_level(me, log_dir ? 4 | 2 : 4);
	t0 = now_ms();
	c0 = cpu_ms();
	err = bpf_object__load(obj);
	c1 = cpu_ms();
	t1 = now_ms();
	if (err) {
		fprintf(stderr, "bpf_verify: loading %s of %s failed: %s\n%s\n",
			which, path, strerror(-err), log);
		bpf_object__close(obj);
		return err;
	}
	if (log_dir) {
		char fn[512];
		FILE *f;

		snprintf(fn, sizeof(fn), "%s/%s.log", log_dir, which);
		f = fopen(fn, "w");
		if (f) {
			fputs(log, f);
			fclose(f);
		}
	}
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(me), &info, &len)) {
		err = -errno;
		bpf_object__close(obj);
		return err;
	}
	printf("{\"object\": \"%s\", \"prog\": \"%s\", \"load_ms\": %.2f, "
	       "\"load_cpu_ms\": %.2f, "
	       "\"verification_us\": %ld, \"processed_insns\": %ld, "
	       "\"total_states\": %ld, \"peak_states\": %ld, "
	       "\"verified_insns\": %u, \"xlated_bytes\": %u, "
	       "\"jited_bytes\": %u}\n",
	       path, which, t1 - t0, c1 - c0,
	       stat_of(log, "verification time "), stat_of(log, "processed "),
	       stat_of(log, "total_states "), stat_of(log, "peak_states "),
	       info.verified_insns, info.xlated_prog_len, info.jited_prog_len);
	bpf_object__close(obj);
	return 0;
}

static int whole(const char *path)
{
	double t0 = now_ms(), c0 = cpu_ms(), t1, c1;
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	int err;

	if (!obj)
		return -errno;
	err = bpf_object__load(obj);
	c1 = cpu_ms();
	t1 = now_ms();
	bpf_object__close(obj);
	if (!err)
		printf("{\"object\": \"%s\", \"whole_load_ms\": %.2f, "
		       "\"whole_load_cpu_ms\": %.2f}\n",
		       path, t1 - t0, c1 - c0);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"rounds", required_argument, NULL, 'n'},
		{"whole", no_argument, NULL, 'w'},
		{"log-dir", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	unsigned int rounds = 1;
	int c, err = 0;
	bool w = false;
	char *log;

	while ((c = getopt_long(argc, argv, "n:wl:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			rounds = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'w':
			w = true;
			break;
		case 'l':
			log_dir = optarg;
			break;
		case 'h':
			printf("usage: bpf_verify [-n ROUNDS] [-w] "
			       "OBJECT.bpf.o...\n"
			       "  per program: the verifier's time, processed "
			       "instructions and states (BPF_LOG_STATS), one "
			       "JSON "
			       "line each\n"
			       "  -w, --whole   time loading each object whole "
			       "instead\n"
			       "  -n, --rounds  repeat N times\n"
			       "  -l, --log-dir DIR  each program's whole "
			       "verifier "
			       "log (level 2) to DIR/PROG.log\n");
			return 0;
		default:
			fprintf(stderr, "bpf_verify: see --help\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "bpf_verify: name at least one BPF object "
				"(build/*/bpf/*.bpf.o); see --help\n");
		return 2;
	}
	libbpf_set_print(quiet);
	log = malloc(log_dir ? LOG_SIZE_FULL : LOG_SIZE);
	if (!log)
		return 1;
	for (unsigned int r = 0; r < rounds && !err; r++) {
		for (int i = optind; i < argc && !err; i++) {
			struct bpf_object *obj;
			struct bpf_program *p;
			char names[16][64];
			int n = 0;

			if (w) {
				err = whole(argv[i]);
				continue;
			}
			obj = bpf_object__open_file(argv[i], NULL);
			if (!obj) {
				err = -errno;
				fprintf(stderr,
					"bpf_verify: cannot open %s: %s\n",
					argv[i], strerror(-err));
				break;
			}
			bpf_object__for_each_program(p, obj)
			{
				if (n < 16)
					snprintf(names[n++], sizeof(names[0]),
						 "%s", bpf_program__name(p));
			}
			bpf_object__close(obj);
			for (int k = 0; k < n && !err; k++)
				err = one(argv[i], names[k], log);
		}
	}
	free(log);
	if (err)
		fprintf(stderr, "bpf_verify: failed: %s\n", strerror(-err));
	return err ? 1 : 0;
}
