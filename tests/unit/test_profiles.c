// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The profile writers of `memobs leaks`: the frame parser they share, folded
 * stacks (exact lines, root first), the SVG flame graph (frames, titles,
 * escaping of hostile names) and the pprof profile, decoded with protobuf-c's
 * own unpack into its sample types, values, locations and labels. The
 * --pprof/--folded/--svg options too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <proto/profile.pb-c.h>
#include "cli/leaks_opts.h"
#include "output/flamegraph.h"
#include "output/folded.h"
#include "output/pprof.h"
#include "output/profile_dir.h"
#include <dirent.h>
#include <errno.h>
#include <unistd.h>
#include <sys/stat.h>

static const char *const stack_a[] = {
	"leak_here+0x38 (leak_here) leak_here.c:54",
	"main+0x27e (leak_here) leak_here.c:153",
	"0x7fb041e0624a (libc.so.6)",
};
/* the same functions at other offsets: one folded line with stack_a */
static const char *const stack_b[] = {
	"leak_here+0x12b (leak_here) leak_here.c:39",
	"main+0x27e (leak_here) leak_here.c:153",
	"0x7fb041e0624a (libc.so.6)",
};
static const char *const stack_c[] = {
	"malloc+0x10 (libc.so.6)",
	"evil;<b>&\"'\x1b[31m+0x1 (lib (x).so) a b.c:7",
	"main+0x300 (leak_here) leak_here.c:160",
	"0x7fb041e0624a (libc.so.6)",
};
static const char *const stack_zero[] = { "churn+0x1 (leak_here)" };

static struct alloc_site est[] = {
	{ .est_bytes = 1000.4, .est_allocs = 10.2, .pid = 42, .cgroup_id = 7 },
	{ .est_bytes = 24.5, .est_allocs = 1, .pid = 42, .cgroup_id = 7 },
	{ .est_bytes = 300, .est_allocs = 3.6, .pid = 43, .cgroup_id = 8 },
	{ .est_bytes = 0.2, .est_allocs = 0.001, .pid = 42, .cgroup_id = 7 },
};

#define SITE(i, stack)                                                         \
	{                                                                      \
		.est = &est[i], .frames = stack, .nr_frames = ARRAY_LEN(stack) \
	}
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const struct site_record sites[] = {
	SITE(0, stack_a),
	SITE(1, stack_b),
	SITE(2, stack_c),
	SITE(3, stack_zero),
};
#define NR_SITES ARRAY_LEN(sites)

static void test_frame_parse(void **state)
{
	struct frame_parts p;

	(void)state;
	frame__parse("leak_here+0x38 (leak_here) leak_here.c:54", &p);
	assert_string_equal(p.func, "leak_here");
	assert_string_equal(p.module, "leak_here");
	assert_string_equal(p.file, "leak_here.c");
	assert_int_equal(p.line, 54);
	assert_int_equal(p.offset, 0x38);
	assert_int_equal(p.addr, 0);

	frame__parse("0x7fb041e0624a (libc.so.6)", &p);
	assert_string_equal(p.func, "[libc.so.6]");
	assert_string_equal(p.module, "libc.so.6");
	assert_string_equal(p.file, "");
	assert_int_equal(p.line, 0);
	assert_int_equal(p.addr, 0x7fb041e0624aULL);

	/* the symbolizer's form of an address in a file with no symbol there */
	frame__parse("libc.so.6+0x2724a (libc.so.6)", &p);
	assert_string_equal(p.func, "[libc.so.6]");
	assert_string_equal(p.module, "libc.so.6");

	frame__parse("operator new(unsigned long)+0x1c (libstdc++.so.6)", &p);
	assert_string_equal(p.func, "operator new(unsigned long)");
	assert_string_equal(p.module, "libstdc++.so.6");

	/* a hostile name: control bytes sanitized, the rest kept for the writers to escape */
	frame__parse(stack_c[1], &p);
	assert_string_equal(p.func, "evil;<b>&\"'?[31m");
	assert_string_equal(p.module, "lib (x).so");
	assert_string_equal(p.file, "a b.c");
	assert_int_equal(p.line, 7);

	/* a Python frame: the function, the code object's file whole, its line; no module */
	frame__parse("Store.put.<locals>.add (/srv/app (v2)/cache.py:12)", &p);
	assert_string_equal(p.func, "Store.put.<locals>.add");
	assert_string_equal(p.file, "/srv/app (v2)/cache.py");
	assert_int_equal(p.line, 12);
	assert_string_equal(p.module, "");
	assert_int_equal(p.offset, 0);
	frame__parse("f (a.py:99999999999)", &p);
	assert_string_equal(p.func, "f");
	assert_int_equal(p.line, 0);

	frame__parse(NULL, &p);
	assert_string_equal(p.func, "?");
	frame__parse("", &p);
	assert_string_equal(p.func, "?");
	frame__parse("0x10", &p);
	assert_string_equal(p.func, "[unknown]");
	assert_int_equal(p.addr, 0x10);
	frame__parse("no module at all", &p);
	assert_string_equal(p.func, "no module at all");
	assert_string_equal(p.module, "");
	frame__parse("f+0xzz (m) x.c:notanumber", &p);
	assert_string_equal(p.func, "f+0xzz (m) x.c:notanumber");
}

static char *capture(int (*write)(FILE *, const struct site_record *, size_t))
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	assert_non_null(f);
	assert_int_equal(write(f, sites, NR_SITES), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_folded_lines(void **state)
{
	char *out = capture(folded__write);
	unsigned long long sum = 0, n;
	const char *line;

	(void)state;
	/* root first; a and b merged (1000 + 25); the 0-byte site left out; sorted */
	assert_string_equal(out, "[libc.so.6];main;evil:<b>&\"'?[31m;malloc 300\n"
				 "[libc.so.6];main;leak_here 1025\n");
	for (line = out; *line; line = strchr(line, '\n') + 1) {
		char *copy = strndup(line, strchr(line, '\n') - line);

		assert_int_equal(sscanf(strrchr(copy, ' '), " %llu", &n), 1);
		sum += n;
		free(copy);
	}
	assert_int_equal(sum,
			 site__bytes(&sites[0]) + site__bytes(&sites[1]) + site__bytes(&sites[2]));
	free(out);
}

static int write_svg(FILE *f, const struct site_record *s, size_t nr)
{
	struct flamegraph_opts o = { .title = "t<&>" };

	return flamegraph__write(f, s, nr, &o);
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	for (; (s = strstr(s, needle)); s++)
		n++;
	return n;
}

static void test_flamegraph_svg(void **state)
{
	char *svg = capture(write_svg);
	const char *p;

	(void)state;
	assert_true(!strncmp(svg, "<?xml ", 6));
	assert_non_null(strstr(svg, "</svg>\n"));
	/* frames: all, [libc.so.6], main, leak_here, evil, malloc */
	assert_int_equal(count(svg, "<g>"), 6);
	assert_int_equal(count(svg, "</g>"), 6);
	assert_non_null(strstr(svg, "<title>all 1325 bytes (100.00%)</title>"));
	assert_non_null(strstr(svg, "<title>leak_here (leak_here) 1025 bytes (77.36%)</title>"));
	assert_non_null(strstr(svg, "<title>malloc (libc.so.6) 300 bytes (22.64%)</title>"));
	assert_non_null(strstr(svg, "<title>evil;&lt;b&gt;&amp;&quot;&apos;?[31m (lib (x).so) "
				    "300 bytes (22.64%)</title>"));
	assert_non_null(strstr(svg, ">t&lt;&amp;&gt;</text>"));
	/* every '&' starts an entity; no raw '<' but tags, nor control bytes */
	for (p = svg; (p = strchr(p, '&')); p++)
		assert_true(!strncmp(p, "&amp;", 5) || !strncmp(p, "&lt;", 4) ||
			    !strncmp(p, "&gt;", 4) || !strncmp(p, "&quot;", 6) ||
			    !strncmp(p, "&apos;", 6));
	for (p = svg; (p = strchr(p, '<')); p++)
		assert_true(strchr("?/sgrt", p[1]) != NULL);
	for (p = svg; *p; p++)
		assert_true(*p == '\n' || (unsigned char)*p >= 0x20);
	/* root at the bottom: the root's rect lies below leak_here's */
	assert_true(strstr(svg, "y=\"104.0\"") && strstr(svg, "<title>all"));
	free(svg);
}

static const char *str(const Perftools__Profiles__Profile *p, int64_t i)
{
	assert_true(i >= 0 && (size_t)i < p->n_string_table);
	return p->string_table[i];
}

static const char *label_str(const Perftools__Profiles__Profile *p,
			     const Perftools__Profiles__Sample *s, const char *key, int64_t *num)
{
	size_t i;

	for (i = 0; i < s->n_label; i++)
		if (!strcmp(str(p, s->label[i]->key), key)) {
			if (num)
				*num = s->label[i]->num;
			return s->label[i]->str ? str(p, s->label[i]->str) : "";
		}
	return NULL;
}

static const Perftools__Profiles__Location *location(const Perftools__Profiles__Profile *p,
						     uint64_t id)
{
	size_t i;

	for (i = 0; i < p->n_location; i++)
		if (p->location[i]->id == id)
			return p->location[i];
	fail_msg("no location %llu", (unsigned long long)id);
	return NULL;
}

static const Perftools__Profiles__Function *function(const Perftools__Profiles__Profile *p,
						     uint64_t id)
{
	size_t i;

	for (i = 0; i < p->n_function; i++)
		if (p->function[i]->id == id)
			return p->function[i];
	fail_msg("no function %llu", (unsigned long long)id);
	return NULL;
}

static const Perftools__Profiles__Mapping *mapping(const Perftools__Profiles__Profile *p,
						   uint64_t id)
{
	size_t i;

	for (i = 0; i < p->n_mapping; i++)
		if (p->mapping[i]->id == id)
			return p->mapping[i];
	fail_msg("no mapping %llu", (unsigned long long)id);
	return NULL;
}

static void test_pprof_decodes(void **state)
{
	static const char *const types[][2] = {
		{ "alloc_objects", "count" },
		{ "alloc_space", "bytes" },
		{ "inuse_objects", "count" },
		{ "inuse_space", "bytes" },
	};
	static const int64_t want_values[][4] = {
		{ 10, 1000, 10, 1000 }, { 1, 25, 1, 25 }, { 4, 300, 4, 300 }, { 0, 0, 0, 0 }
	};
	struct pprof_site_labels labels[NR_SITES] = {
		{ .comm = "leak_here", .cgroup = "/a" },
		{ .comm = "leak_here", .cgroup = "/a" },
		{ .comm = NULL, .cgroup = NULL },
		{ .comm = "leak_here", .cgroup = "/a" },
	};
	struct pprof_opts o = {
		.sample_bytes = 524288,
		.time_ns = 1000,
		.duration_ns = 5000000000ULL,
		.labels = labels,
	};
	Perftools__Profiles__Profile *p;
	const Perftools__Profiles__Location *l;
	const Perftools__Profiles__Function *fn;
	uint8_t *buf;
	size_t len, i, k;
	int64_t num;

	(void)state;
	assert_int_equal(pprof__encode(sites, NR_SITES, &o, &buf, &len), 0);
	p = perftools__profiles__profile__unpack(NULL, len, buf);
	assert_non_null(p);
	assert_string_equal(str(p, 0), "");
	assert_int_equal(p->n_sample_type, 4);
	for (k = 0; k < 4; k++) {
		assert_string_equal(str(p, p->sample_type[k]->type), types[k][0]);
		assert_string_equal(str(p, p->sample_type[k]->unit), types[k][1]);
	}
	assert_string_equal(str(p, p->default_sample_type), "inuse_space");
	assert_non_null(p->period_type);
	assert_string_equal(str(p, p->period_type->type), "space");
	assert_string_equal(str(p, p->period_type->unit), "bytes");
	assert_int_equal(p->period, 524288);
	assert_int_equal(p->time_nanos, 1000);
	assert_int_equal(p->duration_nanos, 5000000000LL);

	assert_int_equal(p->n_sample, NR_SITES);
	for (i = 0; i < NR_SITES; i++) {
		assert_int_equal(p->sample[i]->n_value, 4);
		for (k = 0; k < 4; k++)
			assert_int_equal(p->sample[i]->value[k], want_values[i][k]);
		assert_int_equal(p->sample[i]->n_location_id, sites[i].nr_frames);
	}
	/* leaf first, each frame string its own location, with its function and line */
	l = location(p, p->sample[0]->location_id[0]);
	assert_int_equal(l->n_line, 1);
	fn = function(p, l->line[0]->function_id);
	assert_string_equal(str(p, fn->name), "leak_here");
	assert_string_equal(str(p, fn->filename), "leak_here.c");
	assert_int_equal(l->line[0]->line, 54);
	assert_string_equal(str(p, mapping(p, l->mapping_id)->filename), "leak_here");
	assert_true(mapping(p, l->mapping_id)->has_functions);
	assert_true(mapping(p, l->mapping_id)->has_line_numbers);
	assert_string_equal(str(p, mapping(p, l->mapping_id)->build_id), "");
	/* other offset, same function: another location, the same function */
	assert_int_not_equal(p->sample[1]->location_id[0], p->sample[0]->location_id[0]);
	assert_int_equal(location(p, p->sample[1]->location_id[0])->line[0]->function_id,
			 l->line[0]->function_id);
	/* the same frame string: the same location */
	assert_int_equal(p->sample[1]->location_id[1], p->sample[0]->location_id[1]);
	/* no symbol: the address, named by it */
	l = location(p, p->sample[0]->location_id[2]);
	assert_int_equal(l->address, 0x7fb041e0624aULL);
	assert_string_equal(str(p, function(p, l->line[0]->function_id)->name), "[libc.so.6]");
	assert_string_equal(str(p, mapping(p, l->mapping_id)->filename), "libc.so.6");
	/* the hostile name, sanitized */
	l = location(p, p->sample[2]->location_id[1]);
	assert_string_equal(str(p, function(p, l->line[0]->function_id)->name),
			    "evil;<b>&\"'?[31m");
	/* 3 mappings: leak_here, libc.so.6, lib (x).so */
	assert_int_equal(p->n_mapping, 3);

	assert_string_equal(label_str(p, p->sample[0], "comm", NULL), "leak_here");
	assert_string_equal(label_str(p, p->sample[0], "cgroup", NULL), "/a");
	assert_non_null(label_str(p, p->sample[0], "pid", &num));
	assert_int_equal(num, 42);
	assert_non_null(label_str(p, p->sample[2], "cgroup_id", &num));
	assert_int_equal(num, 8);
	assert_null(label_str(p, p->sample[2], "comm", NULL));
	assert_null(label_str(p, p->sample[2], "cgroup", NULL));

	perftools__profiles__profile__free_unpacked(p, NULL);
	free(buf);
}

static void test_pprof_empty(void **state)
{
	struct pprof_opts o = { .sample_bytes = 1 };
	Perftools__Profiles__Profile *p;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(pprof__encode(NULL, 0, &o, &buf, &len), 0);
	p = perftools__profiles__profile__unpack(NULL, len, buf);
	assert_non_null(p);
	assert_int_equal(p->n_sample, 0);
	assert_int_equal(p->n_sample_type, 4);
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(buf);
}

static void test_leaks_profile_opts(void **state)
{
	char *ok[] = { "leaks",	   "--pid", "1",     "--pprof", "a.pb.gz",
		       "--folded", "b.txt", "--svg", "c.svg",	NULL };
	char *empty[] = { "leaks", "--pid", "1", "--svg", "", NULL };
	char *missing[] = { "leaks", "--pid", "1", "--pprof", NULL };
	struct leaks_opts o;
	char err[256];

	(void)state;
	assert_int_equal(leaks_opts__parse(9, ok, &o, err, sizeof(err)), OPTS_OK);
	assert_string_equal(o.pprof_path, "a.pb.gz");
	assert_string_equal(o.folded_path, "b.txt");
	assert_string_equal(o.svg_path, "c.svg");
	assert_int_equal(leaks_opts__parse(5, empty, &o, err, sizeof(err)), OPTS_USAGE_ERROR);
	assert_non_null(strstr(err, "file name"));
	assert_int_equal(leaks_opts__parse(4, missing, &o, err, sizeof(err)), OPTS_USAGE_ERROR);
	assert_non_null(strstr(err, "pprof"));
}

static void test_profile_dir_names(void **state)
{
	char buf[160];

	(void)state;
	/* 2026-12-02T01:02:03.045Z */
	assert_int_equal(profile_dir__name(1796173323045ULL, "/kubepods/pod 1/../x", 7, buf,
					   sizeof(buf)),
			 0);
	assert_string_equal(buf, "2026-12-02T01:02:03.045Z-_kubepods_pod_1_.._x-7.pb.gz");
	assert_int_equal(profile_dir__name(0, "/", 1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z-root-1.pb.gz");
	assert_int_equal(profile_dir__name(0, "abc", 1, buf, 10), -ENAMETOOLONG);
}

static size_t count_files(const char *dir)
{
	struct dirent *e;
	size_t n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_profile_dir_keeps_and_refuses(void **state)
{
	char dir[] = "/tmp/memobs-test-profiles-XXXXXX", link[64], *written = NULL;
	struct profile_dir *d = NULL;
	struct pprof_opts po = { .sample_bytes = 4096 };
	__u64 ts;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(profile_dir__open(&d, dir, 2), 0);
	for (ts = 1; ts <= 4; ts++) {
		assert_int_equal(
			profile_dir__write(d, ts * 1000, "/cg", ts, NULL, 0, &po, &written), 0);
		assert_int_equal(access(written, R_OK), 0);
		free(written);
	}
	assert_int_equal(count_files(dir), 2); /* the two newest */
	profile_dir__close(d);
	/* writable by others: not memobs's to write in */
	chmod(dir, 0777);
	assert_int_equal(profile_dir__open(&d, dir, 2), -EPERM);
	chmod(dir, 0700);
	snprintf(link, sizeof(link), "%s.link", dir);
	assert_int_equal(symlink(dir, link), 0);
	assert_int_equal(profile_dir__open(&d, link, 2), -ELOOP);
	unlink(link);
	assert_int_equal(profile_dir__open(&d, "/nonexistent/memobs", 2), -ENOENT);
	snprintf(link, sizeof(link), "rm -rf '%s'", dir);
	assert_int_equal(system(link), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_parse),
		cmocka_unit_test(test_folded_lines),
		cmocka_unit_test(test_flamegraph_svg),
		cmocka_unit_test(test_pprof_decodes),
		cmocka_unit_test(test_pprof_empty),
		cmocka_unit_test(test_leaks_profile_opts),
		cmocka_unit_test(test_profile_dir_names),
		cmocka_unit_test(test_profile_dir_keeps_and_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
