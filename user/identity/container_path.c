// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The container identity a cgroup path tells: pure, text in, struct container_id out. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "identity/container.h"
#include "util/array.h"

/* One path component: not NUL-terminated. */
struct comp {
	const char *s;
	size_t len;
};

static bool comp_eq(struct comp c, const char *s)
{
	return strlen(s) == c.len && !memcmp(c.s, s, c.len);
}

static bool comp_starts(struct comp c, const char *prefix)
{
	size_t n = strlen(prefix);

	return c.len >= n && !memcmp(c.s, prefix, n);
}

static bool comp_ends(struct comp c, const char *suffix)
{
	size_t n = strlen(suffix);

	return c.len >= n && !memcmp(c.s + c.len - n, suffix, n);
}

static bool all_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool is_container_id(const char *s, size_t n)
{
	return n == CONTAINER_ID_LEN && all_hex(s, n);
}

/*
 * "<prefix><64 hex><suffix>" (e.g. "cri-containerd-", ".scope"): the id's
 * offset in the component, or NULL.
 */
static const char *prefixed_id(struct comp c, const char *prefix, const char *suffix)
{
	size_t p = strlen(prefix), s = strlen(suffix);

	if (c.len != p + CONTAINER_ID_LEN + s || !comp_starts(c, prefix) || !comp_ends(c, suffix))
		return NULL;
	return all_hex(c.s + p, CONTAINER_ID_LEN) ? c.s + p : NULL;
}

static bool valid_pod_uid(const char *s, size_t n)
{
	size_t i;

	if (n < POD_UID_MIN_LEN || n > POD_UID_MAX_LEN)
		return false;
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

/*
 * The pod uid of a kubelet pod cgroup: "kubepods-burstable-pod<uid>.slice"
 * (systemd driver, '-' escaped as '_') or "pod<uid>" below "kubepods"
 * (cgroupfs driver). Writes it with '-' into uid.
 */
static bool pod_uid_of(struct comp c, bool in_kubepods, char uid[POD_UID_MAX_LEN + 1])
{
	const char *start = NULL, *p;
	size_t n, i;

	if (comp_starts(c, "kubepods") && comp_ends(c, ".slice")) {
		for (p = c.s; p + 4 <= c.s + c.len; p++)
			if (!memcmp(p, "-pod", 4))
				start = p + 4;
		if (!start)
			return false;
		n = c.s + c.len - strlen(".slice") - start;
	} else if (in_kubepods && comp_starts(c, "pod")) {
		start = c.s + 3;
		n = c.len - 3;
	} else {
		return false;
	}
	if (!valid_pod_uid(start, n))
		return false;
	for (i = 0; i < n; i++)
		uid[i] = start[i] == '_' ? '-' : start[i];
	uid[n] = '\0';
	return true;
}

struct parsed {
	char pod_uid[POD_UID_MAX_LEN + 1];
	const char *id; /* CONTAINER_ID_LEN bytes into the path */
	const char *runtime;
	struct comp service; /* innermost "<unit>.service", len 0 if none */
};

/* Container components; the cgroup below a container belongs to it. */
static bool container_of(struct comp c, struct comp prev, bool in_pod, struct parsed *out)
{
	static const struct {
		const char *prefix, *suffix, *runtime;
	} scopes[] = {
		{ "cri-containerd-", ".scope", "containerd" },
		{ "crio-", ".scope", "crio" },
		{ "crio-", "", "crio" },
		{ "docker-", ".scope", "docker" },
		{ "libpod-", ".scope", "podman" },
	};
	const char *id;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(scopes); i++) {
		id = prefixed_id(c, scopes[i].prefix, scopes[i].suffix);
		if (id) {
			out->id = id;
			out->runtime = scopes[i].runtime;
			return true;
		}
	}
	if (is_container_id(c.s, c.len) && (in_pod || comp_eq(prev, "docker"))) {
		out->id = c.s;
		/* containerd and Docker both name a cgroupfs container by its bare id */
		out->runtime = comp_eq(prev, "docker") ? "docker" : NULL;
		return true;
	}
	return false;
}

static int dup_field(char **dst, const char *s, size_t n)
{
	if (!s)
		return 0;
	*dst = strndup(s, n);
	return *dst ? 0 : -ENOMEM;
}

int container_id__parse_path(const char *cgroup_path, struct container_id *out)
{
	struct comp c, prev = { "", 0 };
	struct parsed p = {};
	bool in_kubepods = false, in_pod = false;
	const char *s = cgroup_path, *end;
	char uid[POD_UID_MAX_LEN + 1];
	int err = 0;

	memset(out, 0, sizeof(*out));
	while (*s) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		end = strchrnul(s, '/');
		c = (struct comp){ s, end - s };
		s = end;
		if (comp_eq(c, "kubepods") ||
		    (comp_starts(c, "kubepods") && comp_ends(c, ".slice")))
			in_kubepods = true;
		if (pod_uid_of(c, in_kubepods, uid)) {
			/* a pod inside a container (kind nodes): the pod is what runs */
			strcpy(p.pod_uid, uid);
			p.id = NULL;
			p.runtime = NULL;
			in_pod = true;
		} else if (!container_of(c, prev, in_pod, &p) && !p.id &&
			   comp_ends(c, ".service") && c.len > strlen(".service")) {
			p.service = (struct comp){ c.s, c.len - strlen(".service") };
		}
		prev = c;
	}

	if (p.id || p.pod_uid[0]) {
		err = dup_field(&out->id, p.id, CONTAINER_ID_LEN);
		err = err ?: dup_field(&out->runtime, p.runtime, p.runtime ? strlen(p.runtime) : 0);
		err = err
			      ?: dup_field(&out->pod_uid, p.pod_uid[0] ? p.pod_uid : NULL,
					   strlen(p.pod_uid));
	} else if (p.service.len) {
		err = dup_field(&out->runtime, "systemd", strlen("systemd"));
		err = err ?: dup_field(&out->name, p.service.s, p.service.len);
	} else {
		return -ENOENT;
	}
	if (err)
		container_id__clear(out);
	return err;
}

void container_id__clear(struct container_id *c)
{
	if (!c)
		return;
	free(c->id);
	free(c->runtime);
	free(c->pod_uid);
	free(c->pod);
	free(c->namespace);
	free(c->name);
	memset(c, 0, sizeof(*c));
}
