// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "detect/detector.h"
#include "output/metrics_http.h"
#include "cli/opts.h"
#include "cli/run_opts.h"
#include "output/profile_dir.h"
#include "output/snapsock.h"

#define MAX_INTERVAL_S 3600.0
#define MAX_DURATION_S (365.0 * 86400)
#define MAX_WINDOW_S (7.0 * 86400)
#define MAX_GROWTH_BYTES_PER_S (1ULL << 40)

enum {
	OPT_INTERVAL = 256,
	OPT_STACK_BYTES,
	OPT_PROFILE_DIR,
	OPT_PROFILE_KEEP,
	OPT_DURATION,
	OPT_SNAPSHOTS,
	OPT_WINDOW,
	OPT_MIN_GROWTH,
	OPT_NO_DETECT,
	OPT_RINGBUF_SIZE,
	OPT_STATS_INTERVAL,
	OPT_PODS_DIR,
	OPT_SOCKET,
	OPT_NO_SOCKET,
	OPT_METRICS,
	OPT_METRICS_MAX_CGROUPS,
	OPT_HEALTH,
	OPT_MALLOC,
	OPT_TRACE_MM,
	OPT_MALLOC_SAMPLE_BYTES,
	OPT_ESCALATE_FOR,
	OPT_NO_ESCALATE,
	OPT_WRAPPERS,
};

static const struct option long_options[] = {
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "snapshots", no_argument, NULL, OPT_SNAPSHOTS },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "min-growth", required_argument, NULL, OPT_MIN_GROWTH },
	{ "no-detect", no_argument, NULL, OPT_NO_DETECT },
	{ "ringbuf-size", required_argument, NULL, OPT_RINGBUF_SIZE },
	{ "stats-interval", required_argument, NULL, OPT_STATS_INTERVAL },
	{ "pods-dir", required_argument, NULL, OPT_PODS_DIR },
	{ "malloc", no_argument, NULL, OPT_MALLOC },
	{ "trace-mm", no_argument, NULL, OPT_TRACE_MM },
	{ "malloc-sample-bytes", required_argument, NULL, OPT_MALLOC_SAMPLE_BYTES },
	{ "stack-bytes", required_argument, NULL, OPT_STACK_BYTES },
	{ "profile-dir", required_argument, NULL, OPT_PROFILE_DIR },
	{ "profile-keep", required_argument, NULL, OPT_PROFILE_KEEP },
	{ "escalate-for", required_argument, NULL, OPT_ESCALATE_FOR },
	{ "no-escalate", no_argument, NULL, OPT_NO_ESCALATE },
	{ "wrappers", required_argument, NULL, OPT_WRAPPERS },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "no-socket", no_argument, NULL, OPT_NO_SOCKET },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "metrics-max-cgroups", required_argument, NULL, OPT_METRICS_MAX_CGROUPS },
	{ "health", required_argument, NULL, OPT_HEALTH },
	OPTS_COMMON_LONG_OPTIONS,
};

void run_opts__usage(FILE *out)
{
	fputs("usage: memobs run [options]\n"
	      "Samples every cgroup's memory once per interval and reports JSON lines on stdout:\n"
	      "leak alerts, OOM kills, stats, and with --snapshots a sample per cgroup.\n"
	      "\n"
	      "  --interval S         sampling period in seconds (default 1; 0.5, 30s, 5m accepted)\n"
	      "  --duration S         exit 0 after S seconds (default: until SIGINT/SIGTERM)\n"
	      "  --snapshots          print a 'sample' line per cgroup per interval\n"
	      "  --window S           leak detector window (default 300)\n"
	      "  --min-growth BYTES   smallest growth per second called a leak (default 32K)\n"
	      "  --no-detect          do not run the leak detector\n"
	      "  --escalate-for S     trace a suspect's allocations this long, then report its\n"
	      "                       call sites in a second leak line (default 60)\n"
	      "  --no-escalate        do not trace suspects' allocations\n"
	      "  --wrappers LIST      function globs, comma-separated, that a site's caller is\n"
	      "                       not (its wrappers of malloc), besides the defaults; a\n"
	      "                       leading '=' replaces them: --wrappers =mymalloc,my_*\n"
	      "  --malloc             trace every process's allocations (sampled), always\n"
	      "  --malloc-sample-bytes N  mean bytes between sampled allocations (default 512K;\n"
	      "                       1: every allocation)\n"
	      "  --stack-bytes N      stack copied per sampled call for the CFI unwinder\n"
	      "                       (default 16K, the most); 0: frame pointers only\n"
	      "  --profile-dir DIR    write a pprof profile per escalation (and per alert with\n"
	      "                       --malloc) in DIR; leak and oom_kill lines name it\n"
	      "  --profile-keep N     profiles kept in DIR, the oldest removed (default 20)\n"
	      "  --trace-mm           count mmap/munmap/mremap/brk and page faults by call site,\n"
	      "                       host-wide\n"
	      "  --ringbuf-size BYTES ring buffer for OOM-kill records (power of 2, default 256K)\n"
	      "  --stats-interval S   how often to print a 'stats' line (default 60)\n"
	      "  --pods-dir DIR       the kubelet's pod logs, for pod and container names\n"
	      "                       (default /var/log/pods)\n"
	      "  --socket PATH        serve snapshots to 'memobs top' here, mode 0600\n"
	      "                       (default " SNAPSOCK_DEFAULT_PATH ")\n"
	      "  --no-socket          serve no snapshots\n"
	      "  --metrics ADDR:PORT  serve Prometheus /metrics and /healthz (e.g. 127.0.0.1:9464)\n"
	      "  --metrics-max-cgroups N  cgroups exported at most (default 5000)\n"
	      "  --health ADDR:PORT   serve /healthz alone here, for liveness probes that\n"
	      "                       /metrics clients cannot starve (e.g. 0.0.0.0:9465)\n"
	      "  -v, --verbose        debug diagnostics on stderr, libbpf's included\n"
	      "  -h, --help           this text\n",
	      out);
}

static bool is_power_of_2(__u64 v)
{
	return v && !(v & (v - 1));
}

/* The detector knows what it can work with (a window of enough samples). */
static enum opts_result check_detector_opts(const struct run_opts *o, char *err, size_t err_size)
{
	struct detector_opts dopts;

	detector_opts__default(&dopts);
	dopts.window_s = o->window_s;
	dopts.interval_s = o->interval_s;
	dopts.min_growth_bytes_per_s = o->min_growth_bytes_per_s;
	return detector_opts__check(&dopts, err, err_size) ? OPTS_USAGE_ERROR : OPTS_OK;
}

enum opts_result run_opts__parse(int argc, char **argv, struct run_opts *o, char *err,
				 size_t err_size)
{
	bool no_socket = false;
	__u64 bytes;
	enum opts_result r;
	int c;

	memset(o, 0, sizeof(*o));
	o->interval_s = 1;
	o->window_s = 300;
	o->min_growth_bytes_per_s = 32 * 1024;
	o->stats_every_s = 60;
	o->socket_path = SNAPSOCK_DEFAULT_PATH;
	o->escalate_for_s = 60;

	optind = 0; /* glibc: a full re-initialisation, so that parsing can be repeated */
	opterr = 0; /* our own messages */
	while ((c = getopt_long(argc, argv, ":vh", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_INTERVAL:
			if (parse_seconds(optarg, OPTS_MIN_SECONDS, MAX_INTERVAL_S, &o->interval_s))
				return opts__bad_value(
					err, err_size, "interval", optarg,
					"seconds from 0.01 to 3600 (e.g. 1, 0.5, 30s)");
			break;
		case OPT_DURATION:
			if (parse_seconds(optarg, OPTS_MIN_SECONDS, MAX_DURATION_S, &o->duration_s))
				return opts__bad_value(
					err, err_size, "duration", optarg,
					"seconds from 0.01 to 365 days (e.g. 60, 5m)");
			break;
		case OPT_WINDOW:
			if (parse_seconds(optarg, OPTS_MIN_SECONDS, MAX_WINDOW_S, &o->window_s))
				return opts__bad_value(
					err, err_size, "window", optarg,
					"seconds from 0.01 to 7 days (e.g. 300, 5m)");
			break;
		case OPT_MIN_GROWTH:
			if (parse_bytes(optarg, &bytes) || !bytes || bytes > MAX_GROWTH_BYTES_PER_S)
				return opts__bad_value(
					err, err_size, "min-growth", optarg,
					"bytes per second from 1 to 1T (e.g. 32K, 1M)");
			o->min_growth_bytes_per_s = (double)bytes;
			break;
		case OPT_RINGBUF_SIZE:
			if (parse_bytes(optarg, &bytes) || !is_power_of_2(bytes) || bytes < 4096 ||
			    bytes > (1ULL << 30))
				return opts__bad_value(err, err_size, "ringbuf-size", optarg,
						       "a power of 2 from 4K to 1G");
			o->ringbuf_bytes = (__u32)bytes;
			break;
		case OPT_STATS_INTERVAL:
			if (parse_seconds(optarg, OPTS_MIN_SECONDS, MAX_DURATION_S,
					  &o->stats_every_s))
				return opts__bad_value(err, err_size, "stats-interval", optarg,
						       "seconds from 0.01 to 365 days");
			break;
		case OPT_PODS_DIR:
			o->pods_dir = optarg;
			break;
		case OPT_SOCKET:
			if (!optarg[0])
				return opts__bad_value(err, err_size, "socket", optarg, "a path");
			o->socket_path = optarg;
			break;
		case OPT_NO_SOCKET:
			o->socket_path = NULL;
			no_socket = true;
			break;
		case OPT_METRICS: {
			struct sockaddr_storage ss;
			socklen_t len;

			if (metrics_addr__parse(optarg, &ss, &len))
				return opts__bad_value(err, err_size, "metrics", optarg,
						       "ADDR:PORT or [V6ADDR]:PORT, numeric");
			o->metrics_addr = optarg;
			break;
		}
		case OPT_HEALTH: {
			struct sockaddr_storage ss;
			socklen_t len;

			if (metrics_addr__parse(optarg, &ss, &len))
				return opts__bad_value(err, err_size, "health", optarg,
						       "ADDR:PORT or [V6ADDR]:PORT, numeric");
			o->health_addr = optarg;
			break;
		}
		case OPT_METRICS_MAX_CGROUPS:
			if (parse_u64(optarg, 1, 1000000, &bytes))
				return opts__bad_value(err, err_size, "metrics-max-cgroups", optarg,
						       "a whole number from 1 to 1000000");
			o->metrics_max_cgroups = (unsigned int)bytes;
			break;
		case OPT_MALLOC:
			o->malloc_all = true;
			break;
		case OPT_TRACE_MM:
			o->trace_mm_all = true;
			break;
		case OPT_NO_ESCALATE:
			o->no_escalate = true;
			break;
		case OPT_WRAPPERS:
			if ((r = opts__wrappers(optarg, &o->wrappers, err, err_size)))
				return r;
			break;
		case OPT_ESCALATE_FOR:
			if (parse_seconds(optarg, OPTS_MIN_SECONDS, MAX_DURATION_S,
					  &o->escalate_for_s))
				return opts__bad_value(
					err, err_size, "escalate-for", optarg,
					"seconds from 0.01 to 365 days (e.g. 60, 2m)");
			break;
		case OPT_MALLOC_SAMPLE_BYTES:
			if ((r = opts__sample_bytes(optarg, &o->malloc_sample_bytes, err,
						    err_size)))
				return r;
			break;
		case OPT_STACK_BYTES:
			if ((r = opts__stack_bytes(optarg, &o->stack_bytes, err, err_size)))
				return r;
			break;
		case OPT_PROFILE_DIR:
			if (!*optarg)
				return opts__bad_value(err, err_size, "profile-dir", optarg,
						       "a directory");
			o->profile_dir = optarg;
			break;
		case OPT_PROFILE_KEEP:
			if (parse_u64(optarg, 1, PROFILE_DIR_MAX_KEEP, &bytes))
				return opts__bad_value(err, err_size, "profile-keep", optarg,
						       "a count from 1 to 10000");
			o->profile_keep = (unsigned int)bytes;
			break;
		case OPT_SNAPSHOTS:
			o->snapshots = true;
			break;
		case OPT_NO_DETECT:
			o->no_detect = true;
			break;
		default:
			if ((r = opts__common(c, argc, argv, &o->verbosity, err, err_size)))
				return r;
		}
	}
	if ((r = opts__no_operands(argc, argv, err, err_size)))
		return r;
	if (no_socket)
		o->socket_path = NULL;
	return check_detector_opts(o, err, err_size);
}
