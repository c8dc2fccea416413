// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Incremental by construction: a sample costs O(1) (a ring-buffer write per
 * metric and a merge step over the cgroup's processes); a series is evaluated
 * once per down-sampling block (every ceil(window / 60) samples, staggered by
 * cgroup id so that cgroups seen together do not all evaluate together), and
 * an evaluation first computes a least-squares slope over the window, O(n),
 * running the full test (O(n + m^2), m <= 60 block means) only where that
 * slope reaches a quarter of min_growth or an alert is active.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "detect/detector.h"
#include "util/array.h"

/* A series is tested once it holds this share of a window (count or span). */
#define MIN_FILL_FRAC 0.8
/* Below this share of min_growth, least squares alone says "not growing". */
#define GATE_FRAC 0.25
/* No window holds more samples than this: 10^6 is 11 days at 1 s. */
#define MAX_SAMPLES 1000000

struct proc_track {
	__u32 pid;
	__u64 start_time_ns;
	char comm[MEMOBS_COMM_LEN];
	__u64 first[LEAK_METRIC_NR]; /* when first seen */
	__u64 last[LEAK_METRIC_NR];
};

struct series {
	double *v;	 /* ring parallel to cg_track.t */
	size_t len;	 /* newest samples that belong to it: a reset shortens it */
	unsigned streak; /* consecutive growing evaluations */
	unsigned quiet;	 /* consecutive evaluations that found it quiet (active only) */
	bool active;	 /* a "suspected" was raised and not cleared */
	double last_growth_t;
	double slope_bytes_per_s;
	double confidence;
};

struct cg_track {
	__u64 id;
	char *path;
	double *t;    /* ring of sample times (CLOCK_MONOTONIC seconds) */
	size_t head;  /* next write */
	size_t count; /* samples in the ring */
	size_t since_eval;
	__u64 usage_bytes; /* anon + file + shmem: what the limit is compared with */
	__u64 limit_bytes;
	__u64 last_bytes[LEAK_METRIC_NR];
	struct series series[LEAK_METRIC_NR];
	struct proc_track *procs; /* sorted by pid */
	size_t nr_procs, procs_cap;
};

struct detector {
	struct detector_opts opts;
	struct trend_params params;
	size_t cap;	   /* samples per series */
	size_t eval_every; /* samples per down-sampling block */
	size_t nr_metrics;
	struct cg_track **cgs; /* sorted by id */
	size_t nr_cgs, cgs_cap;
	struct cg_track **next; /* the next pass's cgs, built by merge */
	size_t next_cap;
	struct cg_track **gone; /* left at the last pass; their alerts point at their paths */
	size_t nr_gone, gone_cap;
	struct leak_alert *alerts;
	size_t nr_alerts, alerts_cap;
	struct proc_track *proc_buf;
	size_t proc_buf_cap;
	struct trend_scratch *scratch;
	double *lin_t, *lin_v;
	struct detector_stats stats;
};

void detector_opts__default(struct detector_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->window_s = DETECTOR_DEFAULT_WINDOW_S;
	opts->interval_s = DETECTOR_DEFAULT_INTERVAL_S;
	opts->min_growth_bytes_per_s = DETECTOR_DEFAULT_MIN_GROWTH;
	opts->consecutive = DETECTOR_DEFAULT_CONSECUTIVE;
}

int detector_opts__check(const struct detector_opts *o, char *err, size_t err_len)
{
	double samples = o->window_s / o->interval_s;

	if (!(o->interval_s > 0) || !isfinite(o->interval_s))
		snprintf(err, err_len,
			 "invalid interval '%g': must be a positive number of seconds",
			 o->interval_s);
	else if (!(o->window_s > 0) || !isfinite(o->window_s))
		snprintf(err, err_len, "invalid window '%g': must be a positive number of seconds",
			 o->window_s);
	else if (samples < 10)
		snprintf(
			err, err_len,
			"invalid window '%g': must hold at least 10 intervals of %g s to test a trend",
			o->window_s, o->interval_s);
	else if (samples > MAX_SAMPLES)
		snprintf(err, err_len, "invalid window '%g': more than %d intervals of %g s",
			 o->window_s, MAX_SAMPLES, o->interval_s);
	else if (!(o->min_growth_bytes_per_s > 0) || !isfinite(o->min_growth_bytes_per_s))
		snprintf(err, err_len,
			 "invalid min-growth '%g': must be a positive number of bytes/s",
			 o->min_growth_bytes_per_s);
	else if (!o->consecutive)
		snprintf(err, err_len, "invalid consecutive count '0': must be at least 1");
	else
		return 0;
	return -EINVAL;
}

const char *leak_metric__str(enum leak_metric m)
{
	switch (m) {
	case LEAK_METRIC_ANON_RSS:
		return "anon_rss";
	case LEAK_METRIC_HEAP:
		return "heap";
	case LEAK_METRIC_MMAP:
		return "mmap";
	case LEAK_METRIC_MALLOC:
		return "malloc";
	case LEAK_METRIC_NR:
		break;
	}
	return "?";
}

static __u64 metric_of_cgroup(const struct cgroup_stat *cs, int m)
{
	switch (m) {
	case LEAK_METRIC_ANON_RSS:
		return cs->mem.anon_rss_bytes;
	case LEAK_METRIC_HEAP:
		return cs->mem.heap_bytes;
	case LEAK_METRIC_MMAP:
		return cs->mem.mmap_bytes;
	default:
		return cs->malloc_outstanding_bytes;
	}
}

/* Per process, only what /proc-level accounting gives: no malloc figure yet. */
static __u64 metric_of_proc(const struct proc_stat *ps, int m)
{
	switch (m) {
	case LEAK_METRIC_ANON_RSS:
		return ps->mem.anon_rss_bytes;
	case LEAK_METRIC_HEAP:
		return ps->mem.heap_bytes;
	case LEAK_METRIC_MMAP:
		return ps->mem.mmap_bytes;
	default:
		return 0;
	}
}

struct detector *detector__new(const struct detector_opts *opts)
{
	struct detector *d;
	char err[160];

	if (detector_opts__check(opts, err, sizeof(err))) {
		errno = EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->opts = *opts;
	d->opts.trend = NULL;
	if (opts->trend)
		d->params = *opts->trend;
	else
		trend_params__default(&d->params);
	d->params.min_growth_bytes_per_s = opts->min_growth_bytes_per_s;
	d->cap = (size_t)ceil(opts->window_s / opts->interval_s - 1e-9);
	d->eval_every = (d->cap + d->params.max_points - 1) / d->params.max_points;
	d->nr_metrics = opts->malloc_metric ? LEAK_METRIC_NR : LEAK_METRIC_MALLOC;
	d->scratch = trend_scratch__new(d->cap, d->params.max_points);
	d->lin_t = malloc(d->cap * sizeof(double));
	d->lin_v = malloc(d->cap * sizeof(double));
	if (!d->scratch || !d->lin_t || !d->lin_v) {
		detector__free(d);
		errno = ENOMEM;
		return NULL;
	}
	return d;
}

static void cg_track__free(struct cg_track *cg)
{
	if (!cg)
		return;
	free(cg->path);
	free(cg->t);
	free(cg->procs);
	free(cg);
}

void detector__free(struct detector *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nr_cgs; i++)
		cg_track__free(d->cgs[i]);
	for (i = 0; i < d->nr_gone; i++)
		cg_track__free(d->gone[i]);
	free(d->cgs);
	free(d->gone);
	free(d->next);
	free(d->alerts);
	free(d->proc_buf);
	trend_scratch__free(d->scratch);
	free(d->lin_t);
	free(d->lin_v);
	free(d);
}

void detector__stats(const struct detector *d, struct detector_stats *out)
{
	*out = d->stats;
}

static struct cg_track *cg_track__new(struct detector *d, __u64 id)
{
	struct cg_track *cg = calloc(1, sizeof(*cg));
	size_t m;

	if (!cg)
		return NULL;
	cg->id = id;
	/* one block for the times and every metric's values */
	cg->t = malloc((1 + d->nr_metrics) * d->cap * sizeof(double));
	if (!cg->t) {
		free(cg);
		return NULL;
	}
	for (m = 0; m < d->nr_metrics; m++)
		cg->series[m].v = cg->t + (1 + m) * d->cap;
	/* stagger the evaluations of cgroups that appear together */
	cg->since_eval = id % d->eval_every;
	return cg;
}

static int push_alert(struct detector *d, struct leak_alert **out)
{
	if (ARRAY_GROW(d->alerts, d->alerts_cap, d->nr_alerts + 1))
		return -ENOMEM;
	*out = &d->alerts[d->nr_alerts++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

/* (limit - usage) / slope; 0 when already at the limit; < 0 when unknown. */
static double time_to_limit(__u64 limit, __u64 usage, double slope)
{
	if (!limit || !(slope > 0))
		return -1;
	if (usage >= limit)
		return 0;
	return (double)(limit - usage) / slope;
}

/* The process whose metric grew most since memobs first saw it in the cgroup. */
static const struct proc_track *top_process(const struct cg_track *cg, int m)
{
	const struct proc_track *best = NULL;
	double best_growth = 0;
	size_t i;

	for (i = 0; i < cg->nr_procs; i++) {
		const struct proc_track *p = &cg->procs[i];
		double growth = (double)p->last[m] - (double)p->first[m];

		if (!best || growth > best_growth) {
			best = p;
			best_growth = growth;
		}
	}
	return best;
}

static int raise_alert(struct detector *d, const struct cg_track *cg, int m,
		       enum leak_alert_state state)
{
	const struct series *s = &cg->series[m];
	const struct proc_track *top;
	struct leak_alert *a;
	int err = push_alert(d, &a);

	if (err)
		return err;
	a->state = state;
	a->metric = m;
	a->cgroup_id = cg->id;
	a->path = cg->path;
	a->bytes = cg->last_bytes[m];
	a->growth_bytes_per_s = s->slope_bytes_per_s;
	a->window_s = d->opts.window_s;
	a->confidence = s->confidence;
	a->limit_bytes = cg->limit_bytes;
	a->time_to_limit_s = time_to_limit(cg->limit_bytes, cg->usage_bytes, s->slope_bytes_per_s);
	top = top_process(cg, m);
	if (top) {
		a->has_top_process = true;
		a->top_pid = top->pid;
		memcpy(a->top_comm, top->comm, sizeof(a->top_comm));
	}
	return 0;
}

/* The newest len samples of a series, oldest first, into d->lin_t/lin_v. */
static void linearize(struct detector *d, const struct cg_track *cg, const struct series *s,
		      size_t len)
{
	size_t start = (cg->head + d->cap - len) % d->cap, i, at;

	for (i = 0, at = start; i < len; i++) {
		d->lin_t[i] = cg->t[at];
		d->lin_v[i] = s->v[at];
		if (++at == d->cap)
			at = 0;
	}
}

/* Is the series growing now? Updates its slope and confidence; may reset it. */
static bool evaluate(struct detector *d, struct series *s)
{
	struct trend_verdict verdict;
	double span, ols;

	d->stats.evaluations++;
	if (s->len < 2)
		return false;
	span = d->lin_t[s->len - 1] - d->lin_t[0];
	if (s->len < MIN_FILL_FRAC * d->cap && span < MIN_FILL_FRAC * d->opts.window_s)
		return false;
	ols = trend_ols_slope(d->lin_t, d->lin_v, s->len);
	if (!s->active && ols < GATE_FRAC * d->params.min_growth_bytes_per_s) {
		s->slope_bytes_per_s = ols;
		s->confidence = 0;
		return false;
	}
	d->stats.full_tests++;
	if (trend_assess(d->lin_t, d->lin_v, s->len, &d->params, d->scratch, &verdict))
		return false;
	if (verdict.why == TREND_RESET) {
		d->stats.resets++;
		s->len -= verdict.reset_at;
		return false;
	}
	s->slope_bytes_per_s = verdict.slope_bytes_per_s;
	s->confidence = verdict.confidence;
	return verdict.growing;
}

/* Fewer samples than this in the window: the floor cannot be told rising. */
#define FLOOR_MIN_SAMPLES 4

/*
 * Does the metric still rise over the window? Its floor, the minimum of the
 * newer half of the window against the minimum of the older half, rises by
 * at least persist_frac x min_growth over the half span. The whole window
 * of samples, not the series since its last reset: a step or a collector's
 * drop is no end of a leak, and after a restart the newer half is lower.
 * The minima, not the means: a collector's sawtooth leaves them where the
 * troughs are, flat when nothing leaks, rising with the leak; noise moves
 * both halves alike.
 */
static bool floor_rising(struct detector *d, const struct cg_track *cg, int m)
{
	double t_mid, min_old = INFINITY, min_new = INFINITY, half_span;
	size_t n = cg->count, i;

	if (n < FLOOR_MIN_SAMPLES)
		return false;
	linearize(d, cg, &cg->series[m], n);
	half_span = (d->lin_t[n - 1] - d->lin_t[0]) / 2;
	t_mid = d->lin_t[0] + half_span;
	for (i = 0; i < n; i++) {
		if (d->lin_t[i] < t_mid)
			min_old = fmin(min_old, d->lin_v[i]);
		else
			min_new = fmin(min_new, d->lin_v[i]);
	}
	return half_span > 0 && min_new - min_old >= d->params.persist_frac *
							     d->params.min_growth_bytes_per_s *
							     half_span;
}

/*
 * K in a row raise "suspected" once. Cleared: no evaluation has found growth
 * for a whole window, and K evaluations in a row found the floor of the
 * window no longer rising. The test failing is not enough: it fails on a
 * window it cannot judge (a collector's drop with too few troughs, a step,
 * confidence short of 99% on the few points of a short window) while the
 * process still leaks.
 */
static int step_lifecycle(struct detector *d, struct cg_track *cg, int m, bool growing, double now)
{
	struct series *s = &cg->series[m];

	if (s->active) {
		if (growing) {
			s->last_growth_t = now;
			s->quiet = 0;
			return 0;
		}
		if (now - s->last_growth_t < d->opts.window_s)
			return 0;
		if (floor_rising(d, cg, m)) {
			s->quiet = 0;
			return 0;
		}
		if (++s->quiet < d->opts.consecutive)
			return 0;
		s->active = false;
		s->streak = 0;
		s->quiet = 0;
		return raise_alert(d, cg, m, LEAK_ALERT_CLEARED);
	}
	if (!growing) {
		s->streak = 0;
		return 0;
	}
	if (++s->streak < d->opts.consecutive)
		return 0;
	s->active = true;
	s->last_growth_t = now;
	return raise_alert(d, cg, m, LEAK_ALERT_SUSPECTED);
}

/* Merges the cgroup's processes of this pass (sorted by pid) into its trackers. */
static int track_procs(struct detector *d, struct cg_track *cg, const struct proc_stat *procs,
		       size_t nr)
{
	size_t i, j = 0, m;

	if (ARRAY_GROW(d->proc_buf, d->proc_buf_cap, nr))
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		const struct proc_stat *ps = &procs[i];
		struct proc_track *pt = &d->proc_buf[i];

		while (j < cg->nr_procs && cg->procs[j].pid < ps->pid)
			j++;
		if (j < cg->nr_procs && cg->procs[j].pid == ps->pid &&
		    cg->procs[j].start_time_ns == ps->start_time_ns) {
			*pt = cg->procs[j];
		} else {
			/* new, or a reused pid */
			memset(pt, 0, sizeof(*pt));
			pt->pid = ps->pid;
			pt->start_time_ns = ps->start_time_ns;
			for (m = 0; m < LEAK_METRIC_NR; m++)
				pt->first[m] = metric_of_proc(ps, m);
		}
		memcpy(pt->comm, ps->comm, sizeof(pt->comm));
		for (m = 0; m < LEAK_METRIC_NR; m++)
			pt->last[m] = metric_of_proc(ps, m);
	}
	if (ARRAY_GROW(cg->procs, cg->procs_cap, nr))
		return -ENOMEM;
	memcpy(cg->procs, d->proc_buf, nr * sizeof(*cg->procs));
	cg->nr_procs = nr;
	return 0;
}

/* Appends one sample to every series of the cgroup, forgetting what left the window. */
static void push_sample(struct detector *d, struct cg_track *cg, const struct cgroup_stat *cs,
			double now)
{
	size_t m, oldest;

	while (cg->count) {
		oldest = (cg->head + d->cap - cg->count) % d->cap;
		if (cg->count < d->cap &&
		    now - cg->t[oldest] <= d->opts.window_s + d->opts.interval_s / 2)
			break;
		cg->count--;
	}
	cg->t[cg->head] = now;
	for (m = 0; m < d->nr_metrics; m++) {
		struct series *s = &cg->series[m];

		cg->last_bytes[m] = metric_of_cgroup(cs, m);
		s->v[cg->head] = (double)cg->last_bytes[m];
		if (s->len > cg->count)
			s->len = cg->count;
		s->len++;
	}
	cg->count++;
	cg->head = (cg->head + 1) % d->cap;
	d->stats.samples += d->nr_metrics;
}

static void annotate(const struct detector *d, const struct cg_track *cg, struct cgroup_stat *cs)
{
	size_t m;

	cs->growth_bytes_per_s = cg->series[LEAK_METRIC_ANON_RSS].slope_bytes_per_s;
	cs->leak_state = LEAK_NONE;
	cs->time_to_limit_s = -1;
	for (m = 0; m < d->nr_metrics; m++) {
		const struct series *s = &cg->series[m];
		double ttl;

		if (!s->active)
			continue;
		cs->leak_state = LEAK_SUSPECTED;
		ttl = time_to_limit(cg->limit_bytes, cg->usage_bytes, s->slope_bytes_per_s);
		if (ttl >= 0 && (cs->time_to_limit_s < 0 || ttl < cs->time_to_limit_s))
			cs->time_to_limit_s = ttl;
	}
}

static int feed(struct detector *d, struct cg_track *cg, struct cgroup_stat *cs,
		const struct snapshot *snap, double now)
{
	size_t m;
	int err;

	if (!cg->path && cs->path) {
		cg->path = strdup(cs->path);
		if (!cg->path)
			return -ENOMEM;
	}
	cg->limit_bytes = cs->limit_bytes;
	cg->usage_bytes = cs->mem.anon_rss_bytes + cs->mem.file_rss_bytes + cs->mem.shmem_rss_bytes;
	push_sample(d, cg, cs, now);
	if (cs->first_proc + (size_t)cs->nr_procs <= snap->nr_procs) {
		err = track_procs(d, cg, snap->procs + cs->first_proc, cs->nr_procs);
		if (err)
			return err;
	}
	if (++cg->since_eval >= d->eval_every) {
		cg->since_eval = 0;
		for (m = 0; m < d->nr_metrics; m++) {
			struct series *s = &cg->series[m];
			bool growing;

			linearize(d, cg, s, s->len);
			growing = evaluate(d, s);
			err = step_lifecycle(d, cg, m, growing, now);
			if (err)
				return err;
		}
	}
	annotate(d, cg, cs);
	return 0;
}

/* The cgroup left (no process in this pass): its active alerts end. */
static int forget(struct detector *d, struct cg_track *cg)
{
	size_t m;
	int err = 0;

	for (m = 0; m < d->nr_metrics && !err; m++)
		if (cg->series[m].active)
			err = raise_alert(d, cg, m, LEAK_ALERT_CLEARED);
	return err;
}

int detector__update(struct detector *d, struct snapshot *snap, const struct leak_alert **alerts,
		     size_t *nr_alerts)
{
	double now = snap->mono_ns / 1e9;
	size_t i, j = 0, k = 0, gone = 0;
	struct cg_track **swap;
	int err = 0;

	*alerts = NULL;
	*nr_alerts = 0;
	for (i = 1; i < snap->nr_cgroups; i++)
		if (snap->cgroups[i].id <= snap->cgroups[i - 1].id)
			return -EINVAL; /* the merge below needs the documented order */
	/* the last call's alerts are done with: so are the paths of the cgroups that left */
	for (i = 0; i < d->nr_gone; i++)
		cg_track__free(d->gone[i]);
	d->nr_gone = 0;
	d->nr_alerts = 0;
	if (ARRAY_GROW(d->next, d->next_cap, snap->nr_cgroups))
		return -ENOMEM;

	for (i = 0; i < snap->nr_cgroups && !err; i++) {
		struct cgroup_stat *cs = &snap->cgroups[i];
		struct cg_track *cg;

		/* gone ones are compacted at the front (gone <= j): freed next call */
		while (j < d->nr_cgs && d->cgs[j]->id < cs->id)
			d->cgs[gone++] = d->cgs[j++];
		if (j < d->nr_cgs && d->cgs[j]->id == cs->id) {
			cg = d->cgs[j++];
		} else {
			cg = cg_track__new(d, cs->id);
			if (!cg) {
				err = -ENOMEM;
				break;
			}
		}
		d->next[k++] = cg;
		err = feed(d, cg, cs, snap, now);
	}
	/* on an error, the cgroups not reached are forgotten too: they start over */
	while (j < d->nr_cgs)
		d->cgs[gone++] = d->cgs[j++];
	if (ARRAY_GROW(d->gone, d->gone_cap, gone)) {
		for (i = 0; i < gone; i++)
			cg_track__free(d->cgs[i]);
		err = -ENOMEM;
	} else {
		for (i = 0; i < gone; i++) {
			int ferr = forget(d, d->cgs[i]);

			if (!err)
				err = ferr;
			d->gone[d->nr_gone++] = d->cgs[i];
		}
	}
	swap = d->cgs;
	d->cgs = d->next;
	d->nr_cgs = k;
	d->next = swap;
	i = d->cgs_cap;
	d->cgs_cap = d->next_cap;
	d->next_cap = i;

	*alerts = d->alerts;
	*nr_alerts = d->nr_alerts;
	return err;
}
