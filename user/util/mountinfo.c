// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/mountinfo.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo octal. */
void mountinfo__unescape(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

/*
 * 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 * (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)   (10)         (11)
 * Field 7 is zero or more optional fields ended by the " - " separator.
 */
int mountinfo__parse_line(char *line, struct mountinfo_entry *out)
{
	char *fields[6], *save = NULL, *tok, *sep;
	int i;

	line[strcspn(line, "\n")] = '\0';
	sep = strstr(line, " - ");
	if (!sep)
		return -EINVAL;
	*sep = '\0';
	tok = strtok_r(line, " ", &save);
	for (i = 0; i < 6 && tok; i++) {
		fields[i] = tok;
		tok = strtok_r(NULL, " ", &save);
	}
	if (i < 6 || sscanf(fields[2], "%u:%u", &out->major, &out->minor) != 2)
		return -EINVAL;

	save = NULL;
	out->fstype = strtok_r(sep + 3, " ", &save);
	out->source = strtok_r(NULL, " ", &save);
	out->super_opts = strtok_r(NULL, " ", &save);
	if (!out->fstype || !out->source)
		return -EINVAL;
	if (!out->super_opts)
		out->super_opts = "";
	out->root = fields[3];
	out->mount_point = fields[4];
	mountinfo__unescape(out->root);
	mountinfo__unescape(out->mount_point);
	return 0;
}

/* True when the comma-separated list holds the option exactly. */
static bool has_option(const char *opts, const char *opt)
{
	size_t n = strlen(opt);
	const char *p = opts;

	while ((p = strstr(p, opt))) {
		if ((p == opts || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

static void copy_path(char *dst, const char *src)
{
	snprintf(dst, PATH_MAX, "%s", src);
}

static bool cgroup2_has_memory(const char *cgroup2)
{
	char path[PATH_MAX + 32], buf[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", cgroup2);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f)) {
		char *save = NULL, *tok;

		for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
			found |= strcmp(tok, "memory") == 0;
	}
	fclose(f);
	return found;
}

int mounts__discover(struct mounts *m, const char *mountinfo_path)
{
	struct mountinfo_entry e;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	memset(m, 0, sizeof(*m));
	f = fopen(mountinfo_path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		if (mountinfo__parse_line(line, &e))
			continue;
		/* the first mount of each kind wins: later ones are usually bind copies */
		if (!strcmp(e.fstype, "cgroup2") && !m->cgroup2[0] && !strcmp(e.root, "/"))
			copy_path(m->cgroup2, e.mount_point);
		else if (!strcmp(e.fstype, "cgroup") && !m->memcg_v1[0] &&
			 has_option(e.super_opts, "memory")) {
			copy_path(m->memcg_v1, e.mount_point);
			copy_path(m->memcg_v1_root, e.root);
		} else if (!strcmp(e.fstype, "tracefs") && !m->tracefs[0])
			copy_path(m->tracefs, e.mount_point);
		else if (!strcmp(e.fstype, "debugfs") && !m->tracefs[0]) {
			char tracing[PATH_MAX + 16];
			FILE *probe;

			/* debugfs exposes tracefs at tracing/ when it is auto-mounted */
			snprintf(tracing, sizeof(tracing), "%s/tracing/events", e.mount_point);
			probe = fopen(tracing, "re");
			if (probe) {
				fclose(probe);
				snprintf(m->tracefs, PATH_MAX, "%s/tracing", e.mount_point);
			}
		}
	}
	free(line);
	fclose(f);
	if (m->cgroup2[0])
		m->memcg_on_v2 = cgroup2_has_memory(m->cgroup2);
	return 0;
}

static bool is_fuse(const char *fstype)
{
	return !strcmp(fstype, "fuse") || !strcmp(fstype, "fuseblk") ||
	       !strncmp(fstype, "fuse.", 5);
}

/* mount_point is path itself or one of its leading directories. */
static bool covers(const char *mount_point, const char *path)
{
	size_t n = strlen(mount_point);

	if (!strcmp(mount_point, "/"))
		return true;
	return !strncmp(mount_point, path, n) && (path[n] == '/' || path[n] == '\0');
}

/* 1 when a line of the file at path matches (dev, or a mount point over fs_path): FUSE. */
static int scan_fuse(const char *path, bool by_dev, unsigned int major, unsigned int minor,
		     const char *fs_path)
{
	struct mountinfo_entry e;
	char line[4096];
	int found = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	/* a line longer than the buffer is read in pieces; the pieces do not parse */
	while (!found && fgets(line, sizeof(line), f)) {
		if (mountinfo__parse_line(line, &e) || !is_fuse(e.fstype))
			continue;
		found = by_dev ? e.major == major && e.minor == minor
			       : covers(e.mount_point, fs_path);
	}
	fclose(f);
	return found;
}

int mountinfo__dev_is_fuse(const char *path, unsigned int major, unsigned int minor)
{
	return scan_fuse(path, true, major, minor, NULL);
}

int mountinfo__path_on_fuse(const char *mountinfo_path, const char *path)
{
	return scan_fuse(mountinfo_path, false, 0, 0, path);
}
