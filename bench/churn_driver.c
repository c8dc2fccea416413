// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Process and cgroup churn for the soak (bench/soak.sh): N short-lived
 * processes a second, and M cgroups a minute, each holding one sleeping
 * process for a few seconds before both are removed.
 *
 *   churn_driver [--procs-per-s N] [--exec-every K] [--cgroups-per-min M]
 *                [--cgroup-life S] [--cgroup-parent DIR] [--seconds S]
 *
 * Every K-th process (default 10) execs this binary again ("--exit"), so
 * that memobs sees execs as well as forks; the others exit at once after
 * fork. Cgroups are made under DIR (a cgroup v2 directory the caller made;
 * none without it). Prints "ready" at start and, at the end or on SIGTERM,
 * "procs N execs N cgroups N errors N". Children die with the driver
 * (PR_SET_PDEATHSIG), so a SIGKILL of the driver leaves only empty cgroups.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CGROUPS 64

struct live_cgroup {
	char path[512];
	pid_t holder;
	double remove_at;
};

static volatile sig_atomic_t stop;
static struct live_cgroup cgroups[MAX_CGROUPS];
static unsigned long nr_procs, nr_execs, nr_cgroups, nr_errors;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static void spawn_one(const char *self, int exec_it)
{
	pid_t pid = fork();

	if (pid < 0) {
		nr_errors++;
		return;
	}
	if (pid == 0) {
		if (exec_it) {
			execl(self, self, "--exit", (char *)NULL);
			_exit(127);
		}
		_exit(0);
	}
	nr_procs++;
	nr_execs += exec_it;
}

/* A cgroup with one process that sleeps in it until the cgroup is removed. */
static void make_cgroup(const char *parent, unsigned long seq, double life_s)
{
	struct live_cgroup *c = NULL;
	char procs[600], pid_text[32];
	pid_t driver = getpid(), pid;
	FILE *f;
	int i;

	for (i = 0; i < MAX_CGROUPS && !c; i++)
		if (!cgroups[i].path[0])
			c = &cgroups[i];
	if (!c) {
		nr_errors++;
		return;
	}
	snprintf(c->path, sizeof(c->path), "%s/churn-%d-%lu", parent, driver, seq);
	if (mkdir(c->path, 0755)) {
		fprintf(stderr, "churn_driver: failed to make '%s': %s\n", c->path,
			strerror(errno));
		c->path[0] = 0;
		nr_errors++;
		return;
	}
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != driver)
			_exit(0);
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", c->path);
		snprintf(pid_text, sizeof(pid_text), "%d", getpid());
		f = fopen(procs, "w");
		if (!f || fputs(pid_text, f) < 0 || fclose(f))
			_exit(1);
		for (;;)
			pause();
	}
	if (pid < 0)
		nr_errors++;
	c->holder = pid > 0 ? pid : 0;
	c->remove_at = now_s() + life_s;
	nr_cgroups++;
}

static void remove_cgroup(struct live_cgroup *c)
{
	int i;

	if (c->holder > 0) {
		kill(c->holder, SIGKILL);
		waitpid(c->holder, NULL, 0);
	}
	/* the holder's exit is accounted asynchronously: rmdir may see it busy for a moment */
	for (i = 0; i < 200 && rmdir(c->path) && (errno == EBUSY || errno == ENOTEMPTY); i++)
		usleep(10000);
	if (i == 200) {
		fprintf(stderr, "churn_driver: failed to remove '%s': %s\n", c->path,
			strerror(errno));
		nr_errors++;
	}
	c->path[0] = 0;
	c->holder = 0;
}

int main(int argc, char **argv)
{
	double procs_per_s = 1000, cgroups_per_min = 100, life_s = 3, seconds = 0, start, now;
	const char *parent = NULL;
	unsigned long exec_every = 10, cgroup_seq = 0;
	int a, i;

	if (argc == 2 && !strcmp(argv[1], "--exit"))
		return 0;
	for (a = 1; a + 1 < argc; a += 2) {
		if (!strcmp(argv[a], "--procs-per-s"))
			procs_per_s = atof(argv[a + 1]);
		else if (!strcmp(argv[a], "--exec-every"))
			exec_every = strtoul(argv[a + 1], NULL, 10);
		else if (!strcmp(argv[a], "--cgroups-per-min"))
			cgroups_per_min = atof(argv[a + 1]);
		else if (!strcmp(argv[a], "--cgroup-life"))
			life_s = atof(argv[a + 1]);
		else if (!strcmp(argv[a], "--cgroup-parent"))
			parent = argv[a + 1];
		else if (!strcmp(argv[a], "--seconds"))
			seconds = atof(argv[a + 1]);
		else
			break;
	}
	if (a < argc || procs_per_s <= 0 || cgroups_per_min < 0 || life_s <= 0 ||
	    life_s * cgroups_per_min / 60 >= MAX_CGROUPS) {
		fprintf(stderr, "usage: churn_driver [--procs-per-s N] [--exec-every K] "
				"[--cgroups-per-min M] [--cgroup-life S] [--cgroup-parent DIR] "
				"[--seconds S]\n");
		return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	printf("ready\n");
	fflush(stdout);

	start = now_s();
	while (!stop && (!seconds || now_s() - start < seconds)) {
		now = now_s();
		/* paced to the rate in 1 ms steps: a late step catches up, not more */
		while (nr_procs < (now - start) * procs_per_s && !stop) {
			spawn_one(argv[0], exec_every && (nr_procs + 1) % exec_every == 0);
			reap();
		}
		if (parent && cgroups_per_min > 0 &&
		    cgroup_seq < (now - start) * cgroups_per_min / 60)
			make_cgroup(parent, cgroup_seq++, life_s);
		for (i = 0; i < MAX_CGROUPS; i++)
			if (cgroups[i].path[0] && cgroups[i].remove_at <= now)
				remove_cgroup(&cgroups[i]);
		reap();
		usleep(1000);
	}
	for (i = 0; i < MAX_CGROUPS; i++)
		if (cgroups[i].path[0])
			remove_cgroup(&cgroups[i]);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	printf("procs %lu execs %lu cgroups %lu errors %lu\n", nr_procs, nr_execs, nr_cgroups,
	       nr_errors);
	return 0;
}
