// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What a pprof profile carries of the frames' metadata (output/records.h
 * struct frame_meta, issues 11 and 13): each Mapping's build-id and mapped
 * path, each Function's mangled system_name, decoded with protobuf-c's own
 * unpack. Hostile values (a build-id that is not hex or too long, control
 * bytes in a name or path) do not reach the file as they are.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <proto/profile.pb-c.h>
#include "output/pprof.h"

typedef Perftools__Profiles__Profile Profile;

static Profile *encode(const struct site_record *sites, size_t nr)
{
	struct pprof_opts o = { .sample_bytes = 4096 };
	Profile *p;
	size_t len;
	__u8 *buf;

	assert_int_equal(pprof__encode(sites, nr, &o, &buf, &len), 0);
	p = perftools__profiles__profile__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(p);
	return p;
}

static const char *str(const Profile *p, int64_t index)
{
	assert_true(index >= 0 && (size_t)index < p->n_string_table);
	return p->string_table[index];
}

static const Perftools__Profiles__Mapping *mapping_named(const Profile *p, const char *filename,
							 const char *build_id)
{
	size_t i;

	for (i = 0; i < p->n_mapping; i++)
		if (!strcmp(str(p, p->mapping[i]->filename), filename) &&
		    !strcmp(str(p, p->mapping[i]->build_id), build_id))
			return p->mapping[i];
	return NULL;
}

static const Perftools__Profiles__Function *function_named(const Profile *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n_function; i++)
		if (!strcmp(str(p, p->function[i]->name), name))
			return p->function[i];
	return NULL;
}

/* The mapping of a sample's k-th location. */
static const Perftools__Profiles__Mapping *mapping_of(const Profile *p, size_t sample, size_t k)
{
	uint64_t loc = p->sample[sample]->location_id[k], map;

	assert_true(loc >= 1 && loc <= p->n_location);
	map = p->location[loc - 1]->mapping_id;
	assert_true(map >= 1 && map <= p->n_mapping);
	return p->mapping[map - 1];
}

static struct alloc_site est = { .pid = 7, .cgroup_id = 42, .est_bytes = 8192, .est_allocs = 2 };

static void test_mapping_build_id_and_system_name(void **state)
{
	static const char *const frames[] = {
		"cache::Store::insert(std::string const&)+0x82 (app) store.cc:41",
		"main+0x8 (app) main.c:3",
		"libc.so.6+0x2724a (libc.so.6)",
		"0x7f0000001234",
	};
	static struct frame_meta meta[] = {
		{ .build_id = "3f1c0a9b8e7d6c5b4a39281706f5e4d3c2b1a090",
		  .raw_name = "_ZN5cache5Store6insertERKNSt7__cxx1112basic_stringIcSt11char_"
			      "traitsIcESaIcEEE",
		  .path = "/srv/bin/app",
		  .file_offset = 0x1182 },
		{ .build_id = "3f1c0a9b8e7d6c5b4a39281706f5e4d3c2b1a090", .path = "/srv/bin/app" },
		{ .build_id = "0011223344556677", .path = "/usr/lib/x86_64-linux-gnu/libc.so.6" },
		{ 0 },
	};
	struct site_record site = { .est = &est, .frames = frames, .nr_frames = 4, .meta = meta };
	const Perftools__Profiles__Mapping *app, *libc;
	const Perftools__Profiles__Function *fn;
	Profile *p;

	(void)state;
	p = encode(&site, 1);
	app = mapping_named(p, "/srv/bin/app", "3f1c0a9b8e7d6c5b4a39281706f5e4d3c2b1a090");
	libc = mapping_named(p, "/usr/lib/x86_64-linux-gnu/libc.so.6", "0011223344556677");
	assert_non_null(app);
	assert_non_null(libc);
	assert_ptr_equal(mapping_of(p, 0, 0), app);
	assert_ptr_equal(mapping_of(p, 0, 1), app);
	assert_ptr_equal(mapping_of(p, 0, 2), libc);
	/* no file, no build-id: the mapping is named as before, build_id "" */
	assert_int_equal(mapping_of(p, 0, 3)->build_id, 0);

	fn = function_named(p, "cache::Store::insert(std::string const&)");
	assert_non_null(fn);
	assert_string_equal(str(p, fn->system_name), meta[0].raw_name);
	fn = function_named(p, "main");
	assert_non_null(fn);
	assert_int_equal(fn->system_name, fn->name); /* C: the file's own name */
	perftools__profiles__profile__free_unpacked(p, NULL);
}

/* The same module in two builds (two processes): two mappings, two locations. */
static void test_two_builds_two_mappings(void **state)
{
	static const char *const frames[] = { "leak+0x10 (app) a.c:3" };
	static struct frame_meta old_build[] = { { .build_id = "aaaa", .path = "/v1/app" } };
	static struct frame_meta new_build[] = { { .build_id = "bbbb", .path = "/v2/app" } };
	struct site_record sites[2] = {
		{ .est = &est, .frames = frames, .nr_frames = 1, .meta = old_build },
		{ .est = &est, .frames = frames, .nr_frames = 1, .meta = new_build },
	};
	Profile *p;

	(void)state;
	p = encode(sites, 2);
	assert_int_equal(p->n_mapping, 2);
	assert_int_equal(p->n_location, 2);
	assert_ptr_equal(mapping_of(p, 0, 0), mapping_named(p, "/v1/app", "aaaa"));
	assert_ptr_equal(mapping_of(p, 1, 0), mapping_named(p, "/v2/app", "bbbb"));
	perftools__profiles__profile__free_unpacked(p, NULL);
}

/* Without meta the profile is what the frame strings alone give. */
static void test_no_meta(void **state)
{
	static const char *const frames[] = { "leak+0x10 (app) a.c:3" };
	struct site_record site = { .est = &est, .frames = frames, .nr_frames = 1 };
	Profile *p;

	(void)state;
	p = encode(&site, 1);
	assert_int_equal(p->n_mapping, 1);
	assert_string_equal(str(p, p->mapping[0]->filename), "app");
	assert_int_equal(p->mapping[0]->build_id, 0);
	assert_int_equal(p->function[0]->system_name, p->function[0]->name);
	perftools__profiles__profile__free_unpacked(p, NULL);
}

/* Hostile values: a build-id that is not lowercase hex, or too long, is left out; names sanitized. */
static void test_hostile_meta(void **state)
{
	static const char *const frames[] = { "f+0x1 (a)", "g+0x1 (b)", "h+0x1 (c)" };
	static char long_id[200], long_name[8192];
	static struct frame_meta meta[] = {
		{ .build_id = "DEADbeef", .raw_name = "_Z1f\x1b[31m", .path = "/x/\x1b]0;a" },
		{ .build_id = long_id, .raw_name = long_name },
		{ .build_id = "12\n34" },
	};
	struct site_record site = { .est = &est, .frames = frames, .nr_frames = 3, .meta = meta };
	const Perftools__Profiles__Function *fn;
	Profile *p;
	size_t i;

	(void)state;
	memset(long_id, 'a', sizeof(long_id) - 1);
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[0] = '_';
	long_name[1] = 'Z';
	p = encode(&site, 1);
	for (i = 0; i < p->n_mapping; i++)
		assert_int_equal(p->mapping[i]->build_id, 0);
	assert_non_null(mapping_named(p, "/x/?]0;a", ""));
	fn = function_named(p, "f");
	assert_non_null(fn);
	assert_string_equal(str(p, fn->system_name), "_Z1f?[31m");
	fn = function_named(p, "g");
	assert_non_null(fn);
	assert_true(strlen(str(p, fn->system_name)) < 1024); /* cut as a frame's name is */
	perftools__profiles__profile__free_unpacked(p, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mapping_build_id_and_system_name),
		cmocka_unit_test(test_two_builds_two_mappings),
		cmocka_unit_test(test_no_meta),
		cmocka_unit_test(test_hostile_meta),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
