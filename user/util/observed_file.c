// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include "util/mountinfo.h"
#include "util/observed_file.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define OPEN_FLAGS (O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)
/* openat2 fails with EAGAIN when a rename raced the walk; a few tries, then give up */
#define OPENAT2_TRIES 4

int observed_file__adopt(int fd, bool check_identity, __u64 dev, __u64 ino,
			 struct observed_file *out)
{
	struct stat st;
	int err;

	out->fd = -1;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (check_identity && ((__u64)st.st_dev != dev || (__u64)st.st_ino != ino)) {
		close(fd);
		return -ESTALE;
	}
	out->fd = fd;
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	out->size = (__u64)st.st_size;
	out->via_map_files = false;
	return 0;
}

/* Without openat2: one component at a time, never following a symlink, never "..". */
int observed_file__walk_beneath(int root_fd, const char *path)
{
	char name[NAME_MAX + 1];
	const char *p = path, *end;
	int dir = root_fd, fd = -1;
	size_t n;

	for (;;) {
		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		n = (size_t)(end - p);
		if (!n) {
			fd = -EISDIR; /* "" or a trailing '/': not a file */
			break;
		}
		if (n > NAME_MAX) {
			fd = -ENAMETOOLONG;
			break;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		p = end;
		while (*p == '/')
			p++;
		if (!strcmp(name, ".."))
			fd = -EXDEV;
		else if (!*p)
			fd = openat(dir, name, OPEN_FLAGS);
		else if (!strcmp(name, "."))
			continue;
		else
			fd = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && fd != -EXDEV)
			fd = -errno;
		if (dir != root_fd)
			close(dir);
		if (fd < 0 || !*p)
			return fd;
		dir = fd;
	}
	if (dir != root_fd)
		close(dir);
	return fd;
}

static int open_beneath(int root_fd, const char *path)
{
	struct open_how how = {
		.flags = OPEN_FLAGS,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
	};
	long fd = -1;
	int i;

	for (i = 0; i < OPENAT2_TRIES; i++) {
		fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	if (fd >= 0)
		return (int)fd;
	if (errno == ENOSYS)
		return observed_file__walk_beneath(root_fd, path);
	return -errno;
}

int observed_file__openat(int root_fd, const char *path, bool check_identity, __u64 dev, __u64 ino,
			  struct observed_file *out)
{
	int fd;

	out->fd = -1;
	if (!path || !*path)
		return -EINVAL;
	fd = open_beneath(root_fd, path);
	if (fd < 0)
		return fd;
	return observed_file__adopt(fd, check_identity, dev, ino, out);
}

/*
 * A file on FUSE is served by a daemon that may never answer: open() and
 * pread() would wait for it whatever the flags, so such a file is not
 * opened at all. Its device, from maps, is looked up in the process's own
 * mount table (the mount namespace the device number belongs to).
 */
static int refuse_fuse(const struct observed_file_opts *opts)
{
	char path[64];
	int on_fuse = 0;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", opts->pid);
	if (opts->check_identity && opts->dev)
		on_fuse = mountinfo__dev_is_fuse(path, major(opts->dev), minor(opts->dev));
	/* by name: every component is looked up, so no mount on the way may be FUSE */
	if (on_fuse != 1 && opts->path && !(opts->start || opts->end))
		on_fuse = mountinfo__path_on_fuse(path, opts->path);
	return on_fuse == 1 ? -EREMOTE : 0;
}

int observed_file__open(const struct observed_file_opts *opts, struct observed_file *out)
{
	char link[80];
	int fd, root_fd, err = -ENOENT;

	out->fd = -1;
	if ((err = refuse_fuse(opts)))
		return err;
	err = -ENOENT;
	if (opts->start || opts->end) {
		/* a magic link to the mapped inode: followed on purpose, nothing to swap */
		snprintf(link, sizeof(link), "/proc/%d/map_files/%llx-%llx", opts->pid,
			 (unsigned long long)opts->start, (unsigned long long)opts->end);
		fd = open(link, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0) {
			err = observed_file__adopt(fd, false, 0, 0, out);
			out->via_map_files = !err;
			return err;
		}
		err = -errno;
	}
	if (!opts->path)
		return err;
	snprintf(link, sizeof(link), "/proc/%d/root", opts->pid);
	root_fd = open(link, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	err = observed_file__openat(root_fd, opts->path, opts->check_identity, opts->dev, opts->ino,
				    out);
	close(root_fd);
	/*
	 * maps renders a path from the reader's root when the file is reachable
	 * from it: a chrooted process in memobs's own mount namespace shows
	 * "/srv/rootfs/app", which its root does not hold. Without map_files
	 * (no CAP_SYS_ADMIN after the daemon's drop) the name is tried from
	 * memobs's root too, with the same rules, only when the identity
	 * proves it is the mapped file.
	 */
	if (err == -ENOENT && opts->check_identity) {
		root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root_fd < 0)
			return err;
		err = observed_file__openat(root_fd, opts->path, true, opts->dev, opts->ino, out);
		close(root_fd);
	}
	return err;
}

int observed_file__pread(int fd, void *buf, size_t size, __u64 offset)
{
	size_t got = 0;
	ssize_t n;

	while (got < size) {
		n = pread(fd, (char *)buf + got, size - got, (off_t)(offset + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		got += (size_t)n;
	}
	return 0;
}

int observed_file__read_all(const struct observed_file *f, __u64 max, void **buf, size_t *len)
{
	struct stat st;
	size_t size, got = 0;
	ssize_t n;
	char *data;

	*buf = NULL;
	*len = 0;
	if (!max)
		max = OBSERVED_FILE_MAX_BYTES;
	/* the size now, not at open: it may have been truncated since */
	if (fstat(f->fd, &st))
		return -errno;
	if ((__u64)st.st_size > max)
		return -EFBIG;
	size = (size_t)st.st_size;
	data = malloc(size ? size : 1);
	if (!data)
		return -ENOMEM;
	while (got < size) {
		n = pread(f->fd, data + got, size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			free(data);
			return err;
		}
		if (!n)
			break; /* truncated while read: what was there */
		got += (size_t)n;
	}
	*buf = data;
	*len = got;
	return 0;
}

int observed_file__fd_path(const struct observed_file *f, char *buf, size_t size)
{
	int n;

	if (f->fd < 0)
		return -EBADF;
	n = snprintf(buf, size, "/proc/self/fd/%d", f->fd);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

void observed_file__close(struct observed_file *f)
{
	if (!f || f->fd < 0)
		return;
	close(f->fd);
	f->fd = -1;
}
