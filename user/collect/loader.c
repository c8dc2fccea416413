// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect/loader.h"
#include "util/log.h"
#include "memobs_core.skel.h"

#define MAX_LINKS 8

struct loader {
	struct memobs_core *skel;
	struct bpf_link *links[MAX_LINKS];
	int nr_links;
	struct bpf_link *iter_link;
	struct ring_buffer *events;
	__u64 attach_failures;
	bool oom_hooked;
	int (*on_event)(void *ctx, const struct memobs_event *ev);
	void *ctx;
};

static int handle_event(void *ctx, void *data, size_t size)
{
	struct loader *l = ctx;

	if (size < sizeof(struct memobs_event))
		return 0; /* a record from a future version: skip, don't stop the drain */
	return l->on_event ? l->on_event(l->ctx, data) : 0;
}

/* Chooses the programs this kernel can run; the iterator is the one we cannot do without. */
static int choose_programs(struct memobs_core *skel, const struct features *f, struct loader *l)
{
	if (!f->task_iter) {
		p_err("the kernel has no BPF task iterator (iter/task, Linux 5.8+): cannot sample");
		return -EOPNOTSUPP;
	}
	if (!f->tp_btf_exec) {
		p_warn("no BTF tracepoint 'sched_process_exec': exec events disabled");
		bpf_program__set_autoload(skel->progs.memobs_exec, false);
	}
	if (!f->tp_btf_exit) {
		p_warn("no BTF tracepoint 'sched_process_exit': exit events disabled");
		bpf_program__set_autoload(skel->progs.memobs_exit, false);
	}
	/* one of the two mark_victim flavours, never both */
	if (f->oom_tp_task) {
		bpf_program__set_autoload(skel->progs.memobs_oom_victim_pid, false);
		l->oom_hooked = true;
	} else {
		bpf_program__set_autoload(skel->progs.memobs_oom_victim, false);
		if (!f->oom_tp_exists || !f->tracefs) {
			p_warn("OOM kills not reported: %s",
			       f->oom_tp_exists
				       ? "tracefs is not mounted (tracepoint 'oom:mark_victim')"
				       : "no tracepoint 'oom:mark_victim'");
			bpf_program__set_autoload(skel->progs.memobs_oom_victim_pid, false);
		} else {
			l->oom_hooked = true;
		}
	}
	return 0;
}

static void attach_programs(struct loader *l)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, l->skel->obj) {
		struct bpf_link *link;

		if (!bpf_program__autoload(prog) || prog == l->skel->progs.memobs_iter_task)
			continue;
		link = bpf_program__attach(prog);
		if (!link) {
			p_warn("failed to attach '%s': %s", bpf_program__section_name(prog),
			       strerror(errno));
			l->attach_failures++;
			if (prog == l->skel->progs.memobs_oom_victim ||
			    prog == l->skel->progs.memobs_oom_victim_pid)
				l->oom_hooked = false;
			continue;
		}
		l->links[l->nr_links++] = link;
	}
}

int loader__open(struct loader **out, const struct loader_opts *opts)
{
	struct loader *l = calloc(1, sizeof(*l));
	int err;

	if (!l)
		return -ENOMEM;
	l->on_event = opts->on_event;
	l->ctx = opts->ctx;
	l->skel = memobs_core__open();
	if (!l->skel) {
		err = -errno;
		p_err("failed to open the BPF object: %s", strerror(-err));
		goto fail;
	}
	err = choose_programs(l->skel, opts->features, l);
	if (err)
		goto fail;
	bpf_map__set_max_entries(l->skel->maps.memobs_events, opts->ringbuf_bytes);
	err = libbpf_num_possible_cpus();
	l->skel->rodata->memobs_nr_cpus = err > 0 ? err : 0;
	err = memobs_core__load(l->skel);
	if (err) {
		p_err("failed to load the BPF programs: %s (run 'memobs check'; -v for the verifier log)",
		      strerror(-err));
		goto fail;
	}

	l->iter_link = bpf_program__attach_iter(l->skel->progs.memobs_iter_task, NULL);
	if (!l->iter_link) {
		err = -errno;
		p_err("failed to attach 'iter/task': %s", strerror(-err));
		goto fail;
	}
	attach_programs(l);

	l->events =
		ring_buffer__new(bpf_map__fd(l->skel->maps.memobs_events), handle_event, l, NULL);
	if (!l->events) {
		err = -errno;
		p_err("failed to open the ring buffer: %s", strerror(-err));
		goto fail;
	}
	*out = l;
	return 0;
fail:
	loader__close(l);
	return err;
}

void loader__close(struct loader *l)
{
	int i;

	if (!l)
		return;
	ring_buffer__free(l->events);
	for (i = 0; i < l->nr_links; i++)
		bpf_link__destroy(l->links[i]);
	bpf_link__destroy(l->iter_link);
	memobs_core__destroy(l->skel);
	free(l);
}

int loader__run_iter(struct loader *l, int (*on_task)(void *ctx, const struct memobs_task_rec *rec),
		     void *ctx)
{
	/* whole records are not guaranteed per read(): carry a partial one over */
	static __thread char buf[64 * 1024];
	const size_t rec_size = sizeof(struct memobs_task_rec);
	size_t have = 0, off;
	ssize_t n;
	int fd, err = 0;

	fd = bpf_iter_create(bpf_link__fd(l->iter_link));
	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, buf + have, sizeof(buf) - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		have += n;
		for (off = 0; off + rec_size <= have; off += rec_size) {
			struct memobs_task_rec rec;

			memcpy(&rec, buf + off, rec_size);
			if (rec.type == MEMOBS_REC_TASK && (err = on_task(ctx, &rec)))
				goto out;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
out:
	close(fd);
	return err;
}

int loader__poll(struct loader *l, int timeout_ms)
{
	return ring_buffer__poll(l->events, timeout_ms);
}

int loader__read_stats(struct loader *l, __u64 out[MEMOBS_STAT_NR])
{
	int nr_cpus = libbpf_num_possible_cpus(), fd = bpf_map__fd(l->skel->maps.memobs_stats);
	__u64 *values;
	__u32 key;
	int cpu;

	if (nr_cpus < 0)
		return nr_cpus;
	values = calloc(nr_cpus, sizeof(*values));
	if (!values)
		return -ENOMEM;
	for (key = 0; key < MEMOBS_STAT_NR; key++) {
		out[key] = 0;
		if (bpf_map_lookup_elem(fd, &key, values))
			continue;
		for (cpu = 0; cpu < nr_cpus; cpu++)
			out[key] += values[cpu];
	}
	free(values);
	return 0;
}

__u64 loader__attach_failures(const struct loader *l)
{
	return l->attach_failures;
}

bool loader__oom_hooked(const struct loader *l)
{
	return l->oom_hooked;
}
