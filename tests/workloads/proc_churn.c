// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Short-lived processes that allocate: N a second, each gone within a
 * millisecond or two, so that a tracer lists PIDs whose /proc entries are
 * gone by the time it reads them or attaches to them.
 *
 *   proc_churn [--per-s N] [--exec-every K]
 *
 * Each child mallocs and frees a few blocks and exits; every K-th (default 4)
 * first execs this binary again ("--child"), so that it appears as a new
 * program. Prints "ready" once the first child has run. Children die with
 * their parent (PR_SET_PDEATHSIG).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int allocate_and_exit(void)
{
	volatile char *p;
	int i;

	for (i = 0; i < 16; i++) {
		p = malloc(4096 << (i % 4));
		if (p)
			p[0] = 1;
		free((void *)p);
	}
	return 0;
}

int main(int argc, char **argv)
{
	double per_s = 200, start;
	unsigned long exec_every = 4, nr = 0;
	int a;

	if (argc == 2 && !strcmp(argv[1], "--child"))
		return allocate_and_exit();
	for (a = 1; a + 1 < argc; a += 2) {
		if (!strcmp(argv[a], "--per-s"))
			per_s = atof(argv[a + 1]);
		else if (!strcmp(argv[a], "--exec-every"))
			exec_every = strtoul(argv[a + 1], NULL, 10);
		else
			break;
	}
	if (a < argc || per_s <= 0) {
		fprintf(stderr, "usage: proc_churn [--per-s N] [--exec-every K]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	start = now_s();
	for (;;) {
		pid_t pid = fork();

		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (exec_every && nr % exec_every == 0)
				execl(argv[0], argv[0], "--child", (char *)NULL);
			_exit(allocate_and_exit());
		}
		if (pid > 0)
			nr++;
		else if (pid < 0)
			usleep(1000); /* out of processes for now: no busy loop */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (nr == 1)
			printf("ready\n");
		while (now_s() < start + nr / per_s)
			usleep(500);
	}
}
