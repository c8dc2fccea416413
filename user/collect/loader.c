// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect/loader.h"
#include "util/array.h"
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
	/* The records of the current drain, returned by loader__poll(). */
	struct memobs_event *drained;
	size_t nr_drained;
	size_t drained_cap;
	__u64 lost_to_enomem; /* records that did not fit in memory: counted as drops */
};

static int handle_event(void *ctx, void *data, size_t size)
{
	struct loader *l = ctx;

	if (size < sizeof(struct memobs_event))
		return 0; /* a record from a future version: skip, don't stop the drain */
	if (ARRAY_GROW(l->drained, l->drained_cap, l->nr_drained + 1)) {
		l->lost_to_enomem++;
		return 0;
	}
	memcpy(&l->drained[l->nr_drained++], data, sizeof(struct memobs_event));
	return 0;
}

/* Chooses the programs this kernel can run; the iterator is the one we cannot do without. */
static int choose_programs(struct memobs_core *skel, const struct features *f)
{
	if (!f->task_iter) {
		p_err("the kernel has no BPF task iterator (iter/task, Linux 5.8+): cannot sample");
		return -EOPNOTSUPP;
	}
	/* one of the two mark_victim flavours, never both */
	if (f->oom_tp_task) {
		bpf_program__set_autoload(skel->progs.memobs_oom_victim_pid, false);
	} else {
		bpf_program__set_autoload(skel->progs.memobs_oom_victim, false);
		if (!f->oom_tp_exists || !f->tracefs) {
			p_warn("OOM kills not reported: %s",
			       f->oom_tp_exists
				       ? "tracefs is not mounted (tracepoint 'oom:mark_victim')"
				       : "no tracepoint 'oom:mark_victim'");
			bpf_program__set_autoload(skel->progs.memobs_oom_victim_pid, false);
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
	l->skel = memobs_core__open();
	if (!l->skel) {
		err = -errno;
		p_err("failed to open the BPF object: %s", strerror(-err));
		goto fail;
	}
	err = choose_programs(l->skel, opts->features);
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
	free(l->drained);
	free(l);
}

int loader__run_iter(struct loader *l, struct agg *agg)
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
			if (rec.type == MEMOBS_REC_TASK && (err = agg__add_task(agg, &rec)))
				goto out;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
out:
	close(fd);
	return err;
}

int loader__poll(struct loader *l, int timeout_ms, const struct memobs_event **events)
{
	int err;

	l->nr_drained = 0;
	err = ring_buffer__poll(l->events, timeout_ms);
	*events = l->drained;
	return err < 0 ? err : (int)l->nr_drained;
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
	out[MEMOBS_STAT_RINGBUF_DROPS] += l->lost_to_enomem;
	return 0;
}

__u64 loader__attach_failures(const struct loader *l)
{
	return l->attach_failures;
}
