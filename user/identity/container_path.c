// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The container identity a cgroup path tells: pure, text in, struct container_id out. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
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

struct parsed {
	char pod_uid[POD_UID_MAX_LEN + 1];
	const char *id; /* CONTAINER_ID_LEN bytes into the path */
	const char *runtime;
	struct comp service; /* innermost "<unit>.service", len 0 if none */
};

/* A container component (prev: the component above it, for Docker's cgroupfs "/docker/<id>"). */
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

/*
 * A component that neither a container nor a delegated subtree could have
 * made: no container, no ".scope" (a runtime's or a session's), no ".service"
 * (user@UID.service delegates to the user), no bare container id.
 */
static bool plain_comp(struct comp c, struct comp prev)
{
	struct parsed scratch = {};

	return !container_of(c, prev, true, &scratch) && !comp_ends(c, ".scope") &&
	       !comp_ends(c, ".service");
}

static bool is_qos(struct comp c, bool systemd)
{
	if (systemd)
		return comp_eq(c, "kubepods-burstable.slice") ||
		       comp_eq(c, "kubepods-besteffort.slice");
	return comp_eq(c, "burstable") || comp_eq(c, "besteffort");
}

/*
 * The pod uid of a kubelet pod cgroup at its place: "kubepods[-<qos>]-pod<uid>.slice"
 * below "kubepods[-<qos>].slice" (systemd driver, '-' in the uid escaped as
 * '_'), "pod<uid>" below "kubepods[/<qos>]" (cgroupfs). qos: the QoS
 * component above it, len 0 for a guaranteed pod. Writes the uid with '-'.
 */
static bool pod_uid_of(struct comp c, bool systemd, struct comp qos, char uid[POD_UID_MAX_LEN + 1])
{
	char prefix[64];
	const char *start;
	size_t n, i;

	if (systemd) {
		/* "kubepods-burstable.slice" -> "kubepods-burstable-pod" */
		snprintf(prefix, sizeof(prefix), "%.*s-pod",
			 qos.len ? (int)(qos.len - strlen(".slice")) : (int)strlen("kubepods"),
			 qos.len ? qos.s : "kubepods");
		if (!comp_starts(c, prefix) || !comp_ends(c, ".slice") ||
		    c.len < strlen(prefix) + strlen(".slice"))
			return false;
		start = c.s + strlen(prefix);
		n = c.len - strlen(prefix) - strlen(".slice");
	} else {
		if (!comp_starts(c, "pod"))
			return false;
		start = c.s + 3;
		n = c.len - 3;
	}
	if (!valid_pod_uid(start, n))
		return false;
	for (i = 0; i < n; i++)
		uid[i] = start[i] == '_' ? '-' : start[i];
	uid[n] = '\0';
	return true;
}

struct comps {
	struct comp *v;
	size_t nr, cap;
};

static int split_path(const char *path, struct comps *out)
{
	const char *s = path, *end;

	while (*s) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		end = strchrnul(s, '/');
		if (ARRAY_GROW(out->v, out->cap, out->nr + 1))
			return -ENOMEM;
		out->v[out->nr++] = (struct comp){ s, end - s };
		s = end;
	}
	return 0;
}

static struct comp comp_at(const struct comps *cs, size_t i)
{
	return i < cs->nr ? cs->v[i] : (struct comp){ "", 0 };
}

/*
 * The kubelet's tree: the outermost "kubepods" or "kubepods.slice", with only
 * plain components above it; then the QoS class, the pod and the container
 * each at its one place. Below the container everything is the container's
 * (a delegated container names its children as it likes). Returns true when
 * the root is there (then *p holds what the tree tells, maybe nothing).
 */
static bool parse_kubelet(const struct comps *cs, struct parsed *p)
{
	struct comp c, none = { "", 0 }, qos = none;
	size_t i, root;
	bool systemd;

	for (root = 0; root < cs->nr; root++) {
		c = cs->v[root];
		if (comp_eq(c, "kubepods") || comp_eq(c, "kubepods.slice"))
			break;
		if (!plain_comp(c, comp_at(cs, root - 1)))
			return false;
	}
	if (root == cs->nr)
		return false;
	systemd = comp_eq(cs->v[root], "kubepods.slice");
	i = root + 1;
	if (is_qos(comp_at(cs, i), systemd))
		qos = cs->v[i++];
	if (!pod_uid_of(comp_at(cs, i), systemd, qos, p->pod_uid))
		return true;
	/* CRI-O's monitor (crio-conmon-<id>.scope) matches no container: the pod alone */
	container_of(comp_at(cs, i + 1), cs->v[i], true, p);
	return true;
}

/*
 * Outside the kubelet's tree: the outermost container (its runtime made
 * it; what it holds, it named), else the innermost systemd service. Returns
 * the origin.
 */
static enum container_origin parse_other(const struct comps *cs, struct parsed *p)
{
	struct comp c, prev = { "", 0 };
	size_t i;

	for (i = 0; i < cs->nr; i++) {
		c = cs->v[i];
		if (container_of(c, prev, false, p)) {
			/* the runtime's own place: "/system.slice/docker-<id>.scope", "/docker/<id>" */
			if (i == 1 && (comp_eq(prev, "system.slice") ||
				       comp_eq(prev, "machine.slice") || comp_eq(prev, "docker")))
				return CONTAINER_ORIGIN_RUNTIME;
			return CONTAINER_ORIGIN_OTHER;
		}
		if (comp_ends(c, ".service") && c.len > strlen(".service"))
			p->service = (struct comp){ c.s, c.len - strlen(".service") };
		prev = c;
	}
	return p->service.len ? CONTAINER_ORIGIN_OTHER : CONTAINER_ORIGIN_NONE;
}

static int dup_field(char **dst, const char *s, size_t n)
{
	if (!s)
		return 0;
	*dst = strndup(s, n);
	return *dst ? 0 : -ENOMEM;
}

int container_id__parse(const char *cgroup_path, struct container_id *out,
			enum container_origin *origin)
{
	struct comps cs = {};
	struct parsed p = {};
	enum container_origin o;
	int err;

	memset(out, 0, sizeof(*out));
	*origin = CONTAINER_ORIGIN_NONE;
	err = split_path(cgroup_path, &cs);
	if (err)
		goto out;
	if (parse_kubelet(&cs, &p))
		o = p.pod_uid[0] ? CONTAINER_ORIGIN_KUBELET : CONTAINER_ORIGIN_NONE;
	else
		o = parse_other(&cs, &p);
	if (o == CONTAINER_ORIGIN_NONE) {
		err = -ENOENT;
		goto out;
	}
	if (p.id || p.pod_uid[0]) {
		err = dup_field(&out->id, p.id, CONTAINER_ID_LEN);
		err = err ?: dup_field(&out->runtime, p.runtime, p.runtime ? strlen(p.runtime) : 0);
		err = err
			      ?: dup_field(&out->pod_uid, p.pod_uid[0] ? p.pod_uid : NULL,
					   strlen(p.pod_uid));
	} else {
		err = dup_field(&out->runtime, "systemd", strlen("systemd"));
		err = err ?: dup_field(&out->name, p.service.s, p.service.len);
	}
	if (err)
		container_id__clear(out);
	else
		*origin = o;
out:
	free(cs.v);
	return err;
}

int container_id__parse_path(const char *cgroup_path, struct container_id *out)
{
	enum container_origin origin;

	return container_id__parse(cgroup_path, out, &origin);
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
