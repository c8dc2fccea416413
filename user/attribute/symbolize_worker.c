// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* ~610 lines: the capability-less parsing helper, both ends (fork and privilege drop, protocol, deadline, restarts), one concern. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "attribute/symbolize_elf.h"
#include "attribute/symbolize_worker.h"
#include "attribute/unwind.h"
#include "collect/caps.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/observed_file.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#define WORKER_SOCK_FD 3
#define NO_VADDR (~0ULL)
#define MODULE_MAX 256
/* the helper's address space past the images: libdw's tables, the heap forked with it */
#define WORKER_AS_SLACK (1ULL << 30)
/* CPU seconds a helper may use in all: then it is killed and a fresh one started */
#define WORKER_CPU_SECONDS 3600

enum sym_worker_op {
	SYM_WORKER_READY = 1, /* helper -> memobs, once: the drops are done */
	SYM_WORKER_LOAD,
	SYM_WORKER_LOOKUP,
	SYM_WORKER_DROP,
	SYM_WORKER_CFI, /* (id, file offset) -> a struct cfi_row in text, name_len its size */
};

struct sym_worker_req {
	__u32 op;	 /* enum sym_worker_op */
	__u32 id;	 /* LOOKUP, DROP: the image */
	__u64 arg;	 /* LOAD: the most bytes to read; LOOKUP: the file offset */
	__u32 is_return; /* LOOKUP: a return address */
	__u32 reserved;
	char module[MODULE_MAX]; /* LOAD: the name libdwfl's messages use, NUL-terminated */
};

struct sym_worker_reply {
	__u32 op;	/* the request's */
	__s32 err;	/* 0 or -errno */
	__u32 id;	/* LOAD: the image (a held one's when the build-id is known) */
	__u32 existed;	/* LOAD: 1 when it is a held one's */
	__u64 len;	/* LOAD: the bytes read */
	__u64 sym_off;	/* LOOKUP */
	__u64 vaddr;	/* LOOKUP: the address as the ELF's vaddr; NO_VADDR: in no PT_LOAD */
	__s32 line;	/* LOOKUP: 0 for none */
	__u16 name_len; /* LOOKUP: 0 for none; name_len bytes of text, then src_len, then raw_len */
	__u16 src_len;
	__u16 raw_len;	    /* LOOKUP: the mangled name's bytes when name is its demangling */
	__u16 build_id_len; /* LOAD: 0 for none */
	__u8 build_id[SYM_WORKER_BUILD_ID_MAX]; /* LOAD */
	char text[SYM_WORKER_NAME_MAX + SYM_WORKER_SRC_MAX + SYM_WORKER_NAME_MAX];
};

struct sym_worker {
	struct sym_worker_opts opts;
	pid_t pid; /* 0: none */
	int sock;  /* -1: none */
	__u64 last_start_ms;
	__u64 generation;
	struct sym_worker_stats stats;
	struct sym_worker_reply rep; /* 5 KiB: not on the pipeline thread's stack */
};

/* ---- the helper ---- */

static void close_all_but_sock(int sock)
{
	int fd, null_fd;
	DIR *dir;
	struct dirent *d;

	/* above 2 so that stdin/stdout can be replaced without losing it */
	fd = fcntl(sock, F_DUPFD, WORKER_SOCK_FD);
	if (fd < 0)
		_exit(1);
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0)
		_exit(1);
	if (fd != WORKER_SOCK_FD && dup2(fd, WORKER_SOCK_FD) < 0)
		_exit(1);
	if (!syscall(SYS_close_range, WORKER_SOCK_FD + 1, ~0U, 0))
		return;
	dir = opendir("/proc/self/fd");
	if (!dir)
		_exit(1);
	while ((d = readdir(dir))) {
		fd = atoi(d->d_name);
		if (fd > WORKER_SOCK_FD && fd != dirfd(dir))
			close(fd);
	}
	closedir(dir);
}

/*
 * Shared mappings forked with it (libbpf's ring buffers, their writable
 * consumer pages) are memobs's: the helper keeps none of them.
 */
static void unmap_shared(void)
{
	unsigned long start, end;
	char perms[8], line[512];
	bool found = true;
	int rounds;
	FILE *f;

	for (rounds = 0; found && rounds < 4096; rounds++) {
		found = false;
		f = fopen("/proc/self/maps", "re");
		if (!f)
			_exit(1);
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3 &&
			    perms[3] == 's') {
				found = true;
				break;
			}
		}
		fclose(f);
		if (found && munmap((void *)start, end - start))
			_exit(1);
	}
	if (found)
		_exit(1);
}

static void set_limit(int resource, __u64 value)
{
	struct rlimit rl = { .rlim_cur = value, .rlim_max = value };

	setrlimit(resource, &rl);
}

/* The address space mapped now (the heap forked from memobs), in bytes. */
static __u64 mapped_bytes(void)
{
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (f) {
		if (fscanf(f, "%lu", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	return (__u64)pages * (__u64)sysconf(_SC_PAGESIZE);
}

static void worker_setup(int sock, pid_t parent, const struct sym_worker_opts *opts)
{
	sigset_t none;
	int sig;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(1);
	/* memobs ends it: a terminal's ^C and memobs's own handlers are not for it */
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	close_all_but_sock(sock);
	unmap_shared();
	set_limit(RLIMIT_AS, mapped_bytes() + 2 * opts->budget_bytes + WORKER_AS_SLACK);
	set_limit(RLIMIT_CPU, WORKER_CPU_SECONDS);
	set_limit(RLIMIT_CORE, 0);
	set_limit(RLIMIT_NPROC, 0);
	set_limit(RLIMIT_NOFILE, 16);
	if (caps__drop_all())
		_exit(1);
}

static int recv_request(struct sym_worker_req *req, int *fd)
{
	char control[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { .iov_base = req, .iov_len = sizeof(*req) };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control,
		.msg_controllen = sizeof(control),
	};
	struct cmsghdr *c;
	ssize_t n;
	size_t i, nr;

	*fd = -1;
	do
		n = recvmsg(WORKER_SOCK_FD, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -EPIPE; /* memobs closed its end */
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nr = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nr; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*fd < 0)
				*fd = got;
			else
				close(got);
		}
	}
	if ((size_t)n != sizeof(*req))
		return -EINVAL;
	req->module[MODULE_MAX - 1] = '\0';
	return 0;
}

static void send_reply(struct sym_worker_reply *rep)
{
	size_t len = offsetof(struct sym_worker_reply, text) + rep->name_len + rep->src_len +
		     rep->raw_len;

	if (send(WORKER_SOCK_FD, rep, len, MSG_NOSIGNAL) < 0)
		_exit(1);
}

static void serve_load(struct sym_elf *elf, const struct sym_worker_req *req, int fd,
		       struct sym_worker_reply *rep)
{
	struct observed_file file;
	void *image;
	size_t len;
	bool existed;
	int err;

	if (fd < 0) {
		rep->err = -EBADF;
		return;
	}
	/* memobs checked the identity; the helper only needs a regular file */
	err = observed_file__adopt(fd, false, 0, 0, &file);
	if (!err) {
		err = observed_file__read_all(&file, req->arg, &image, &len);
		observed_file__close(&file);
	}
	if (!err) {
		rep->len = len;
		err = sym_elf__load(elf, image, len, req->module, &rep->id, &existed);
		rep->existed = existed;
	}
	if (!err) {
		int n = sym_elf__build_id(elf, rep->id, rep->build_id);

		_Static_assert(SYM_WORKER_BUILD_ID_MAX >= SYM_ELF_BUILD_ID_MAX, "a build-id fits");
		rep->build_id_len = n > 0 ? (__u16)n : 0;
	}
	rep->err = err;
}

static void serve_lookup(struct sym_elf *elf, const struct sym_worker_req *req,
			 const struct sym_worker_opts *opts, struct sym_worker_reply *rep)
{
	struct sym_elf_frame frame;
	size_t n;

	if (opts->test_hang_ms)
		usleep((useconds_t)opts->test_hang_ms * 1000);
	rep->err = sym_elf__lookup(elf, req->id, req->arg, req->is_return, &frame);
	rep->vaddr = frame.has_vaddr && !rep->err ? frame.vaddr : NO_VADDR;
	if (rep->err || !frame.name)
		return;
	rep->sym_off = frame.sym_off;
	n = strnlen(frame.name, SYM_WORKER_NAME_MAX);
	memcpy(rep->text, frame.name, n);
	rep->name_len = (__u16)n;
	if (frame.src) {
		n = strnlen(frame.src, SYM_WORKER_SRC_MAX);
		memcpy(rep->text + rep->name_len, frame.src, n);
		rep->src_len = (__u16)n;
		rep->line = frame.line;
	}
	if (frame.raw_name) {
		n = strnlen(frame.raw_name, SYM_WORKER_NAME_MAX);
		memcpy(rep->text + rep->name_len + rep->src_len, frame.raw_name, n);
		rep->raw_len = (__u16)n;
	}
}

static void serve_cfi(struct sym_elf *elf, const struct sym_worker_req *req,
		      struct sym_worker_reply *rep)
{
	struct cfi_row row;

	_Static_assert(sizeof(row) <= SYM_WORKER_NAME_MAX, "a CFI row fits a reply");
	rep->err = sym_elf__cfi_row(elf, req->id, req->arg, &row);
	if (rep->err)
		return;
	memcpy(rep->text, &row, sizeof(row));
	rep->name_len = sizeof(row);
}

static __attribute__((noreturn)) void worker_main(int sock, pid_t parent,
						  const struct sym_worker_opts *opts)
{
	static struct sym_worker_reply rep;
	struct sym_worker_req req;
	struct sym_elf *elf;
	int fd;

	worker_setup(sock, parent, opts);
	elf = sym_elf__new();
	if (!elf)
		_exit(1);
	memset(&rep, 0, offsetof(struct sym_worker_reply, text));
	rep.op = SYM_WORKER_READY;
	send_reply(&rep);
	for (;;) {
		int err = recv_request(&req, &fd);

		if (err == -EPIPE)
			_exit(0); /* never exit(): memobs's stdio buffers were forked too */
		memset(&rep, 0, offsetof(struct sym_worker_reply, text));
		rep.op = req.op;
		if (err) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		switch (req.op) {
		case SYM_WORKER_LOAD:
			serve_load(elf, &req, fd, &rep);
			fd = -1;
			break;
		case SYM_WORKER_LOOKUP:
			serve_lookup(elf, &req, opts, &rep);
			break;
		case SYM_WORKER_DROP:
			sym_elf__drop(elf, req.id);
			break;
		case SYM_WORKER_CFI:
			serve_cfi(elf, &req, &rep);
			break;
		default:
			rep.err = -EINVAL;
			break;
		}
		if (fd >= 0)
			close(fd);
		if (req.op != SYM_WORKER_DROP)
			send_reply(&rep);
	}
}

/* ---- memobs's side ---- */

/* The helper is gone or no longer trusted to answer: kill, reap, count. */
static void worker_lost(struct sym_worker *w)
{
	if (w->pid > 0) {
		kill(w->pid, SIGKILL);
		while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (w->sock >= 0)
		close(w->sock);
	w->pid = 0;
	w->sock = -1;
	w->generation++;
	w->stats.restarts++;
}

static int wait_readable(int sock, __u64 deadline_ns)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	__u64 now;
	int n;

	for (;;) {
		now = clock_mono_ns();
		if (now >= deadline_ns)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)((deadline_ns - now + 999999) / 1000000));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* One reply of op, by the deadline; on any failure the helper is lost. */
static int recv_reply(struct sym_worker *w, __u32 op, __u64 deadline_ns,
		      struct sym_worker_reply *rep)
{
	ssize_t n;
	int err;

	err = wait_readable(w->sock, deadline_ns);
	if (!err) {
		n = recv(w->sock, rep, sizeof(*rep), MSG_DONTWAIT);
		if (n <= 0)
			err = n < 0 && errno != ECONNRESET ? -errno : -EPIPE;
		else if ((size_t)n < offsetof(struct sym_worker_reply, text) || rep->op != op ||
			 rep->name_len > SYM_WORKER_NAME_MAX || rep->src_len > SYM_WORKER_SRC_MAX ||
			 rep->raw_len > SYM_WORKER_NAME_MAX ||
			 rep->build_id_len > SYM_WORKER_BUILD_ID_MAX ||
			 (size_t)n != offsetof(struct sym_worker_reply, text) + rep->name_len +
					      rep->src_len + rep->raw_len)
			err = -EPROTO;
	}
	if (err) {
		if (err == -ETIMEDOUT) {
			w->stats.timeouts++;
			p_warn("symbolizer helper %d did not answer in time: killed", (int)w->pid);
		} else {
			p_warn("symbolizer helper %d lost: %s", (int)w->pid, strerror(-err));
		}
		worker_lost(w);
		return err == -ETIMEDOUT ? err : -EPIPE;
	}
	return 0;
}

static int worker_start(struct sym_worker *w, __u64 deadline_ns)
{
	pid_t parent = getpid(), pid;
	int sv[2], err;

	w->last_start_ms = clock_mono_ms();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(sv[0]);
		close(sv[1]);
		return err;
	}
	if (pid == 0) {
		close(sv[0]);
		worker_main(sv[1], parent, &w->opts);
	}
	close(sv[1]);
	w->pid = pid;
	w->sock = sv[0];
	err = recv_reply(w, SYM_WORKER_READY, deadline_ns, &w->rep);
	if (err) {
		p_warn("failed to start the symbolizer helper: %s", strerror(-err));
		return err;
	}
	p_debug("symbolizer helper %d started", (int)pid);
	return 0;
}

struct sym_worker *sym_worker__new(const struct sym_worker_opts *opts, __u64 start_deadline_ns)
{
	struct sym_worker *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return NULL;
	w->opts = *opts;
	w->sock = -1;
	err = worker_start(w, start_deadline_ns);
	if (err) {
		free(w);
		errno = -err;
		return NULL;
	}
	return w;
}

void sym_worker__free(struct sym_worker *w)
{
	if (!w)
		return;
	if (w->pid > 0) {
		kill(w->pid, SIGKILL);
		while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (w->sock >= 0)
		close(w->sock);
	free(w);
}

int sym_worker__ensure(struct sym_worker *w, __u64 deadline_ns)
{
	pid_t got;

	if (w->pid > 0) {
		got = waitpid(w->pid, NULL, WNOHANG);
		if (got == 0)
			return 0;
		/* died between requests (or was reaped by someone else) */
		p_warn("symbolizer helper %d exited", (int)w->pid);
		if (got < 0)
			w->pid = 0; /* not ours to reap */
		worker_lost(w);
	}
	if (clock_mono_ms() - w->last_start_ms < SYM_WORKER_RESTART_MS)
		return -EAGAIN;
	return worker_start(w, deadline_ns);
}

__u64 sym_worker__generation(const struct sym_worker *w)
{
	return w ? w->generation : 0;
}

int sym_worker__pid(const struct sym_worker *w)
{
	return w ? (int)w->pid : 0;
}

void sym_worker__stats(const struct sym_worker *w, struct sym_worker_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (w)
		*out = w->stats;
}

static int send_request(struct sym_worker *w, const struct sym_worker_req *req, int fd)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)req, .iov_len = sizeof(*req) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (w->sock < 0)
		return -EAGAIN;
	if (fd >= 0) {
		memset(control, 0, sizeof(control));
		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	/* never blocks: a helper that stopped reading fills the socket, and is lost */
	if (sendmsg(w->sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		p_warn("symbolizer helper %d lost: %s", (int)w->pid, strerror(errno));
		worker_lost(w);
		return -EPIPE;
	}
	return 0;
}

int sym_worker__load(struct sym_worker *w, int fd, __u64 max, const char *module, __u64 deadline_ns,
		     __u32 *id, struct sym_worker_image *out)
{
	struct sym_worker_req req = { .op = SYM_WORKER_LOAD, .arg = max };
	struct sym_worker_reply *rep = &w->rep;
	int err;

	snprintf(req.module, sizeof(req.module), "%s", module);
	err = send_request(w, &req, fd);
	if (!err)
		err = recv_reply(w, SYM_WORKER_LOAD, deadline_ns, rep);
	if (err)
		return err;
	if (rep->err)
		return rep->err < 0 ? rep->err : -EPROTO;
	*id = rep->id;
	out->existed = rep->existed;
	out->len = rep->len;
	out->build_id_len = rep->build_id_len; /* bounded by recv_reply() */
	memcpy(out->build_id, rep->build_id, out->build_id_len);
	return 0;
}

int sym_worker__lookup(struct sym_worker *w, __u32 id, __u64 file_offset, bool is_return_addr,
		       __u64 deadline_ns, struct sym_worker_frame *out)
{
	struct sym_worker_req req = {
		.op = SYM_WORKER_LOOKUP,
		.id = id,
		.arg = file_offset,
		.is_return = is_return_addr,
	};
	struct sym_worker_reply *rep = &w->rep;
	int err;

	memset(out, 0, sizeof(*out));
	err = send_request(w, &req, -1);
	if (!err)
		err = recv_reply(w, SYM_WORKER_LOOKUP, deadline_ns, rep);
	if (err)
		return err;
	if (rep->err)
		return rep->err < 0 ? rep->err : -EPROTO;
	out->has_vaddr = rep->vaddr != NO_VADDR;
	out->vaddr = out->has_vaddr ? rep->vaddr : 0;
	if (!rep->name_len)
		return 0;
	out->name = strndup(rep->text, rep->name_len);
	if (rep->src_len)
		out->src = strndup(rep->text + rep->name_len, rep->src_len);
	if (rep->raw_len)
		out->raw_name = strndup(rep->text + rep->name_len + rep->src_len, rep->raw_len);
	if (!out->name || (rep->src_len && !out->src) || (rep->raw_len && !out->raw_name)) {
		free(out->name);
		free(out->src);
		free(out->raw_name);
		out->name = out->src = out->raw_name = NULL;
		return -ENOMEM;
	}
	out->sym_off = rep->sym_off;
	out->line = rep->line;
	return 0;
}

int sym_worker__cfi(struct sym_worker *w, __u32 id, __u64 file_offset, __u64 deadline_ns,
		    struct cfi_row *row)
{
	struct sym_worker_req req = { .op = SYM_WORKER_CFI, .id = id, .arg = file_offset };
	struct sym_worker_reply *rep = &w->rep;
	int err;

	err = send_request(w, &req, -1);
	if (!err)
		err = recv_reply(w, SYM_WORKER_CFI, deadline_ns, rep);
	if (err)
		return err;
	if (rep->err)
		return rep->err < 0 ? rep->err : -EPROTO;
	if (rep->name_len != sizeof(*row) || rep->src_len || rep->raw_len)
		return -EPROTO;
	memcpy(row, rep->text, sizeof(*row));
	/* the helper parses hostile DWARF: what it sends is checked like input */
	return cfi_row__valid(row) ? 0 : -EPROTO;
}

void sym_worker__drop(struct sym_worker *w, __u32 id)
{
	struct sym_worker_req req = { .op = SYM_WORKER_DROP, .id = id };

	if (w && w->sock >= 0)
		send_request(w, &req, -1);
}
