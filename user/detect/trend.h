/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The statistics of the leak detector, pure C on arrays: is this series of
 * (time, bytes) samples growing, how fast, and how sure are we.
 *
 * trend_assess() is the whole decision on one window; the other functions are
 * its parts, exposed for the unit tests and for docs/detector.md to cite:
 *   - Mann-Kendall S, its tie-corrected variance and the Hamed-Rao (1998)
 *     correction of that variance for autocorrelated samples;
 *   - the Theil-Sen slope (median of pairwise slopes);
 *   - block means that down-sample a window to at most max_points;
 *   - the shape of the window: drops (a collector's sawtooth), troughs after
 *     them, restarts (a drop to near zero) and upward steps (a one-time load).
 */
#ifndef MEMOBS_TREND_H
#define MEMOBS_TREND_H

#include <stdbool.h>
#include <stddef.h>

struct trend_params {
	double min_growth_bytes_per_s; /* the slope must be at least this */
	double min_confidence;	       /* 1 - alpha of the one-sided Mann-Kendall test */
	double rel_floor;	       /* growth over the window >= rel_floor x starting level */
	double recent_frac;	       /* the "recent part": this last fraction of the window */
	double persist_frac;	       /* recent slope >= persist_frac x min_growth */
	size_t max_points;	       /* block means down-sample the window to this many */
	double drop_sigmas;	       /* a drop exceeds this many robust sigmas of the steps */
	double drop_range_frac;	       /* ... and this fraction of the window's range */
	double step_range_frac;	       /* an upward step is at least this fraction of the range */
	double restart_frac;	       /* a drop to below this fraction of the level is a restart */
	size_t min_troughs;	       /* a sawtooth needs this many troughs to be judged */
};

/* The documented defaults; min_growth_bytes_per_s is 32 KiB/s. */
void trend_params__default(struct trend_params *p);

enum trend_mode {
	TREND_MODE_RAW = 0,	/* the block means of the samples were tested */
	TREND_MODE_TROUGHS = 1, /* drops found: the troughs after them were tested */
};

/* Why a window is not growing (or TREND_GROWING). */
enum trend_why {
	TREND_GROWING = 0,
	TREND_TOO_SHORT,       /* too few samples to test */
	TREND_RESET,	       /* restart or step: the series restarts at reset_at */
	TREND_NOT_SIGNIFICANT, /* Mann-Kendall confidence below min_confidence */
	TREND_TOO_SLOW,	       /* Theil-Sen slope below min_growth */
	TREND_BELOW_FLOOR,     /* growth over the window below rel_floor of the level */
	TREND_NOT_RECENT,      /* no longer growing in the recent part */
	TREND_FEW_TROUGHS,     /* a sawtooth with too few cycles in the window */
};

struct trend_verdict {
	bool growing;
	enum trend_why why;
	enum trend_mode mode;
	double slope_bytes_per_s; /* Theil-Sen, of the block means or of the troughs */
	double recent_slope_bytes_per_s;
	double confidence; /* one-sided Mann-Kendall, Hamed-Rao corrected in raw mode */
	size_t reset_at;   /* why == TREND_RESET: the index of the first sample to keep */
	size_t nr_points;  /* block means (raw) or troughs tested */
};

/* Scratch memory for windows of up to max_n samples. */
struct trend_scratch;
struct trend_scratch *trend_scratch__new(size_t max_n, size_t max_points);
void trend_scratch__free(struct trend_scratch *s);

/*
 * The decision on one window: t[] (seconds, increasing) and v[] (bytes),
 * oldest first. Returns 0, or -EINVAL when n exceeds the scratch's size.
 */
int trend_assess(const double *t, const double *v, size_t n, const struct trend_params *p,
		 struct trend_scratch *s, struct trend_verdict *out);

/* The parts. */

/* Mann-Kendall S = sum over i<j of sign(v[j] - v[i]). O(n^2). */
double trend_mk_s(const double *v, size_t n);
/* Var(S) under no trend with the tie correction; sorted is n doubles of scratch. */
double trend_mk_var(const double *v, size_t n, double *sorted);
/*
 * Hamed-Rao n/n*: the factor by which autocorrelation inflates Var(S),
 * from the significant autocorrelations of the ranks of v - slope * t.
 * Never below 1. Scratch: 3n doubles.
 */
double trend_hamed_rao_factor(const double *t, const double *v, size_t n, double slope,
			      double *scratch);
/*
 * One-sided confidence that the rise over the window is more than a driftless
 * random walk's diffusion would give: Phi(z), z = rise / sqrt(predicted variance).
 */
double trend_drift_confidence(const double *t, const double *v, size_t n, double slope);
/* One-sided confidence of an upward trend, Phi(z) with continuity correction. */
double trend_mk_confidence(double s, double var_s);
/* Median of pairwise slopes; pairs is n(n-1)/2 doubles of scratch. NAN if n < 2. */
double trend_theil_sen(const double *t, const double *v, size_t n, double *pairs);
/* Least-squares slope: the cheap estimate that gates the full test. */
double trend_ols_slope(const double *t, const double *v, size_t n);
/*
 * Block means aligned on the newest sample: at most max_points blocks of
 * ceil(n / max_points) samples; the oldest n % block samples are left out.
 * Returns the number of blocks.
 */
size_t trend_downsample(const double *t, const double *v, size_t n, size_t max_points, double *bt,
			double *bv);
/* Median, reordering v. NAN if n == 0. */
double trend_median(double *v, size_t n);

/*
 * The minima after each drop: a drop is a run of decreases each larger than
 * drop_bytes; each trough is the minimum between the end of one drop run and
 * the start of the next (or the window's end). What precedes the first drop
 * is left out: it starts mid-cycle. Returns the number of troughs; *nr_drops
 * gets the number of drop runs.
 */
size_t trend_troughs(const double *t, const double *v, size_t n, double drop_bytes, double *tt,
		     double *tv, size_t *nr_drops);

#endif /* MEMOBS_TREND_H */
