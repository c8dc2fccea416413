// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The output contract: each record type rendered by output/render.c, its
 * top-level fields checked against the field tables of docs/output.md (run
 * from the repository root, as make test does), and exact lines for the leak
 * record, whose format the detector's tests pinned before.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "identity/container.h"
#include "output/render.h"

#define MAX_FIELDS 64
#define DOC_PATH "docs/output.md"

struct field_set {
	char *names[MAX_FIELDS];
	size_t nr;
};

static void field_set__add(struct field_set *s, const char *name, size_t len)
{
	assert_true(s->nr < MAX_FIELDS);
	s->names[s->nr++] = strndup(name, len);
}

static bool field_set__has(const struct field_set *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nr; i++)
		if (!strcmp(s->names[i], name))
			return true;
	return false;
}

static void field_set__free(struct field_set *s)
{
	while (s->nr)
		free(s->names[--s->nr]);
}

/* The fields of the tables that docs/output.md marks `<!-- fields: which -->`. */
static void doc_fields(const char *which, struct field_set *out)
{
	char marker[64], line[4096];
	FILE *f = fopen(DOC_PATH, "r");
	bool in_table = false, armed = false;

	assert_non_null(f);
	snprintf(marker, sizeof(marker), "<!-- fields: %s -->", which);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "<!--", 4)) {
			armed = strstr(line, marker) != NULL;
			in_table = false;
			continue;
		}
		if (armed && line[0] == '|') {
			in_table = true;
			if (!strncmp(line, "| `", 3)) {
				const char *name = line + 3, *end = strchr(name, '`');

				assert_non_null(end);
				field_set__add(out, name, end - name);
			}
			continue;
		}
		if (in_table) /* the table ended */
			armed = in_table = false;
	}
	fclose(f);
	assert_true(out->nr > 0);
}

/*
 * The keys of a one-line JSON object (the writer's own output: no spaces) at
 * a depth: 1 for the record's own fields, 3 for those of the objects in its
 * arrays (the sites of a leak line).
 */
static void rendered_fields(const char *json, int at_depth, struct field_set *out)
{
	int depth = 0;
	bool in_str = false;
	const char *p, *key_start = NULL;

	for (p = json; *p; p++) {
		if (in_str) {
			if (*p == '\\')
				p++;
			else if (*p == '"') {
				in_str = false;
				if (depth == at_depth && key_start && p[1] == ':')
					field_set__add(out, key_start, p - key_start);
				key_start = NULL;
			}
			continue;
		}
		if (*p == '"') {
			in_str = true;
			key_start = p + 1;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			depth--;
		}
	}
}

static void assert_fields_match_at(const struct record *r, const char *const *sections, int depth)
{
	struct field_set doc = {}, got = {};
	struct json j;
	size_t i;

	for (i = 0; sections[i]; i++)
		doc_fields(sections[i], &doc);
	json_init(&j);
	render__record(&j, r);
	assert_false(j.failed);
	rendered_fields(j.buf, depth, &got);
	for (i = 0; i < got.nr; i++)
		if (!field_set__has(&doc, got.names[i]))
			fail_msg("'%s' renders '%s', which docs/output.md does not list",
				 record_type__str(r->type), got.names[i]);
	for (i = 0; i < doc.nr; i++)
		if (!field_set__has(&got, doc.names[i]))
			fail_msg("docs/output.md lists '%s' for '%s', which is not rendered",
				 doc.names[i], record_type__str(r->type));
	field_set__free(&doc);
	field_set__free(&got);
	json_free(&j);
}

static void assert_fields_match(const struct record *r, const char *const *sections)
{
	assert_fields_match_at(r, sections, 1);
}

static struct container_id container = {
	.id = "0123456789abcdef",
	.runtime = "containerd",
	.pod_uid = "u-1",
	.pod = "web-0",
	.namespace = "prod",
	.name = "web",
};
static struct cgroup_stat cgroup = {
	.id = 42,
	.path = "/kubepods.slice/x",
	.nr_procs = 2,
	.mem.anon_rss_bytes = 1,
	.limit_bytes = 1 << 20,
	.time_to_limit_s = 10,
	.container = &container,
};
static struct alloc_site est = { .pid = 7, .cgroup_id = 42, .est_bytes = 4096.4, .est_allocs = 2 };
static const char *const frames[] = { "leak+0x10 (a.out) a.c:3", "main+0x8 (a.out)" };
static const struct site_record site = {
	.est = &est, .frames = frames, .nr_frames = 2, .caller = frames[0]
};

static void test_sample_fields(void **state)
{
	static const char *const sections[] = { "common", "sample", NULL };
	struct record r;

	(void)state;
	record__init(&r, RECORD_SAMPLE, 1000, &cgroup);
	r.sample.cg = &cgroup;
	r.sample.interval_s = 1;
	r.sample.malloc_traced = true;
	assert_fields_match(&r, sections);
}

static void test_oom_kill_fields(void **state)
{
	static const char *const sections[] = { "common", "oom_kill", NULL };
	struct record r;

	(void)state;
	record__init(&r, RECORD_OOM_KILL, 1000, &cgroup);
	r.oom_kill.pid = 9;
	strcpy(r.oom_kill.comm, "victim");
	assert_fields_match(&r, sections);
}

static void test_leak_fields(void **state)
{
	static const char *const first[] = { "common", "leak", NULL };
	static const char *const escalated[] = { "common", "leak", "leak escalated", NULL };
	struct record r;

	(void)state;
	record__init(&r, RECORD_LEAK, 1000, &cgroup);
	r.leak.metric = "anon_rss";
	assert_fields_match(&r, first);
	r.leak.escalated = true;
	r.leak.sites = &site;
	r.leak.nr_sites = 1;
	assert_fields_match(&r, escalated);
}

/* The fields of each object of a leak line's sites. */
static void test_leak_site_object_fields(void **state)
{
	static const char *const sections[] = { "leak site", NULL };
	struct record r;

	(void)state;
	record__init(&r, RECORD_LEAK, 1000, &cgroup);
	r.leak.metric = "anon_rss";
	r.leak.sites = &site;
	r.leak.nr_sites = 1;
	assert_fields_match_at(&r, sections, 3);
}

static void test_stats_fields(void **state)
{
	static const char *const sections[] = { "common", "stats", NULL };
	struct record r;

	(void)state;
	record__init(&r, RECORD_STATS, 1000, NULL);
	assert_fields_match(&r, sections);
}

static void test_leaks_records_fields(void **state)
{
	static const char *const site_sections[] = { "leak_site", NULL };
	static const char *const mm_sections[] = { "mm_site", NULL };
	static const char *const summary_sections[] = { "leaks_summary", NULL };
	struct record r;

	(void)state;
	record__init(&r, RECORD_LEAK_SITE, 1000, NULL);
	r.leak_site.rank = 1;
	r.leak_site.site = site;
	assert_fields_match(&r, site_sections);
	record__init(&r, RECORD_MM_SITE, 1000, NULL);
	r.mm_site.kind = "mmap_anon";
	assert_fields_match(&r, mm_sections);
	record__init(&r, RECORD_LEAKS_SUMMARY, 1000, NULL);
	assert_fields_match(&r, summary_sections);
}

/* The exact leak fields, as the detector's alert test pinned them before the move. */
static void test_leak_line_exact(void **state)
{
	struct record r;
	struct json j;

	(void)state;
	json_init(&j);
	record__init(&r, RECORD_LEAK, 0, NULL);
	r.leak.state = LEAK_RECORD_SUSPECTED;
	r.leak.metric = "heap";
	r.leak.bytes = 1048576;
	r.leak.growth_bytes_per_s = 40960.25;
	r.leak.window_s = 300;
	r.leak.confidence = 0.99991;
	r.leak.time_to_limit_s = -1;
	r.leak.has_top_process = true;
	r.leak.top_pid = 42;
	strcpy(r.leak.top_comm, "a\"b");
	render__record(&j, &r);
	assert_false(j.failed);
	assert_string_equal(
		j.buf,
		"{\"ts\":\"1970-01-01T00:00:00.000Z\",\"type\":\"leak\",\"cgroup\":null,\"container\":null,"
		"\"state\":\"suspected\",\"metric\":\"heap\",\"bytes\":1048576,"
		"\"growth_bytes_per_s\":40960.2,\"window_s\":300.0,\"confidence\":0.9999,"
		"\"limit_bytes\":null,\"time_to_limit_s\":null,"
		"\"top_process\":{\"pid\":42,\"comm\":\"a\\\"b\"},\"runtime\":null,\"hint\":null,"
		"\"sites\":[]}");
	r.leak.runtime = "jvm";
	strcpy(r.leak.hint, "jcmd 42 \"x\"");
	render__record(&j, &r);
	assert_non_null(
		strstr(j.buf, "},\"runtime\":\"jvm\",\"hint\":\"jcmd 42 \\\"x\\\"\",\"sites\""));
	r.leak.runtime = NULL;
	r.leak.hint[0] = '\0';

	r.leak.state = LEAK_RECORD_CLEARED;
	r.leak.limit_bytes = 2097152;
	r.leak.time_to_limit_s = 25.6;
	r.leak.has_top_process = false;
	r.leak.sites = &site;
	r.leak.nr_sites = 1;
	render__record(&j, &r);
	assert_non_null(strstr(j.buf, "\"state\":\"cleared\""));
	assert_non_null(strstr(j.buf,
			       "\"limit_bytes\":2097152,\"time_to_limit_s\":25.6,"
			       "\"top_process\":null,\"runtime\":null,\"hint\":null,"
			       "\"sites\":[{\"source\":\"malloc\",\"bytes\":4096,\"allocs\":2,"
			       "\"caller\":\"leak+0x10 (a.out) a.c:3\","
			       "\"stack\":[\"leak+0x10 (a.out) a.c:3\",\"main+0x8 (a.out)\"],"
			       "\"build_ids\":{}}]}"));

	/* every frame the allocator's: the caller is null, the stack stays whole */
	struct site_record no_caller = site;

	no_caller.caller = NULL;
	r.leak.sites = &no_caller;
	render__record(&j, &r);
	assert_non_null(strstr(j.buf, "\"allocs\":2,\"caller\":null,\"stack\":[\"leak+0x10"));
	json_free(&j);
}

/* build_ids: each module of the stack once, in the order first met; none without a build-id. */
static void test_site_build_ids(void **state)
{
	static const char *const bframes[] = {
		"leak+0x10 (a.out) a.c:3",	 "0x7f0000001234",
		"cxx::f(int)+0x8 (libx.so)",	 "main+0x8 (a.out)",
		"libc.so.6+0x2724a (libc.so.6)", "g+0x1 (libnone.so)",
	};
	static struct frame_meta meta[] = {
		{ .build_id = "0123abcd", .path = "/opt/a.out", .file_offset = 0x1010 },
		{ 0 },
		{ .build_id = "ff00", .raw_name = "_ZN3cxx1fEi", .path = "/lib/libx.so" },
		{ .build_id = "0123abcd", .path = "/opt/a.out" },
		{ .build_id = "9e8d", .path = "/lib/libc.so.6" },
		{ .path = "/lib/libnone.so" },
	};
	struct site_record s = site;
	struct record r;
	struct json j;

	(void)state;
	s.frames = bframes;
	s.nr_frames = 6;
	s.meta = meta;
	json_init(&j);
	record__init(&r, RECORD_LEAK_SITE, 1000, NULL);
	r.leak_site.rank = 1;
	r.leak_site.site = s;
	render__record(&j, &r);
	assert_false(j.failed);
	assert_non_null(strstr(j.buf, ",\"build_ids\":{\"a.out\":\"0123abcd\",\"libx.so\":\"ff00\","
				      "\"libc.so.6\":\"9e8d\"}"));
	record__init(&r, RECORD_LEAK, 1000, NULL);
	r.leak.metric = "heap";
	r.leak.sites = &s;
	r.leak.nr_sites = 1;
	render__record(&j, &r);
	assert_false(j.failed);
	assert_non_null(strstr(j.buf, "\"build_ids\":{\"a.out\":\"0123abcd\",\"libx.so\":\"ff00\","
				      "\"libc.so.6\":\"9e8d\"}}]"));
	json_free(&j);
}

static void test_common_fields_exact(void **state)
{
	struct record r;
	struct json j;

	(void)state;
	json_init(&j);
	record__init(&r, RECORD_STATS, 1700000000123ULL, &cgroup);
	r.stats.events = 3;
	render__record(&j, &r);
	assert_string_equal(
		j.buf,
		"{\"ts\":\"2023-11-14T22:13:20.123Z\",\"type\":\"stats\","
		"\"cgroup\":{\"id\":42,\"path\":\"/kubepods.slice/x\"},"
		"\"container\":{\"id\":\"0123456789abcdef\",\"runtime\":\"containerd\","
		"\"pod_uid\":\"u-1\",\"pod\":\"web-0\",\"namespace\":\"prod\",\"name\":\"web\"},"
		"\"events\":3,\"ringbuf_drops\":0,\"map_full\":0,\"attach_failures\":0,"
		"\"symbol_cache_evictions\":0,\"symbol_timeouts\":0,\"mm_hook_hits\":0,"
		"\"mm_hook_hits_out_of_scope\":0,\"python_frames\":0,\"python_stacks_truncated\":0,"
		"\"python_layout_unknown\":0}");
	json_free(&j);
}

/* A container's six fields, each a string or null; null when the cgroup is no container. */
static void test_container_json(void **state)
{
	struct container_id c = { .id = "abc", .runtime = "crio", .name = "we\"b" };
	struct cgroup_stat cg = { .id = 1, .path = "/x", .container = &c };
	struct record r;
	struct json j;

	(void)state;
	json_init(&j);
	record__init(&r, RECORD_STATS, 0, &cg);
	render__record(&j, &r);
	assert_non_null(strstr(j.buf, "\"container\":{\"id\":\"abc\",\"runtime\":\"crio\","
				      "\"pod_uid\":null,\"pod\":null,\"namespace\":null,"
				      "\"name\":\"we\\\"b\"},"));
	cg.container = NULL;
	record__init(&r, RECORD_STATS, 0, &cg);
	render__record(&j, &r);
	assert_non_null(strstr(j.buf, "\"container\":null,"));
	json_free(&j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_fields),
		cmocka_unit_test(test_oom_kill_fields),
		cmocka_unit_test(test_leak_fields),
		cmocka_unit_test(test_leak_site_object_fields),
		cmocka_unit_test(test_stats_fields),
		cmocka_unit_test(test_leaks_records_fields),
		cmocka_unit_test(test_leak_line_exact),
		cmocka_unit_test(test_site_build_ids),
		cmocka_unit_test(test_common_fields_exact),
		cmocka_unit_test(test_container_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
