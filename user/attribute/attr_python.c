// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Python frames on the call sites of CPython processes (issue 16,
 * docs/python.md). A traced process found to be CPython (py_proc.h) gets
 * its layout into memobs_attr_py_procs; its samples then bring their Python
 * frame chains (MEMOBS_REC_PYSTACK, just before the stack copy of the same
 * sample), held here by sample id until the copy is unwound. The frames
 * are named from the code objects in the process's memory (py_code.h,
 * cached per code object) and take the place of the native eval-loop frame
 * that ran them, as py-spy's native mode and the OpenTelemetry profiler show
 * them: `function (file.py:line)`, the native frames below and above kept.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attribute/attr_internal.h"
#include "attribute/py_code.h"
#include "attribute/py_layout.h"
#include "attribute/py_proc.h"
#include "attribute/symbolize.h"
#include "output/records.h"
#include "util/fmt.h"
#include "util/log.h"
#include "util/procfs.h"

/* the native frame that runs Python frames (3.9 to 3.13; LTO may suffix it: ".lto_priv.0") */
#define EVAL_FRAME "_PyEval_EvalFrameDefault"

struct py_proc {
	__u64 start_time;	 /* a reused pid is another process */
	struct py_layout layout; /* zeroed: not CPython, or a layout not known */
	bool warned;		 /* "python frames unavailable" was said for it */
};

static size_t py_pending_slot(__u64 sample_id)
{
	return (size_t)(((sample_id >> 12) ^ (sample_id & 0xfff) * 0x9e3779b9ULL) %
			ATTR_PY_PENDING);
}

static struct py_proc *py_proc_get(struct attr *a, int pid)
{
	uint64_t v;

	return u64map_get(&a->py_procs, pid, &v) ? (struct py_proc *)(uintptr_t)v : NULL;
}

void attr_python_forget(struct attr *a, int pid)
{
	struct py_proc *p = py_proc_get(a, pid);
	__u32 key = pid;

	if (!p)
		return;
	if (p->layout.bpf.runtime_addr)
		a->py.processes--;
	bpf_map_delete_elem(bpf_map__fd(a->skel->maps.memobs_attr_py_procs), &key);
	u64map_del(&a->py_procs, pid);
	if (a->py_codes)
		py_code_cache__forget_pid(a->py_codes, pid);
	free(p);
}

void attr_python_scan(struct attr *a, int pid, bool again)
{
	struct py_proc *p = py_proc_get(a, pid);
	bool warned = false;
	char why[160] = "";
	__u64 start;
	__u32 key = pid;
	int err;

	if (!a->py_codes)
		return;
	start = proc_pid_start_time(pid);
	if (p && p->start_time == start) {
		if (!again)
			return;
		warned = p->warned;
	}
	attr_python_forget(a, pid); /* an exec: another image, maybe not Python */
	if (!start || !(p = calloc(1, sizeof(*p))))
		return;
	p->start_time = start;
	p->warned = warned;
	err = py_proc__detect(pid, &p->layout, why, sizeof(why));
	if (err == -EPROTONOSUPPORT && !p->warned) {
		/* once per process: its native stack alone, and why */
		a->py.layout_unknown++;
		p->warned = true;
		p_warn("pid %d: python frames unavailable: %s", pid, why);
	}
	if (err) {
		/* remembered without a layout: a rescan neither reads it nor says it again */
		memset(&p->layout, 0, sizeof(p->layout));
		if (u64map_put(&a->py_procs, pid, (uintptr_t)p))
			free(p);
		return;
	}
	py_mem__set_image(a->py_mem, pid, start, p->layout.image_dev, p->layout.image_ino);
	if (bpf_map_update_elem(bpf_map__fd(a->skel->maps.memobs_attr_py_procs), &key,
				&p->layout.bpf, BPF_ANY) ||
	    u64map_put(&a->py_procs, pid, (uintptr_t)p)) {
		bpf_map_delete_elem(bpf_map__fd(a->skel->maps.memobs_attr_py_procs), &key);
		free(p);
		return;
	}
	a->py.processes++;
}

void attr_python_reap(struct attr *a)
{
	uint64_t pid, v, *gone = NULL;
	size_t it, nr = 0, i;

	if (!a->py_procs.len || !(gone = calloc(a->py_procs.len, sizeof(*gone))))
		return;
	for (it = 0; u64map_next(&a->py_procs, &it, &pid, &v);)
		if (proc_pid_start_time(pid) != ((struct py_proc *)(uintptr_t)v)->start_time)
			gone[nr++] = pid;
	for (i = 0; i < nr; i++)
		attr_python_forget(a, (int)gone[i]);
	free(gone);
}

void attr_python_free(struct attr *a)
{
	uint64_t pid, v;
	size_t it;

	for (it = 0; u64map_next(&a->py_procs, &it, &pid, &v);)
		free((void *)(uintptr_t)v);
	u64map_free(&a->py_procs);
	py_code_cache__free(a->py_codes);
	a->py_codes = NULL;
	py_mem__free(a->py_mem); /* after the cache, which forgets through it */
	a->py_mem = NULL;
	free(a->py_pending);
	a->py_pending = NULL;
}

int attr_python_init(struct attr *a)
{
	struct py_reader reader;

	u64map_init(&a->py_procs);
	a->py_pending = calloc(ATTR_PY_PENDING, sizeof(*a->py_pending));
	a->py_mem = py_mem__new();
	if (a->py_mem) {
		reader = py_mem__reader(a->py_mem);
		a->py_codes = py_code_cache__new(&reader);
	}
	if (!a->py_pending || !a->py_codes) {
		attr_python_free(a);
		return -ENOMEM;
	}
	return 0;
}

void attr_handle_pystack(struct attr *a, const struct memobs_pystack_rec *rec, size_t size)
{
	struct attr_pystack *p;
	size_t head = offsetof(struct memobs_pystack_rec, frames);

	if (!a->py_pending || size < head || rec->nr > MEMOBS_PY_MAX_FRAMES ||
	    rec->nr * sizeof(rec->frames[0]) > size - head)
		return;
	p = &a->py_pending[py_pending_slot(rec->sample_id)];
	if (p->sample_id)
		a->py.pending_overwritten++;
	p->sample_id = rec->sample_id;
	p->pid = rec->pid;
	p->flags = rec->flags;
	p->nr = rec->nr;
	memcpy(p->frames, rec->frames, rec->nr * sizeof(rec->frames[0]));
}

const struct attr_pystack *attr_python_take(struct attr *a, __u64 sample_id, __u32 pid)
{
	struct attr_pystack *p;

	if (!a->py_pending)
		return NULL;
	p = &a->py_pending[py_pending_slot(sample_id)];
	if (p->sample_id != sample_id || p->pid != pid)
		return NULL;
	p->sample_id = 0;
	return p;
}

__u64 attr_python_hash(__u64 h, const struct attr_pystack *py)
{
	size_t i;

	for (i = 0; py && i < py->nr; i++) {
		h = (h ^ py->frames[i].code) * 0x100000001b3ULL;
		h = (h ^ py->frames[i].instr) * 0x100000001b3ULL;
	}
	return (h | 1) & ~MEMOBS_USTACK_SAMPLE_BIT;
}

static bool is_eval_frame(const char *frame)
{
	size_t n = strlen(EVAL_FRAME);

	return frame && !strncmp(frame, EVAL_FRAME, n) &&
	       (frame[n] == '+' || frame[n] == ' ' || frame[n] == '.' || !frame[n]);
}

/*
 * "function (file:line)" of one frame (model/caller.h's frame__is_python()
 * tells them so); NULL when its code object could not be read.
 */
static char *python_frame(struct attr *a, int pid, const struct py_proc *p,
			  const struct memobs_pyframe *f)
{
	struct py_frame info;
	char func[PY_NAME_MAX], file[PY_FILE_MAX];
	char *s = NULL;

	if (py_code_cache__frame(a->py_codes, pid, p->start_time, &p->layout,
				 f->code & ~MEMOBS_PY_ENTRY, f->instr, &info))
		return NULL;
	/* names are the process's to choose: no control bytes, no line breaks */
	fmt_sanitize(func, sizeof(func), info.function, sizeof(func) - 1);
	fmt_sanitize(file, sizeof(file), info.file, sizeof(file) - 1);
	/* line 0: the table has none for the instruction (pprof's "unknown" too) */
	if (asprintf(&s, "%s (%s:%d)", func, file, info.line > 0 ? info.line : 0) < 0)
		return NULL;
	return s;
}

/*
 * Interleaves the Python frames with the native ones (innermost first,
 * taken): each eval-loop frame gives way to the Python frames it ran (up
 * to and including the next MEMOBS_PY_ENTRY one); Python frames beyond the
 * native stack's last eval frame (it ended early) follow the native frames.
 * A code object that cannot be read ends the Python frames there, said by
 * a frame. On -ENOMEM the lists are as they were.
 */
int attr_python_merge(struct attr *a, int pid, const struct attr_pystack *py, char ***frames,
		      struct frame_meta **meta, size_t *nr)
{
	const struct py_proc *p = py_proc_get(a, pid);
	size_t nr_py = 0, cap, out = 0, next = 0, i, j;
	char **py_str, **f2;
	struct frame_meta *m2;
	bool torn = false;

	if (!p || !py || !py->nr || !p->layout.bpf.runtime_addr)
		return 0;
	py_str = calloc(py->nr + 1, sizeof(*py_str));
	if (!py_str)
		return -ENOMEM;
	for (; nr_py < py->nr; nr_py++)
		if (!(py_str[nr_py] = python_frame(a, pid, p, &py->frames[nr_py]))) {
			torn = true;
			break;
		}
	/* cut here (BPF counts its own cuts: python_stacks_torn, python_stacks_truncated) */
	a->py.truncated += torn;
	if (torn || (py->flags & (MEMOBS_PYSTACK_TORN | MEMOBS_PYSTACK_TRUNCATED))) {
		py_str[nr_py++] = strdup(torn || (py->flags & MEMOBS_PYSTACK_TORN)
						 ? "[truncated: a python frame could not be read]"
						 : "[truncated: python frames past 64]");
	}
	cap = *nr + nr_py + 1;
	f2 = calloc(cap, sizeof(*f2));
	m2 = calloc(cap, sizeof(*m2));
	if (!f2 || !m2) {
		for (i = 0; i < nr_py; i++)
			free(py_str[i]);
		free(py_str);
		free(f2);
		free(m2);
		return -ENOMEM;
	}
	for (i = 0; i < *nr; i++) {
		if (!is_eval_frame((*frames)[i]) || next >= nr_py) {
			f2[out] = (*frames)[i];
			m2[out++] = (*meta)[i];
			continue;
		}
		/* this eval call's Python frames, innermost first */
		for (j = next; j < nr_py; j++) {
			f2[out++] = py_str[j];
			if (j < py->nr && (py->frames[j].code & MEMOBS_PY_ENTRY)) {
				j++;
				break;
			}
		}
		next = j;
		free((*frames)[i]);
		frame_meta__clear(&(*meta)[i]);
	}
	for (; next < nr_py; next++)
		f2[out++] = py_str[next];
	a->py.frames += nr_py;
	free(py_str);
	free(*frames);
	free(*meta);
	*frames = f2;
	*meta = m2;
	*nr = out;
	return 0;
}

void attr_python_stats(const struct attr *a, struct attr_python_stats *out)
{
	struct py_code_stats codes = {};

	*out = a->py;
	if (a->py_codes)
		py_code_cache__stats(a->py_codes, &codes);
	out->code_reads = codes.resolved + codes.read_errors + codes.not_code + codes.bad_objects;
	out->code_read_failures = codes.read_errors + codes.not_code + codes.bad_objects;
	out->code_evictions = codes.evictions;
}
