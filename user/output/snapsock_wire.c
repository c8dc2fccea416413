// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "identity/container.h"
#include "output/records.h"
#include "output/snapsock_wire.h"

struct wire_header {
	__u32 magic; /* SNAPSOCK_MAGIC */
	__u16 version;
	__u16 header_bytes;	/* sizeof(struct wire_header) */
	__u32 payload_bytes;	/* everything after the header */
	__u16 cgroup_rec_bytes; /* sizeof(struct wire_cgroup) */
	__u16 proc_rec_bytes;	/* sizeof(struct proc_stat) */
	__u32 nr_cgroups;
	__u32 nr_procs;
	__u32 strings_bytes;
	__u32 reserved;
};

_Static_assert(sizeof(struct wire_header) == SNAPSOCK_HEADER_BYTES,
	       "SNAPSOCK_HEADER_BYTES is wrong");

struct wire_globals {
	__u64 ts_ms;
	__u64 mono_ns;
	double interval_s;
	__u64 host_mem_total_bytes;
	__u64 host_mem_available_bytes;
	__u64 events;
	__u64 ringbuf_drops;
	__u64 map_full;
	__u64 attach_failures;
};

#define WIRE_NO_STR 0xffffffffu

/* A NUL-terminated string at off in the blob, len bytes before its NUL. */
struct wire_str {
	__u32 off;
	__u32 len; /* WIRE_NO_STR: NULL */
};

enum wire_container_field {
	WC_ID,
	WC_RUNTIME,
	WC_POD_UID,
	WC_POD,
	WC_NAMESPACE,
	WC_NAME,
	WC_NR,
};

/*
 * The fields of struct cgroup_stat that cross as they are, in wire order,
 * each with its wire type. The record's layout, its encoder and its decoder
 * are all made from this one list: a new field of struct cgroup_stat is one
 * line here (and a SNAPSOCK_VERSION bump). Its strings (path, container)
 * cross through the blob instead.
 */
#define WIRE_CGROUP_HEAD(X) \
	X(__u64, id)        \
	X(__u32, nr_procs)  \
	X(__u32, first_proc)
/* between the two: struct mem_figures, as is (fixed-width __u64s, no padding) */
#define WIRE_CGROUP_FIELDS(X)              \
	X(__u64, page_faults_total)        \
	X(__u64, limit_bytes)              \
	X(double, growth_bytes_per_s)      \
	X(double, time_to_limit_s)         \
	X(__u64, malloc_outstanding_bytes) \
	X(__u64, oom_kills_total)          \
	X(__u32, leak_state)

struct wire_cgroup {
#define WIRE_MEMBER(type, name) type name;
	WIRE_CGROUP_HEAD(WIRE_MEMBER)
	struct mem_figures mem;
	WIRE_CGROUP_FIELDS(WIRE_MEMBER)
#undef WIRE_MEMBER
	__u32 has_container;
	struct wire_str path;
	struct wire_str container[WC_NR];
};

/* A wire type narrower than the model's would truncate without a word. */
#define WIRE_WIDE_ENOUGH(type, name)                                            \
	_Static_assert(sizeof(type) >= sizeof(((struct cgroup_stat *)0)->name), \
		       "wire type of cgroup_stat." #name " is narrower than the model's");
WIRE_CGROUP_HEAD(WIRE_WIDE_ENOUGH)
WIRE_CGROUP_FIELDS(WIRE_WIDE_ENOUGH)
#undef WIRE_WIDE_ENOUGH
_Static_assert(sizeof(struct mem_figures) == 8 * sizeof(__u64),
	       "struct mem_figures travels as is: fixed-width fields, no padding");

static void cgroup_to_wire(struct wire_cgroup *w, const struct cgroup_stat *cg)
{
#define WIRE_PUT(type, name) w->name = (type)cg->name;
	WIRE_CGROUP_HEAD(WIRE_PUT)
	WIRE_CGROUP_FIELDS(WIRE_PUT)
#undef WIRE_PUT
	w->mem = cg->mem;
}

static void cgroup_from_wire(struct cgroup_stat *cg, const struct wire_cgroup *w)
{
#define WIRE_GET(type, name) cg->name = w->name;
	WIRE_CGROUP_HEAD(WIRE_GET)
	WIRE_CGROUP_FIELDS(WIRE_GET)
#undef WIRE_GET
	cg->mem = w->mem;
}

/* ---- encoding ---- */

struct encoder {
	char *buf;
	size_t len;
	size_t strings_at; /* where the blob begins */
};

static struct wire_str put_string(struct encoder *e, const char *s)
{
	struct wire_str ws = { 0, WIRE_NO_STR };
	size_t len;

	if (!s)
		return ws;
	len = strlen(s);
	ws.off = (__u32)(e->len - e->strings_at);
	ws.len = (__u32)len;
	memcpy(e->buf + e->len, s, len + 1);
	e->len += len + 1;
	return ws;
}

static size_t str_bytes(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static const char **container_fields(const struct container_id *c, const char *out[WC_NR])
{
	out[WC_ID] = c->id;
	out[WC_RUNTIME] = c->runtime;
	out[WC_POD_UID] = c->pod_uid;
	out[WC_POD] = c->pod;
	out[WC_NAMESPACE] = c->namespace;
	out[WC_NAME] = c->name;
	return out;
}

/* The strings of one cgroup: its path and, when known, its container's identity. */
static size_t cgroup_strings(const struct cgroup_stat *cg, const char *out[1 + WC_NR])
{
	memset(out, 0, sizeof(*out) * (1 + WC_NR));
	out[0] = cg->path;
	if (cg->container) {
		container_fields(cg->container, out + 1);
		return 1 + WC_NR;
	}
	return 1;
}

int snapsock__encode(const struct snapshot *snap, const struct pipeline_stats *st, void **out,
		     size_t *out_len)
{
	struct wire_header h = {};
	struct wire_globals g = {};
	struct encoder e = {};
	const char *strs[1 + WC_NR];
	size_t i, k, nr_strs, strings_bytes = 0, total;

	for (i = 0; i < snap->nr_cgroups; i++) {
		nr_strs = cgroup_strings(&snap->cgroups[i], strs);
		for (k = 0; k < nr_strs; k++)
			strings_bytes += str_bytes(strs[k]);
	}
	total = sizeof(h) + sizeof(g) + snap->nr_cgroups * sizeof(struct wire_cgroup) +
		snap->nr_procs * sizeof(struct proc_stat) + strings_bytes;
	if (total > SNAPSOCK_MAX_FRAME_BYTES || snap->nr_cgroups > SNAPSOCK_MAX_CGROUPS ||
	    snap->nr_procs > SNAPSOCK_MAX_PROCS)
		return -E2BIG;
	e.buf = malloc(total);
	if (!e.buf)
		return -ENOMEM;

	h.magic = SNAPSOCK_MAGIC;
	h.version = SNAPSOCK_VERSION;
	h.header_bytes = sizeof(h);
	h.payload_bytes = (__u32)(total - sizeof(h));
	h.cgroup_rec_bytes = sizeof(struct wire_cgroup);
	h.proc_rec_bytes = sizeof(struct proc_stat);
	h.nr_cgroups = (__u32)snap->nr_cgroups;
	h.nr_procs = (__u32)snap->nr_procs;
	h.strings_bytes = (__u32)strings_bytes;
	memcpy(e.buf, &h, sizeof(h));

	g.ts_ms = snap->ts_ms;
	g.mono_ns = snap->mono_ns;
	g.interval_s = snap->interval_s;
	g.host_mem_total_bytes = snap->host_mem_total_bytes;
	g.host_mem_available_bytes = snap->host_mem_available_bytes;
	if (st) {
		g.events = st->events;
		g.ringbuf_drops = st->ringbuf_drops;
		g.map_full = st->map_full;
		g.attach_failures = st->attach_failures;
	}
	memcpy(e.buf + sizeof(h), &g, sizeof(g));
	e.len = sizeof(h) + sizeof(g);
	e.strings_at = total - strings_bytes;

	/* the strings are written past the records, as each record is built */
	{
		size_t rec_at = e.len;

		e.len = e.strings_at;
		for (i = 0; i < snap->nr_cgroups; i++) {
			const struct cgroup_stat *cg = &snap->cgroups[i];
			struct wire_cgroup w = {};

			cgroup_to_wire(&w, cg);
			nr_strs = cgroup_strings(cg, strs);
			w.path = put_string(&e, strs[0]);
			w.has_container = nr_strs > 1;
			for (k = 0; k < WC_NR; k++)
				w.container[k] =
					put_string(&e, k + 1 < nr_strs ? strs[k + 1] : NULL);
			memcpy(e.buf + rec_at, &w, sizeof(w));
			rec_at += sizeof(w);
		}
		if (snap->nr_procs)
			memcpy(e.buf + rec_at, snap->procs,
			       snap->nr_procs * sizeof(struct proc_stat));
	}
	*out = e.buf;
	*out_len = total;
	return 0;
}

/* ---- decoding: every length and offset is checked before use ---- */

static int check_magic(__u32 magic, const char **why)
{
	if (magic != SNAPSOCK_MAGIC) {
		*why = "not a memobs snapshot stream (bad magic)";
		return -EPROTO;
	}
	return 0;
}

static int check_header(const struct wire_header *h, const char **why)
{
	__u64 expect;
	int err;

	err = check_magic(h->magic, why);
	if (err)
		return err;
	if (h->version != SNAPSOCK_VERSION || h->header_bytes != sizeof(*h) ||
	    h->cgroup_rec_bytes != sizeof(struct wire_cgroup) ||
	    h->proc_rec_bytes != sizeof(struct proc_stat)) {
		*why = "snapshot format of another memobs version (run the same version as the daemon)";
		return -EPROTO;
	}
	if (h->nr_cgroups > SNAPSOCK_MAX_CGROUPS || h->nr_procs > SNAPSOCK_MAX_PROCS ||
	    h->payload_bytes > SNAPSOCK_MAX_FRAME_BYTES) {
		*why = "snapshot frame exceeds its bounds";
		return -EPROTO;
	}
	expect = sizeof(struct wire_globals) + (__u64)h->nr_cgroups * sizeof(struct wire_cgroup) +
		 (__u64)h->nr_procs * sizeof(struct proc_stat) + h->strings_bytes;
	if (expect != h->payload_bytes) {
		*why = "snapshot frame lengths disagree";
		return -EPROTO;
	}
	return 0;
}

int snapsock__frame_bytes(const void *buf, size_t len, size_t *frame_bytes, const char **why)
{
	struct wire_header h;
	__u32 magic;
	int err;

	/* the magic alone tells garbage apart before a whole header arrives */
	if (len < sizeof(magic)) {
		*frame_bytes = sizeof(magic);
		return 0;
	}
	memcpy(&magic, buf, sizeof(magic));
	err = check_magic(magic, why);
	if (err)
		return err;
	if (len < sizeof(h)) {
		*frame_bytes = sizeof(h);
		return 0;
	}
	memcpy(&h, buf, sizeof(h));
	err = check_header(&h, why);
	if (err)
		return err;
	*frame_bytes = sizeof(h) + h.payload_bytes;
	return 0;
}

struct decoder {
	const char *strings;
	size_t strings_bytes;
	const char **why;
};

/* A string must lie inside the blob, end with its NUL and hold no other. */
static int check_str(const struct decoder *d, struct wire_str ws)
{
	if (ws.len == WIRE_NO_STR)
		return 0;
	if ((__u64)ws.off + ws.len >= d->strings_bytes || d->strings[ws.off + ws.len] != '\0' ||
	    memchr(d->strings + ws.off, '\0', ws.len)) {
		*d->why = "snapshot string out of bounds";
		return -EPROTO;
	}
	return 0;
}

static int check_cgroup(const struct decoder *d, const struct wire_cgroup *w, __u64 prev_id,
			size_t index, const struct proc_stat *procs, size_t nr_procs)
{
	size_t k, p;
	int err;

	if (index > 0 && w->id <= prev_id) {
		*d->why = "snapshot cgroups out of order";
		return -EPROTO;
	}
	if ((__u64)w->first_proc + w->nr_procs > nr_procs || w->leak_state > LEAK_SUSPECTED) {
		*d->why = "snapshot cgroup record out of bounds";
		return -EPROTO;
	}
	for (p = w->first_proc; p < (size_t)w->first_proc + w->nr_procs; p++) {
		if (procs[p].cgroup_id != w->id) {
			*d->why = "snapshot process outside its cgroup";
			return -EPROTO;
		}
	}
	err = check_str(d, w->path);
	for (k = 0; !err && k < WC_NR; k++)
		err = check_str(d, w->container[k]);
	return err;
}

static const char *str_at(const char *strings, struct wire_str ws)
{
	return ws.len == WIRE_NO_STR ? NULL : strings + ws.off;
}

static void fill_container(struct container_id *c, const char *strings, const struct wire_cgroup *w)
{
	memset(c, 0, sizeof(*c));
	c->id = (char *)str_at(strings, w->container[WC_ID]);
	c->runtime = (char *)str_at(strings, w->container[WC_RUNTIME]);
	c->pod_uid = (char *)str_at(strings, w->container[WC_POD_UID]);
	c->pod = (char *)str_at(strings, w->container[WC_POD]);
	c->namespace = (char *)str_at(strings, w->container[WC_NAMESPACE]);
	c->name = (char *)str_at(strings, w->container[WC_NAME]);
}

/* Container annotations: one block, the records then a copy of the strings they point into. */
static int build_labels(struct snapshot *snap, const struct wire_cgroup *recs, const char *strings,
			size_t strings_bytes, void **labels)
{
	struct container_id *ids;
	size_t i, nr = 0;
	char *copy;

	for (i = 0; i < snap->nr_cgroups; i++)
		nr += recs[i].has_container != 0;
	*labels = NULL;
	if (!nr)
		return 0;
	ids = malloc(nr * sizeof(*ids) + strings_bytes);
	if (!ids)
		return -ENOMEM;
	copy = (char *)(ids + nr);
	memcpy(copy, strings, strings_bytes);
	for (i = 0, nr = 0; i < snap->nr_cgroups; i++) {
		if (!recs[i].has_container)
			continue;
		fill_container(&ids[nr], copy, &recs[i]);
		snap->cgroups[i].container = &ids[nr++];
	}
	*labels = ids;
	return 0;
}

int snapsock__decode(const void *buf, size_t len, struct snapshot **out, struct pipeline_stats *st,
		     void **labels, const char **why)
{
	struct wire_header h;
	struct wire_globals g;
	const struct wire_cgroup *recs;
	const struct proc_stat *procs;
	struct snapshot *snap = NULL;
	struct decoder d = { .why = why };
	struct wire_cgroup w;
	size_t i;
	int err;

	*out = NULL;
	*labels = NULL;
	if (len < sizeof(h)) {
		*why = "snapshot frame truncated";
		return -EPROTO;
	}
	memcpy(&h, buf, sizeof(h));
	err = check_header(&h, why);
	if (err)
		return err;
	if (len != sizeof(h) + h.payload_bytes) {
		*why = "snapshot frame truncated";
		return -EPROTO;
	}
	memcpy(&g, (const char *)buf + sizeof(h), sizeof(g));
	recs = (const void *)((const char *)buf + sizeof(h) + sizeof(g));
	procs = (const void *)(recs + h.nr_cgroups);
	d.strings = (const char *)(procs + h.nr_procs);
	d.strings_bytes = h.strings_bytes;
	if (!(g.interval_s >= 0 && g.interval_s < 1e9)) {
		*why = "snapshot interval out of range";
		return -EPROTO;
	}

	snap = calloc(1, sizeof(*snap));
	if (!snap)
		return -ENOMEM;
	snap->cgroups = calloc(h.nr_cgroups + 1, sizeof(*snap->cgroups));
	snap->procs = calloc(h.nr_procs + 1, sizeof(*snap->procs));
	if (!snap->cgroups || !snap->procs) {
		err = -ENOMEM;
		goto fail;
	}
	/* the frame may be unaligned in its buffer: records are copied out, not cast */
	memcpy(snap->procs, procs, h.nr_procs * sizeof(*procs));
	snap->nr_procs = h.nr_procs;
	for (i = 0; i < h.nr_procs; i++)
		snap->procs[i].comm[MEMOBS_COMM_LEN - 1] = '\0';
	for (i = 0; i < h.nr_cgroups; i++) {
		struct cgroup_stat *cg = &snap->cgroups[i];
		const char *path;

		memcpy(&w, recs + i, sizeof(w));
		err = check_cgroup(&d, &w, i ? snap->cgroups[i - 1].id : 0, i, snap->procs,
				   snap->nr_procs);
		if (err)
			goto fail;
		path = str_at(d.strings, w.path);
		if (path && !(cg->path = strdup(path))) {
			err = -ENOMEM;
			goto fail;
		}
		snap->nr_cgroups = i + 1; /* from here snapshot__free frees the path */
		cgroup_from_wire(cg, &w);
	}
	snap->ts_ms = g.ts_ms;
	snap->mono_ns = g.mono_ns;
	snap->interval_s = g.interval_s;
	snap->host_mem_total_bytes = g.host_mem_total_bytes;
	snap->host_mem_available_bytes = g.host_mem_available_bytes;
	if (st) {
		st->events = g.events;
		st->ringbuf_drops = g.ringbuf_drops;
		st->map_full = g.map_full;
		st->attach_failures = g.attach_failures;
	}
	{
		struct wire_cgroup *copies = malloc((h.nr_cgroups + 1) * sizeof(*copies));

		if (!copies) {
			err = -ENOMEM;
			goto fail;
		}
		memcpy(copies, recs, h.nr_cgroups * sizeof(*copies));
		err = build_labels(snap, copies, d.strings, d.strings_bytes, labels);
		free(copies);
		if (err)
			goto fail;
	}
	*out = snap;
	return 0;
fail:
	snapshot__free(snap);
	return err;
}
