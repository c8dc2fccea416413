// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Keeps N idle processes alive so that the task iterator has N processes to
 * walk: forks N children that pause() forever, prints "ready N" on stdout
 * once all exist, and on SIGTERM, SIGINT or SIGHUP kills and reaps them.
 * Each child dies with this process and this process stops when the driver
 * that started it dies (PR_SET_PDEATHSIG), so a SIGKILL of the driver or of
 * this process leaves nothing behind.
 *
 *   spawn_sleepers N
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void sleep_forever(pid_t parent, const sigset_t *orig_mask)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The parent may have died before the line above took effect. */
	if (getppid() != parent)
		_exit(0);
	sigprocmask(SIG_SETMASK, orig_mask, NULL);
	for (;;)
		pause();
}

static void kill_and_reap(const pid_t *children, long nr_children)
{
	for (long i = 0; i < nr_children; i++)
		kill(children[i], SIGKILL);
	while (wait(NULL) > 0 || errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	sigset_t stop_signals, orig_mask;
	pid_t parent = getpid(), driver = getppid();
	long nr_wanted, nr_children = 0;
	pid_t *children;
	char *end;
	int sig;

	if (argc != 2) {
		fprintf(stderr, "usage: spawn_sleepers N\n");
		return 2;
	}
	errno = 0;
	nr_wanted = strtol(argv[1], &end, 10);
	if (errno || *end || nr_wanted < 0) {
		fprintf(stderr, "invalid process count '%s': expected an integer >= 0\n", argv[1]);
		return 2;
	}
	children = calloc(nr_wanted ? nr_wanted : 1, sizeof(*children));
	if (!children) {
		fprintf(stderr, "failed to allocate room for %ld pids\n", nr_wanted);
		return 1;
	}

	/* Blocked before the first fork so that a stop request is never lost. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop_signals, &orig_mask);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	/* The driver may have died before the line above took effect. */
	if (getppid() != driver)
		return 0;

	for (; nr_children < nr_wanted; nr_children++) {
		pid_t pid = fork();

		if (pid < 0) {
			fprintf(stderr,
				"failed to fork child %ld of %ld: %s (see ulimit -u, pid_max)\n",
				nr_children + 1, nr_wanted, strerror(errno));
			kill_and_reap(children, nr_children);
			return 1;
		}
		if (pid == 0)
			sleep_forever(parent, &orig_mask);
		children[nr_children] = pid;
	}
	printf("ready %ld\n", nr_children);
	fflush(stdout);

	while (sigwait(&stop_signals, &sig))
		;
	kill_and_reap(children, nr_children);
	free(children);
	return 0;
}
