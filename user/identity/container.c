// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The container resolver: the names a cgroup path does not tell, from the
 * kubelet's pod-log tree, the processes' mount tables and Docker's config,
 * cached per cgroup id.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "identity/container.h"
#include "util/clock.h"
#include "util/json_read.h"
#include "util/log.h"
#include "util/procfs.h"
#include "util/u64map.h"

/* An identity still missing names is looked up again at most this often. */
#define RETRY_INTERVAL_NS 5000000000ULL
#define DEFAULT_MAX_ENTRIES 16384

char *kubelet_container_from_mountinfo(const char *mountinfo, const char *pod_uid)
{
	char needle[POD_UID_MAX_LEN + 32];
	const char *line, *root, *hit, *name, *end;

	snprintf(needle, sizeof(needle), "pods/%s/containers/", pod_uid);
	for (line = mountinfo; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		/* field 4, the mount's root within its filesystem, is the kubelet's source path */
		root = line;
		for (int field = 1; field < 4 && root; field++) {
			root = strchr(root, ' ');
			root = root ? root + 1 : NULL;
		}
		if (!root)
			break;
		end = strpbrk(root, " \n");
		if (!end)
			end = root + strlen(root);
		hit = memmem(root, end - root, needle, strlen(needle));
		if (!hit)
			continue;
		name = hit + strlen(needle);
		end = memchr(name, '/', end - name);
		if (end && end > name)
			return strndup(name, end - name);
	}
	return NULL;
}

struct entry {
	struct container_id id;
	enum container_origin origin;
	bool is_container;
	bool complete; /* nothing more to learn: not looked up again */
	__u64 last_try_ns;
};

struct container_resolver {
	char *pods_log_dir;
	char *docker_dir;
	char *cgroup2_mount; /* NULL: processes are not read */
	char *proc_root;
	unsigned int max_entries;
	bool warned_full;
	struct u64map cache; /* cgroup id -> struct entry * */
};

struct container_resolver *container_resolver__new(const struct container_resolver_opts *opts)
{
	struct container_resolver *r = calloc(1, sizeof(*r));
	const struct container_resolver_opts none = {};

	if (!r)
		return NULL;
	if (!opts)
		opts = &none;
	r->pods_log_dir = strdup(opts->pods_log_dir ?: "/var/log/pods");
	r->docker_dir = strdup(opts->docker_dir ?: "/var/lib/docker/containers");
	r->proc_root = strdup(opts->proc_root ?: "/proc");
	r->cgroup2_mount = opts->cgroup2_mount ? strdup(opts->cgroup2_mount) : NULL;
	r->max_entries = opts->max_entries ?: DEFAULT_MAX_ENTRIES;
	u64map_init(&r->cache);
	if (!r->pods_log_dir || !r->docker_dir || !r->proc_root ||
	    (opts->cgroup2_mount && !r->cgroup2_mount)) {
		container_resolver__free(r);
		errno = ENOMEM;
		return NULL;
	}
	return r;
}

static void entry_free(struct entry *e)
{
	if (!e)
		return;
	container_id__clear(&e->id);
	free(e);
}

void container_resolver__free(struct container_resolver *r)
{
	uint64_t key, value;
	size_t it = 0;

	if (!r)
		return;
	while (u64map_next(&r->cache, &it, &key, &value))
		entry_free((struct entry *)(uintptr_t)value);
	u64map_free(&r->cache);
	free(r->pods_log_dir);
	free(r->docker_dir);
	free(r->cgroup2_mount);
	free(r->proc_root);
	free(r);
}

/* The pod's log directory "<namespace>_<pod>_<uid>", split into namespace and pod. */
static char *find_pod_log_dir(struct container_resolver *r, struct container_id *c)
{
	size_t uid_len = strlen(c->pod_uid);
	char *path = NULL;
	const char *name, *first, *last;
	struct dirent *de;
	DIR *dir;

	dir = opendir(r->pods_log_dir);
	if (!dir)
		return NULL;
	while ((de = readdir(dir))) {
		name = de->d_name;
		/* namespace and pod names are DNS labels: no '_' */
		first = strchr(name, '_');
		last = strrchr(name, '_');
		if (!first || first == last || strcmp(last + 1, c->pod_uid) ||
		    strlen(last + 1) != uid_len)
			continue;
		if (!c->namespace)
			c->namespace = strndup(name, first - name);
		if (!c->pod)
			c->pod = strndup(first + 1, last - first - 1);
		if (asprintf(&path, "%s/%s", r->pods_log_dir, name) < 0)
			path = NULL;
		break;
	}
	closedir(dir);
	return path;
}

/* Rule 1: a log file that is a symlink into the runtime's files names the container id. */
static bool container_dir_links_to(const char *container_dir, const char *id)
{
	char path[4096], target[4096];
	struct dirent *de;
	bool found = false;
	ssize_t n;
	DIR *dir;

	dir = opendir(container_dir);
	if (!dir)
		return false;
	while (!found && (de = readdir(dir))) {
		if (de->d_type != DT_LNK && de->d_type != DT_UNKNOWN)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", container_dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		found = strstr(target, id) != NULL;
	}
	closedir(dir);
	return found;
}

struct pod_dirs {
	char *only;   /* the name of the pod's only container directory, if exactly one */
	char *linked; /* the one whose log links to the container id */
	int nr;
};

static void scan_pod_dir(const char *pod_dir, const char *id, struct pod_dirs *out)
{
	char path[4096];
	struct dirent *de;
	DIR *dir;

	memset(out, 0, sizeof(*out));
	dir = opendir(pod_dir);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		out->nr++;
		if (out->nr == 1)
			out->only = strdup(de->d_name);
		if (snprintf(path, sizeof(path), "%s/%s", pod_dir, de->d_name) >= (int)sizeof(path))
			continue;
		if (id && !out->linked && container_dir_links_to(path, id))
			out->linked = strdup(de->d_name);
	}
	closedir(dir);
	if (out->nr != 1) {
		free(out->only);
		out->only = NULL;
	}
}

enum proc_verdict {
	PROC_UNREAD,  /* no process of the cgroup could be read */
	PROC_NAMED,   /* the termination-log mount names the container */
	PROC_SANDBOX, /* read, and no such mount: the pod's sandbox */
};

/* Rule 2: a process of the cgroup and its kubelet bind mounts. */
static enum proc_verdict name_from_process(struct container_resolver *r, const char *cgroup_path,
					   const char *pod_uid, char **name)
{
	char path[4096], *text = NULL;
	unsigned long pid;

	if (!r->cgroup2_mount)
		return PROC_UNREAD;
	snprintf(path, sizeof(path), "%s%s/cgroup.procs", r->cgroup2_mount, cgroup_path);
	if (read_small_file(path, &text))
		return PROC_UNREAD;
	pid = strtoul(text, NULL, 10);
	free(text);
	if (!pid)
		return PROC_UNREAD;
	snprintf(path, sizeof(path), "%s/%lu/mountinfo", r->proc_root, pid);
	if (read_small_file(path, &text))
		return PROC_UNREAD;
	*name = kubelet_container_from_mountinfo(text, pod_uid);
	free(text);
	return *name ? PROC_NAMED : PROC_SANDBOX;
}

static void set_if_empty(char **field, char *value)
{
	if (!*field && value && *value)
		*field = value;
	else
		free(value);
}

/*
 * Docker (alone or under cri-dockerd) keeps each container's config beside
 * its log. Its io.kubernetes.* labels are whatever the image's LABELs and
 * the creator set: in a kubelet pod cri-dockerd sets them all (over the
 * image's), so they count there when their pod uid is the path's; outside
 * one they name nothing of Kubernetes.
 */
static void names_from_docker(struct container_resolver *r, struct container_id *c,
			      enum container_origin origin)
{
	static const char *const labels[][3] = {
		{ "Config", "Labels", "io.kubernetes.pod.uid" },
		{ "Config", "Labels", "io.kubernetes.pod.name" },
		{ "Config", "Labels", "io.kubernetes.pod.namespace" },
		{ "Config", "Labels", "io.kubernetes.container.name" },
	};
	static const char *const name_key[] = { "Name" };
	char path[4096], *doc = NULL, *name, *uid;

	snprintf(path, sizeof(path), "%s/%s/config.v2.json", r->docker_dir, c->id);
	if (read_small_file(path, &doc))
		return;
	set_if_empty(&c->runtime, strdup("docker"));
	if (origin == CONTAINER_ORIGIN_KUBELET) {
		uid = json_lookup_string(doc, labels[0], 3);
		if (uid && c->pod_uid && !strcmp(uid, c->pod_uid)) {
			set_if_empty(&c->pod, json_lookup_string(doc, labels[1], 3));
			set_if_empty(&c->namespace, json_lookup_string(doc, labels[2], 3));
			set_if_empty(&c->name, json_lookup_string(doc, labels[3], 3));
		}
		free(uid);
	} else {
		/* Docker's own name ("/web"): set by whoever ran the container */
		name = json_lookup_string(doc, name_key, 1);
		if (name)
			set_if_empty(&c->name, strdup(name[0] == '/' ? name + 1 : name));
		free(name);
	}
	free(doc);
}

static bool docker_may_know(const struct container_id *c, enum container_origin origin)
{
	if (!c->id || (c->runtime && strcmp(c->runtime, "docker")))
		return false;
	return origin == CONTAINER_ORIGIN_KUBELET ||
	       (origin == CONTAINER_ORIGIN_RUNTIME && c->runtime);
}

/*
 * Fills the names; returns true when nothing more can be learned later. The
 * kubelet's pod-log tree first (the workload cannot write it), then Docker,
 * then the workload's own mount table.
 */
static bool resolve_names(struct container_resolver *r, const char *cgroup_path,
			  struct container_id *c, enum container_origin origin)
{
	enum proc_verdict verdict = PROC_UNREAD;
	struct pod_dirs dirs = {};
	char *pod_dir = NULL, *name = NULL;
	bool sandbox = false;

	if (!c->pod_uid) {
		if (docker_may_know(c, origin))
			names_from_docker(r, c, origin);
		return true;
	}
	pod_dir = find_pod_log_dir(r, c);
	if (pod_dir && c->id && !c->name) {
		scan_pod_dir(pod_dir, c->id, &dirs);
		if (dirs.linked) {
			c->name = dirs.linked;
			dirs.linked = NULL;
		}
	}
	if (docker_may_know(c, origin))
		names_from_docker(r, c, origin);
	if (c->id && !c->name) {
		verdict = name_from_process(r, cgroup_path, c->pod_uid, &name);
		if (verdict == PROC_NAMED)
			c->name = name;
		sandbox = verdict == PROC_SANDBOX;
		if (verdict == PROC_UNREAD && dirs.only) {
			c->name = dirs.only;
			dirs.only = NULL;
		}
	}
	free(dirs.only);
	free(dirs.linked);
	free(pod_dir);
	return c->pod && c->namespace && (c->name || sandbox || !c->id);
}

static struct entry *resolve(struct container_resolver *r, const char *cgroup_path)
{
	struct entry *e = calloc(1, sizeof(*e));
	int err;

	if (!e)
		return NULL;
	err = container_id__parse(cgroup_path, &e->id, &e->origin);
	if (err == -ENOMEM) {
		free(e);
		return NULL;
	}
	e->is_container = !err;
	e->complete = !e->is_container || resolve_names(r, cgroup_path, &e->id, e->origin);
	e->last_try_ns = clock_mono_ns();
	return e;
}

const struct container_id *container_resolver__lookup(struct container_resolver *r, __u64 cgroup_id,
						      const char *cgroup_path)
{
	struct entry *e = NULL;
	uint64_t value;

	if (!cgroup_path || !cgroup_id)
		return NULL;
	if (u64map_get(&r->cache, cgroup_id, &value)) {
		e = (struct entry *)(uintptr_t)value;
		if (!e->complete && clock_mono_ns() - e->last_try_ns >= RETRY_INTERVAL_NS &&
		    e->is_container) {
			e->complete = resolve_names(r, cgroup_path, &e->id, e->origin);
			e->last_try_ns = clock_mono_ns();
		}
		return e->is_container ? &e->id : NULL;
	}
	if (r->cache.len >= r->max_entries) {
		if (!r->warned_full)
			p_warn("container identity cache full (%u cgroups): further cgroups stay "
			       "unnamed",
			       r->max_entries);
		r->warned_full = true;
		return NULL;
	}
	e = resolve(r, cgroup_path);
	if (!e)
		return NULL;
	if (u64map_put(&r->cache, cgroup_id, (uintptr_t)e)) {
		entry_free(e);
		return NULL;
	}
	return e->is_container ? &e->id : NULL;
}

void container_resolver__forget(struct container_resolver *r, __u64 cgroup_id)
{
	uint64_t value;

	if (!r || !u64map_get(&r->cache, cgroup_id, &value))
		return;
	u64map_del(&r->cache, cgroup_id);
	entry_free((struct entry *)(uintptr_t)value);
}

unsigned int container_resolver__size(const struct container_resolver *r)
{
	return r ? r->cache.len : 0;
}
