// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Keeps N idle processes of T threads each alive (T - 1 threads besides the
 * main one, all in pause()), so that the always-on sampler meets a JVM-like
 * host: forks N children, prints "ready N" on stdout once every thread of
 * every child exists, and on SIGTERM, SIGINT or SIGHUP kills and reaps them.
 * As bench/spawn_sleepers.c, each child dies with this process and this
 * process with the driver that started it (PR_SET_PDEATHSIG).
 *
 *   alwayson_threads N T
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void *pause_forever(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* The child: T - 1 threads, then a byte on ready_fd, then pause() for good. */
static void child(pid_t parent, const sigset_t *orig_mask, long nr_threads, int ready_fd)
{
	pthread_attr_t attr;
	pthread_t t;
	char ok = 1;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	sigprocmask(SIG_SETMASK, orig_mask, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024); /* 20,000 threads need no 8 MiB stacks */
	for (long i = 1; i < nr_threads; i++)
		if (pthread_create(&t, &attr, pause_forever, NULL)) {
			ok = 0;
			break;
		}
	if (write(ready_fd, &ok, 1) != 1)
		_exit(1);
	close(ready_fd);
	pause_forever(NULL);
}

static void kill_and_reap(const pid_t *children, long nr_children)
{
	for (long i = 0; i < nr_children; i++)
		kill(children[i], SIGKILL);
	while (wait(NULL) > 0 || errno == EINTR)
		;
}

static long parse_count(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1) {
		fprintf(stderr, "invalid %s '%s': expected an integer >= 1\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	sigset_t stop_signals, orig_mask;
	pid_t parent = getpid(), driver = getppid();
	long nr_wanted, nr_threads, nr_children = 0, nr_ready = 0;
	int ready[2], sig;
	pid_t *children;
	char ok;

	if (argc != 3) {
		fprintf(stderr, "usage: alwayson_threads PROCESSES THREADS_PER_PROCESS\n");
		return 2;
	}
	nr_wanted = parse_count(argv[1], "process count");
	nr_threads = parse_count(argv[2], "thread count");
	children = calloc(nr_wanted, sizeof(*children));
	if (!children || pipe(ready)) {
		fprintf(stderr, "failed to set up %ld children: %s\n", nr_wanted, strerror(errno));
		return 1;
	}

	/* Blocked before the first fork so that a stop request is never lost. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop_signals, &orig_mask);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
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
		if (pid == 0) {
			close(ready[0]);
			child(parent, &orig_mask, nr_threads, ready[1]);
		}
		children[nr_children] = pid;
	}
	close(ready[1]);
	for (; nr_ready < nr_children; nr_ready++) {
		if (read(ready[0], &ok, 1) != 1 || !ok) {
			fprintf(stderr,
				"a child failed to start its %ld threads (see ulimit -u, "
				"kernel.threads-max)\n",
				nr_threads);
			kill_and_reap(children, nr_children);
			return 1;
		}
	}
	printf("ready %ld\n", nr_children);
	fflush(stdout);

	while (sigwait(&stop_signals, &sig))
		;
	kill_and_reap(children, nr_children);
	free(children);
	return 0;
}
