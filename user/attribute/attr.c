// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The attribution tier's lifecycle: which BPF programs load (from the
 * features and mounts the caller probed), open and close, the poll loop
 * with its once-a-second tick, the ring-buffer dispatch, and the stats.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attribute/alloc_libs.h"
#include "attribute/attr_internal.h"
#include "attribute/symbolize.h"
#include "attribute/uprobe_compat.h"
#include "collect/features.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mountinfo.h"

#define TICK_MS 1000
#define EXEC_RESCANS 2 /* the loader maps libraries after the exec event: look twice */

/* ---- the ring buffer ---- */

/*
 * Records handled per attr__poll() at most: ~50 ms of work at ~1 us each, so
 * that a pass is never late by more than that however fast samples come.
 * A copied stack costs far more (an unwind, and for a new stack its
 * symbols: up to milliseconds for a process never seen), so the time is
 * bounded too: DRAIN_BUDGET_MS, checked every DRAIN_CLOCK_EVERY records.
 */
#define DRAIN_BUDGET 65536
#define DRAIN_BUDGET_MS 50
#define DRAIN_CLOCK_EVERY 16
#define DRAIN_BUDGET_SPENT (-EAGAIN) /* the callback's stop; not an error */

static int handle_record(void *ctx, void *data, size_t size)
{
	struct attr *a = ctx;
	__u32 type;

	if (size < sizeof(type))
		return 0;
	memcpy(&type, data, sizeof(type));
	if (type == MEMOBS_REC_ALLOC && size >= sizeof(struct memobs_alloc_rec)) {
		const struct memobs_alloc_rec *rec = data;
		struct alloc_sample sample = {
			.pid = rec->pid,
			.cgroup_id = rec->cgroup_id,
			.addr = rec->addr,
			.size = rec->size,
			.ts_ns = rec->ts_ns,
		};
		__u32 source = rec->source < MEMOBS_SRC_NR ? rec->source : MEMOBS_SRC_MALLOC;
		uint64_t start;
		__u64 index;

		/* the first touch of a sampled mapping's page: that mapping's site has it */
		if (source == MEMOBS_SRC_FAULT && attr_mapped_covers(a, rec->pid, rec->addr)) {
			a->faults_in_mapped++;
			return 0;
		}
		/* a fault's frame 0 is the faulting instruction, not a return address */
		if ((rec->stack_id & MEMOBS_USTACK_SAMPLE_BIT)
			    ? attr_site_of_sample(a, rec->stack_id, &index)
			    : attr_site_of_stack(a, rec->stack_id, rec->pid,
						 source == MEMOBS_SRC_FAULT, &index))
			return 0;
		/* the malloc samples of the same calls stand for it: an arena's growth */
		if (source != MEMOBS_SRC_MALLOC && source != MEMOBS_SRC_FAULT &&
		    attr_mm_inside_malloc(a, index)) {
			a->mm_inside_malloc++;
			source = ATTR_SOURCE_ARENA;
		}
		sample.site_id = attr_site_id(index, source);
		alloc_sites__add(a->samples, &sample);
		attr_mapped_add(a, rec->pid, rec->addr, rec->size, source);
		if (!u64map_get(&a->sample_pids, rec->pid, &start))
			u64map_put(&a->sample_pids, rec->pid, 0);
	} else if (type == MEMOBS_REC_USTACK) {
		attr_handle_ustack(a, data, size);
	} else if (type == MEMOBS_REC_PYSTACK) {
		attr_handle_pystack(a, data, size);
	} else if (type == MEMOBS_REC_FREE && size >= sizeof(struct memobs_free_rec)) {
		const struct memobs_free_rec *rec = data;

		alloc_sites__remove(a->samples, rec->pid, rec->addr);
		attr_mapped_remove(a, rec->pid, rec->addr);
	} else if (type == MEMOBS_REC_ATTR_EXEC && size >= sizeof(struct memobs_attr_exec_rec)) {
		const struct memobs_attr_exec_rec *rec = data;

		u64map_put(&a->pending_exec, rec->pid, EXEC_RESCANS);
	}
	/*
	 * A producer faster than this consumer would keep one drain going forever
	 * (libbpf's loop runs until the ring is empty) and starve the pass: stop
	 * after a budget. libbpf has consumed this record already; the rest waits
	 * for the next poll, and what overflows meanwhile is counted as drops.
	 */
	if (++a->drained_this_poll >= DRAIN_BUDGET ||
	    (!(a->drained_this_poll % DRAIN_CLOCK_EVERY) &&
	     clock_mono_ns() > a->drain_deadline_ns)) {
		a->drain_spent = true;
		return DRAIN_BUDGET_SPENT;
	}
	return 0;
}

static void drain_begin(struct attr *a)
{
	a->drained_this_poll = 0;
	a->drain_spent = false;
	a->drain_deadline_ns = clock_mono_ns() + DRAIN_BUDGET_MS * 1000000ULL;
}

/* The ring's return, with the budget's stop as the success it is. */
static int drain_result(struct attr *a, int n)
{
	if (n == DRAIN_BUDGET_SPENT)
		return (int)a->drained_this_poll;
	return n;
}

void attr_drain_some(struct attr *a)
{
	drain_begin(a);
	ring_buffer__consume(a->rb);
}

static void tick(struct attr *a)
{
	attr_scope_tick(a);
	if (a->opts.trace_mm)
		attr_resolve_mm_stacks(a);
	a->last_tick_ms = clock_mono_ms();
}

int attr__poll(struct attr *a, int timeout_ms)
{
	int drained = 0, n;

	drain_begin(a);
	if (clock_mono_ms() - a->last_tick_ms >= TICK_MS) {
		/* records below the wake-up mark wake nobody: the tick drains them,
		 * before it reaps the processes that exited */
		drained = drain_result(a, ring_buffer__consume(a->rb));
		if (drained < 0)
			return drained;
		tick(a);
	}
	if (a->drain_spent)
		return drained; /* the budget is spent: the pass comes first */
	n = drain_result(a, ring_buffer__poll(a->rb, timeout_ms));
	return n < 0 ? n : (int)a->drained_this_poll;
}

/* ---- open / close ---- */

/*
 * Classic tracepoints need tracefs to be attached (libbpf reads the event's
 * id there): mount it where the kernel expects it; release_tracefs()
 * unmounts it once they are attached, so memobs leaves no mount behind.
 */
static int ensure_tracefs(struct attr *a, const struct mounts *m)
{
	if (m->tracefs[0] || !access("/sys/kernel/tracing/events", F_OK))
		return 0;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
		if (errno == EBUSY)
			return 0;
		return -errno;
	}
	a->mounted_tracefs = true;
	p_info("mounted tracefs at /sys/kernel/tracing (syscall tracepoints need it)");
	return 0;
}

static void release_tracefs(struct attr *a)
{
	if (!a->mounted_tracefs)
		return;
	/* attached tracepoints hold their events; the mount is no longer needed */
	if (umount2("/sys/kernel/tracing", MNT_DETACH))
		p_warn("failed to unmount the tracefs memobs mounted at /sys/kernel/tracing: %s",
		       strerror(errno));
	else
		p_debug("unmounted tracefs at /sys/kernel/tracing (the tracepoints are attached)");
	a->mounted_tracefs = false;
}

static int choose_programs(struct attr *a, const struct features *f, const struct mounts *m)
{
	struct memobs_attr *skel = a->skel;
	struct bpf_program *prog;
	int err;

	a->session = a->opts.malloc && f->uprobe_session && !a->opts.no_session;
	bpf_program__set_autoload(skel->progs.memobs_alloc_session, a->session);
	bpf_program__set_autoload(skel->progs.memobs_alloc_entry, a->opts.malloc && !a->session);
	bpf_program__set_autoload(skel->progs.memobs_alloc_ret, a->opts.malloc && !a->session);
	bpf_program__set_autoload(skel->progs.memobs_attr_exec, a->opts.malloc);
	bpf_program__set_autoload(skel->progs.memobs_fault_sample, a->opts.mm_escalation);
	if (a->session)
		bpf_program__set_expected_attach_type(
			skel->progs.memobs_alloc_session,
			(enum bpf_attach_type)MEMOBS_BPF_TRACE_UPROBE_SESSION);
	else if (a->opts.malloc)
		p_info("uprobe sessions %s: return probes on every hooked call (slower)",
		       a->opts.no_session ? "turned off" : "absent (Linux < 6.13)");
	if (a->opts.malloc && !f->uprobes) {
		p_err("the kernel has no uprobes (CONFIG_UPROBE_EVENTS): cannot trace allocations");
		return -EOPNOTSUPP;
	}

	bpf_object__for_each_program(prog, skel->obj) {
		const char *sec = bpf_program__section_name(prog);

		if (!strncmp(sec, "tracepoint/", 11) || !strncmp(sec, "tp_btf/page_fault", 17))
			bpf_program__set_autoload(prog, a->opts.trace_mm);
	}
	if (a->opts.trace_mm && (err = ensure_tracefs(a, m))) {
		p_warn("mmap/munmap/mremap/brk not traced: tracefs is not mounted and mounting it "
		       "failed: %s",
		       strerror(-err));
		bpf_object__for_each_program(prog, skel->obj)
			if (!strncmp(bpf_program__section_name(prog), "tracepoint/", 11))
				bpf_program__set_autoload(prog, false);
	}
	return 0;
}

static int attach_static_programs(struct attr *a)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, a->skel->obj) {
		const char *sec = bpf_program__section_name(prog);
		struct bpf_link *link;

		/* uprobes attach per file, fault events per traced thread (attr_faults.c) */
		if (!bpf_program__autoload(prog) || !strncmp(sec, "uprobe", 6) ||
		    !strncmp(sec, "uretprobe", 9) || !strcmp(sec, "perf_event"))
			continue;
		link = bpf_program__attach(prog);
		if (!link) {
			a->attach_failures++;
			p_warn("failed to attach '%s': %s", sec, strerror(errno));
			continue;
		}
		if (link_vec__push(&a->global_links, link, -1)) {
			bpf_link__destroy(link);
			return -ENOMEM;
		}
	}
	return 0;
}

int attr__open(struct attr **out, const struct attr_opts *opts)
{
	struct attr *a;
	__u32 ringbuf_bytes;
	int err;

	if (!opts->mounts || !opts->features) {
		p_err("failed to open the attribution tier: no mounts or kernel features given");
		return -EINVAL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->opts = *opts;
	if (!a->opts.sample_bytes)
		a->opts.sample_bytes = ATTR_DEFAULT_SAMPLE_BYTES;
	/*
	 * sampling every few bytes makes a record per call: ~1 M/s per traced
	 * thread; stack copies are up to 16 KiB each, 4 MiB/s per CPU at most
	 */
	ringbuf_bytes = a->opts.ringbuf_bytes		    ? a->opts.ringbuf_bytes
			: a->opts.sample_bytes < 4096	    ? 16 << 20
			: opts->stack_bytes != ATTR_FP_ONLY ? 8 << 20
							    : 4 << 20;
	a->nr_cpus = libbpf_num_possible_cpus();
	u64map_init(&a->known_pids);
	u64map_init(&a->watched_cgroups);
	u64map_init(&a->traced);
	u64map_init(&a->pending_exec);
	u64map_init(&a->sample_pids);
	u64map_init(&a->stack_site);
	u64map_init(&a->stack_owner);
	u64map_init(&a->site_by_hash);
	a->samples = alloc_sites__new(a->opts.sample_bytes);
	if (!a->opts.stack_bytes)
		a->opts.stack_bytes = ATTR_DEFAULT_STACK_BYTES;
	if (a->opts.stack_bytes != ATTR_FP_ONLY && a->opts.stack_bytes > MEMOBS_USTACK_MAX) {
		p_err("the stack copy is at most %u bytes, not %u", MEMOBS_USTACK_MAX,
		      a->opts.stack_bytes);
		err = -EINVAL;
		goto fail;
	}
	a->ustack_pending = calloc(ATTR_USTACK_PENDING, sizeof(*a->ustack_pending));
	a->global_files = alloc_lib_set__new();
	a->failed_files = alloc_lib_set__new();
	if (!a->samples || !a->global_files || !a->failed_files || !a->ustack_pending ||
	    a->nr_cpus <= 0) {
		err = -ENOMEM;
		goto fail;
	}
	/* Python frames come with the stack copies: they take an eval-loop frame's place */
	if (a->opts.stack_bytes != ATTR_FP_ONLY && (err = attr_python_init(a)))
		goto fail;
	a->sym = symbolizer__new();
	if (!a->sym) {
		err = -errno;
		p_err("failed to start the symbolizer: %s", strerror(-err));
		goto fail;
	}

	a->skel = memobs_attr__open();
	if (!a->skel) {
		err = -errno;
		p_err("failed to open the attribution BPF object: %s", strerror(-err));
		goto fail;
	}
	if ((err = choose_programs(a, opts->features, opts->mounts)))
		goto fail;
	a->skel->rodata->memobs_sample_bytes = a->opts.sample_bytes;
	a->skel->rodata->memobs_alloc_all_pids = a->opts.malloc_all;
	a->skel->rodata->memobs_self_tgid = getpid();
	a->skel->rodata->memobs_watch_all = a->opts.trace_mm_all;
	a->skel->rodata->memobs_wakeup_bytes = ringbuf_bytes / 4;
	a->skel->rodata->memobs_stack_copy_bytes =
		a->opts.stack_bytes == ATTR_FP_ONLY ? 0 : a->opts.stack_bytes;
	/* copies are the first to go: past half the ring, only the records that count */
	a->skel->rodata->memobs_stack_ring_limit = ringbuf_bytes / 2;
	bpf_map__set_max_entries(a->skel->maps.memobs_attr_events, ringbuf_bytes);
	if (a->opts.max_live)
		bpf_map__set_max_entries(a->skel->maps.memobs_attr_live, a->opts.max_live);
	err = memobs_attr__load(a->skel);
	if (err) {
		p_err("failed to load the attribution BPF programs: %s (-v for the verifier log)",
		      strerror(-err));
		goto fail;
	}
	err = attach_static_programs(a);
	release_tracefs(a);
	if (err)
		goto fail;
	a->rb = ring_buffer__new(bpf_map__fd(a->skel->maps.memobs_attr_events), handle_record, a,
				 NULL);
	if (!a->rb) {
		err = -errno;
		p_err("failed to open the attribution ring buffer: %s", strerror(-err));
		goto fail;
	}
	if (a->opts.malloc && a->opts.malloc_all)
		attr_rescan_host(a);
	a->last_tick_ms = clock_mono_ms();
	*out = a;
	return 0;
fail:
	attr__close(a);
	return err;
}

void attr__close(struct attr *a)
{
	if (!a)
		return;
	release_tracefs(a); /* a failure between the mount and the attach */
	/* links first: no probe may fire into a half-freed object */
	attr_scope_free(a);
	link_vec__destroy(&a->global_links);
	ring_buffer__free(a->rb);
	memobs_attr__destroy(a->skel);
	attr_sites_free(a);
	free(a->files);
	u64map_free(&a->known_pids);
	u64map_free(&a->watched_cgroups);
	u64map_free(&a->traced);
	u64map_free(&a->pending_exec);
	u64map_free(&a->sample_pids);
	u64map_free(&a->stack_site);
	u64map_free(&a->stack_owner);
	u64map_free(&a->site_by_hash);
	alloc_sites__free(a->samples);
	free(a->ustack_pending);
	attr_python_free(a);
	free(a->mapped);
	alloc_lib_set__free(a->global_files);
	alloc_lib_set__free(a->failed_files);
	symbolizer__free(a->sym);
	free(a);
}

/* ---- stats ---- */

__u64 attr__attach_failures(const struct attr *a)
{
	return a->attach_failures;
}

__u64 attr__sample_bytes(const struct attr *a)
{
	return a->opts.sample_bytes;
}

struct bpf_object *attr__bpf_object(const struct attr *a)
{
	return a->skel->obj;
}

void attr__stats(struct attr *a, struct attr_stats *out)
{
	__u64 *values = calloc(a->nr_cpus, sizeof(*values));
	uint64_t k, v;
	size_t it;
	__u32 key;
	int cpu, fd = bpf_map__fd(a->skel->maps.memobs_attr_stats);

	memset(out, 0, sizeof(*out));
	for (key = 0; values && key < MEMOBS_ATTR_STAT_NR; key++) {
		if (bpf_map_lookup_elem(fd, &key, values))
			continue;
		for (cpu = 0; cpu < a->nr_cpus; cpu++)
			out->bpf[key] += values[cpu];
	}
	free(values);
	out->attach_failures = a->attach_failures;
	out->files_attached = alloc_lib_set__len(a->global_files);
	out->links = a->global_links.len;
	for (it = 0; u64map_next(&a->traced, &it, &k, &v);)
		out->links += ((struct traced_pid *)(uintptr_t)v)->links.len;
	out->pids_traced = a->traced.len;
	out->probes_at_entry = a->probes_at_entry;
	out->session = a->session;
	out->unwind = a->unwind;
	attr_python_stats(a, &out->python);
	out->sites = a->nr_sites;
	out->sites_overflowed = a->sites_overflowed;
	out->fault_events = a->fault_events;
	out->mm_inside_malloc = a->mm_inside_malloc;
	if (a->sym) {
		struct symbolizer_stats ss;

		symbolizer__stats(a->sym, &ss);
		out->symbol_cache_evictions = ss.evictions;
		/* a timeout costs a restart too: the larger counts the helpers lost */
		out->symbol_timeouts = ss.timeouts > ss.worker_restarts ? ss.timeouts
									: ss.worker_restarts;
		out->cfi_cache_bytes = ss.cfi_cache_bytes;
		out->cfi_cache_evictions = ss.cfi_cache_evictions;
	}
}
