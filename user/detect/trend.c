// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* ~600 lines: the statistics (Mann-Kendall, Hamed-Rao, Theil-Sen, envelope) are one concern. */
/*
 * Growth detection on one window of samples. docs/detector.md explains the
 * choices; the comments here give the formulas and their sources.
 *
 * Why these tests. A leak is a monotone trend, not a straight line: RSS
 * grows in steps, pauses, has noise. Mann-Kendall asks only whether later
 * samples tend to be larger than earlier ones (rank-based: robust to
 * outliers, no assumption of linearity or of normal noise), and Theil-Sen
 * gives a slope that a few outliers cannot move (breakdown point 29%).
 * Samples taken every second are autocorrelated, which makes plain
 * Mann-Kendall far too confident; two remedies are combined: the window is
 * down-sampled to block means (which also bounds the O(m^2) cost), and the
 * variance of S is inflated by the Hamed-Rao factor.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "detect/trend.h"

/* Consistency constant of the MAD: MAD * 1.4826 estimates sigma of normal data. */
#define MAD_TO_SIGMA 1.4826
/* Two-sided 95% bound of an autocorrelation estimate of white noise: 1.96/sqrt(n). */
#define ACF_Z95 1.96
/* The recent part is tested on at least this many points. */
#define MIN_RECENT_POINTS 5
/* The recent slope must be at least this share of the window's. */
#define RECENT_OF_OVERALL 0.25
/*
 * A trough is the first sample after a drop, which is up to one sampling
 * step's rise above the true minimum: when the cycle is not a multiple of
 * the interval, that error drifts from cycle to cycle (aliasing) and the
 * troughs seem to rise by up to one step over the window. They must rise by
 * more than this many steps.
 */
#define TROUGH_ALIAS_STEPS 1.5
/* The drift test's lag leaves this many increments in the window. */
#define DRIFT_INCREMENTS 12
/* Fewer samples than this cannot be tested at all. */
#define MIN_SAMPLES 8

struct trend_scratch {
	size_t max_n;
	size_t max_points;
	double *work;	 /* max_n: diffs, medians */
	double *tt, *tv; /* max_n: troughs */
	double *bt, *bv; /* max_points: block means */
	double *pairs;	 /* max_points * (max_points - 1) / 2 */
	double *hr;	 /* 3 * max_points */
};

void trend_params__default(struct trend_params *p)
{
	p->min_growth_bytes_per_s = 32 * 1024;
	p->min_confidence = 0.99;
	p->rel_floor = 0.01;
	p->recent_frac = 0.25;
	p->persist_frac = 0.5;
	p->max_points = 48;
	p->drop_sigmas = 6;
	p->drop_range_frac = 0.2;
	p->step_range_frac = 0.5;
	p->restart_frac = 0.2;
	p->min_troughs = 5;
}

struct trend_scratch *trend_scratch__new(size_t max_n, size_t max_points)
{
	struct trend_scratch *s = calloc(1, sizeof(*s));
	size_t nr_pairs;

	if (!s)
		return NULL;
	if (max_points < 2)
		max_points = 2;
	nr_pairs = max_points * (max_points - 1) / 2;
	s->max_n = max_n;
	s->max_points = max_points;
	s->work = malloc((max_n + 1) * sizeof(double));
	s->tt = malloc((max_n + 1) * sizeof(double));
	s->tv = malloc((max_n + 1) * sizeof(double));
	s->bt = malloc(max_points * sizeof(double));
	s->bv = malloc(max_points * sizeof(double));
	s->pairs = malloc(nr_pairs * sizeof(double));
	s->hr = malloc(3 * max_points * sizeof(double));
	if (!s->work || !s->tt || !s->tv || !s->bt || !s->bv || !s->pairs || !s->hr) {
		trend_scratch__free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

void trend_scratch__free(struct trend_scratch *s)
{
	if (!s)
		return;
	free(s->work);
	free(s->tt);
	free(s->tv);
	free(s->bt);
	free(s->bv);
	free(s->pairs);
	free(s->hr);
	free(s);
}

/* The k-th smallest (0-based) of a[0..n), by Hoare's quickselect: O(n) expected. */
static double select_kth(double *a, size_t n, size_t k)
{
	ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, want = (ptrdiff_t)k;

	while (lo < hi) {
		double x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi];
		/* median of three keeps sorted and reversed input linear */
		double pivot = x < y ? (y < z ? y : (x < z ? z : x))
				     : (x < z ? x : (y < z ? z : y));
		ptrdiff_t i = lo, j = hi;

		while (i <= j) {
			while (a[i] < pivot)
				i++;
			while (a[j] > pivot)
				j--;
			if (i <= j) {
				double tmp = a[i];

				a[i++] = a[j];
				a[j--] = tmp;
			}
		}
		if (want <= j)
			hi = j;
		else if (want >= i)
			lo = i;
		else
			return a[want];
	}
	return a[want];
}

double trend_median(double *v, size_t n)
{
	double lower, upper;
	size_t i;

	if (!n)
		return NAN;
	if (n % 2)
		return select_kth(v, n, n / 2);
	lower = select_kth(v, n, n / 2 - 1);
	/* after the select, everything above index n/2 - 1 is >= lower */
	upper = v[n / 2];
	for (i = n / 2 + 1; i < n; i++)
		if (v[i] < upper)
			upper = v[i];
	return (lower + upper) / 2;
}

double trend_mk_s(const double *v, size_t n)
{
	long s = 0;
	size_t i, j;

	for (i = 0; i + 1 < n; i++)
		for (j = i + 1; j < n; j++)
			s += (v[j] > v[i]) - (v[j] < v[i]);
	return (double)s;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Var(S) = [n(n-1)(2n+5) - sum over tie groups of t(t-1)(2t+5)] / 18
 * (Kendall 1975). RSS held flat is page-exact, so ties are common.
 */
double trend_mk_var(const double *v, size_t n, double *sorted)
{
	double nn = (double)n, var = nn * (nn - 1) * (2 * nn + 5);
	size_t i = 0, j;

	memcpy(sorted, v, n * sizeof(*v));
	qsort(sorted, n, sizeof(*sorted), cmp_double);
	while (i < n) {
		for (j = i + 1; j < n && sorted[j] == sorted[i]; j++)
			;
		if (j - i > 1) {
			double t = (double)(j - i);

			var -= t * (t - 1) * (2 * t + 5);
		}
		i = j;
	}
	return var / 18;
}

/*
 * Hamed & Rao (1998), "A modified Mann-Kendall trend test for autocorrelated
 * data", J. Hydrology 204: detrend with the Theil-Sen slope, rank the
 * residuals, and keep the lag-k autocorrelations rho_k of the ranks that are
 * significant at 5%. Then
 *   n/n* = 1 + 2 / (n(n-1)(n-2)) * sum_k (n-k)(n-k-1)(n-k-2) rho_k
 * and Var*(S) = Var(S) * n/n*. A random walk's residuals are strongly
 * autocorrelated, so its S, however large, stops being significant; a leak
 * with white noise keeps a factor near 1.
 *
 * One departure from the paper: the sum stops at the first lag whose
 * autocorrelation is not significantly positive (the truncation of
 * Bartlett-window practice). The detrended random walk is a bridge: strongly
 * positive at short lags and significantly negative at long ones, and
 * Hamed-Rao's sum over every significant lag lets the second cancel the
 * first (factors of 3-6 where 15 is right; 4% of driftless walks then pass
 * at 99%). The factor is held at >= 1: negative autocorrelation never makes
 * the test more confident.
 */
double trend_hamed_rao_factor(const double *t, const double *v, size_t n, double slope,
			      double *scratch)
{
	double *resid = scratch, *rank = scratch + n;
	double nn = (double)n, mean_rank = (nn + 1) / 2, c0 = 0, sum = 0, bound, factor;
	size_t i, j, k;

	if (n < 4 || !isfinite(slope))
		return 1;
	for (i = 0; i < n; i++)
		resid[i] = v[i] - slope * t[i];
	/* mid-ranks by counting: O(n^2), like the rest of the test, and no sort */
	for (i = 0; i < n; i++) {
		double below = 0, tied = 0;

		for (j = 0; j < n; j++) {
			below += resid[j] < resid[i];
			tied += resid[j] == resid[i];
		}
		rank[i] = below + (tied + 1) / 2 - mean_rank;
		c0 += rank[i] * rank[i];
	}
	if (c0 <= 0)
		return 1;
	bound = ACF_Z95 / sqrt(nn);
	for (k = 1; k + 2 < n; k++) {
		double ck = 0, rho;

		for (i = 0; i + k < n; i++)
			ck += rank[i] * rank[i + k];
		rho = ck / c0;
		if (rho <= bound)
			break;
		sum += (nn - k) * (nn - k - 1) * (nn - k - 2) * rho;
	}
	factor = 1 + 2 * sum / (nn * (nn - 1) * (nn - 2));
	return factor > 1 ? factor : 1;
}

/* Z = (S - sign(S)) / sqrt(Var S): the continuity correction of the normal approximation. */
double trend_mk_confidence(double s, double var_s)
{
	double z;

	if (var_s <= 0 || s == 0)
		return 0.5;
	z = (s > 0 ? s - 1 : s + 1) / sqrt(var_s);
	return 0.5 * erfc(-z / M_SQRT2);
}

/*
 * Mann-Kendall, even corrected, cannot tell a leak from a random walk that
 * happened to wander up: the walk is not stationary, so no autocorrelation
 * estimate from one window captures it. What does tell them apart is the
 * size of the rise against the walk's own diffusion. If the series were a
 * driftless random walk, increments over a lag of L points would have a
 * variance sigma_L^2 proportional to L, and the rise over the window
 * (n - 1 points) a variance (n - 1) / L * sigma_L^2. So
 *   z = slope * span / sqrt((n - 1) / L * mean((v[i+L] - v[i])^2))
 * is ~N(0,1) for a walk, and large for a trend under stationary noise (whose
 * increments do not grow with L). L = n / 12 keeps white noise from inflating
 * sigma_L while leaving 12 increments: a perfect line scores sqrt(12) = 3.46.
 */
double trend_drift_confidence(const double *t, const double *v, size_t n, double slope)
{
	size_t lag = n / DRIFT_INCREMENTS, i;
	double sq = 0, z, nu;

	if (n < 3 || !isfinite(slope))
		return 0.5;
	if (!lag)
		lag = 1;
	for (i = 0; i + lag < n; i++)
		sq += (v[i + lag] - v[i]) * (v[i + lag] - v[i]);
	sq /= n - lag;
	if (sq <= 0)
		return slope > 0 ? 1 : 0.5;
	nu = (double)(n - 1) / lag;
	z = slope * (t[n - 1] - t[0]) / sqrt(nu * sq);
	/*
	 * sigma_L is itself estimated from about nu increments: z follows
	 * Student's t with nu degrees of freedom, not a normal law (with nu = 11
	 * the 99% point is 2.72, not 2.33). Wallace's (1959) normal equivalent
	 * of t, z (1 - 1/(4 nu)) / sqrt(1 + z^2 / (2 nu)), is within 0.01 of it
	 * for nu >= 5 and needs no incomplete beta function.
	 */
	z = z * (1 - 1 / (4 * nu)) / sqrt(1 + z * z / (2 * nu));
	return 0.5 * erfc(-z / M_SQRT2);
}

/* Sen (1968): the median of the slopes of all pairs; robust where least squares is not. */
double trend_theil_sen(const double *t, const double *v, size_t n, double *pairs)
{
	size_t i, j, nr = 0;

	for (i = 0; i + 1 < n; i++)
		for (j = i + 1; j < n; j++)
			if (t[j] > t[i])
				pairs[nr++] = (v[j] - v[i]) / (t[j] - t[i]);
	return trend_median(pairs, nr);
}

double trend_ols_slope(const double *t, const double *v, size_t n)
{
	double t_mean = 0, v_mean = 0, stt = 0, stv = 0;
	size_t i;

	if (n < 2)
		return 0;
	for (i = 0; i < n; i++) {
		t_mean += t[i];
		v_mean += v[i];
	}
	t_mean /= n;
	v_mean /= n;
	for (i = 0; i < n; i++) {
		stt += (t[i] - t_mean) * (t[i] - t_mean);
		stv += (t[i] - t_mean) * (v[i] - v_mean);
	}
	return stt > 0 ? stv / stt : 0;
}

size_t trend_downsample(const double *t, const double *v, size_t n, size_t max_points, double *bt,
			double *bv)
{
	size_t block, m, skip, i, j;

	if (!n || !max_points)
		return 0;
	block = (n + max_points - 1) / max_points;
	m = n / block;
	skip = n - m * block;
	for (j = 0; j < m; j++) {
		double st = 0, sv = 0;

		for (i = skip + j * block; i < skip + (j + 1) * block; i++) {
			st += t[i];
			sv += v[i];
		}
		bt[j] = st / block;
		bv[j] = sv / block;
	}
	return m;
}

size_t trend_troughs(const double *t, const double *v, size_t n, double drop_bytes, double *tt,
		     double *tv, size_t *nr_drops)
{
	size_t i, nr = 0, drops = 0, min_at = 0;
	bool in_drop = false;

	for (i = 1; i < n; i++) {
		if (v[i] - v[i - 1] < -drop_bytes) {
			if (!in_drop) {
				if (drops) {
					tt[nr] = t[min_at];
					tv[nr++] = v[min_at];
				}
				drops++;
				in_drop = true;
			}
			/* the segment after a drop run starts where the run ends */
			min_at = i;
			continue;
		}
		in_drop = false;
		if (drops && v[i] < v[min_at])
			min_at = i;
	}
	if (drops) {
		tt[nr] = t[min_at];
		tv[nr++] = v[min_at];
	}
	*nr_drops = drops;
	return nr;
}

/* What the window looks like at the scale of one step: robust sigma of the steps, range. */
struct shape {
	double step_median; /* median of the first differences */
	double step_sigma;  /* 1.4826 * MAD of the first differences */
	double vmin, vmax;
};

static void window_shape(const double *v, size_t n, double *work, struct shape *sh)
{
	double med;
	size_t i;

	sh->vmin = sh->vmax = v[0];
	for (i = 1; i < n; i++) {
		if (v[i] < sh->vmin)
			sh->vmin = v[i];
		if (v[i] > sh->vmax)
			sh->vmax = v[i];
		work[i - 1] = v[i] - v[i - 1];
	}
	med = trend_median(work, n - 1);
	sh->step_median = med;
	for (i = 1; i < n; i++)
		work[i - 1] = fabs(v[i] - v[i - 1] - med);
	sh->step_sigma = MAD_TO_SIGMA * trend_median(work, n - 1);
}

/*
 * A restart: the level falls below restart_frac of what it was one or two
 * samples before (the new process starts small). Returns the index of the
 * last such sample, or 0.
 */
static size_t find_restart(const double *v, size_t n, const struct trend_params *p)
{
	size_t i, at = 0;

	for (i = 1; i < n; i++) {
		double before = v[i - 1];

		if (i >= 2 && v[i - 2] > before)
			before = v[i - 2];
		if (before > 0 && v[i] < v[i - 1] && v[i] < p->restart_frac * before)
			at = i;
	}
	return at;
}

/*
 * A one-time load: the largest single rise, if it is most of the window's
 * range, stands far out of the step noise, and the level stays above
 * everything before it for at least the recent part of the window (a spike
 * that comes back down, or one cycle of a square wave, is no step; a step
 * too fresh to tell is left to the robustness of Theil-Sen, which a handful
 * of post-step samples cannot move). Returns its index, or 0.
 */
static size_t find_step(const double *t, const double *v, size_t n, const struct shape *sh,
			const struct trend_params *p)
{
	double rise = 0, before_max, after_min;
	size_t i, at = 0;

	for (i = 1; i < n; i++)
		if (v[i] - v[i - 1] > rise) {
			rise = v[i] - v[i - 1];
			at = i;
		}
	if (!at || rise < p->step_range_frac * (sh->vmax - sh->vmin) ||
	    rise <= p->drop_sigmas * sh->step_sigma)
		return 0;
	if (t[n - 1] - t[at] < p->recent_frac * (t[n - 1] - t[0]))
		return 0;
	before_max = v[0];
	for (i = 1; i < at; i++)
		if (v[i] > before_max)
			before_max = v[i];
	after_min = v[at];
	for (i = at + 1; i < n; i++)
		if (v[i] < after_min)
			after_min = v[i];
	return after_min >= before_max ? at : 0;
}

/* Theil-Sen over the points whose time is at least since, but no fewer than min_points. */
static double recent_slope(const double *t, const double *v, size_t n, double since,
			   size_t min_points, double *pairs)
{
	size_t first = n;

	while (first > 0 && t[first - 1] >= since)
		first--;
	if (n - first < min_points)
		first = n > min_points ? n - min_points : 0;
	return trend_theil_sen(t + first, v + first, n - first, pairs);
}

/* Mann-Kendall + Theil-Sen over points (block means or troughs), into out. */
static void test_points(const double *t, const double *v, size_t m, bool autocorr,
			const struct trend_params *p, struct trend_scratch *s,
			struct trend_verdict *out)
{
	double mk_s = trend_mk_s(v, m), var_s = trend_mk_var(v, m, s->hr);
	double recent_since = t[m - 1] - p->recent_frac * (t[m - 1] - t[0]);
	size_t min_recent = MIN_RECENT_POINTS;

	out->nr_points = m;
	out->slope_bytes_per_s = trend_theil_sen(t, v, m, s->pairs);
	if (autocorr)
		var_s *= trend_hamed_rao_factor(t, v, m, out->slope_bytes_per_s, s->hr);
	out->confidence = trend_mk_confidence(mk_s, var_s);
	if (autocorr)
		out->confidence = fmin(out->confidence,
				       trend_drift_confidence(t, v, m, out->slope_bytes_per_s));
	/* troughs are sparse: the recent part is their newer half */
	if (out->mode == TREND_MODE_TROUGHS) {
		recent_since = t[m / 2];
		min_recent = 3;
	}
	out->recent_slope_bytes_per_s = recent_slope(t, v, m, recent_since, min_recent, s->pairs);
}

/*
 * floor_bytes: the growth over the window must exceed it (the relative
 * floor, and in trough mode what sampling can misplace a trough by).
 */
static enum trend_why judge(const struct trend_verdict *out, double floor_bytes, double span_s,
			    const struct trend_params *p)
{
	double slope = out->slope_bytes_per_s, recent = out->recent_slope_bytes_per_s;

	if (out->confidence < p->min_confidence)
		return TREND_NOT_SIGNIFICANT;
	if (!(slope >= p->min_growth_bytes_per_s))
		return TREND_TOO_SLOW;
	if (slope * span_s < floor_bytes)
		return TREND_BELOW_FLOOR;
	/*
	 * Still growing now: at half the minimum rate, and at a quarter of the
	 * window's own rate, so that a warm-up whose plateau has noise enough
	 * to tilt the recent part is not taken for a leak that slowed down.
	 */
	if (!(recent >= p->persist_frac * p->min_growth_bytes_per_s) ||
	    !(recent >= RECENT_OF_OVERALL * slope))
		return TREND_NOT_RECENT;
	return TREND_GROWING;
}

int trend_assess(const double *t, const double *v, size_t n, const struct trend_params *p,
		 struct trend_scratch *s, struct trend_verdict *out)
{
	size_t restart_at, step_at, nr_troughs, nr_drops, m;
	double drop_bytes, level0, floor_bytes;
	struct shape sh;

	memset(out, 0, sizeof(*out));
	out->confidence = 0.5;
	if (n > s->max_n)
		return -EINVAL;
	if (n < MIN_SAMPLES) {
		out->why = TREND_TOO_SHORT;
		return 0;
	}

	window_shape(v, n, s->work, &sh);
	restart_at = find_restart(v, n, p);
	step_at = find_step(t, v, n, &sh, p);
	if (restart_at || step_at) {
		out->why = TREND_RESET;
		out->reset_at = restart_at > step_at ? restart_at : step_at;
		return 0;
	}
	if (sh.vmax <= sh.vmin) {
		out->why = TREND_NOT_SIGNIFICANT;
		return 0;
	}

	/*
	 * A drop larger than the step noise and a good part of the range is
	 * a release (a collector, a cache trim): the window is a sawtooth, and
	 * only its troughs say whether the floor rises.
	 */
	drop_bytes = fmax(p->drop_sigmas * sh.step_sigma, p->drop_range_frac * (sh.vmax - sh.vmin));
	nr_troughs = trend_troughs(t, v, n, drop_bytes, s->tt, s->tv, &nr_drops);
	if (nr_drops) {
		out->mode = TREND_MODE_TROUGHS;
		if (nr_troughs < p->min_troughs) {
			out->nr_points = nr_troughs;
			out->why = TREND_FEW_TROUGHS;
			return 0;
		}
		level0 = s->tv[0];
		floor_bytes = fmax(p->rel_floor * fmax(level0, 0),
				   TROUGH_ALIAS_STEPS * fmax(sh.step_median, 0));
		if (nr_troughs > s->max_points) {
			m = trend_downsample(s->tt, s->tv, nr_troughs, s->max_points, s->bt, s->bv);
			test_points(s->bt, s->bv, m, false, p, s, out);
		} else {
			test_points(s->tt, s->tv, nr_troughs, false, p, s, out);
		}
	} else {
		out->mode = TREND_MODE_RAW;
		m = trend_downsample(t, v, n, s->max_points, s->bt, s->bv);
		level0 = s->bv[0];
		floor_bytes = p->rel_floor * fmax(level0, 0);
		test_points(s->bt, s->bv, m, true, p, s, out);
	}
	out->why = judge(out, floor_bytes, t[n - 1] - t[0], p);
	out->growing = out->why == TREND_GROWING;
	return 0;
}
