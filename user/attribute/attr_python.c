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
#include "util/clock.h"
#include "util/fmt.h"
#include "util/log.h"
#include "util/procfs.h"

/* the native frame that runs Python frames (3.9 to 3.13; LTO may suffix it: ".lto_priv.0") */
#define EVAL_FRAME "_PyEval_EvalFrameDefault"

/*
 * Code objects one process may have read in a second (cache misses, failed
 * ones too): a process that makes every sample's frames new (or garbage)
 * would otherwise have the drain read ~15 objects per frame, 64 frames per
 * sample, for every sample, and churn the cache every process shares.
 */
#define PY_CODE_READS_PER_S 512

struct py_proc {
	__u64 start_time;	 /* a reused pid is another process */
	struct py_layout layout; /* zeroed: a layout not known (warned) */
	bool warned;		 /* "python frames unavailable" was said for it */
	__u64 budget_start_ns;	 /* the second PY_CODE_READS_PER_S counts in */
	__u32 budget_reads;	 /* code objects read in it */
};

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
	if (err == -ENOENT || err == -ESRCH) {
		free(p); /* not CPython (most processes, host-wide): nothing to keep */
		return;
	}
	if (err && !p->warned) {
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
	p = &a->py_pending[attr_pending_slot(rec->sample_id, ATTR_PY_PENDING)];
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
	p = &a->py_pending[attr_pending_slot(sample_id, ATTR_PY_PENDING)];
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
/* Whether the process may have one more code object read in this second. */
static bool within_budget(struct attr *a, struct py_proc *p)
{
	__u64 now = clock_mono_ns();

	if (now - p->budget_start_ns >= 1000000000ULL) {
		p->budget_start_ns = now;
		p->budget_reads = 0;
	}
	if (p->budget_reads < PY_CODE_READS_PER_S)
		return true;
	a->py.code_reads_throttled++;
	return false;
}

/* Names one frame through the code cache, its misses charged to the process's budget. */
static int name_frame(struct attr *a, int pid, struct py_proc *p, const struct memobs_pyframe *f,
		      struct py_frame *info)
{
	struct py_code_stats before, after;
	int err;

	if (!within_budget(a, p))
		return -EBUSY;
	py_code_cache__stats(a->py_codes, &before);
	err = py_code_cache__frame(a->py_codes, pid, p->start_time, &p->layout,
				   f->code & ~MEMOBS_PY_ENTRY, f->instr, info);
	py_code_cache__stats(a->py_codes, &after);
	p->budget_reads += (after.lookups - after.hits) - (before.lookups - before.hits);
	return err;
}

static char *python_frame(struct attr *a, int pid, struct py_proc *p,
			  const struct memobs_pyframe *f, int *err)
{
	struct py_frame info;
	char func[PY_NAME_MAX], file[PY_FILE_MAX];
	char *s = NULL;

	if ((*err = name_frame(a, pid, p, f, &info)))
		return NULL;
	/* names are the process's to choose: no control bytes, no line breaks */
	fmt_sanitize(func, sizeof(func), info.function, sizeof(func) - 1);
	fmt_sanitize(file, sizeof(file), info.file, sizeof(file) - 1);
	/* line 0: the table has none for the instruction (pprof's "unknown" too) */
	if (asprintf(&s, "%s (%s:%d)", func, file, info.line > 0 ? info.line : 0) < 0) {
		*err = -ENOMEM;
		return NULL;
	}
	return s;
}

/*
 * The Python frames' strings (innermost first) into out (py->nr + 1 slots),
 * their number in *nr: up to the first that cannot be named, then a frame
 * that says why the Python frames end there. Returns 1 when they were cut
 * here (a read failed, the budget was spent: another sample may fare
 * better), 0 when not, -ENOMEM.
 */
static int name_frames(struct attr *a, int pid, struct py_proc *p, const struct attr_pystack *py,
		       char **out, size_t *nr)
{
	const char *why = NULL;
	int err = 0;

	for (*nr = 0; *nr < py->nr; (*nr)++)
		if (!(out[*nr] = python_frame(a, pid, p, &py->frames[*nr], &err)))
			break;
	if (err == -ENOMEM)
		return -ENOMEM;
	if (err) {
		a->py.truncated++;
		why = err == -EBUSY ? "[truncated: python frames past this process's read budget]"
				    : "[truncated: a python frame could not be read]";
	} else if (py->flags & MEMOBS_PYSTACK_TORN) {
		why = "[truncated: a python frame could not be read]";
	} else if (py->flags & MEMOBS_PYSTACK_TRUNCATED) {
		why = "[truncated: python frames past 64]";
	}
	if (why && !(out[(*nr)++] = strdup(why)))
		return -ENOMEM;
	return err ? 1 : 0;
}

/*
 * The merged list into f2, m2 (room for nr + nr_py): each native eval-loop
 * frame gives way to the Python frames it ran, up to and including the one
 * marked MEMOBS_PY_ENTRY (the frame the call was entered with); Python
 * frames left when the native frames hold no more eval frames follow them.
 * The eval frames' own strings are freed. Returns the frames in f2.
 */
static size_t interleave(const struct attr_pystack *py, char **py_str, size_t nr_py, char **frames,
			 struct frame_meta *meta, size_t nr, char **f2, struct frame_meta *m2)
{
	size_t out = 0, next = 0, i;

	for (i = 0; i < nr; i++) {
		if (!is_eval_frame(frames[i]) || next >= nr_py) {
			f2[out] = frames[i];
			m2[out++] = meta[i];
			continue;
		}
		/* this eval call's Python frames, innermost first */
		while (next < nr_py) {
			bool entry = next < py->nr && (py->frames[next].code & MEMOBS_PY_ENTRY);

			f2[out++] = py_str[next++];
			if (entry)
				break;
		}
		free(frames[i]);
		frame_meta__clear(&meta[i]);
	}
	while (next < nr_py)
		f2[out++] = py_str[next++];
	return out;
}

int attr_python_merge(struct attr *a, int pid, const struct attr_pystack *py, char ***frames,
		      struct frame_meta **meta, size_t *nr)
{
	struct py_proc *p = py_proc_get(a, pid);
	struct frame_meta *m2 = NULL;
	char **py_str, **f2 = NULL;
	size_t nr_py = 0, i;
	int cut;

	if (!p || !py || !py->nr || !p->layout.bpf.runtime_addr)
		return 0;
	py_str = calloc(py->nr + 1, sizeof(*py_str));
	if (!py_str)
		return -ENOMEM;
	cut = name_frames(a, pid, p, py, py_str, &nr_py);
	if (cut >= 0) {
		f2 = calloc(*nr + nr_py + 1, sizeof(*f2));
		m2 = calloc(*nr + nr_py + 1, sizeof(*m2));
	}
	if (!f2 || !m2) {
		for (i = 0; i < nr_py; i++)
			free(py_str[i]);
		free(py_str);
		free(f2);
		free(m2);
		return -ENOMEM;
	}
	a->py.frames += nr_py;
	*nr = interleave(py, py_str, nr_py, *frames, *meta, *nr, f2, m2);
	free(py_str);
	free(*frames);
	free(*meta);
	*frames = f2;
	*meta = m2;
	return cut;
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
