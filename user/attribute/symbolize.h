/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * User-space addresses of live processes to "func+0xoff (module) file:line",
 * with elfutils' libdwfl.
 *
 * Files are opened through /proc/PID/root/<path> when that is the mapped
 * file (same device and inode as /proc/PID/maps shows), else through
 * /proc/PID/map_files/<range> (deleted files, roots memobs cannot name), so
 * processes in other mount namespaces resolve. Each ELF is opened once per
 * build-id and shared by every process and path mapping it (the DWARF of
 * libc is read once for all containers). Per-process state is the list of
 * executable mappings, read on first use, re-read when an address falls
 * outside it, dropped when the pid is found reused (start time changed) or
 * by symbolizer__forget_pid(). A process that exited keeps resolving against
 * the mappings read before its exit until it is forgotten.
 *
 * Return addresses: every frame but the first of a stack is a return
 * address, the instruction after a call; its symbol and line are looked up
 * at addr - 1 so that they name the call (the displayed +0xoff stays that of
 * the address itself, as perf and gdb show it). symbolizer__resolve() treats
 * addrs[0] as an exact IP and addrs[1..] as return addresses;
 * symbolizer__resolve_one() lets the caller say.
 */
#ifndef MEMOBS_SYMBOLIZE_H
#define MEMOBS_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct symbolizer;

/* NULL with errno set on failure. */
struct symbolizer *symbolizer__new(void);
void symbolizer__free(struct symbolizer *s);

/*
 * out[i] (malloc'd, the caller frees each) for addrs[i]:
 *   "leak_here+0x1a (leaker) leaker.c:42"   symbol, and line with debug info
 *   "0x7f12345678 (libfoo.so)"              in a file, no symbol covers it
 *   "[unknown]"                             in no file mapping (JIT, gone)
 * Returns 0, -ESRCH when the process is gone and was never seen, -ENOMEM
 * (then no string is left allocated).
 */
int symbolizer__resolve(struct symbolizer *s, int pid, const __u64 *addrs, size_t n, char **out);
int symbolizer__resolve_one(struct symbolizer *s, int pid, __u64 addr, bool is_return_addr,
			    char **out);

/* Drop per-pid state (the process exited); strings the caller holds stay valid. */
void symbolizer__forget_pid(struct symbolizer *s, int pid);

#endif /* MEMOBS_SYMBOLIZE_H */
