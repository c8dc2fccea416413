// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * attribute/runtime: the runtime verdict from its evidence, the hints, and
 * the bounded ELF reader on executables built here, hostile ones included
 * (counts and offsets out of the file, tables past their bounds, names that
 * run off their table). SIGALRM fails a test that blocks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "attribute/runtime.h"
#include "util/observed_file.h"

static char dir[PATH_MAX];
static int root_fd = -1;

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/memobs-runtime-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	root_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	alarm(20);
	return root_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	alarm(0);
	close(root_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? -1 : 0;
}

/* ---- the classifier ---- */

static void test_classify(void **state)
{
	struct runtime_evidence ev = {};

	(void)state;
	/* nothing read: no verdict */
	assert_int_equal(runtime__classify(&ev), RUNTIME_UNKNOWN);
	ev.maps_read = true;
	/* maps without the executable is no evidence of native */
	assert_int_equal(runtime__classify(&ev), RUNTIME_UNKNOWN);
	ev.exe_read = true;
	assert_int_equal(runtime__classify(&ev), RUNTIME_NATIVE);
	ev.symbols_skipped = true;
	assert_int_equal(runtime__classify(&ev), RUNTIME_UNKNOWN);
	ev.symbols_skipped = false;

	ev.maps_libpython = true;
	assert_int_equal(runtime__classify(&ev), RUNTIME_PYTHON);
	/* V8's symbols alone: an embedder, not known to be node */
	ev = (struct runtime_evidence){ .maps_read = true, .exe_read = true, .v8_symbols = true };
	assert_int_equal(runtime__classify(&ev), RUNTIME_NATIVE);
	ev.exe_named_node = true;
	assert_int_equal(runtime__classify(&ev), RUNTIME_NODE);
	ev.exe_named_node = false;
	ev.node_symbols = true;
	assert_int_equal(runtime__classify(&ev), RUNTIME_NODE);
	ev = (struct runtime_evidence){ .maps_read = true, .maps_libnode = true };
	assert_int_equal(runtime__classify(&ev), RUNTIME_NODE);
	/* the executable named node without V8 in it is someone's own program */
	ev = (struct runtime_evidence){ .maps_read = true,
					.exe_read = true,
					.exe_named_node = true };
	assert_int_equal(runtime__classify(&ev), RUNTIME_NATIVE);

	/* libjvm.so mapped: a JVM, even an embedding one that maps libpython too */
	ev = (struct runtime_evidence){ .maps_read = true,
					.maps_libjvm = true,
					.maps_libpython = true };
	assert_int_equal(runtime__classify(&ev), RUNTIME_JVM);
	/* a Go executable is Go's heap, whatever it maps */
	ev.go_buildinfo = true;
	assert_int_equal(runtime__classify(&ev), RUNTIME_GO);
	ev = (struct runtime_evidence){ .go_pclntab = true };
	assert_int_equal(runtime__classify(&ev), RUNTIME_GO);
	ev = (struct runtime_evidence){ .go_symbols = true };
	assert_int_equal(runtime__classify(&ev), RUNTIME_GO);
	ev = (struct runtime_evidence){ .maps_read = true,
					.exe_read = true,
					.python_symbols = true };
	assert_int_equal(runtime__classify(&ev), RUNTIME_PYTHON);
}

static void test_kind_names(void **state)
{
	(void)state;
	assert_null(runtime_kind__str(RUNTIME_UNKNOWN));
	assert_string_equal(runtime_kind__str(RUNTIME_NATIVE), "native");
	assert_string_equal(runtime_kind__str(RUNTIME_GO), "go");
	assert_string_equal(runtime_kind__str(RUNTIME_JVM), "jvm");
	assert_string_equal(runtime_kind__str(RUNTIME_NODE), "node");
	assert_string_equal(runtime_kind__str(RUNTIME_PYTHON), "python");
	assert_null(runtime_kind__str((enum runtime_kind)99));
}

static bool mapped_as(const char *path, bool *jvm, bool *node, bool *python)
{
	struct runtime_evidence ev = {};

	runtime__note_mapping(path, &ev);
	*jvm = ev.maps_libjvm;
	*node = ev.maps_libnode;
	*python = ev.maps_libpython;
	return ev.maps_libjvm || ev.maps_libnode || ev.maps_libpython;
}

static void test_mappings(void **state)
{
	bool jvm, node, python;

	(void)state;
	assert_true(mapped_as("/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so", &jvm,
			      &node, &python));
	assert_true(jvm && !node && !python);
	assert_true(mapped_as("/usr/lib/x86_64-linux-gnu/libnode.so.108", &jvm, &node, &python));
	assert_true(node && !jvm);
	assert_true(mapped_as("/opt/node/lib/libnode.so", &jvm, &node, &python));
	assert_true(
		mapped_as("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0", &jvm, &node, &python));
	assert_true(python && !jvm && !node);
	assert_true(mapped_as("/usr/local/lib/libpython3.12d.so", &jvm, &node, &python));
	/* names that only look alike */
	assert_false(mapped_as("/usr/lib/libpython2.7.so.1.0", &jvm, &node, &python));
	assert_false(mapped_as("/tmp/libjvm.so.bak", &jvm, &node, &python));
	assert_false(mapped_as("/tmp/mylibjvm.so", &jvm, &node, &python));
	assert_false(mapped_as("/tmp/libnode.sox", &jvm, &node, &python));
	assert_false(mapped_as("/usr/lib/jvm/bin/java", &jvm, &node, &python));
	assert_false(mapped_as("/usr/lib/libjvm.so/", &jvm, &node, &python));
}

/* ---- the hints ---- */

static void test_hints(void **state)
{
	char hint[RUNTIME_HINT_MAX];
	enum runtime_kind k;

	(void)state;
	runtime__hint(RUNTIME_GO, 7, false, false, hint, sizeof(hint));
	assert_non_null(strstr(hint, "go tool pprof http://HOST:PORT/debug/pprof/heap"));
	assert_non_null(strstr(hint, "runtime/pprof.WriteHeapProfile"));
	runtime__hint(RUNTIME_JVM, 4242, false, false, hint, sizeof(hint));
	assert_non_null(strstr(hint, "jcmd 4242 GC.class_histogram"));
	assert_non_null(strstr(hint, "jcmd 4242 GC.heap_dump "));
	runtime__hint(RUNTIME_NODE, 99, false, false, hint, sizeof(hint));
	assert_non_null(strstr(hint, "--heapsnapshot-signal=SIGUSR2"));
	assert_non_null(strstr(hint, "kill -USR2 99"));
	assert_non_null(strstr(hint, "--inspect"));
	runtime__hint(RUNTIME_PYTHON, 5, false, false, hint, sizeof(hint));
	assert_non_null(strstr(hint, "python3 -X tracemalloc=25"));
	assert_non_null(strstr(hint, "tracemalloc.take_snapshot()"));
	runtime__hint(RUNTIME_NATIVE, 5, false, false, hint, sizeof(hint));
	assert_string_equal(hint, "");
	runtime__hint(RUNTIME_UNKNOWN, 5, false, false, hint, sizeof(hint));
	assert_string_equal(hint, "");

	/* the escalated line: go, jvm, node only when the growth was not malloc's */
	for (k = RUNTIME_GO; k <= RUNTIME_NODE; k++) {
		runtime__hint(k, 5, true, false, hint, sizeof(hint));
		assert_string_equal(hint, "");
		runtime__hint(k, 5, true, true, hint, sizeof(hint));
		assert_true(hint[0]);
	}
	runtime__hint(RUNTIME_PYTHON, 5, true, false, hint, sizeof(hint));
	assert_non_null(strstr(hint, "tracemalloc"));
	runtime__hint(RUNTIME_NATIVE, 5, true, true, hint, sizeof(hint));
	assert_string_equal(hint, "");

	/* the longest pid fits whole: no hint is cut */
	for (k = RUNTIME_NATIVE; k <= RUNTIME_PYTHON; k++) {
		runtime__hint(k, 4294967295u, false, false, hint, sizeof(hint));
		assert_true(strlen(hint) < sizeof(hint) - 1);
	}
	runtime__hint(RUNTIME_JVM, 4294967295u, false, false, hint, sizeof(hint));
	assert_non_null(strstr(hint, "heap-4294967295.hprof"));
	/* a small buffer is cut, terminated */
	runtime__hint(RUNTIME_JVM, 1, false, false, hint, 8);
	assert_int_equal(strlen(hint), 7);
}

/* ---- the ELF reader ---- */

struct sec {
	const char *name;
	__u32 type;
	const void *data;
	size_t size;
	__u32 link; /* a section index */
	__u64 entsize;
};

#define SEC(n, t, d, sz)                                            \
	{                                                           \
		.name = (n), .type = (t), .data = (d), .size = (sz) \
	}
#define SYMS(t, d, sz, l)                                                               \
	{                                                                               \
		.name = ".dynsym", .type = (t), .data = (d), .size = (sz), .link = (l), \
		.entsize = sizeof(Elf64_Sym)                                            \
	}
#define IMG_MAX 65536

/*
 * An ELF64 of this host: the header, each section's bytes, the section
 * names, then the section headers (index 0 NULL, 1 .shstrtab, then secs).
 */
static size_t build_elf(unsigned char *img, const struct sec *secs, size_t n, Elf64_Ehdr **ehp,
			Elf64_Shdr **shp)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	char names[4096];
	size_t off = sizeof(*eh), names_len = 1, i;
	__u64 name_off[16], data_off[16], shstr_off;
	Elf64_Shdr *sh;

	assert_true(n + 2 <= 16);
	memset(img, 0, IMG_MAX);
	names[0] = '\0';
	memcpy(names + names_len, ".shstrtab", 10);
	names_len += 10;
	for (i = 0; i < n; i++) {
		name_off[i] = names_len;
		memcpy(names + names_len, secs[i].name, strlen(secs[i].name) + 1);
		names_len += strlen(secs[i].name) + 1;
		data_off[i] = off;
		memcpy(img + off, secs[i].data, secs[i].size);
		off += (secs[i].size + 7) & ~(size_t)7;
	}
	shstr_off = off;
	memcpy(img + off, names, names_len);
	off = (off + names_len + 7) & ~(size_t)7;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB; /* the unit tier runs on little-endian hosts */
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_ehsize = sizeof(*eh);
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = (__u16)(n + 2);
	eh->e_shstrndx = 1;
	eh->e_shoff = off;
	sh = (Elf64_Shdr *)(img + off);
	sh[1] = (Elf64_Shdr){
		.sh_name = 1, .sh_type = SHT_STRTAB, .sh_offset = shstr_off, .sh_size = names_len
	};
	for (i = 0; i < n; i++)
		sh[i + 2] = (Elf64_Shdr){ .sh_name = (__u32)name_off[i],
					  .sh_type = secs[i].type,
					  .sh_offset = data_off[i],
					  .sh_size = secs[i].size,
					  .sh_link = secs[i].link,
					  .sh_entsize = secs[i].entsize };
	off += (n + 2) * sizeof(Elf64_Shdr);
	assert_true(off <= IMG_MAX);
	if (ehp)
		*ehp = eh;
	if (shp)
		*shp = sh;
	return off;
}

static void put(const char *name, const void *data, size_t len)
{
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* The reader's verdict on an image, through the observed-file API as memobs opens it. */
static int read_image(const unsigned char *img, size_t len, struct runtime_evidence *ev)
{
	struct observed_file f;
	int err;

	put("exe", img, len);
	memset(ev, 0, sizeof(*ev));
	err = observed_file__openat(root_fd, "exe", false, 0, 0, &f);
	assert_int_equal(err, 0);
	err = runtime__read_elf(&f, ev);
	observed_file__close(&f);
	return err;
}

static unsigned char img[IMG_MAX];

static void test_elf_go_sections(void **state)
{
	static const char buildinfo[] = "\xff Go buildinf:\x08\x02 go1.19.8";
	static const char not_buildinfo[] = "\xff Go buildinfo?xxxxxxxx";
	static const unsigned char pcln[] = { 0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8 };
	static const unsigned char pcln_bad[] = { 0xf7, 0xff, 0xff, 0xff, 0, 0, 1, 8 };
	struct runtime_evidence ev;
	struct sec s[2] = {
		SEC(".go.buildinfo", SHT_PROGBITS, buildinfo, sizeof(buildinfo)),
	};
	size_t len;

	(void)state;
	len = build_elf(img, s, 1, NULL, NULL);
	assert_int_equal(read_image(img, len, &ev), 0);
	assert_true(ev.exe_read && ev.go_buildinfo && !ev.go_pclntab);
	/* the name without the magic is no Go binary */
	s[0].data = not_buildinfo;
	s[0].size = sizeof(not_buildinfo);
	len = build_elf(img, s, 1, NULL, NULL);
	assert_int_equal(read_image(img, len, &ev), 0);
	assert_true(ev.exe_read && !ev.go_buildinfo);
	ev.maps_read = true;
	assert_int_equal(runtime__classify(&ev), RUNTIME_NATIVE);

	s[0] = (struct sec)SEC(".gopclntab", SHT_PROGBITS, pcln, sizeof(pcln));
	len = build_elf(img, s, 1, NULL, NULL);
	assert_int_equal(read_image(img, len, &ev), 0);
	assert_true(ev.go_pclntab && !ev.go_buildinfo);
	s[0].data = pcln_bad;
	len = build_elf(img, s, 1, NULL, NULL);
	assert_int_equal(read_image(img, len, &ev), 0);
	assert_false(ev.go_pclntab);
	/* a section too short for its magic, or NOBITS: not read */
	s[0] = (struct sec)SEC(".go.buildinfo", SHT_PROGBITS, buildinfo, 4);
	len = build_elf(img, s, 1, NULL, NULL);
	assert_int_equal(read_image(img, len, &ev), 0);
	assert_false(ev.go_buildinfo);
	s[0] = (struct sec)SEC(".go.buildinfo", SHT_NOBITS, buildinfo, sizeof(buildinfo));
	len = build_elf(img, s, 1, NULL, NULL);
	assert_int_equal(read_image(img, len, &ev), 0);
	assert_false(ev.go_buildinfo);
}

/* A symbol table of one named symbol and its names, for build_elf (sections 2 and 3). */
static void symbols(const char *name, __u16 shndx, Elf64_Sym syms[2], char *strtab,
		    size_t *strlen_out)
{
	memset(syms, 0, 2 * sizeof(*syms));
	strtab[0] = '\0';
	strcpy(strtab + 1, name);
	*strlen_out = strlen(name) + 2;
	syms[1].st_name = 1;
	syms[1].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
	syms[1].st_shndx = shndx;
}

static void test_elf_symbols(void **state)
{
	static const struct {
		const char *name;
		size_t evidence; /* offsetof the flag it sets */
	} cases[] = {
		{ "Py_Initialize", offsetof(struct runtime_evidence, python_symbols) },
		{ "_PyEval_EvalFrameDefault", offsetof(struct runtime_evidence, python_symbols) },
		{ "runtime.mallocgc", offsetof(struct runtime_evidence, go_symbols) },
		{ "runtime.main", offsetof(struct runtime_evidence, go_symbols) },
		{ "_ZN2v82V810InitializeEv", offsetof(struct runtime_evidence, v8_symbols) },
		{ "_ZN4node5StartEiPPc", offsetof(struct runtime_evidence, node_symbols) },
	};
	struct runtime_evidence ev;
	Elf64_Sym syms[2];
	char strtab[128];
	size_t n, len, i;
	__u32 types[] = { SHT_DYNSYM, SHT_SYMTAB };
	size_t t;

	(void)state;
	for (t = 0; t < 2; t++) {
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct sec s[2] = {
				SYMS(types[t], syms, sizeof(syms), 3),
				SEC(".dynstr", SHT_STRTAB, strtab, 0),
			};

			symbols(cases[i].name, 5, syms, strtab, &n);
			s[1].size = n;
			len = build_elf(img, s, 2, NULL, NULL);
			assert_int_equal(read_image(img, len, &ev), 0);
			assert_true(*((bool *)&ev + cases[i].evidence));
			assert_false(ev.symbols_skipped);
			/* the same name undefined (imported) is no evidence */
			symbols(cases[i].name, SHN_UNDEF, syms, strtab, &n);
			len = build_elf(img, s, 2, NULL, NULL);
			assert_int_equal(read_image(img, len, &ev), 0);
			assert_false(*((bool *)&ev + cases[i].evidence));
		}
	}
	/* a longer name that starts like one is not it */
	{
		struct sec s[2] = {
			SYMS(SHT_DYNSYM, syms, sizeof(syms), 3),
			SEC(".dynstr", SHT_STRTAB, strtab, 0),
		};

		symbols("Py_InitializeEx", 5, syms, strtab, &n);
		s[1].size = n;
		len = build_elf(img, s, 2, NULL, NULL);
		assert_int_equal(read_image(img, len, &ev), 0);
		assert_false(ev.python_symbols);
		ev.maps_read = true;
		assert_int_equal(runtime__classify(&ev), RUNTIME_NATIVE);
	}
}

static void test_elf_hostile(void **state)
{
	struct runtime_evidence ev;
	Elf64_Ehdr *eh;
	Elf64_Shdr *sh;
	Elf64_Sym syms[2];
	char strtab[64];
	size_t n, len;
	struct sec s[2] = {
		SYMS(SHT_DYNSYM, syms, sizeof(syms), 3),
		SEC(".dynstr", SHT_STRTAB, strtab, 0),
	};

	(void)state;
	symbols("Py_Initialize", 5, syms, strtab, &n);
	s[1].size = n;

	/* not ELF, too short, another class */
	assert_int_equal(read_image((const unsigned char *)"#!/bin/sh\n", 10, &ev), -ENOEXEC);
	assert_false(ev.exe_read);
	len = build_elf(img, s, 2, &eh, &sh);
	assert_int_equal(read_image(img, 40, &ev), -ENOEXEC);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	assert_int_equal(read_image(img, len, &ev), -ENOEXEC);

	/* section headers past the end of the file, or more of them than the bound */
	len = build_elf(img, s, 2, &eh, &sh);
	eh->e_shoff = len;
	assert_int_equal(read_image(img, len, &ev), -ENOEXEC);
	len = build_elf(img, s, 2, &eh, &sh);
	eh->e_shoff = ~0ULL - 8;
	assert_int_equal(read_image(img, len, &ev), -ENOEXEC);
	len = build_elf(img, s, 2, &eh, &sh);
	eh->e_shnum = RUNTIME_MAX_SECTIONS + 1;
	assert_int_equal(read_image(img, len, &ev), -ENOEXEC);
	len = build_elf(img, s, 2, &eh, &sh);
	eh->e_shstrndx = 9;
	assert_int_equal(read_image(img, len, &ev), -ENOEXEC);
	/* a section-name table past its bound, or out of the file */
	len = build_elf(img, s, 2, &eh, &sh);
	sh[1].sh_size = RUNTIME_SHSTRTAB_MAX_BYTES + 1;
	assert_int_equal(read_image(img, len, &ev), -ENOEXEC);
	len = build_elf(img, s, 2, &eh, &sh);
	sh[1].sh_offset = len - 4;
	assert_int_equal(read_image(img, len, &ev), -ENOEXEC);

	/* names past their table: ignored, the rest still read */
	len = build_elf(img, s, 2, &eh, &sh);
	sh[2].sh_name = 0xffffff;
	assert_int_equal(read_image(img, len, &ev), 0);
	assert_true(ev.exe_read && ev.python_symbols);
	syms[1].st_name = 0x7fffffff;
	len = build_elf(img, s, 2, &eh, &sh);
	assert_int_equal(read_image(img, len, &ev), 0);
	assert_false(ev.python_symbols);
	/* a string table whose last name runs to its end, unterminated: read as cut there */
	symbols("Py_Initialize", 5, syms, strtab, &n);
	s[1].size = n - 1;
	len = build_elf(img, s, 2, &eh, &sh);
	assert_int_equal(read_image(img, len, &ev), 0);
	assert_true(ev.python_symbols);
	s[1].size = n - 2; /* "Py_Initializ" */
	len = build_elf(img, s, 2, &eh, &sh);
	assert_int_equal(read_image(img, len, &ev), 0);
	assert_false(ev.python_symbols);
	s[1].size = n;

	/* tables past their bounds or out of the file are skipped, and that is said */
	len = build_elf(img, s, 2, &eh, &sh);
	sh[2].sh_size = RUNTIME_SYMTAB_MAX_BYTES + sizeof(Elf64_Sym);
	assert_int_equal(read_image(img, len, &ev), 0);
	assert_true(ev.symbols_skipped && !ev.python_symbols);
	ev.maps_read = true;
	assert_int_equal(runtime__classify(&ev), RUNTIME_UNKNOWN);
	len = build_elf(img, s, 2, &eh, &sh);
	sh[3].sh_size = RUNTIME_STRTAB_MAX_BYTES + 1;
	assert_int_equal(read_image(img, len, &ev), 0);
	assert_true(ev.symbols_skipped);
	len = build_elf(img, s, 2, &eh, &sh);
	sh[2].sh_offset = len + 4096;
	assert_int_equal(read_image(img, len, &ev), 0);
	assert_true(ev.symbols_skipped);
	/* a link to no section, to a section that is no string table, a bad entry size */
	len = build_elf(img, s, 2, &eh, &sh);
	sh[2].sh_link = 77;
	assert_int_equal(read_image(img, len, &ev), 0);
	assert_true(ev.symbols_skipped && !ev.python_symbols);
	len = build_elf(img, s, 2, &eh, &sh);
	sh[2].sh_link = 2;
	assert_int_equal(read_image(img, len, &ev), 0);
	assert_true(ev.symbols_skipped && !ev.python_symbols);
	len = build_elf(img, s, 2, &eh, &sh);
	sh[2].sh_entsize = 1;
	assert_int_equal(read_image(img, len, &ev), 0);
	assert_true(ev.symbols_skipped && !ev.python_symbols);
}

/* The reader never gets what is no regular file: the observed-file API refuses it first. */
static void test_no_fifo_no_symlink(void **state)
{
	char path[PATH_MAX + 64];
	struct observed_file f;

	(void)state;
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(observed_file__openat(root_fd, "fifo", false, 0, 0, &f), -EINVAL);
	snprintf(path, sizeof(path), "%s/link", dir);
	assert_int_equal(symlink("/proc/self/exe", path), 0);
	assert_int_equal(observed_file__openat(root_fd, "link", false, 0, 0, &f), -ELOOP);
}

/* ---- live processes ---- */

static void test_detect_self(void **state)
{
	struct runtime_cache *c = runtime_cache__new();
	struct observed_file f;
	struct runtime_evidence ev = {};
	int fd;

	(void)state;
	/* this test is C: its own executable and maps say native */
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(observed_file__adopt(fd, false, 0, 0, &f), 0);
	assert_int_equal(runtime__read_elf(&f, &ev), 0);
	observed_file__close(&f);
	assert_true(ev.exe_read && !ev.go_buildinfo && !ev.go_pclntab && !ev.python_symbols);
	assert_int_equal(runtime__detect(getpid()), RUNTIME_NATIVE);
	assert_non_null(c);
	assert_int_equal(runtime_cache__lookup(c, getpid()), RUNTIME_NATIVE);
	assert_int_equal(runtime_cache__lookup(c, getpid()), RUNTIME_NATIVE);
	/* gone, never there: no verdict */
	assert_int_equal(runtime__detect(0), RUNTIME_UNKNOWN);
	assert_int_equal(runtime__detect(-1), RUNTIME_UNKNOWN);
	assert_int_equal(runtime__detect(0x3fffffff), RUNTIME_UNKNOWN);
	assert_int_equal(runtime_cache__lookup(c, 0x3fffffff), RUNTIME_UNKNOWN);
	assert_int_equal(runtime_cache__evictions(c), 0);
	runtime_cache__free(c);
	runtime_cache__free(NULL);
}

/* More processes than the bound: the least recently used go, and are counted. */
static void test_cache_bound(void **state)
{
	struct runtime_cache *c = runtime_cache__new();
	pid_t kids[RUNTIME_CACHE_MAX + 3];
	int i, n = RUNTIME_CACHE_MAX + 3;

	(void)state;
	assert_non_null(c);
	for (i = 0; i < n; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (!kids[i]) {
			pause();
			_exit(0);
		}
	}
	for (i = 0; i < n; i++)
		assert_int_equal(runtime_cache__lookup(c, kids[i]), RUNTIME_NATIVE);
	assert_int_equal(runtime_cache__evictions(c), 3);
	/* the newest are still there: no eviction for them */
	assert_int_equal(runtime_cache__lookup(c, kids[n - 1]), RUNTIME_NATIVE);
	assert_int_equal(runtime_cache__evictions(c), 3);
	/* the oldest went first: looked up again, another goes */
	assert_int_equal(runtime_cache__lookup(c, kids[0]), RUNTIME_NATIVE);
	assert_int_equal(runtime_cache__evictions(c), 4);
	for (i = 0; i < n; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	runtime_cache__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),	cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_mappings),	cmocka_unit_test(test_hints),
		cmocka_unit_test(test_elf_go_sections), cmocka_unit_test(test_elf_symbols),
		cmocka_unit_test(test_elf_hostile),	cmocka_unit_test(test_no_fifo_no_symlink),
		cmocka_unit_test(test_detect_self),	cmocka_unit_test(test_cache_bound),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
