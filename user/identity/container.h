/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Container identity of a cgroup, from what the node already has: the cgroup
 * path (runtime, container id, pod uid), the kubelet's /var/log/pods tree
 * (namespace, pod, container name), the processes' mount tables (the kubelet's
 * termination-log bind mount names the container) and Docker's
 * config.v2.json. No API server is called.
 *
 * container_path.c reads the path (pure); container.c is the resolver that
 * adds the names and caches them.
 */
#ifndef MEMOBS_CONTAINER_H
#define MEMOBS_CONTAINER_H

#include <linux/types.h>

/*
 * A container id is 64 hex digits. The path parser takes a pod uid of 8 to
 * 64 characters: static pods carry a 32-hex config hash, others a 36-char UUID.
 */
#define CONTAINER_ID_LEN 64
#define POD_UID_MIN_LEN 8
#define POD_UID_MAX_LEN 64

/* Every field is a NUL-terminated string or NULL when unknown; owned. */
struct container_id {
	char *id;	 /* runtime's container id (64 hex), or NULL */
	char *runtime;	 /* "containerd", "crio", "docker", "podman", "systemd" */
	char *pod_uid;	 /* Kubernetes pod uid, with '-' (as the API shows it) */
	char *pod;	 /* pod name */
	char *namespace; /* pod namespace */
	char *name;	 /* container name (for a systemd service: the unit less ".service") */
};

/*
 * Pure parser of a cgroup v2 path ("/kubepods.slice/..."). Fills what the
 * path tells and returns 0, or returns -ENOENT when the cgroup is no
 * container (nothing is allocated then), -ENOMEM.
 *
 * Recognised, with the systemd and cgroupfs drivers:
 *   kubelet pod cgroups: kubepods[-<qos>]-pod<uid>.slice (systemd escapes
 *     '-' in the uid as '_') and kubepods[/<qos>]/pod<uid>;
 *   cri-containerd-<id>.scope, crio-<id>.scope and crio-<id>, docker-<id>.scope,
 *     /docker/<id>, libpod-<id>.scope (podman), a bare 64-hex <id> under a
 *     pod (containerd or Docker with cgroupfs: runtime unknown here);
 *   plain systemd services: <unit>.service outside any container gives
 *     runtime "systemd", name <unit>, no id.
 *
 * Trust: a container that may create cgroups below its own (delegation)
 * names them as it likes, so only the outermost components count. The
 * kubelet's tree is the first "kubepods" or "kubepods.slice" component with
 * nothing above it that a container, a session or a delegated service
 * (".scope", ".service", a container id) could have made; below it the QoS
 * class, the pod and the container are read each at its one place, and what
 * lies below the container is the container's ("crio-<id>.scope/container",
 * or a child named like another pod: still this container). Outside that
 * tree the outermost container wins. A kubelet nested in a container (kind)
 * is the container's business: its pods are reported as that container.
 * A pod cgroup without a container below it yields the pod uid alone.
 * CRI-O's monitor (crio-conmon-<id>.scope) is not the container: it gets the
 * pod only.
 */
int container_id__parse_path(const char *cgroup_path, struct container_id *out);

/* Where a path's identity was read, which says what the resolver may add to it. */
enum container_origin {
	CONTAINER_ORIGIN_NONE,	  /* no container */
	CONTAINER_ORIGIN_KUBELET, /* a pod of the kubelet's tree: the pod uid is the kubelet's */
	CONTAINER_ORIGIN_RUNTIME, /* a runtime's own place: /system.slice/docker-<id>.scope,
				   * /docker/<id>, /machine.slice/libpod-<id>.scope */
	CONTAINER_ORIGIN_OTHER,	  /* elsewhere (a service, a delegated subtree): as named there */
};

/* container_id__parse_path() that also tells the origin (NONE on error). */
int container_id__parse(const char *cgroup_path, struct container_id *out,
			enum container_origin *origin);
/* Frees the strings and zeroes the struct (the struct itself is the caller's). */
void container_id__clear(struct container_id *c);

struct container_resolver_opts {
	const char *pods_log_dir;  /* NULL: /var/log/pods */
	const char *docker_dir;	   /* NULL: /var/lib/docker/containers */
	const char *cgroup2_mount; /* to find a process of the cgroup; NULL: skip that source */
	const char *proc_root;	   /* NULL: /proc */
	unsigned int max_entries;  /* cache bound; 0: 16384 */
};

struct container_resolver;

struct container_resolver *container_resolver__new(const struct container_resolver_opts *opts);
void container_resolver__free(struct container_resolver *r);

/*
 * The identity of a cgroup, or NULL when it is no container. Cached per
 * cgroup id; valid until container_resolver__forget() of that id or
 * container_resolver__free(). An identity still missing names (the kubelet
 * creates the log directory after the container starts) is looked up again,
 * at most every few seconds.
 *
 * Names, in order of trust:
 *   namespace and pod: /var/log/pods/<namespace>_<pod>_<uid>/ matched by uid;
 *   container name: (1) a symlink in a container's log directory whose target
 *   holds the container id (Docker's json log); (2) a process of the cgroup
 *   whose mount table holds the kubelet's termination-log bind mount
 *   ".../pods/<uid>/containers/<name>/..."; (3) when no process could be read,
 *   the only container directory of the pod. A process that can be read and
 *   has no such mount is the pod's sandbox ("pause"): it gets no name.
 *   Docker (config.v2.json) is read for a Docker container at Docker's own
 *   place or in a kubelet pod. Its io.kubernetes.* labels can come from an
 *   image's LABELs: they never give the pod uid, and fill the pod, namespace
 *   and container name only in a kubelet pod, only when their pod uid is the
 *   path's, and only what the pod-log tree did not tell. Without Kubernetes,
 *   Docker's "Name".
 */
const struct container_id *container_resolver__lookup(struct container_resolver *r, __u64 cgroup_id,
						      const char *cgroup_path);
/* Drops the cached identity of a cgroup that is gone. */
void container_resolver__forget(struct container_resolver *r, __u64 cgroup_id);
/* Number of cached identities (for tests and the cardinality bound). */
unsigned int container_resolver__size(const struct container_resolver *r);

/*
 * Exposed for unit tests, pure on text: from /proc/PID/mountinfo text, the
 * container name of the kubelet's termination-log bind mount for that pod
 * uid ("-" form), malloc'd, or NULL.
 */
char *kubelet_container_from_mountinfo(const char *mountinfo, const char *pod_uid);

#endif /* MEMOBS_CONTAINER_H */
