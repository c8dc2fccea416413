/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* libbpf's own messages, routed to memobs's log (util/log.h). */
#ifndef MEMOBS_LIBBPF_LOG_H
#define MEMOBS_LIBBPF_LOG_H

/*
 * Installs the printer: libbpf's messages, its warnings included, appear
 * only at debug level (-v), as libbpf prefixes them ("libbpf: "); below it
 * they are all dropped, because memobs reports every failure itself, once,
 * at the edge.
 */
void libbpf_log__install(void);

#endif /* MEMOBS_LIBBPF_LOG_H */
