// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include "identity/container.h"
#include "util/json.h"
#include "output/metrics.h"
#include "util/procfs.h"

int metrics_self__read_process(struct metrics_self *self)
{
	struct rusage ru;
	unsigned long long size_pages, rss_pages;
	char *statm = NULL;
	int err;

	if (getrusage(RUSAGE_SELF, &ru))
		return -errno;
	self->cpu_seconds = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
			    ru.ru_stime.tv_usec / 1e6;
	err = read_small_file("/proc/self/statm", &statm);
	if (err)
		return err;
	if (sscanf(statm, "%llu %llu", &size_pages, &rss_pages) == 2)
		self->rss_bytes = rss_pages * (__u64)sysconf(_SC_PAGESIZE);
	else
		err = -EINVAL;
	free(statm);
	return err;
}

/*
 * A label value: the format escapes backslash, quote and newline; the value
 * must be UTF-8, so each invalid byte becomes U+FFFD; other control characters
 * become '?' so that no log pipeline or terminal interprets them.
 */
static void put_label_value(FILE *f, const char *value)
{
	const unsigned char *s = (const unsigned char *)(value ?: "");
	size_t n = strlen((const char *)s), len;

	while (n) {
		if (*s == '\\' || *s == '"') {
			fputc('\\', f);
			fputc(*s, f);
		} else if (*s == '\n') {
			fputs("\\n", f);
		} else if (*s < 0x20 || *s == 0x7f) {
			fputc('?', f);
		} else if ((len = json_utf8_seq_len(s, n)) == 0) {
			fputs("\xef\xbf\xbd", f);
		} else {
			fwrite(s, 1, len, f);
			s += len;
			n -= len;
			continue;
		}
		s++;
		n--;
	}
}

struct family {
	const char *name;
	const char *type; /* "gauge" or "counter" */
	const char *help;
};

static void put_header(FILE *f, const struct family *fam)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name, fam->type);
}

/* The shortest decimal that reads back as v: 0.1 rather than 0.10000000000000001. */
static const char *shortest_double(char *buf, size_t size, double v)
{
	int precision;

	for (precision = 15; precision < 17; precision++) {
		snprintf(buf, size, "%.*g", precision, v);
		if (strtod(buf, NULL) == v)
			return buf;
	}
	snprintf(buf, size, "%.17g", v);
	return buf;
}

static void put_double(FILE *f, double v)
{
	char buf[32];

	if (isnan(v))
		fputs("NaN", f);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", f);
	else
		fputs(shortest_double(buf, sizeof(buf), v), f);
}

static void put_labels(FILE *f, const struct cgroup_stat *cg)
{
	const struct container_id *c = cg->container;

	fputs("{cgroup=\"", f);
	/*
	 * A cgroup removed before it was named has no path: its id (decimal, so
	 * no path's "/..."), else every such cgroup would make the same series.
	 */
	if (cg->path)
		put_label_value(f, cg->path);
	else
		fprintf(f, "%llu", (unsigned long long)cg->id);
	fputs("\",container=\"", f);
	put_label_value(f, c ? c->name : NULL);
	fputs("\",pod=\"", f);
	put_label_value(f, c ? c->pod : NULL);
	fputs("\",namespace=\"", f);
	put_label_value(f, c ? c->namespace : NULL);
	fputs("\"}", f);
}

enum cgroup_metric {
	CG_ANON_RSS,
	CG_FILE_RSS,
	CG_SHMEM_RSS,
	CG_SWAP,
	CG_HEAP,
	CG_MMAP,
	CG_MALLOC_OUTSTANDING,
	CG_FAULTS,
	CG_GROWTH,
	CG_LEAK,
	CG_TIME_TO_LIMIT,
	CG_LIMIT,
	CG_OOM_KILLS,
	CG_NR,
};

/* The names are the sample line's (docs/output.md), with Prometheus's unit suffixes. */
static const struct family cgroup_families[CG_NR] = {
	[CG_ANON_RSS] = { "memobs_cgroup_anon_rss_bytes", "gauge",
			  "Anonymous resident memory of the cgroup's processes." },
	[CG_FILE_RSS] = { "memobs_cgroup_file_rss_bytes", "gauge",
			  "File-backed resident memory mapped by the cgroup's processes." },
	[CG_SHMEM_RSS] = { "memobs_cgroup_shmem_rss_bytes", "gauge",
			   "Shared memory (shmem, tmpfs) resident in the cgroup's processes." },
	[CG_SWAP] = { "memobs_cgroup_swap_bytes", "gauge",
		      "Memory of the cgroup's processes swapped out." },
	[CG_HEAP] = { "memobs_cgroup_heap_vm_bytes", "gauge",
		      "Heap (brk) size summed over the cgroup's processes: virtual, not resident." },
	[CG_MMAP] = { "memobs_cgroup_mmap_vm_bytes", "gauge",
		      "Private writable mappings other than the heap, summed over the cgroup's "
		      "processes: virtual, not resident." },
	[CG_MALLOC_OUTSTANDING] = { "memobs_cgroup_malloc_outstanding_bytes", "gauge",
				    "Bytes the malloc family handed out and nobody freed, estimated "
				    "from sampled allocations; only while they are traced." },
	[CG_FAULTS] = { "memobs_cgroup_page_faults_total", "counter",
			"Page faults of the cgroup's processes since memobs started." },
	[CG_GROWTH] = { "memobs_cgroup_anon_rss_growth_bytes_per_second", "gauge",
			"Trend of anonymous RSS over the detector window." },
	[CG_LEAK] = { "memobs_cgroup_leak_suspected", "gauge",
		      "1 while the detector suspects a leak in the cgroup, else 0." },
	[CG_TIME_TO_LIMIT] = { "memobs_cgroup_time_to_limit_seconds", "gauge",
			       "Projected time until the memory limit at the current growth; "
			       "absent when unknown." },
	[CG_LIMIT] = { "memobs_cgroup_memory_limit_bytes", "gauge",
		       "Smallest effective memory limit of the cgroup; absent when unlimited." },
	[CG_OOM_KILLS] = { "memobs_cgroup_oom_kills_total", "counter",
			   "OOM kills of the cgroup's processes since memobs started." },
};

/*
 * One value: byte counts and counters print as integers, exactly (a double
 * would round them above 2^53); estimates and rates as the shortest double.
 */
struct value {
	bool is_u64;
	__u64 u64;
	double d;
};

static bool u64_value(struct value *v, __u64 x)
{
	*v = (struct value){ .is_u64 = true, .u64 = x };
	return true;
}

static bool double_value(struct value *v, double x, bool known)
{
	*v = (struct value){ .d = x };
	return known;
}

/* The value of one metric of one cgroup; false when it has none (unknown: no series). */
static bool cgroup_value(const struct cgroup_stat *cg, enum cgroup_metric m, struct value *v)
{
	switch (m) {
	case CG_ANON_RSS:
		return u64_value(v, cg->mem.anon_rss_bytes);
	case CG_FILE_RSS:
		return u64_value(v, cg->mem.file_rss_bytes);
	case CG_SHMEM_RSS:
		return u64_value(v, cg->mem.shmem_rss_bytes);
	case CG_SWAP:
		return u64_value(v, cg->mem.swap_bytes);
	case CG_HEAP:
		return u64_value(v, cg->mem.heap_bytes);
	case CG_MMAP:
		return u64_value(v, cg->mem.mmap_bytes);
	case CG_MALLOC_OUTSTANDING:
		/* untraced, 0 would read as "nothing outstanding": no series instead */
		return u64_value(v, cg->malloc_outstanding_bytes) && cg->malloc_traced;
	case CG_FAULTS:
		return u64_value(v, cg->page_faults_total);
	case CG_GROWTH:
		return double_value(v, cg->growth_bytes_per_s, isfinite(cg->growth_bytes_per_s));
	case CG_LEAK:
		return u64_value(v, cg->leak_state == LEAK_SUSPECTED);
	case CG_TIME_TO_LIMIT:
		/* the detector's projection, set only while a leak is suspected and a limit known */
		return double_value(v, cg->time_to_limit_s,
				    isfinite(cg->time_to_limit_s) && cg->time_to_limit_s >= 0);
	case CG_LIMIT:
		return u64_value(v, cg->limit_bytes) && cg->limit_bytes != 0;
	case CG_OOM_KILLS:
		return u64_value(v, cg->oom_kills_total);
	default:
		return false;
	}
}

static void put_value(FILE *f, const struct value *v)
{
	if (v->is_u64)
		fprintf(f, "%llu", (unsigned long long)v->u64);
	else
		put_double(f, v->d);
}

static const struct snapshot *sort_snap;

/* Most anonymous RSS first; ties by id, so the choice is stable. */
static int by_anon_rss_desc(const void *a, const void *b)
{
	const struct cgroup_stat *x = &sort_snap->cgroups[*(const size_t *)a];
	const struct cgroup_stat *y = &sort_snap->cgroups[*(const size_t *)b];

	if (x->mem.anon_rss_bytes != y->mem.anon_rss_bytes)
		return x->mem.anon_rss_bytes > y->mem.anon_rss_bytes ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Which cgroups to export: all, or the max_cgroups largest. NULL: all. */
static int choose_cgroups(const struct snapshot *snap, size_t max, bool **chosen)
{
	size_t *order, i;

	*chosen = NULL;
	if (snap->nr_cgroups <= max)
		return 0;
	order = malloc(snap->nr_cgroups * sizeof(*order));
	*chosen = calloc(snap->nr_cgroups, sizeof(**chosen));
	if (!order || !*chosen) {
		free(order);
		free(*chosen);
		*chosen = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < snap->nr_cgroups; i++)
		order[i] = i;
	/* the comparator finds the snapshot here: renders run on one thread, one at a time */
	sort_snap = snap;
	qsort(order, snap->nr_cgroups, sizeof(*order), by_anon_rss_desc);
	for (i = 0; i < max; i++)
		(*chosen)[order[i]] = true;
	free(order);
	return 0;
}

static void put_cgroups(FILE *f, const struct snapshot *snap, const bool *chosen)
{
	enum cgroup_metric m;
	struct value v;
	bool header;
	size_t i;

	for (m = 0; m < CG_NR; m++) {
		header = false;
		for (i = 0; i < snap->nr_cgroups; i++) {
			const struct cgroup_stat *cg = &snap->cgroups[i];

			if ((chosen && !chosen[i]) || !cgroup_value(cg, m, &v))
				continue;
			if (!header)
				put_header(f, &cgroup_families[m]);
			header = true;
			fputs(cgroup_families[m].name, f);
			put_labels(f, cg);
			fputc(' ', f);
			put_value(f, &v);
			fputc('\n', f);
		}
	}
}

static void put_scalar(FILE *f, const char *name, const char *type, const char *help, double v)
{
	const struct family fam = { name, type, help };

	put_header(f, &fam);
	fputs(name, f);
	fputc(' ', f);
	put_double(f, v);
	fputc('\n', f);
}

static void put_self(FILE *f, const struct snapshot *snap, const struct metrics_self *self,
		     size_t exported, size_t not_exported)
{
	fputs("# HELP memobs_build_info The running memobs version.\n"
	      "# TYPE memobs_build_info gauge\n"
	      "memobs_build_info{version=\"" MEMOBS_VERSION "\"} 1\n",
	      f);
	put_scalar(f, "memobs_events_total", "counter", "Records the BPF programs submitted.",
		   self->events);
	put_scalar(f, "memobs_ringbuf_drops_total", "counter",
		   "Records lost because the ring buffer was full.", self->ringbuf_drops);
	put_scalar(f, "memobs_map_full_total", "counter",
		   "BPF map updates that failed for lack of room.", self->map_full);
	put_scalar(f, "memobs_attach_failures_total", "counter", "Probes that failed to attach.",
		   self->attach_failures);
	put_scalar(f, "memobs_cgroups_exported", "gauge", "Cgroups with series in this exposition.",
		   exported);
	put_scalar(f, "memobs_cgroups_not_exported", "gauge",
		   "Cgroups of the latest pass left out by the cardinality cap.", not_exported);
	if (snap)
		put_scalar(f, "memobs_last_pass_timestamp_seconds", "gauge",
			   "Wall clock of the sampler pass these figures come from.",
			   snap->ts_ms / 1000.0);
	/* the names every Prometheus client library uses for its own process */
	put_scalar(f, "process_cpu_seconds_total", "counter",
		   "User and system CPU time spent by memobs.", self->cpu_seconds);
	put_scalar(f, "process_resident_memory_bytes", "gauge", "Resident memory of memobs.",
		   self->rss_bytes);
	if (self->start_time_s)
		put_scalar(f, "process_start_time_seconds", "gauge",
			   "Start time of memobs since the epoch.", self->start_time_s);
}

int metrics__render(const struct snapshot *snap, const struct metrics_self *self,
		    unsigned int max_cgroups, char **text, size_t *len)
{
	size_t max = max_cgroups ?: METRICS_DEFAULT_MAX_CGROUPS, exported = 0;
	bool *chosen = NULL;
	FILE *f;
	int err;

	*text = NULL;
	*len = 0;
	if (snap) {
		err = choose_cgroups(snap, max, &chosen);
		if (err)
			return err;
		exported = snap->nr_cgroups < max ? snap->nr_cgroups : max;
	}
	f = open_memstream(text, len);
	if (!f) {
		free(chosen);
		return -ENOMEM;
	}
	if (snap)
		put_cgroups(f, snap, chosen);
	put_self(f, snap, self, exported, snap ? snap->nr_cgroups - exported : 0);
	err = ferror(f) ? -ENOMEM : 0;
	if (fclose(f))
		err = -ENOMEM;
	free(chosen);
	if (err) {
		free(*text);
		*text = NULL;
		*len = 0;
	}
	return err;
}
