// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "output/profile_dir.h"
#include "util/array.h"

#define WHO_MAX 64
#define SUFFIX ".pb.gz"

struct profile_dir {
	int fd;
	char *path;
	unsigned int keep;
	__u64 seq; /* the temporary names' */
};

int profile_dir__open(struct profile_dir **out, const char *path, unsigned int keep)
{
	struct profile_dir *d;
	struct stat st;
	int fd, err;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOTDIR && !lstat(path, &st) && S_ISLNK(st.st_mode) ? -ELOOP
										    : -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	/* another user's, or one others may write to: its files are not ours to trust */
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		return -EPERM;
	}
	d = calloc(1, sizeof(*d));
	if (!d || !(d->path = strdup(path))) {
		free(d);
		close(fd);
		return -ENOMEM;
	}
	d->fd = fd;
	d->keep = keep ? keep : PROFILE_DIR_DEFAULT_KEEP;
	*out = d;
	return 0;
}

void profile_dir__close(struct profile_dir *d)
{
	if (!d)
		return;
	close(d->fd);
	free(d->path);
	free(d);
}

int profile_dir__name(__u64 ts_ms, const char *who, __u64 episode, char *buf, size_t size)
{
	char safe[WHO_MAX + 1], when[32];
	time_t secs = (time_t)(ts_ms / 1000);
	struct tm tm;
	size_t i;
	int n;

	for (i = 0; who && who[i] && i < WHO_MAX; i++) {
		char c = who[i];

		safe[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
					  (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'
				  ? c
				  : '_';
	}
	safe[i] = '\0';
	if (!i || (i == 1 && safe[0] == '_'))
		snprintf(safe, sizeof(safe), "root");
	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(buf, size, "%s.%03lluZ-%s-%llu" SUFFIX, when,
		     (unsigned long long)(ts_ms % 1000), safe, (unsigned long long)episode);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* A profile memobs named: the date first, the suffix last (the directory may hold others). */
static int is_ours(const char *name)
{
	size_t n = strlen(name);

	return n > 24 && name[4] == '-' && name[10] == 'T' && name[0] >= '1' && name[0] <= '9' &&
	       !strcmp(name + n - strlen(SUFFIX), SUFFIX);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Removes the oldest of ours past keep: the names sort by their date. */
static void prune(struct profile_dir *d)
{
	char **names = NULL;
	size_t nr = 0, cap = 0, i;
	struct dirent *e;
	DIR *dir;
	int fd = dup(d->fd);

	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(dir);
	while ((e = readdir(dir))) {
		if (e->d_type != DT_REG || !is_ours(e->d_name) || ARRAY_GROW(names, cap, nr + 1))
			continue;
		if ((names[nr] = strdup(e->d_name)))
			nr++;
	}
	closedir(dir);
	if (nr > d->keep) {
		qsort(names, nr, sizeof(*names), by_name);
		for (i = 0; i < nr - d->keep; i++)
			unlinkat(d->fd, names[i], 0);
	}
	for (i = 0; i < nr; i++)
		free(names[i]);
	free(names);
}

int profile_dir__write(struct profile_dir *d, __u64 ts_ms, const char *who, __u64 episode,
		       const struct site_record *sites, size_t nr, const struct pprof_opts *opts,
		       char **written)
{
	char name[160], tmp[64];
	int fd, err;

	*written = NULL;
	if ((err = profile_dir__name(ts_ms, who, episode, name, sizeof(name))))
		return err;
	snprintf(tmp, sizeof(tmp), ".memobs-%d-%llu.tmp", (int)getpid(),
		 (unsigned long long)d->seq++);
	fd = openat(d->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (nr > PROFILE_DIR_MAX_SITES)
		nr = PROFILE_DIR_MAX_SITES;
	err = pprof__write_fd(fd, sites, nr, opts);
	if (!err && renameat(d->fd, tmp, d->fd, name))
		err = -errno;
	if (err) {
		unlinkat(d->fd, tmp, 0);
		return err;
	}
	prune(d);
	if (asprintf(written, "%s/%s", d->path, name) < 0) {
		*written = NULL;
		return -ENOMEM;
	}
	return 0;
}
