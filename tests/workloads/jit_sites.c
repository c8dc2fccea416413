// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Call sites without end (issue 14): N stubs of generated code, each at its
 * own address in an anonymous executable mapping (as a JIT makes them),
 * each calling malloc, so every allocation has a distinct return address
 * nothing can name. memobs must bound what it keeps per distinct stack.
 *
 *   jit_sites [--stubs N] [--per-second R]   prints "ready", waits for
 *   SIGUSR1, leaks one 64-byte block per stub at R stubs/s, prints "done",
 *   then sleeps until killed
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#define STUB_BYTES 32

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

/* sub $8,%rsp; movabs $malloc,%rax; call *%rax; add $8,%rsp; ret */
static void write_stub(unsigned char *p, void *target)
{
	static const unsigned char head[] = { 0x48, 0x83, 0xec, 0x08, 0x48, 0xb8 };
	static const unsigned char tail[] = { 0xff, 0xd0, 0x48, 0x83, 0xc4, 0x08, 0xc3 };
	uint64_t addr = (uint64_t)(uintptr_t)target;

	memcpy(p, head, sizeof(head));
	memcpy(p + sizeof(head), &addr, sizeof(addr));
	memcpy(p + sizeof(head) + sizeof(addr), tail, sizeof(tail));
}

int main(int argc, char **argv)
{
	long stubs = 20000, per_second = 2000, i;
	struct timespec pause_ts = { 0, 0 };
	void *(*stub)(size_t);
	unsigned char *code;
	size_t len;

	for (i = 1; i + 1 < argc; i++) {
		if (!strcmp(argv[i], "--stubs"))
			stubs = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--per-second"))
			per_second = atol(argv[i + 1]);
	}
	len = (size_t)stubs * STUB_BYTES;
	code = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED)
		return 1;
	for (i = 0; i < stubs; i++)
		write_stub(code + i * STUB_BYTES, (void *)malloc);
	if (mprotect(code, len, PROT_READ | PROT_EXEC))
		return 1;
	signal(SIGUSR1, on_usr1);
	printf("ready\n");
	fflush(stdout);
	while (!go)
		pause();
	pause_ts.tv_nsec = 100 * 1000000000L / (per_second > 0 ? per_second : 1) % 1000000000L;
	for (i = 0; i < stubs; i++) {
		stub = (void *(*)(size_t))(void *)(code + i * STUB_BYTES);
		if (!stub(64))
			return 1;
		if (i % 100 == 99)
			nanosleep(&pause_ts, NULL);
	}
	printf("done %ld\n", stubs);
	fflush(stdout);
	for (;;)
		pause();
}
