// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A process that attacks the observer through its own files (issue 14,
 * tests/e2e/test_hostile_files.py builds the libraries it loads).
 *
 * hostile_lib --lib PATH [--rate BYTES_PER_S] [--size N]
 *   dlopen()s PATH and leaks through its hostile_leak(): from caller_a(),
 *   and from caller_b() once SIGUSR1 came (new stacks, resolved anew). The
 *   test then turns PATH into a FIFO or truncates it under memobs.
 * hostile_lib --fake PATH --decoy PATH [--swap-on-open] [--rate ...]
 *   dlopen()s both (the same allocator code in two files) and calls the
 *   malloc of each, from call_fake() and call_decoy(). With --swap-on-open,
 *   the first open of the fake's file by anyone else (memobs reading it to
 *   place probes) makes its name a symlink to the decoy: an observer that
 *   opens by path again (to attach) lands in the decoy; "swapped" is printed.
 * Prints "ready" once set up.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/inotify.h>

typedef void *(*alloc_fn)(size_t);

static volatile sig_atomic_t phase_b;
/* each caller writes its own counter: no two are folded into one (-fipa-icf) */
static volatile unsigned long calls[4];
static const char *fake_path, *decoy_path;
static int inotify_fd = -1;

static void on_usr1(int sig)
{
	(void)sig;
	phase_b = 1;
}

__attribute__((noinline, noipa)) static void *caller_a(alloc_fn fn, size_t size)
{
	void *p = fn(size);

	calls[0]++;
	asm volatile("" ::: "memory");
	return p;
}

__attribute__((noinline, noipa)) static void *caller_b(alloc_fn fn, size_t size)
{
	void *p = fn(size);

	calls[1]++;
	asm volatile("" ::: "memory");
	return p;
}

__attribute__((noinline, noipa)) static void *call_fake(alloc_fn fn, size_t size)
{
	void *p = fn(size);

	calls[2]++;
	asm volatile("" ::: "memory");
	return p;
}

__attribute__((noinline, noipa)) static void *call_decoy(alloc_fn fn, size_t size)
{
	void *p = fn(size);

	calls[3]++;
	asm volatile("" ::: "memory");
	return p;
}

static void *swap_on_open(void *arg)
{
	char buf[4096] __attribute__((aligned(8)));
	char tmp[4096];

	(void)arg;
	if (read(inotify_fd, buf, sizeof(buf)) <= 0)
		return NULL;
	/* between the observer's check and its attach, by path: the name moves */
	snprintf(tmp, sizeof(tmp), "%s.swap", fake_path);
	if (symlink(decoy_path, tmp) || rename(tmp, fake_path)) {
		perror("swap");
		return NULL;
	}
	printf("swapped\n");
	fflush(stdout);
	return NULL;
}

static alloc_fn open_fn(const char *path, const char *name)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	alloc_fn fn;

	if (!h) {
		fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
		exit(1);
	}
	fn = (alloc_fn)dlsym(h, name);
	if (!fn) {
		fprintf(stderr, "dlsym %s in %s: %s\n", name, path, dlerror());
		exit(1);
	}
	return fn;
}

int main(int argc, char **argv)
{
	const char *lib = NULL;
	size_t size = 256, rate = 4 << 20, per_tick, i;
	alloc_fn leak = NULL, fake = NULL, decoy = NULL;
	bool swap = false;
	pthread_t thread;
	int a;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--lib") && a + 1 < argc)
			lib = argv[++a];
		else if (!strcmp(argv[a], "--fake") && a + 1 < argc)
			fake_path = argv[++a];
		else if (!strcmp(argv[a], "--decoy") && a + 1 < argc)
			decoy_path = argv[++a];
		else if (!strcmp(argv[a], "--swap-on-open"))
			swap = true;
		else if (!strcmp(argv[a], "--rate") && a + 1 < argc)
			rate = strtoull(argv[++a], NULL, 0);
		else if (!strcmp(argv[a], "--size") && a + 1 < argc)
			size = strtoull(argv[++a], NULL, 0);
		else {
			fprintf(stderr,
				"usage: %s --lib PATH | --fake PATH --decoy PATH "
				"[--swap-on-open] [--rate B] [--size N]\n",
				argv[0]);
			return 2;
		}
	}
	if (!lib && !(fake_path && decoy_path))
		return 2;
	signal(SIGUSR1, on_usr1);
	if (lib)
		leak = open_fn(lib, "hostile_leak");
	else {
		fake = open_fn(fake_path, "malloc");
		decoy = open_fn(decoy_path, "malloc");
	}
	if (swap) {
		inotify_fd = inotify_init1(IN_CLOEXEC);
		if (inotify_fd < 0 || inotify_add_watch(inotify_fd, fake_path, IN_OPEN) < 0 ||
		    pthread_create(&thread, NULL, swap_on_open, NULL)) {
			perror("inotify");
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);
	/* every 10 ms, rate / 100 bytes */
	per_tick = rate / 100 / size;
	if (!per_tick)
		per_tick = 1;
	for (;;) {
		for (i = 0; i < per_tick; i++) {
			if (leak)
				(phase_b ? caller_b : caller_a)(leak, size);
			else {
				call_fake(fake, size);
				call_decoy(decoy, size);
			}
		}
		usleep(10000);
	}
}
