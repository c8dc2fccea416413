// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "identity/container.h"
#include "util/json.h"
#include "util/log.h"
#include "util/procfs.h"
#include "util/u64map.h"

#define CONTAINER_ID_LEN 64
#define POD_UID_MIN_LEN 8 /* static pods carry a 32-hex config hash, others a 36-char UUID */
#define POD_UID_MAX_LEN 64
/* An identity still missing names is looked up again at most this often. */
#define RETRY_INTERVAL_NS 5000000000ULL
#define DEFAULT_MAX_ENTRIES 16384

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

	for (i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
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

static void write_str_or_null(struct json *j, const char *key, const char *value)
{
	json_key(j, key);
	if (value)
		json_str(j, value);
	else
		json_null(j);
}

void container_id__write_json(const struct container_id *c, struct json *j)
{
	if (!c) {
		json_null(j);
		return;
	}
	json_obj_begin(j);
	write_str_or_null(j, "id", c->id);
	write_str_or_null(j, "runtime", c->runtime);
	write_str_or_null(j, "pod_uid", c->pod_uid);
	write_str_or_null(j, "pod", c->pod);
	write_str_or_null(j, "namespace", c->namespace);
	write_str_or_null(j, "name", c->name);
	json_obj_end(j);
}

/*
 * A minimal JSON reader: enough to pick strings out of Docker's
 * config.v2.json without trusting its layout (a naive search for "Name"
 * would find mount points' names).
 */
#define JSON_SCAN_MAX_DEPTH 64

static void skip_ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

static void put_utf8(char *out, size_t *n, unsigned int cp)
{
	if (cp < 0x80) {
		out[(*n)++] = cp;
	} else if (cp < 0x800) {
		out[(*n)++] = 0xc0 | cp >> 6;
		out[(*n)++] = 0x80 | (cp & 0x3f);
	} else {
		out[(*n)++] = 0xe0 | cp >> 12;
		out[(*n)++] = 0x80 | (cp >> 6 & 0x3f);
		out[(*n)++] = 0x80 | (cp & 0x3f);
	}
}

/* At a '"': advances past the string; when out is set, stores a malloc'd unescaped copy. */
static int scan_string(const char **p, char **out)
{
	const char *s = *p + 1;
	char *buf = NULL;
	size_t n = 0;
	unsigned int cp;

	if (out) {
		const char *q = s;

		while (*q && *q != '"')
			q += q[0] == '\\' && q[1] ? 2 : 1;
		/* an escape never unescapes into more bytes than it takes */
		buf = malloc(q - s + 1);
		if (!buf)
			return -ENOMEM;
	}
	while (*s != '"') {
		char ch = *s;

		if (!ch)
			goto bad;
		s++;
		if (ch == '\\') {
			ch = *s++;
			switch (ch) {
			case 'b':
				ch = '\b';
				break;
			case 'f':
				ch = '\f';
				break;
			case 'n':
				ch = '\n';
				break;
			case 'r':
				ch = '\r';
				break;
			case 't':
				ch = '\t';
				break;
			case '"':
			case '\\':
			case '/':
				break;
			case 'u':
				if (!all_hex(s, 4) || strnlen(s, 4) < 4)
					goto bad;
				if (sscanf(s, "%4x", &cp) != 1)
					goto bad;
				s += 4;
				if (buf)
					/* a lone surrogate half is not text: U+FFFD */
					put_utf8(buf, &n,
						 cp >= 0xd800 && cp < 0xe000 ? 0xfffd : cp);
				continue;
			default:
				goto bad;
			}
		}
		if (buf)
			buf[n++] = ch;
	}
	*p = s + 1;
	if (out) {
		buf[n] = '\0';
		*out = buf;
	}
	return 0;
bad:
	free(buf);
	return -EINVAL;
}

static int skip_value(const char **p, int depth);

static int skip_container(const char **p, int depth, char close, bool keyed)
{
	int err;

	if (depth > JSON_SCAN_MAX_DEPTH)
		return -EINVAL;
	(*p)++;
	skip_ws(p);
	if (**p == close) {
		(*p)++;
		return 0;
	}
	for (;;) {
		if (keyed) {
			skip_ws(p);
			if (**p != '"' || scan_string(p, NULL))
				return -EINVAL;
			skip_ws(p);
			if (*(*p)++ != ':')
				return -EINVAL;
		}
		err = skip_value(p, depth + 1);
		if (err)
			return err;
		skip_ws(p);
		if (**p == ',') {
			(*p)++;
			continue;
		}
		if (**p != close)
			return -EINVAL;
		(*p)++;
		return 0;
	}
}

static int skip_value(const char **p, int depth)
{
	skip_ws(p);
	switch (**p) {
	case '"':
		return scan_string(p, NULL);
	case '{':
		return skip_container(p, depth, '}', true);
	case '[':
		return skip_container(p, depth, ']', false);
	case '\0':
		return -EINVAL;
	default: /* number, true, false, null */
		while (**p && !strchr(",}] \t\r\n", **p))
			(*p)++;
		return 0;
	}
}

static char *lookup_in_object(const char **p, const char *const *keys, int nr_keys, int depth)
{
	char *key, *found = NULL;
	bool match;

	skip_ws(p);
	if (**p != '{' || depth > JSON_SCAN_MAX_DEPTH)
		return NULL;
	(*p)++;
	skip_ws(p);
	if (**p == '}')
		return NULL;
	for (;;) {
		skip_ws(p);
		if (**p != '"' || scan_string(p, &key))
			return NULL;
		match = !strcmp(key, keys[0]);
		free(key);
		skip_ws(p);
		if (*(*p)++ != ':')
			return NULL;
		skip_ws(p);
		if (match && nr_keys == 1 && **p == '"')
			return scan_string(p, &found) ? NULL : found;
		if (match && nr_keys > 1 && **p == '{')
			return lookup_in_object(p, keys + 1, nr_keys - 1, depth + 1);
		if (skip_value(p, depth + 1))
			return NULL;
		skip_ws(p);
		if (**p != ',')
			return NULL;
		(*p)++;
	}
}

char *json_lookup_string(const char *doc, const char *const *keys, int nr_keys)
{
	const char *p = doc;

	if (!doc || nr_keys < 1)
		return NULL;
	return lookup_in_object(&p, keys, nr_keys, 0);
}

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

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

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

/* Docker (alone or under cri-dockerd) keeps each container's config beside its log. */
static void names_from_docker(struct container_resolver *r, struct container_id *c)
{
	static const char *const labels[][3] = {
		{ "Config", "Labels", "io.kubernetes.pod.uid" },
		{ "Config", "Labels", "io.kubernetes.pod.name" },
		{ "Config", "Labels", "io.kubernetes.pod.namespace" },
		{ "Config", "Labels", "io.kubernetes.container.name" },
	};
	static const char *const name_key[] = { "Name" };
	char path[4096], *doc = NULL, *name;

	snprintf(path, sizeof(path), "%s/%s/config.v2.json", r->docker_dir, c->id);
	if (read_small_file(path, &doc))
		return;
	set_if_empty(&c->runtime, strdup("docker"));
	set_if_empty(&c->pod_uid, json_lookup_string(doc, labels[0], 3));
	set_if_empty(&c->pod, json_lookup_string(doc, labels[1], 3));
	set_if_empty(&c->namespace, json_lookup_string(doc, labels[2], 3));
	set_if_empty(&c->name, json_lookup_string(doc, labels[3], 3));
	name = json_lookup_string(doc, name_key, 1);
	/* Docker's own name ("/web") only where Kubernetes gave none */
	if (name && !c->pod_uid)
		set_if_empty(&c->name, strdup(name[0] == '/' ? name + 1 : name));
	free(name);
	free(doc);
}

/* Fills the names; returns true when nothing more can be learned later. */
static bool resolve_names(struct container_resolver *r, const char *cgroup_path,
			  struct container_id *c)
{
	enum proc_verdict verdict = PROC_UNREAD;
	struct pod_dirs dirs = {};
	char *pod_dir = NULL, *name = NULL;
	bool sandbox = false;

	if (c->id && (!c->runtime || !strcmp(c->runtime, "docker")))
		names_from_docker(r, c);
	if (!c->pod_uid)
		return true;
	pod_dir = find_pod_log_dir(r, c);
	if (pod_dir && c->id && !c->name) {
		scan_pod_dir(pod_dir, c->id, &dirs);
		if (dirs.linked) {
			c->name = dirs.linked;
			dirs.linked = NULL;
		}
	}
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
	err = container_id__parse_path(cgroup_path, &e->id);
	if (err == -ENOMEM) {
		free(e);
		return NULL;
	}
	e->is_container = !err;
	e->complete = !e->is_container || resolve_names(r, cgroup_path, &e->id);
	e->last_try_ns = now_ns();
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
		if (!e->complete && now_ns() - e->last_try_ns >= RETRY_INTERVAL_NS &&
		    e->is_container) {
			e->complete = resolve_names(r, cgroup_path, &e->id);
			e->last_try_ns = now_ns();
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
