// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The statistics of the leak detector on synthetic series with known labels,
 * and the parts (Mann-Kendall, Theil-Sen, Hamed-Rao, troughs) on small
 * inputs whose answers can be worked out by hand.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "detect/trend.h"

#define KIB 1024.0
#define MIB (1024.0 * 1024.0)
#define GIB (1024.0 * MIB)
#define MAX_N 2000

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double gaussian(void)
{
	double u = ((rng_next() >> 11) + 1) * 0x1.0p-53, v = (rng_next() >> 11) * 0x1.0p-53;

	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static double t[MAX_N], v[MAX_N];
static struct trend_scratch *scratch;
static struct trend_params params;

static int setup(void **state)
{
	(void)state;
	rng_state = 7;
	trend_params__default(&params);
	scratch = trend_scratch__new(MAX_N, params.max_points);
	return scratch ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	trend_scratch__free(scratch);
	return 0;
}

static struct trend_verdict assess(size_t n)
{
	struct trend_verdict out;

	assert_int_equal(trend_assess(t, v, n, &params, scratch, &out), 0);
	return out;
}

static void assert_near(double actual, double expected, double rel)
{
	if (fabs(actual - expected) > rel * fabs(expected))
		fail_msg("%f is not within %.0f%% of %f", actual, rel * 100, expected);
}

/* ---- the parts ---- */

static void test_mk_s_and_variance(void **state)
{
	double up[] = { 1, 2, 3, 4, 5 }, down[] = { 5, 4, 3, 2, 1 }, tied[] = { 1, 1, 2, 2, 3 };
	double sorted[5];

	(void)state;
	assert_true(trend_mk_s(up, 5) == 10);
	assert_true(trend_mk_s(down, 5) == -10);
	/* pairs: (1,1) 0, (2,2) 0, the other 8 pairs rise */
	assert_true(trend_mk_s(tied, 5) == 8);
	/* n(n-1)(2n+5)/18 = 5*4*15/18 */
	assert_near(trend_mk_var(up, 5, sorted), 5 * 4 * 15 / 18.0, 1e-12);
	/* two tie groups of 2: minus 2 * 2*1*9, over 18 */
	assert_near(trend_mk_var(tied, 5, sorted), (300 - 36) / 18.0, 1e-12);
	/* a constant has no variance and no confidence either way */
	assert_near(trend_mk_confidence(0, 0), 0.5, 1e-12);
	/* symmetric: S and -S give complementary confidences */
	assert_near(trend_mk_confidence(10, 16.67) + trend_mk_confidence(-10, 16.67), 1, 1e-9);
	assert_true(trend_mk_confidence(10, 16.67) > 0.98);
}

static void test_theil_sen_ignores_outliers(void **state)
{
	double tt[9], vv[9], pairs[36];
	size_t i;

	(void)state;
	for (i = 0; i < 9; i++) {
		tt[i] = i;
		vv[i] = 100 + 3 * i;
	}
	assert_near(trend_theil_sen(tt, vv, 9, pairs), 3, 1e-12);
	/* two wild samples out of nine leave the median slope where it was */
	vv[2] = 1e9;
	vv[6] = -1e9;
	assert_near(trend_theil_sen(tt, vv, 9, pairs), 3, 1e-12);
	/* least squares is dragged far away by the same two */
	assert_true(fabs(trend_ols_slope(tt, vv, 9) - 3) > 1e6);
}

static void test_median(void **state)
{
	double odd[] = { 5, 1, 4, 2, 3 }, even[] = { 8, 1, 7, 2 };

	(void)state;
	assert_true(trend_median(odd, 5) == 3);
	assert_true(trend_median(even, 4) == 4.5);
	assert_true(isnan(trend_median(odd, 0)));
}

static void test_downsample_aligns_on_newest(void **state)
{
	double bt[4], bv[4];
	size_t i, m;

	(void)state;
	for (i = 0; i < 10; i++) {
		t[i] = i;
		v[i] = 10 * i;
	}
	/* 10 samples, 4 points: blocks of 3, the oldest sample left out */
	m = trend_downsample(t, v, 10, 4, bt, bv);
	assert_int_equal(m, 3);
	assert_true(bt[0] == 2 && bv[0] == 20);
	assert_true(bt[2] == 8 && bv[2] == 80);
}

static void test_troughs(void **state)
{
	double tt[16], tv[16];
	size_t nr_drops, nr;
	/* rise, drop in two samples, rise, drop, rise */
	double w[] = { 10, 20, 30, 40, 25, 12, 20, 30, 40, 11, 20, 30 };

	(void)state;
	memcpy(v, w, sizeof(w));
	for (size_t i = 0; i < 12; i++)
		t[i] = i;
	nr = trend_troughs(t, v, 12, 5, tt, tv, &nr_drops);
	assert_int_equal(nr_drops, 2);
	/* the samples before the first drop are mid-cycle: no trough there */
	assert_int_equal(nr, 2);
	assert_true(tv[0] == 12 && tt[0] == 5);
	assert_true(tv[1] == 11 && tt[1] == 9);
}

/* Hamed-Rao: about 1 for white noise around a trend, large for a random walk. */
static void test_hamed_rao_factor(void **state)
{
	double bt[60], bv[60], walk = 0, hr[180], pairs[1770];
	size_t i;

	(void)state;
	for (i = 0; i < 60; i++) {
		bt[i] = i;
		bv[i] = 1000 * i + 100 * gaussian();
	}
	assert_true(trend_hamed_rao_factor(bt, bv, 60, trend_theil_sen(bt, bv, 60, pairs), hr) <
		    1.5);
	for (i = 0; i < 60; i++) {
		walk += 1000 * gaussian();
		bv[i] = walk;
	}
	assert_true(trend_hamed_rao_factor(bt, bv, 60, trend_theil_sen(bt, bv, 60, pairs), hr) > 3);
}

/* ---- labelled series: window 300 s at 1 s unless said otherwise ---- */

static void fill_times(size_t n, double interval)
{
	for (size_t i = 0; i < n; i++)
		t[i] = 5000 + i * interval;
}

static void test_linear_leak_with_noise(void **state)
{
	struct trend_verdict out;

	(void)state;
	fill_times(300, 1);
	for (size_t i = 0; i < 300; i++)
		v[i] = 200 * MIB + 256 * KIB * i + 2 * MIB * gaussian();
	out = assess(300);
	assert_true(out.growing);
	assert_int_equal(out.mode, TREND_MODE_RAW);
	assert_near(out.slope_bytes_per_s, 256 * KIB, 0.1);
	assert_true(out.confidence >= 0.99);
}

/*
 * 1 KiB/s over 1 GiB: below the default min_growth (32 KiB/s), so this one
 * is about the statistics with min_growth lowered to 512 B/s. In a 300 s
 * window it adds 0.03% of the level, under the 1% relative floor: not yet.
 * In a 4 h window sampled every 60 s it adds 1.4%: flagged, slope right.
 */
static void test_slow_leak_needs_a_long_window(void **state)
{
	struct trend_verdict out;

	(void)state;
	params.min_growth_bytes_per_s = 512;
	fill_times(300, 1);
	for (size_t i = 0; i < 300; i++)
		v[i] = 1 * GIB + 1 * KIB * i + 16 * KIB * gaussian();
	out = assess(300);
	assert_false(out.growing);
	assert_int_equal(out.why, TREND_BELOW_FLOOR);

	fill_times(240, 60);
	for (size_t i = 0; i < 240; i++)
		v[i] = 1 * GIB + 1 * KIB * 60 * i + 256 * KIB * gaussian();
	out = assess(240);
	assert_true(out.growing);
	assert_near(out.slope_bytes_per_s, 1 * KIB, 0.1);
	trend_params__default(&params);
}

static void sawtooth(size_t n, double period, double amplitude, double trough_slope)
{
	fill_times(n, 1);
	for (size_t i = 0; i < n; i++) {
		double cycles = floor(i / period), phase = i / period - cycles;

		v[i] = 300 * MIB + amplitude * phase + trough_slope * cycles * period +
		       64 * KIB * gaussian();
	}
}

static void test_sawtooth_flat_troughs_is_no_leak(void **state)
{
	struct trend_verdict out;

	(void)state;
	/* 400 MiB sawtooth every 20 s: the raw series has huge local slopes */
	sawtooth(300, 20, 400 * MIB, 0);
	out = assess(300);
	assert_false(out.growing);
	assert_int_equal(out.mode, TREND_MODE_TROUGHS);
	assert_true(out.nr_points >= 10);
	/* ending in the middle of a rise is no different */
	out = assess(290);
	assert_false(out.growing);
}

static void test_sawtooth_rising_troughs_is_a_leak(void **state)
{
	struct trend_verdict out;

	(void)state;
	sawtooth(300, 20, 200 * MIB, 128 * KIB);
	out = assess(300);
	assert_true(out.growing);
	assert_int_equal(out.mode, TREND_MODE_TROUGHS);
	assert_near(out.slope_bytes_per_s, 128 * KIB, 0.1);
}

/* 120 s of warm-up then flat: a leak while the plateau is shorter than the recent part, then not. */
static void test_warmup_then_plateau(void **state)
{
	struct trend_verdict out;
	size_t i, end;

	(void)state;
	fill_times(600, 1);
	for (i = 0; i < 600; i++)
		v[i] = 50 * MIB + 2 * MIB * fmin(i, 120) + 1 * MIB * gaussian();
	/* windows ending 10 s into the plateau: still looks like growth */
	out = assess(130);
	assert_true(out.growing);
	/* every 300 s window whose plateau outlasts the recent part (75 s) */
	for (end = 120 + 80; end <= 600; end += 10) {
		size_t start = end > 300 ? end - 300 : 0;

		assert_int_equal(
			trend_assess(t + start, v + start, end - start, &params, scratch, &out), 0);
		if (out.growing)
			fail_msg("window ending at %zu s flagged as growing", end);
	}
}

static void test_single_step_is_no_leak(void **state)
{
	struct trend_verdict out;
	size_t i;

	(void)state;
	fill_times(300, 1);
	for (i = 0; i < 300; i++)
		v[i] = 300 * MIB + (i >= 150 ? 500 * MIB : 0) + 1 * MIB * gaussian();
	out = assess(300);
	assert_false(out.growing);
	assert_int_equal(out.why, TREND_RESET);
	assert_int_equal(out.reset_at, 150);
	/* after the reset, what is left is flat */
	out = assess(300);
	assert_int_equal(trend_assess(t + 150, v + 150, 150, &params, scratch, &out), 0);
	assert_false(out.growing);
}

/* Driftless random walks of a scale that can reach min_growth: at most 1% called leaks. */
static void test_random_walk_is_no_leak(void **state)
{
	size_t k, i, flagged = 0, steep = 0;
	struct trend_verdict out;

	(void)state;
	fill_times(300, 1);
	for (k = 0; k < 300; k++) {
		double level = 500 * MIB;

		for (i = 0; i < 300; i++) {
			level += 512 * KIB * gaussian();
			v[i] = level;
		}
		out = assess(300);
		flagged += out.growing;
		steep += out.slope_bytes_per_s >= params.min_growth_bytes_per_s;
	}
	printf("  random walks: %zu of 300 flagged; %zu had a slope >= min_growth\n", flagged,
	       steep);
	/* the walks do climb fast enough: the test has work to do */
	assert_true(steep >= 30);
	assert_true(flagged <= 3);
}

static void test_constant_is_no_leak(void **state)
{
	struct trend_verdict out;

	(void)state;
	fill_times(300, 1);
	for (size_t i = 0; i < 300; i++)
		v[i] = 123 * MIB;
	out = assess(300);
	assert_false(out.growing);
	assert_true(out.slope_bytes_per_s == 0);
	for (size_t i = 0; i < 300; i++)
		v[i] = 123 * MIB + 4 * MIB * gaussian();
	out = assess(300);
	assert_false(out.growing);
}

/* A restart: drop to (near) zero, regrow to the usual level, stay. */
static void test_restart_is_no_leak(void **state)
{
	struct trend_verdict out;
	size_t i, end;

	(void)state;
	fill_times(600, 1);
	for (i = 0; i < 600; i++) {
		if (i < 200)
			v[i] = 400 * MIB + 2 * MIB * gaussian();
		else if (i < 230)
			v[i] = 2 * MIB + (400 * MIB) * (i - 200) / 30.0;
		else
			v[i] = 400 * MIB + 2 * MIB * gaussian();
	}
	out = assess(300);
	assert_int_equal(out.why, TREND_RESET);
	assert_int_equal(out.reset_at, 200);
	/* what follows the restart, once its plateau outlasts the recent part */
	for (end = 230 + 80; end <= 600; end += 10) {
		assert_int_equal(trend_assess(t + 200, v + 200, end - 200 > 300 ? 300 : end - 200,
					      &params, scratch, &out),
				 0);
		assert_false(out.growing);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mk_s_and_variance),
		cmocka_unit_test(test_theil_sen_ignores_outliers),
		cmocka_unit_test(test_median),
		cmocka_unit_test(test_downsample_aligns_on_newest),
		cmocka_unit_test(test_troughs),
		cmocka_unit_test(test_hamed_rao_factor),
		cmocka_unit_test(test_linear_leak_with_noise),
		cmocka_unit_test(test_slow_leak_needs_a_long_window),
		cmocka_unit_test(test_sawtooth_flat_troughs_is_no_leak),
		cmocka_unit_test(test_sawtooth_rising_troughs_is_a_leak),
		cmocka_unit_test(test_warmup_then_plateau),
		cmocka_unit_test(test_single_step_is_no_leak),
		cmocka_unit_test(test_random_walk_is_no_leak),
		cmocka_unit_test(test_constant_is_no_leak),
		cmocka_unit_test(test_restart_is_no_leak),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
