/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The stop flag of a command's run loop: the signals named set it, and the
 * loop leaves at its next check. One flag per process (one command runs).
 */
#ifndef MEMOBS_STOP_SIGNAL_H
#define MEMOBS_STOP_SIGNAL_H

#include <signal.h>
#include <stddef.h>

/*
 * Sets the flag on each of signals[0..n). Without SA_RESTART, so that a
 * signal also cuts short the wait (poll, epoll, sleep) the loop is in.
 */
void stop_signal__install(const int *signals, size_t n);
/* Set once one of the installed signals arrived. */
volatile sig_atomic_t *stop_signal__flag(void);

#endif /* MEMOBS_STOP_SIGNAL_H */
