# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Hostile neighbours (issue 14): each test first mounts the attack, then
asserts what memobs does about it.

- idle TCP connections to the metrics port starve neither the probes' own
  listener (--health) nor /metrics for another client address;
- a socket directory that another user owns, or that others may write to, is
  refused with one line naming it, and exit 1;
- a flood of clients refused by the snapshot socket costs one stderr line,
  not one each;
- a metrics or health port already taken: one line naming it, exit 1;
- the manifests: the probes on the health port, a NetworkPolicy that admits
  only Prometheus to the metrics port.
"""
import http.client
import os
import shutil
import socket
import subprocess
import time

import pytest
import yaml

from conftest import MEMOBS, ROOT, require_root

DEPLOY = os.path.join(ROOT, "deploy", "kubernetes")
# user/output/metrics_http.h
PER_IP_CONNECTIONS = 4
IDLE_TIMEOUT_S = 5
NOBODY = 65534


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, source="127.0.0.1", timeout=1.0):
    """(status, body) of one GET to 127.0.0.1:port from the loopback address source."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0))
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def idle_connections(port, n, source="127.0.0.1"):
    out = []
    for _ in range(n):
        s = socket.socket()
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        out.append(s)
    return out


def wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def answers(port, path):
    """Whether a GET of path is answered 200; a refused or reset connection is
    a no (the server may not yet have reaped the connections a test closed)."""
    try:
        return get(port, path)[0] == 200
    except (OSError, http.client.HTTPException):
        return False


def healthy(port):
    return answers(port, "/healthz")


def error_lines(stderr):
    return [l for l in stderr.splitlines() if l.startswith("memobs: error")]


# ---- the metrics port under idle connections ----------------------------------


def test_idle_connections_starve_nothing(memobs):
    port, health = free_port(), free_port()
    m = memobs("run", "--no-detect", "--no-socket", "--interval", "0.5",
               "--metrics", f"127.0.0.1:{port}", "--health", f"127.0.0.1:{health}")
    m.wait_started()
    assert wait_until(lambda: healthy(health), 10), m.stderr
    idle = idle_connections(port, 32)
    try:
        time.sleep(0.3)
        # the probes' listener answers at once (the timeout is the 1 s bound)
        t0 = time.monotonic()
        assert get(health, "/healthz") == (200, "ok\n")
        assert time.monotonic() - t0 < 1
        assert get(health, "/metrics")[0] == 404
        # /metrics for a client at another address, at once
        t0 = time.monotonic()
        status, body = get(port, "/metrics", source="127.0.0.2")
        assert status == 200 and "memobs_events_total" in body
        assert get(port, "/healthz", source="127.0.0.2")[0] == 200
        assert time.monotonic() - t0 < 1
        # the documented cost to the address that holds the idle ones: a
        # connection beyond 4 is closed at once, unanswered ...
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            get(port, "/metrics")
        # ... until the idle ones are closed, after 5 s idle
        idle[0].settimeout(IDLE_TIMEOUT_S + 5)
        assert idle[0].recv(1) == b""
    finally:
        for s in idle:
            s.close()
    assert wait_until(lambda: answers(port, "/metrics"), 3), m.stderr

    # the same against the health listener: another address (the kubelet's) is served
    idle = idle_connections(health, 32)
    try:
        time.sleep(0.3)
        assert get(health, "/healthz", source="127.0.0.2") == (200, "ok\n")
    finally:
        for s in idle:
            s.close()
    assert m.proc.poll() is None, m.stderr
    assert m.stop() == 0, m.stderr


# ---- ports already taken -----------------------------------------------------


@pytest.mark.parametrize("option", ["--metrics", "--health"])
def test_port_taken_is_one_line_and_exit_1(option):
    require_root()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        addr = f"127.0.0.1:{taken.getsockname()[1]}"
        args = [MEMOBS, "run", "--no-socket", "--no-detect", "--duration", "10", option, addr]
        if option == "--health":
            args += ["--metrics", f"127.0.0.1:{free_port()}"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stderr
    errors = error_lines(r.stderr)
    assert len(errors) == 1, r.stderr
    assert f"'{addr}'" in errors[0] and option in errors[0], errors
    assert "Address already in use" in errors[0], errors
    assert not r.stdout.strip() or '"type":"stats"' in r.stdout


# ---- the snapshot socket's directory -----------------------------------------


@pytest.fixture
def sock_dirs(tmp_path):
    """Directories for sockets under tmp_path; removed afterwards, whoever owns them."""
    made = []

    def make(name, mode=0o700, owner=None):
        d = tmp_path / name
        d.mkdir()
        os.chmod(d, mode)
        if owner is not None:
            os.chown(d, owner, owner)
        made.append(d)
        return d

    yield make
    for d in made:
        shutil.rmtree(d, ignore_errors=True)


def run_refused(sock):
    r = subprocess.run([MEMOBS, "run", "--no-detect", "--duration", "10", "--socket", sock],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stderr
    errors = error_lines(r.stderr)
    assert len(errors) == 1, r.stderr
    assert not os.path.lexists(sock), "a socket was made in a refused directory"
    return errors[0]


def test_socket_dir_of_another_user_is_refused(memobs, sock_dirs):
    d = sock_dirs("theirs", 0o700, owner=NOBODY)
    line = run_refused(str(d / "memobs.sock"))
    assert f"'{d}'" in line and f"uid {NOBODY}" in line, line


@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o770], ids=["0777", "1777", "0770"])
def test_socket_dir_writable_by_others_is_refused(memobs, sock_dirs, mode):
    d = sock_dirs(f"open{mode:o}", mode)
    line = run_refused(str(d / "memobs.sock"))
    assert f"'{d}'" in line and f"mode {mode:04o}" in line, line


def test_socket_dir_symlink_is_refused(memobs, sock_dirs, tmp_path):
    target = sock_dirs("target")
    link = tmp_path / "link"
    link.symlink_to(target)
    try:
        line = run_refused(str(link / "memobs.sock"))
        assert f"'{link}'" in line, line
    finally:
        link.unlink()


# ---- a flood of refused snapshot clients ---------------------------------------

SNAPSOCK_MAX_CLIENTS = 64


def test_refused_clients_cost_one_line(memobs, tmp_path):
    sock = str(tmp_path / "run" / "memobs.sock")
    m = memobs("run", "--no-detect", "--interval", "1", "--socket", sock)
    m.wait_started()
    assert wait_until(lambda: os.path.exists(sock), 10), m.stderr
    held, flood = [], 300
    try:
        for _ in range(SNAPSOCK_MAX_CLIENTS):
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock)
            held.append(s)
        # every one is served the latest frame: then they are all counted
        for s in held:
            s.settimeout(5)
            assert s.recv(1), "a client got no frame"
        for _ in range(flood):
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(5)
                s.connect(sock)
                assert s.recv(1) == b""  # refused: closed at once, nothing sent
        time.sleep(0.5)
        refused = [l for l in m.stderr.splitlines() if "refus" in l]
        assert len(refused) == 1, refused[:5]
        assert f"{SNAPSOCK_MAX_CLIENTS} clients already" in refused[0]
    finally:
        for s in held:
            s.close()
    assert m.proc.poll() is None, m.stderr
    assert m.stop() == 0, m.stderr


# ---- the manifests -----------------------------------------------------------


def load_manifests():
    docs = []
    for dirpath, _, files in os.walk(DEPLOY):
        for name in sorted(files):
            if name.endswith(".yaml"):
                with open(os.path.join(dirpath, name)) as f:
                    docs += [d for d in yaml.safe_load_all(f) if d]
    return docs


def test_networkpolicy_admits_only_prometheus_to_metrics():
    docs = load_manifests()
    (ds,) = [d for d in docs if d["kind"] == "DaemonSet"]
    (np,) = [d for d in docs if d["kind"] == "NetworkPolicy"]
    with open(os.path.join(DEPLOY, "kustomization.yaml")) as f:
        assert "networkpolicy.yaml" in yaml.safe_load(f)["resources"]
    assert np["metadata"]["namespace"] == ds["metadata"]["namespace"]
    pod_labels = ds["spec"]["template"]["metadata"]["labels"]
    assert np["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert set(np["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert not np["spec"].get("egress")
    (main,) = ds["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in main["ports"]}
    (rule,) = np["spec"]["ingress"]
    assert [p["port"] for p in rule["ports"]] == ["metrics"]
    assert ports["health"] != ports["metrics"]
    # one peer with both selectors: Prometheus pods in the monitoring namespace,
    # not every pod of that namespace nor every Prometheus anywhere
    (peer,) = rule["from"]
    assert peer["namespaceSelector"]["matchLabels"]
    assert peer["podSelector"]["matchLabels"]
    # the probes use the health listener; it is not the metrics one
    for probe in ("livenessProbe", "readinessProbe"):
        assert main[probe]["httpGet"]["port"] == "health"
    args = main["args"]
    assert args[args.index("--health") + 1].endswith(f":{ports['health']}")


def test_socket_emptydir_is_not_the_socket_dir():
    """An emptyDir is world-writable: memobs would refuse it as its socket directory."""
    ds = [d for d in load_manifests() if d["kind"] == "DaemonSet"][0]
    pod = ds["spec"]["template"]["spec"]
    empty = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
    for c in pod["containers"]:
        mounts = {m["mountPath"] for m in c["volumeMounts"] if m["name"] in empty}
        assert "/run" in mounts and "/run/memobs" not in mounts, c["name"]
