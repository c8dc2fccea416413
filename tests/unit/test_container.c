// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "identity/container.h"
#include "util/array.h"
#include "util/json_read.h"

#define ID_A "4c01db0b339c7e4ab8f4d6cbd50cd5e0fbf9b1a0e0e7a0e8b5b9e8d3c1a2b3c4"
#define ID_B "f2a1e9d7c3b5a4968778695a4b3c2d1e0f9e8d7c6b5a49382716059483726150"
#define UID_DASH "7c5a0f3e-2b8b-4e5c-9a4f-1f3e9d6c2b10"
#define UID_UNDER "7c5a0f3e_2b8b_4e5c_9a4f_1f3e9d6c2b10"
/* static pods: the uid is the kubelet's config hash */
#define UID_STATIC "b3c1f0b7e9d34f1c8a5e0d2c6b7a9f10"

struct path_case {
	const char *path;
	int ret;
	const char *id, *runtime, *pod_uid, *name;
};

/*
 * Paths as each runtime and cgroup driver creates them (cgroup v2 paths,
 * relative to the mount), taken from running nodes.
 */
static const struct path_case path_cases[] = {
	/* containerd, systemd driver, each QoS class */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_UNDER
	  ".slice/cri-containerd-" ID_A ".scope",
	  0, ID_A, "containerd", UID_DASH, NULL },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_UNDER
	  ".slice/cri-containerd-" ID_A ".scope",
	  0, ID_A, "containerd", UID_DASH, NULL },
	{ "/kubepods.slice/kubepods-pod" UID_UNDER ".slice/cri-containerd-" ID_A ".scope", 0, ID_A,
	  "containerd", UID_DASH, NULL },
	/* containerd or Docker, cgroupfs driver: the bare id does not tell the runtime */
	{ "/kubepods/besteffort/pod" UID_DASH "/" ID_A, 0, ID_A, NULL, UID_DASH, NULL },
	{ "/kubepods/burstable/pod" UID_DASH "/" ID_A, 0, ID_A, NULL, UID_DASH, NULL },
	{ "/kubepods/pod" UID_DASH "/" ID_A, 0, ID_A, NULL, UID_DASH, NULL },
	{ "/kubepods/burstable/pod" UID_STATIC "/" ID_A, 0, ID_A, NULL, UID_STATIC, NULL },
	/* CRI-O, systemd and cgroupfs drivers; its monitor is not the container */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_UNDER
	  ".slice/crio-" ID_B ".scope",
	  0, ID_B, "crio", UID_DASH, NULL },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_UNDER
	  ".slice/crio-" ID_B ".scope/container",
	  0, ID_B, "crio", UID_DASH, NULL },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_UNDER
	  ".slice/crio-conmon-" ID_B ".scope",
	  0, NULL, NULL, UID_DASH, NULL },
	{ "/kubepods/burstable/pod" UID_DASH "/crio-" ID_B, 0, ID_B, "crio", UID_DASH, NULL },
	/* Docker under Kubernetes (cri-dockerd, systemd driver) and alone */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_UNDER
	  ".slice/docker-" ID_A ".scope",
	  0, ID_A, "docker", UID_DASH, NULL },
	{ "/system.slice/docker-" ID_A ".scope", 0, ID_A, "docker", NULL, NULL },
	{ "/docker/" ID_A, 0, ID_A, "docker", NULL, NULL },
	/* a container running systemd inside: still the container */
	{ "/system.slice/docker-" ID_A ".scope/system.slice/nginx.service", 0, ID_A, "docker", NULL,
	  NULL },
	/* podman, rootful and rootless */
	{ "/machine.slice/libpod-" ID_B ".scope", 0, ID_B, "podman", NULL, NULL },
	{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID_B ".scope", 0, ID_B,
	  "podman", NULL, NULL },
	/*
	 * kind: a kubelet inside a Docker container. From the host that tree is
	 * the container's to name (see the spoofing cases): the node container.
	 */
	{ "/system.slice/docker-" ID_B ".scope/kubepods/burstable/pod" UID_DASH "/" ID_A, 0, ID_B,
	  "docker", NULL, NULL },
	/* the kubelet's tree below a plain prefix (a --cgroup-root, the e2e tests) */
	{ "/k8s-root/kubepods.slice/kubepods-pod" UID_UNDER ".slice/cri-containerd-" ID_A ".scope",
	  0, ID_A, "containerd", UID_DASH, NULL },
	/* a pod cgroup itself */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_UNDER ".slice", 0,
	  NULL, NULL, UID_DASH, NULL },
	/* plain systemd services */
	{ "/system.slice/nginx.service", 0, NULL, "systemd", NULL, "nginx" },
	{ "/system.slice/system-getty.slice/getty@tty1.service", 0, NULL, "systemd", NULL,
	  "getty@tty1" },
	{ "/system.slice/containerd.service", 0, NULL, "systemd", NULL, "containerd" },
	/* no container */
	{ "/", -ENOENT, NULL, NULL, NULL, NULL },
	{ "", -ENOENT, NULL, NULL, NULL, NULL },
	{ "/init.scope", -ENOENT, NULL, NULL, NULL, NULL },
	{ "/system.slice", -ENOENT, NULL, NULL, NULL, NULL },
	{ "/user.slice/user-1000.slice/session-3.scope", -ENOENT, NULL, NULL, NULL, NULL },
	{ "/kubepods.slice", -ENOENT, NULL, NULL, NULL, NULL },
	{ "/kubepods.slice/kubepods-burstable.slice", -ENOENT, NULL, NULL, NULL, NULL },
	{ "/kubepods/burstable", -ENOENT, NULL, NULL, NULL, NULL },
	/* near misses: a short id, a non-hex id, a bare id outside a pod, a bad uid */
	{ "/system.slice/docker-4c01db0b339c.scope", -ENOENT, NULL, NULL, NULL, NULL },
	{ "/system.slice/docker-"
	  "zz01db0b339c7e4ab8f4d6cbd50cd5e0fbf9b1a0e0e7a0e8b5b9e8d3c1a2b3c4"
	  ".scope",
	  -ENOENT, NULL, NULL, NULL, NULL },
	{ "/" ID_A, -ENOENT, NULL, NULL, NULL, NULL },
	{ "/kubepods/burstable/podxyz", -ENOENT, NULL, NULL, NULL, NULL },
	{ "/system.slice/.service", -ENOENT, NULL, NULL, NULL, NULL },
};

#define UID_VICTIM "0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define UID_VICTIM_UNDER "0b1e2c3d_4e5f_4a6b_8c7d_9e0f1a2b3c4d"
#define ATTACKER_POD \
	"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_UNDER ".slice"

/*
 * Issue 14, finding 6: a workload that may create cgroups below its own
 * (cgroup v2 delegation), or a user below their user@UID.service, names its
 * children like another pod's or container's. None of it may take the
 * victim's identity.
 */
static const struct path_case spoof_cases[] = {
	/* a container's child named like the victim pod (systemd driver): still the attacker */
	{ ATTACKER_POD "/cri-containerd-" ID_A ".scope/kubepods-burstable-pod" UID_VICTIM_UNDER
		       ".slice/cri-containerd-" ID_B ".scope",
	  0, ID_A, "containerd", UID_DASH, NULL },
	/* ... with a whole kubelet tree below it */
	{ ATTACKER_POD "/cri-containerd-" ID_A ".scope/kubepods.slice/kubepods-pod" UID_VICTIM_UNDER
		       ".slice/cri-containerd-" ID_B ".scope",
	  0, ID_A, "containerd", UID_DASH, NULL },
	/* cgroupfs driver */
	{ "/kubepods/burstable/pod" UID_DASH "/" ID_A "/kubepods/pod" UID_VICTIM "/" ID_B, 0, ID_A,
	  NULL, UID_DASH, NULL },
	{ "/kubepods/burstable/pod" UID_DASH "/" ID_A "/pod" UID_VICTIM "/" ID_B, 0, ID_A, NULL,
	  UID_DASH, NULL },
	/* a plain Docker container (no pod) growing a kubelet tree */
	{ "/system.slice/docker-" ID_A ".scope/kubepods.slice/kubepods-pod" UID_VICTIM_UNDER
	  ".slice/cri-containerd-" ID_B ".scope",
	  0, ID_A, "docker", NULL, NULL },
	{ "/docker/" ID_A "/kubepods/pod" UID_VICTIM "/" ID_B, 0, ID_A, "docker", NULL, NULL },
	/* a container's child named like another container: the outer one */
	{ "/system.slice/docker-" ID_A ".scope/docker-" ID_B ".scope", 0, ID_A, "docker", NULL,
	  NULL },
	/* an unprivileged user's delegated subtree: no pod, whatever it is named */
	{ "/user.slice/user-1000.slice/user@1000.service/kubepods/pod" UID_VICTIM "/" ID_B, 0, NULL,
	  "systemd", NULL, "user@1000" },
	{ "/user.slice/user-1000.slice/user@1000.service/kubepods.slice/kubepods-pod" UID_VICTIM_UNDER
	  ".slice",
	  0, NULL, "systemd", NULL, "user@1000" },
	/* a pod cgroup anywhere but at its place below the root and the QoS class */
	{ "/kubepods.slice/kubepods-burstable.slice/x/kubepods-burstable-pod" UID_VICTIM_UNDER
	  ".slice/cri-containerd-" ID_B ".scope",
	  -ENOENT, NULL, NULL, NULL, NULL },
	{ "/kubepods/burstable/x/pod" UID_VICTIM "/" ID_B, -ENOENT, NULL, NULL, NULL, NULL },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-burstable-pod" UID_VICTIM_UNDER
	  ".slice",
	  -ENOENT, NULL, NULL, NULL, NULL },
	/* a container directly below the root (no pod): nothing of the kubelet's */
	{ "/kubepods.slice/cri-containerd-" ID_B ".scope", -ENOENT, NULL, NULL, NULL, NULL },
	/* a second container component below the first: the first */
	{ ATTACKER_POD "/cri-containerd-" ID_A ".scope/cri-containerd-" ID_B ".scope", 0, ID_A,
	  "containerd", UID_DASH, NULL },
};

static void assert_field(const char *want, const char *got, const char *what, const char *path)
{
	if (!want && !got)
		return;
	if (!want || !got || strcmp(want, got)) {
		print_error("%s: %s: want %s, got %s\n", path, what, want ?: "NULL", got ?: "NULL");
		fail();
	}
}

static void check_cases(const struct path_case *cases, size_t nr)
{
	struct container_id c;
	size_t i;
	int ret;

	for (i = 0; i < nr; i++) {
		const struct path_case *pc = &cases[i];

		ret = container_id__parse_path(pc->path, &c);
		if (ret != pc->ret) {
			print_error("%s: want %d, got %d\n", pc->path, pc->ret, ret);
			fail();
		}
		assert_field(pc->id, c.id, "id", pc->path);
		assert_field(pc->runtime, c.runtime, "runtime", pc->path);
		assert_field(pc->pod_uid, c.pod_uid, "pod_uid", pc->path);
		assert_field(pc->name, c.name, "name", pc->path);
		/* the path alone never tells the pod's or namespace's name */
		assert_null(c.pod);
		assert_null(c.namespace);
		container_id__clear(&c);
	}
}

static void test_parse_path_table(void **state)
{
	(void)state;
	check_cases(path_cases, ARRAY_SIZE(path_cases));
}

static void test_parse_path_spoofing(void **state)
{
	enum container_origin origin;
	struct container_id c;

	(void)state;
	check_cases(spoof_cases, ARRAY_SIZE(spoof_cases));
	/* the origin: only the kubelet's tree lets the resolver add Kubernetes names */
	assert_int_equal(
		container_id__parse(ATTACKER_POD "/cri-containerd-" ID_A ".scope", &c, &origin), 0);
	assert_int_equal(origin, CONTAINER_ORIGIN_KUBELET);
	container_id__clear(&c);
	assert_int_equal(container_id__parse("/system.slice/docker-" ID_A ".scope", &c, &origin),
			 0);
	assert_int_equal(origin, CONTAINER_ORIGIN_RUNTIME);
	container_id__clear(&c);
	assert_int_equal(container_id__parse("/system.slice/docker-" ID_A ".scope/docker-" ID_B
					     ".scope",
					     &c, &origin),
			 0);
	assert_int_equal(origin, CONTAINER_ORIGIN_RUNTIME);
	container_id__clear(&c);
	assert_int_equal(container_id__parse("/user.slice/user-1000.slice/user@1000.service/"
					     "docker-" ID_B ".scope",
					     &c, &origin),
			 0);
	assert_int_equal(origin, CONTAINER_ORIGIN_OTHER);
	container_id__clear(&c);
	assert_int_equal(container_id__parse("/init.scope", &c, &origin), -ENOENT);
	assert_int_equal(origin, CONTAINER_ORIGIN_NONE);
}

static void test_json_lookup(void **state)
{
	/* Docker's layout: mount points carry "Name" too, before and after the top-level one */
	const char *doc =
		"{\"StreamConfig\":{},\"State\":{\"Running\":true,\"Pid\":42,\"Health\":null},"
		"\"ID\":\"" ID_A "\",\"Args\":[\"-c\",{\"Name\":\"in-array\"}],"
		"\"Config\":{\"Hostname\":\"x\",\"Labels\":{\"Name\":\"label\","
		"\"io.kubernetes.pod.name\":\"web-7d4b9\",\"io.kubernetes.container.name\":\"ng\\u0069nx\"}},"
		"\"Name\":\"/my\\/web\",\"MountPoints\":{\"/data\":{\"Name\":\"vol\"}}}";
	const char *name[] = { "Name" };
	const char *pod[] = { "Config", "Labels", "io.kubernetes.pod.name" };
	const char *cname[] = { "Config", "Labels", "io.kubernetes.container.name" };
	const char *missing[] = { "Config", "Labels", "nope" };
	const char *not_string[] = { "State", "Pid" };
	char *v;

	(void)state;
	v = json_lookup_string(doc, name, 1);
	assert_string_equal(v, "/my/web");
	free(v);
	v = json_lookup_string(doc, pod, 3);
	assert_string_equal(v, "web-7d4b9");
	free(v);
	v = json_lookup_string(doc, cname, 3);
	assert_string_equal(v, "nginx");
	free(v);
	assert_null(json_lookup_string(doc, missing, 3));
	assert_null(json_lookup_string(doc, not_string, 2));
	/* truncated and malformed documents: no answer, no overrun */
	assert_null(json_lookup_string("{\"Name\":\"abc", name, 1));
	assert_null(json_lookup_string("{\"A\":[1,2", name, 1));
	assert_null(json_lookup_string("", name, 1));
	assert_null(json_lookup_string("{\"Name\":\"\\u12\"}", name, 1));
}

static void test_mountinfo_name(void **state)
{
	const char *mountinfo =
		"1130 1111 0:90 / / rw,relatime master:300 - overlay overlay rw,lowerdir=/x\n"
		"1140 1130 8:1 /var/lib/kubelet/pods/" UID_DASH "/etc-hosts /etc/hosts rw - ext4 "
		"/dev/sda1 rw\n"
		"1141 1130 8:1 /var/lib/kubelet/pods/" UID_DASH "/containers/nginx/6c1a2b3d "
		"/dev/termination-log rw - ext4 /dev/sda1 rw\n";
	/* /var/lib/kubelet on its own filesystem: the root is relative to it */
	const char *own_fs = "12 1 8:2 /pods/" UID_DASH
			     "/containers/side-car/0f0f /dev/termination-log "
			     "rw - xfs /dev/sdb rw\n";
	char *name;

	(void)state;
	name = kubelet_container_from_mountinfo(mountinfo, UID_DASH);
	assert_string_equal(name, "nginx");
	free(name);
	name = kubelet_container_from_mountinfo(own_fs, UID_DASH);
	assert_string_equal(name, "side-car");
	free(name);
	/* another pod's mount does not name this one's container */
	assert_null(kubelet_container_from_mountinfo(mountinfo,
						     "00000000-0000-0000-0000-000000000000"));
	assert_null(kubelet_container_from_mountinfo("", UID_DASH));
	assert_null(kubelet_container_from_mountinfo("garbage\n", UID_DASH));
}

/* A fake node: /var/log/pods, /var/lib/docker/containers, a cgroup2 tree and /proc. */
struct node {
	char root[64];
	char pods[128], docker[128], cgroup[128], proc[128];
};

static void must(int ok)
{
	if (!ok) {
		print_error("fixture: %s\n", strerror(errno));
		fail();
	}
}

static void mkdirs(const char *path)
{
	char buf[1024], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
	must(!mkdir(buf, 0755) || errno == EEXIST);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	must(f != NULL);
	fputs(text, f);
	fclose(f);
}

static int node_setup(void **state)
{
	struct node *n = calloc(1, sizeof(*n));

	snprintf(n->root, sizeof(n->root), "/tmp/test_container.XXXXXX");
	must(mkdtemp(n->root) != NULL);
	snprintf(n->pods, sizeof(n->pods), "%s/pods", n->root);
	snprintf(n->docker, sizeof(n->docker), "%s/docker", n->root);
	snprintf(n->cgroup, sizeof(n->cgroup), "%s/cgroup", n->root);
	snprintf(n->proc, sizeof(n->proc), "%s/proc", n->root);
	mkdirs(n->pods);
	mkdirs(n->docker);
	mkdirs(n->cgroup);
	mkdirs(n->proc);
	*state = n;
	return 0;
}

static int node_teardown(void **state)
{
	struct node *n = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", n->root);
	if (system(cmd))
		return -1;
	free(n);
	return 0;
}

/* A cgroup of the fake tree holding one process, with that process's mountinfo. */
static void fake_cgroup(struct node *n, const char *cgroup_path, int pid, const char *mountinfo)
{
	char path[1024], text[32];

	snprintf(path, sizeof(path), "%s%s", n->cgroup, cgroup_path);
	mkdirs(path);
	strcat(path, "/cgroup.procs");
	snprintf(text, sizeof(text), "%d\n", pid);
	write_file(path, text);
	snprintf(path, sizeof(path), "%s/%d", n->proc, pid);
	mkdirs(path);
	strcat(path, "/mountinfo");
	write_file(path, mountinfo);
}

static struct container_resolver *node_resolver(struct node *n)
{
	struct container_resolver_opts opts = {
		.pods_log_dir = n->pods,
		.docker_dir = n->docker,
		.cgroup2_mount = n->cgroup,
		.proc_root = n->proc,
	};
	struct container_resolver *r = container_resolver__new(&opts);

	assert_non_null(r);
	return r;
}

#define POD_CGROUP \
	"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_UNDER ".slice"

/* Two containers in one pod: the termination-log mount tells them apart; the sandbox gets none. */
static void test_resolver_kubelet(void **state)
{
	struct node *n = *state;
	const char *app = POD_CGROUP "/cri-containerd-" ID_A ".scope";
	const char *pause = POD_CGROUP "/cri-containerd-" ID_B ".scope";
	const struct container_id *c;
	struct container_resolver *r;
	char path[1024];

	snprintf(path, sizeof(path), "%s/shop_web-7d4b9_" UID_DASH "/nginx", n->pods);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/shop_web-7d4b9_" UID_DASH "/log-shipper", n->pods);
	mkdirs(path);
	/* another pod whose name ends like this uid must not match */
	snprintf(path, sizeof(path), "%s/shop_other_x" UID_DASH "/nginx", n->pods);
	mkdirs(path);
	fake_cgroup(n, app, 4242,
		    "1141 1130 8:1 /var/lib/kubelet/pods/" UID_DASH "/containers/nginx/6c1a2b3d "
		    "/dev/termination-log rw - ext4 /dev/sda1 rw\n");
	fake_cgroup(n, pause, 4200, "1130 1111 0:90 / / rw - overlay overlay rw\n");

	r = node_resolver(n);
	c = container_resolver__lookup(r, 101, app);
	assert_non_null(c);
	assert_string_equal(c->id, ID_A);
	assert_string_equal(c->runtime, "containerd");
	assert_string_equal(c->pod_uid, UID_DASH);
	assert_string_equal(c->namespace, "shop");
	assert_string_equal(c->pod, "web-7d4b9");
	assert_string_equal(c->name, "nginx");
	/* cached: the same object, even once the files are gone */
	snprintf(path, sizeof(path), "rm -rf '%s'/proc/4242", n->root);
	assert_int_equal(system(path), 0);
	assert_ptr_equal(container_resolver__lookup(r, 101, app), c);

	c = container_resolver__lookup(r, 102, pause);
	assert_non_null(c);
	assert_string_equal(c->pod, "web-7d4b9");
	assert_null(c->name);

	assert_null(container_resolver__lookup(r, 103, "/system.slice"));
	assert_int_equal(container_resolver__size(r), 3);
	container_resolver__forget(r, 101);
	container_resolver__forget(r, 103);
	container_resolver__forget(r, 999); /* unknown: no effect */
	assert_int_equal(container_resolver__size(r), 1);
	container_resolver__free(r);
}

/* No process readable (cgroup emptied): a pod's only container directory names it. */
static void test_resolver_only_container(void **state)
{
	struct node *n = *state;
	const char *app = "/kubepods/burstable/pod" UID_DASH "/" ID_A;
	const struct container_id *c;
	struct container_resolver *r;
	char path[1024];

	snprintf(path, sizeof(path), "%s/default_api-0_" UID_DASH "/server", n->pods);
	mkdirs(path);
	r = node_resolver(n);
	c = container_resolver__lookup(r, 7, app);
	assert_non_null(c);
	assert_null(c->runtime); /* cgroupfs, and no Docker config: unknown */
	assert_string_equal(c->namespace, "default");
	assert_string_equal(c->pod, "api-0");
	assert_string_equal(c->name, "server");
	container_resolver__free(r);
}

/* Docker's json log linked from the kubelet's log dir, and Docker's own config. */
static void test_resolver_docker(void **state)
{
	struct node *n = *state;
	const char *k8s = POD_CGROUP "/docker-" ID_A ".scope";
	const char *plain = "/docker/" ID_B;
	const struct container_id *c;
	struct container_resolver *r;
	char path[1024], target[1024];

	snprintf(path, sizeof(path), "%s/kube-system_dns_" UID_DASH "/coredns", n->pods);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/kube-system_dns_" UID_DASH "/sidecar", n->pods);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/kube-system_dns_" UID_DASH "/coredns/0.log", n->pods);
	snprintf(target, sizeof(target), "/var/lib/docker/containers/%s/%s-json.log", ID_A, ID_A);
	must(!symlink(target, path));
	snprintf(path, sizeof(path), "%s/%s", n->docker, ID_B);
	mkdirs(path);
	strcat(path, "/config.v2.json");
	write_file(path,
		   "{\"ID\":\"" ID_B "\",\"Config\":{\"Labels\":{}},\"Name\":\"/redis-cache\","
		   "\"MountPoints\":{\"/data\":{\"Name\":\"vol\"}}}");

	r = node_resolver(n);
	c = container_resolver__lookup(r, 1, k8s);
	assert_non_null(c);
	assert_string_equal(c->name, "coredns");
	assert_string_equal(c->namespace, "kube-system");
	c = container_resolver__lookup(r, 2, plain);
	assert_non_null(c);
	assert_string_equal(c->runtime, "docker");
	assert_string_equal(c->name, "redis-cache");
	assert_null(c->pod);
	container_resolver__free(r);
}

static void docker_config(struct node *n, const char *id, const char *json)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", n->docker, id);
	mkdirs(path);
	strcat(path, "/config.v2.json");
	write_file(path, json);
}

/* io.kubernetes.* labels an image's LABELs can set, naming the victim pod */
#define VICTIM_LABELS                                                                         \
	"\"Config\":{\"Labels\":{\"io.kubernetes.pod.uid\":\"" UID_VICTIM "\","               \
	"\"io.kubernetes.pod.name\":\"bank-0\",\"io.kubernetes.pod.namespace\":\"payments\"," \
	"\"io.kubernetes.container.name\":\"ledger\"}}"

/*
 * Issue 14, finding 6: neither a child cgroup named like the victim pod nor
 * Docker labels naming it give a workload the victim's namespace and pod.
 */
static void test_resolver_spoofing(void **state)
{
	struct node *n = *state;
	const char *child = ATTACKER_POD "/cri-containerd-" ID_A
					 ".scope/kubepods-burstable-pod" UID_VICTIM_UNDER
					 ".slice/cri-containerd-" ID_B ".scope";
	const char *plain = "/docker/" ID_A;
	const char *k8s_docker = ATTACKER_POD "/docker-" ID_B ".scope";
	const struct container_id *c;
	struct container_resolver *r;
	char path[1024];

	snprintf(path, sizeof(path), "%s/payments_bank-0_" UID_VICTIM "/ledger", n->pods);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/dev_toy-1_" UID_DASH "/toy", n->pods);
	mkdirs(path);
	docker_config(n, ID_A, "{\"ID\":\"" ID_A "\"," VICTIM_LABELS ",\"Name\":\"/toy\"}");
	docker_config(n, ID_B, "{\"ID\":\"" ID_B "\"," VICTIM_LABELS ",\"Name\":\"/k8s_x\"}");
	r = node_resolver(n);

	/* the child cgroup is the attacker's container, in the attacker's pod */
	c = container_resolver__lookup(r, 1, child);
	assert_non_null(c);
	assert_string_equal(c->id, ID_A);
	assert_string_equal(c->pod_uid, UID_DASH);
	assert_string_equal(c->namespace, "dev");
	assert_string_equal(c->pod, "toy-1");

	/* a plain Docker container: its labels name no pod; Docker's own name stays */
	c = container_resolver__lookup(r, 2, plain);
	assert_non_null(c);
	assert_string_equal(c->runtime, "docker");
	assert_null(c->pod_uid);
	assert_null(c->pod);
	assert_null(c->namespace);
	assert_string_equal(c->name, "toy");

	/* in a kubelet pod, labels whose pod uid is not the path's count for nothing */
	c = container_resolver__lookup(r, 3, k8s_docker);
	assert_non_null(c);
	assert_string_equal(c->pod_uid, UID_DASH);
	assert_string_equal(c->namespace, "dev");
	assert_string_equal(c->pod, "toy-1");
	assert_true(!c->name || strcmp(c->name, "ledger"));
	container_resolver__free(r);
}

/* cri-dockerd: labels with the path's pod uid fill what the pod-log tree did not tell. */
static void test_resolver_cri_dockerd_labels(void **state)
{
	struct node *n = *state;
	const char *app = ATTACKER_POD "/docker-" ID_B ".scope";
	const struct container_id *c;
	struct container_resolver *r;

	docker_config(n, ID_B,
		      "{\"ID\":\"" ID_B "\",\"Config\":{\"Labels\":{\"io.kubernetes.pod.uid\":"
		      "\"" UID_DASH "\",\"io.kubernetes.pod.name\":\"web-0\","
		      "\"io.kubernetes.pod.namespace\":\"shop\","
		      "\"io.kubernetes.container.name\":\"nginx\"}},\"Name\":\"/k8s_nginx\"}");
	r = node_resolver(n);
	c = container_resolver__lookup(r, 1, app);
	assert_non_null(c);
	assert_string_equal(c->runtime, "docker");
	assert_string_equal(c->pod, "web-0");
	assert_string_equal(c->namespace, "shop");
	assert_string_equal(c->name, "nginx");
	container_resolver__free(r);
}

/* The cache is bounded: past the bound, cgroups are not named (and not leaked). */
static void test_resolver_bounded(void **state)
{
	struct container_resolver_opts opts = { .pods_log_dir = "/nonexistent", .max_entries = 2 };
	struct container_resolver *r = container_resolver__new(&opts);

	(void)state;
	assert_non_null(container_resolver__lookup(r, 1, "/docker/" ID_A));
	assert_non_null(container_resolver__lookup(r, 2, "/docker/" ID_B));
	assert_null(container_resolver__lookup(r, 3, "/system.slice/nginx.service"));
	assert_int_equal(container_resolver__size(r), 2);
	container_resolver__forget(r, 1);
	assert_non_null(container_resolver__lookup(r, 3, "/system.slice/nginx.service"));
	container_resolver__free(r);
	container_resolver__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_path_table),
		cmocka_unit_test(test_parse_path_spoofing),
		cmocka_unit_test(test_json_lookup),
		cmocka_unit_test(test_mountinfo_name),
		cmocka_unit_test_setup_teardown(test_resolver_kubelet, node_setup, node_teardown),
		cmocka_unit_test_setup_teardown(test_resolver_only_container, node_setup,
						node_teardown),
		cmocka_unit_test_setup_teardown(test_resolver_docker, node_setup, node_teardown),
		cmocka_unit_test_setup_teardown(test_resolver_spoofing, node_setup, node_teardown),
		cmocka_unit_test_setup_teardown(test_resolver_cri_dockerd_labels, node_setup,
						node_teardown),
		cmocka_unit_test(test_resolver_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
