/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The subcommands: each takes argv with argv[0] = its name, returns the exit code. */
#ifndef MEMOBS_CMD_H
#define MEMOBS_CMD_H

struct pipeline;

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_leaks(int argc, char **argv);

/* Names the missing capability on stderr. Returns 0 or -EPERM. */
int cmd_check_privileges(void);
/* The one line a daemon logs at start: version, kernel, features in use. */
void log_startup_line(const struct pipeline *p);

#endif /* MEMOBS_CMD_H */
