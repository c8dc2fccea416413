# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Kubernetes: the manifests (lint, rules), container identity of real runc
containers under kubelet-style cgroup paths next to a fake /var/log/pods tree,
and the Prometheus endpoint scraped while memobs runs."""
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import pytest
import yaml

from conftest import CGROUP2, MEMOBS, ROOT, require_root

DEPLOY = os.path.join(ROOT, "deploy", "kubernetes")
YAMLLINT_CONFIG = os.path.join(DEPLOY, ".yamllint")


def load_manifests():
    docs = []
    for dirpath, _, files in os.walk(DEPLOY):
        for name in sorted(files):
            if name.endswith(".yaml"):
                with open(os.path.join(dirpath, name)) as f:
                    docs += [d for d in yaml.safe_load_all(f) if d]
    return docs


def manifest(kind):
    found = [d for d in load_manifests() if d.get("kind") == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


# ---- (a) manifests ---------------------------------------------------------


def test_manifests_yamllint():
    r = subprocess.run(["yamllint", "-s", "-c", YAMLLINT_CONFIG, DEPLOY], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_daemonset_least_privilege():
    ds = manifest("DaemonSet")
    pod = ds["spec"]["template"]["spec"]
    assert pod["hostPID"] is True
    assert not pod.get("hostNetwork")
    assert pod.get("automountServiceAccountToken") is False
    volumes = {v["name"]: v for v in pod["volumes"]}
    for c in pod["initContainers"] + pod["containers"]:
        sc = c["securityContext"]
        assert sc.get("privileged") is False, c["name"]
        assert sc.get("allowPrivilegeEscalation") is False, c["name"]
        assert sc.get("readOnlyRootFilesystem") is True, c["name"]
        assert sc["capabilities"]["drop"] == ["ALL"], c["name"]
        assert set(sc["capabilities"]["add"]) == {
            "BPF", "PERFMON", "SYS_PTRACE", "SYS_RESOURCE", "DAC_READ_SEARCH"}, c["name"]
        # every host path is read-only but memobs's own profile directory (off by
        # default); the emptyDir for the socket is writable
        for m in c["volumeMounts"]:
            if "hostPath" in volumes[m["name"]] and m["mountPath"] != PROFILE_DIR:
                assert m.get("readOnly") is True, f"{c['name']}: {m['mountPath']} writable"
        mounted = {volumes[m["name"]].get("hostPath", {}).get("path") for m in c["volumeMounts"]}
        assert {"/sys/fs/cgroup", "/sys/kernel/btf", "/sys/kernel/tracing",
                "/var/log/pods"} <= mounted, c["name"]


PROFILE_DIR = "/var/lib/memobs/profiles"


def test_daemonset_profile_dir_when_turned_on():
    # what docs/kubernetes.md says to do: uncomment the profile lines; the result is a
    # valid DaemonSet whose memobs writes to a host directory of its own
    path = os.path.join(DEPLOY, "daemonset.yaml")
    with open(path) as f:
        text = f.read()
    assert f"# - {PROFILE_DIR}" in text  # off by default
    lines, on = [], 0
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("# ") and stripped[2:].strip() in (
                "- --profile-dir", f"- {PROFILE_DIR}", "- name: profiles",
                f"mountPath: {PROFILE_DIR}", "hostPath:", f"path: {PROFILE_DIR}",
                "type: DirectoryOrCreate"):
            indent = line[:len(line) - len(stripped)]
            lines.append(indent + stripped[2:])
            on += 1
            assert on <= 8, line
        else:
            lines.append(line)
    assert on == 8, on  # the two args, the mount's two lines, the volume's four
    ds = [d for d in yaml.safe_load_all("\n".join(lines)) if d and d["kind"] == "DaemonSet"][0]
    pod = ds["spec"]["template"]["spec"]
    (main,) = pod["containers"]
    args = main["args"]
    assert args[args.index("--profile-dir") + 1] == PROFILE_DIR, args
    mount = [m for m in main["volumeMounts"] if m["name"] == "profiles"]
    assert mount and mount[0]["mountPath"] == PROFILE_DIR and not mount[0].get("readOnly")
    vol = [v for v in pod["volumes"] if v["name"] == "profiles"]
    assert vol and vol[0]["hostPath"]["path"] == PROFILE_DIR, vol
    assert vol[0]["hostPath"]["type"] == "DirectoryOrCreate"


def test_daemonset_runs_check_then_run_with_probes():
    pod = manifest("DaemonSet")["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    assert init["args"] == ["check"]
    (main,) = pod["containers"]
    assert main["args"][0] == "run"
    port = next(p for p in main["ports"] if p["name"] == "metrics")["containerPort"]
    assert main["args"][main["args"].index("--metrics") + 1].endswith(f":{port}")
    # the probes have a listener of their own (--health): /metrics clients cannot starve it
    health = next(p for p in main["ports"] if p["name"] == "health")["containerPort"]
    assert main["args"][main["args"].index("--health") + 1].endswith(f":{health}")
    for probe in ("livenessProbe", "readinessProbe"):
        assert main[probe]["httpGet"]["path"] == "/healthz"
        assert main[probe]["httpGet"]["port"] in ("health", health)
    for key in ("requests", "limits"):
        assert "memory" in main["resources"][key]
    annotations = manifest("DaemonSet")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port)
    # the options the manifest passes are options memobs has
    usage = subprocess.run([MEMOBS, "run", "--help"], capture_output=True, text=True).stdout
    for arg in main["args"][1:]:
        if arg.startswith("--"):
            assert arg.split("=")[0] in usage, f"'memobs run' has no option {arg}"


def rules_file(tmp_path):
    rule = manifest("PrometheusRule")
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    return path


def test_prometheus_rules_check(tmp_path):
    r = subprocess.run(["promtool", "check", "rules", str(rules_file(tmp_path))],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_prometheus_rules_fire(tmp_path):
    """The alerts fire when the issue says: leak suspected for 10 min, time to limit under 1 h."""
    labels = 'cgroup="/k/x.scope",container="app",pod="web-0",namespace="shop",node="n1"'
    alert_labels = dict(cgroup="/k/x.scope", container="app", pod="web-0", namespace="shop",
                        node="n1", severity="warning")
    tests = {
        "rule_files": [str(rules_file(tmp_path))],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                # suspected from minute 5 on; time to limit drops below an hour at minute 20
                {"series": f"memobs_cgroup_leak_suspected{{{labels}}}",
                 "values": "0x4 1x30"},
                {"series": f"memobs_cgroup_time_to_limit_seconds{{{labels}}}",
                 "values": "7200-180x30"},
            ],
            "alert_rule_test": [
                {"eval_time": "14m", "alertname": "MemobsLeakSuspected", "exp_alerts": []},
                {"eval_time": "16m", "alertname": "MemobsLeakSuspected",
                 "exp_alerts": [{"exp_labels": alert_labels, "exp_annotations": {
                     "summary": "Memory leak suspected in shop/web-0 (app)",
                     "description": "memobs has suspected a leak in cgroup /k/x.scope on node "
                                    "n1 for 10 minutes. Its JSON log lines (type \"leak\") "
                                    "name the growing memory and, when traced, the call sites."}}]},
                {"eval_time": "22m", "alertname": "MemobsTimeToMemoryLimitUnder1h",
                 "exp_alerts": []},
                # 7200 - 27 * 180 = 2340 s left
                {"eval_time": "27m", "alertname": "MemobsTimeToMemoryLimitUnder1h",
                 "exp_alerts": [{"exp_labels": alert_labels, "exp_annotations": {
                     "summary": "shop/web-0 (app) reaches its memory limit within the hour",
                     "description": "At its current growth, cgroup /k/x.scope on node n1 "
                                    "reaches its memory limit in 39m 0s; the OOM killer acts "
                                    "then."}}]},
            ],
        }],
    }
    test_path = tmp_path / "rules_test.yml"
    test_path.write_text(yaml.safe_dump(tests))
    r = subprocess.run(["promtool", "test", "rules", str(test_path)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr


# ---- (b) real containers under kubelet-style cgroup paths ------------------


def cgroup_mounts():
    """Every cgroup hierarchy's mount point (v1 controllers and v2)."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, post = line.split(" - ", 1)
            if post.split()[0] in ("cgroup", "cgroup2") and pre.split()[3] == "/":
                out.append(pre.split()[4])
    return out


def remove_cgroup_tree(rel_top):
    """Removes a cgroup subtree in every hierarchy, deepest first (runc leaves the parents)."""
    for mount in cgroup_mounts():
        top = os.path.join(mount, rel_top.lstrip("/"))
        if not os.path.isdir(top):
            continue
        dirs = [d for d, _, _ in os.walk(top)]
        for d in sorted(dirs, key=lambda d: d.count("/"), reverse=True):
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)


class Node:
    """A fake kubelet node: runc containers, /var/log/pods and the kubelet's pod dirs."""

    def __init__(self, base):
        self.base = base
        self.runc_root = os.path.join(base, "runc")
        self.pods_dir = os.path.join(base, "log", "pods")
        self.kubelet_dir = os.path.join(base, "lib", "kubelet")
        self.rootfs = os.path.join(base, "rootfs")
        self.cgroup_top = f"/memobs-test-{os.getpid()}-k8s"
        self.containers = []
        os.makedirs(self.pods_dir)
        self._make_rootfs()

    def _make_rootfs(self):
        # the host's /usr, bind-mounted read-only; Debian 12 merges /bin and /lib into it
        for d in ("usr", "proc", "dev", "sys", "tmp"):
            os.makedirs(os.path.join(self.rootfs, d))
        for link in ("bin", "lib", "lib64", "sbin"):
            if os.path.islink(f"/{link}"):
                os.symlink(os.readlink(f"/{link}"), os.path.join(self.rootfs, link))

    def log_dirs(self, namespace, pod, uid, names):
        for name in names:
            d = os.path.join(self.pods_dir, f"{namespace}_{pod}_{uid}", name)
            os.makedirs(d)
            with open(os.path.join(d, "0.log"), "w") as f:
                f.write("2026-11-23T15:00:00.000000000Z stdout F started\n")

    def run(self, cgroup_path, pod_uid, name=None):
        """Starts `sleep` as a container; name: mount the kubelet's termination-log for it."""
        cid = secrets.token_hex(32)
        bundle = os.path.join(self.base, "bundles", cid[:12])
        os.makedirs(bundle)
        subprocess.run(["runc", "spec", "--bundle", bundle], check=True)
        with open(os.path.join(bundle, "config.json")) as f:
            config = json.load(f)
        config["root"] = {"path": self.rootfs, "readonly": True}
        config["process"]["args"] = ["/usr/bin/sleep", "600"]
        config["process"]["terminal"] = False
        config["mounts"].append({"destination": "/usr", "type": "bind", "source": "/usr",
                                 "options": ["rbind", "ro"]})
        if name:
            # what the kubelet mounts in every container: the source path names it
            src_dir = os.path.join(self.kubelet_dir, "pods", pod_uid, "containers", name)
            os.makedirs(src_dir, exist_ok=True)
            src = os.path.join(src_dir, secrets.token_hex(4))
            open(src, "w").close()
            config["mounts"].append({"destination": "/dev/termination-log", "type": "bind",
                                     "source": src, "options": ["bind", "rw"]})
        config["linux"]["cgroupsPath"] = self.cgroup_top + cgroup_path.format(id=cid)
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(config, f)
        self.containers.append(cid)
        # the detached container inherits runc's stdio: a pipe would never reach EOF
        err_path = os.path.join(bundle, "runc.err")
        with open(err_path, "w") as err:
            r = subprocess.run(["runc", "--root", self.runc_root, "run", "-d", "--bundle", bundle,
                                cid], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=err, timeout=30)
        with open(err_path) as err:
            assert r.returncode == 0, f"runc run failed: {err.read()}"
        state = subprocess.run(["runc", "--root", self.runc_root, "state", cid],
                               capture_output=True, text=True, check=True)
        pid = json.loads(state.stdout)["pid"]
        with open(f"/proc/{pid}/cgroup") as f:
            v2 = [l.split("::", 1)[1].strip() for l in f if l.startswith("0::")]
        assert v2 and v2[0] == config["linux"]["cgroupsPath"], \
            f"runc placed the container in {v2}, not {config['linux']['cgroupsPath']}"
        return cid, os.stat(os.path.join(CGROUP2, v2[0].lstrip("/"))).st_ino

    def destroy(self):
        for cid in self.containers:
            subprocess.run(["runc", "--root", self.runc_root, "delete", "-f", cid],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        remove_cgroup_tree(self.cgroup_top)
        shutil.rmtree(self.base, ignore_errors=True)


SYSTEMD_LAYOUT = ("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid_}.slice"
                  "/cri-containerd-{{id}}.scope")
CGROUPFS_LAYOUT = "/kubepods/besteffort/pod{uid}/{{id}}"


@pytest.fixture(scope="module")
def node():
    """Three containers in two pods, running for the module's tests; removed afterwards."""
    require_root()
    if shutil.which("runc") is None:
        pytest.fail("runc is not installed (Debian: runc; scripts/deps.sh installs it)")
    n = Node(tempfile.mkdtemp(prefix="memobs-k8s-"))
    try:
        web_uid, batch_uid = str(uuid.uuid4()), str(uuid.uuid4())
        # the sidecar's log dir exists, so "the pod's only container" cannot be what names app
        n.log_dirs("shop", "web-7d4b9c-x2x4q", web_uid, ["app", "sidecar"])
        n.log_dirs("batch", "report-28391", batch_uid, ["worker"])
        web = SYSTEMD_LAYOUT.format(uid_=web_uid.replace("-", "_"))
        n.expect = {}
        cid, cg = n.run(web, web_uid, name="app")
        n.expect[cg] = dict(id=cid, runtime="containerd", pod_uid=web_uid,
                            pod="web-7d4b9c-x2x4q", namespace="shop", name="app")
        # the pod's sandbox: no termination-log, so no container name
        cid, cg = n.run(web, web_uid)
        n.expect[cg] = dict(id=cid, runtime="containerd", pod_uid=web_uid,
                            pod="web-7d4b9c-x2x4q", namespace="shop", name=None)
        cid, cg = n.run(CGROUPFS_LAYOUT.format(uid=batch_uid), batch_uid, name="worker")
        # cgroupfs names a containerd container by its bare id: runtime unknown
        n.expect[cg] = dict(id=cid, runtime=None, pod_uid=batch_uid, pod="report-28391",
                            namespace="batch", name="worker")
        yield n
    finally:
        n.destroy()


def test_container_names_on_sample_lines(node, memobs):
    m = memobs("run", "--snapshots", "--no-detect", "--interval", "0.5",
               "--pods-dir", node.pods_dir)
    for cg, want in node.expect.items():
        line = m.wait_for(lambda l: l.get("type") == "sample" and l["cgroup"]["id"] == cg, 15)
        assert line is not None, f"no sample for container {want}: {m.stderr}"
        assert line["container"] == want, line
        assert line["cgroup"]["path"].startswith(node.cgroup_top + "/kubepods")
    # every line carries the key; the host's own cgroups are no container
    samples = m.of_type("sample")
    assert all("container" in l for l in samples)
    root = [l for l in samples if l["cgroup"]["path"] == "/"]
    assert root and root[-1]["container"] is None


def test_child_cgroup_named_like_another_pod_is_not_that_pod(node, memobs):
    """Issue 14, finding 6: a container that creates a cgroup below its own (delegation),
    named like another pod's container, is still reported as itself."""
    attacker_uid, victim_uid = str(uuid.uuid4()), str(uuid.uuid4())
    node.log_dirs("dev", "toy-1", attacker_uid, ["toy"])
    node.log_dirs("payments", "bank-0", victim_uid, ["ledger"])
    outer = secrets.token_hex(32)
    # runc places the process as the delegated container would: in the child it made
    path = (SYSTEMD_LAYOUT.format(uid_=attacker_uid.replace("-", "_")).format(id=outer)
            + f"/kubepods-burstable-pod{victim_uid.replace('-', '_')}.slice"
            + "/cri-containerd-{id}.scope")
    _, cg = node.run(path, attacker_uid, name="toy")
    m = memobs("run", "--snapshots", "--no-detect", "--interval", "0.5",
               "--pods-dir", node.pods_dir)
    line = m.wait_for(lambda l: l.get("type") == "sample" and l["cgroup"]["id"] == cg, 15)
    assert line is not None, m.stderr
    assert victim_uid.replace("-", "_") in line["cgroup"]["path"]
    assert line["container"] == dict(id=outer, runtime="containerd", pod_uid=attacker_uid,
                                     pod="toy-1", namespace="dev", name="toy"), line
    assert m.stop() == 0, m.stderr


# ---- (c) the Prometheus endpoint --------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode(), r.headers.get("Content-Type")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), None


def wait_healthy(base, m, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert m.proc.poll() is None, f"memobs exited: {m.stderr}"
        try:
            if http_get(base + "/healthz")[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"/healthz never answered 200: {m.stderr}")


def test_metrics_scraped_while_running(node, memobs):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    m = memobs("run", "--no-detect", "--interval", "0.5", "--pods-dir", node.pods_dir,
               "--metrics", f"127.0.0.1:{port}")
    wait_healthy(base, m)
    status, body, ctype = http_get(base + "/healthz")
    assert (status, body.strip()) == (200, "ok")
    # scrape until the containers' series are there (names resolve on their first pass)
    app = next(w for w in node.expect.values() if w["name"] == "app")
    want = (f'container="app",pod="{app["pod"]}",namespace="shop"}}')
    deadline = time.monotonic() + 10
    while True:
        status, text, ctype = http_get(base + "/metrics")
        assert status == 200
        if want in text or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert ctype.startswith("text/plain; version=0.0.4")
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    series = [l for l in text.splitlines() if l.startswith("memobs_cgroup_anon_rss_bytes{")]
    app_series = [l for l in series if want in l]
    assert len(app_series) == 1, series[:20]
    assert int(app_series[0].rsplit(" ", 1)[1]) > 0, app_series
    for name in ("memobs_events_total", "memobs_ringbuf_drops_total",
                 "memobs_attach_failures_total", "process_cpu_seconds_total",
                 "process_resident_memory_bytes"):
        assert any(l.startswith(name + " ") for l in text.splitlines()), name
    # bound where told: loopback only
    assert http_get(base + "/nope")[0] == 404


def test_metrics_bad_address_is_refused():
    r = subprocess.run([MEMOBS, "run", "--metrics", "localhost:x"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode != 0, r.stderr
    assert "localhost:x" in r.stderr


# ---- privilege ---------------------------------------------------------------

CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, CAP_PERFMON, CAP_BPF = 2, 19, 38, 39


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)


def uprobes_supported():
    return os.path.exists("/sys/bus/event_source/devices/uprobe")


def test_capabilities_dropped_after_attach(memobs):
    """Once attached, memobs keeps only what the loop and run-time attaches need:
    with escalation on (the default), what attaching to a suspect takes."""
    if not uprobes_supported():
        pytest.fail("no uprobe PMU: escalation is off, so its capabilities cannot be checked")
    m = memobs("run", "--snapshots", "--interval", "0.5")
    m.wait_started()
    status = proc_status(m.proc.pid)
    kept = (1 << CAP_BPF) | (1 << CAP_PERFMON) | (1 << CAP_SYS_PTRACE) | (1 << CAP_DAC_READ_SEARCH)
    assert int(status["CapEff"], 16) == kept, status["CapEff"]
    assert int(status["CapPrm"], 16) == kept, status["CapPrm"]
    assert int(status["CapInh"], 16) == 0
    assert int(status["CapAmb"], 16) == 0
    assert status["NoNewPrivs"].strip() == "1"
    # root holds CAP_SETPCAP: the bounding set is cut down too
    assert int(status["CapBnd"], 16) == kept, status["CapBnd"]
    # and it still samples with what it kept
    seen = len(m.of_type("sample"))
    deadline = time.monotonic() + 5
    while len(m.of_type("sample")) <= seen and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(m.of_type("sample")) > seen, m.stderr
    assert m.stop() == 0, m.stderr


@pytest.mark.parametrize("args", [["--no-escalate"], ["--no-detect"]],
                         ids=["no-escalate", "no-detect"])
def test_capabilities_without_attribution(memobs, args):
    """Issue 14, finding 7: with no attribution tier possible at run time, nothing that
    reads other programs' maps, binaries or debug info keeps the capability to."""
    m = memobs("run", "--snapshots", "--interval", "0.5", *args)
    m.wait_started()
    status = proc_status(m.proc.pid)
    for name in ("CapEff", "CapPrm", "CapBnd"):
        caps = int(status[name], 16)
        for cap in (CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_PERFMON):
            assert not caps & (1 << cap), f"{name} {status[name]} holds capability {cap}"
    # the loop calls bpf() each pass: kernels before 6.5 gate every command on CAP_BPF
    assert int(status["CapEff"], 16) == 1 << CAP_BPF, status["CapEff"]
    assert status["NoNewPrivs"].strip() == "1"
    seen = len(m.of_type("sample"))
    deadline = time.monotonic() + 5
    while len(m.of_type("sample")) <= seen and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(m.of_type("sample")) > seen, m.stderr
    assert m.stop() == 0, m.stderr
