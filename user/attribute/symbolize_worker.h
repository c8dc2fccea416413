/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The symbolizer's helper process (issue 14): libelf and libdwfl read the
 * bytes of observed files there, not in memobs, so a parser bug is the
 * helper's crash, not a compromise of the node's daemon.
 *
 * Forked at start; before its first request it closes every descriptor but
 * its socket (stdin and stdout become /dev/null), drops every capability
 * (the bounding set too when it may, ambient cleared, no_new_privs), and
 * limits its address space and CPU time. It opens nothing: memobs opens each
 * file (util/observed_file.h) and passes the descriptor with SCM_RIGHTS; the
 * helper preads it into memory, never mapping it.
 *
 * Protocol: one SOCK_SEQPACKET message each way, struct sym_worker_req and
 * struct sym_worker_reply (symbolize_worker.c), host byte order. LOAD (fd)
 * -> image id, length and GNU build-id; LOOKUP (id, file offset) -> symbol
 * (demangled in the helper: symbolize_elf.h) and its mangled name when it
 * was demangled, offset, source basename and line, and the address as the
 * ELF's vaddr; DROP (id) has no reply. Every length in a reply is checked
 * against its bound: the helper has parsed hostile bytes.
 *
 * Every call waits until an absolute CLOCK_MONOTONIC deadline at most. On a
 * timeout (-ETIMEDOUT) or the helper's death (-EPIPE) it is killed and
 * reaped at once, the loss counted, and sym_worker__generation() changes:
 * the images it held are gone. sym_worker__ensure() starts the next one, at
 * most one start per SYM_WORKER_RESTART_MS; before that calls fail with
 * -EAGAIN without waiting.
 */
#ifndef MEMOBS_SYMBOLIZE_WORKER_H
#define MEMOBS_SYMBOLIZE_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define SYM_WORKER_RESTART_MS 1000
/* the longest symbol name and source basename a reply carries (truncated past) */
#define SYM_WORKER_NAME_MAX 4096
#define SYM_WORKER_SRC_MAX 1024
/* the longest build-id a reply carries (symbolize_elf.h refuses longer notes) */
#define SYM_WORKER_BUILD_ID_MAX 64

struct sym_worker;

struct sym_worker_opts {
	size_t budget_bytes; /* the images the caller lets it hold: sizes RLIMIT_AS */
	int test_hang_ms;    /* tests only: sleep this long before each LOOKUP */
};

struct sym_worker_stats {
	__u64 timeouts; /* calls past their deadline (the helper was killed) */
	__u64 restarts; /* helpers lost (timed out, died): the next is started on demand */
};

/* Starts the first helper; NULL with errno set. */
struct sym_worker *sym_worker__new(const struct sym_worker_opts *opts, __u64 start_deadline_ns);
void sym_worker__free(struct sym_worker *w); /* kills and reaps the helper; NULL-safe */

/*
 * A helper to talk to: reaps one that died since the last call, starts one
 * if none runs and the backoff allows. 0 or -EAGAIN (none now), -errno.
 */
int sym_worker__ensure(struct sym_worker *w, __u64 deadline_ns);
__u64 sym_worker__generation(const struct sym_worker *w); /* changes when a helper is lost */
int sym_worker__pid(const struct sym_worker *w);	  /* 0: none running (for tests) */
void sym_worker__stats(const struct sym_worker *w, struct sym_worker_stats *out);

/* What LOAD answers besides the image id. */
struct sym_worker_image {
	bool existed; /* a held image of the same build-id: its id */
	size_t len;   /* the bytes read */
	__u8 build_id[SYM_WORKER_BUILD_ID_MAX];
	size_t build_id_len; /* 0: none */
};

/* The helper reads fd (not taken) up to max bytes: -EFBIG, -ENOEXEC, ... from it. */
int sym_worker__load(struct sym_worker *w, int fd, __u64 max, const char *module, __u64 deadline_ns,
		     __u32 *id, struct sym_worker_image *out);
/* What LOOKUP answers; name, raw_name and src malloc'd (NULL: none; the caller frees them). */
struct sym_worker_frame {
	char *name;
	char *raw_name; /* the mangled name when name is its demangling */
	__u64 sym_off;
	char *src;
	int line;
	bool has_vaddr; /* the offset lies in a PT_LOAD of the file */
	__u64 vaddr;	/* the address as the ELF's own vaddr (perf's and pprof's) */
};

int sym_worker__lookup(struct sym_worker *w, __u32 id, __u64 file_offset, bool is_return_addr,
		       __u64 deadline_ns, struct sym_worker_frame *out);
void sym_worker__drop(struct sym_worker *w, __u32 id);

struct cfi_row;
/* The unwind rule at file_offset of image id (symbolize_cfi.c): -ENOENT when none. */
int sym_worker__cfi(struct sym_worker *w, __u32 id, __u64 file_offset, __u64 deadline_ns,
		    struct cfi_row *row);

#endif /* MEMOBS_SYMBOLIZE_WORKER_H */
