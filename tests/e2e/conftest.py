# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Shared fixtures of the end-to-end tier: real BPF, real processes, real cgroups.

- `cgroups`: makes cgroup v2 children under the cgroup2 mount found in
  /proc/self/mountinfo (and, on hybrid hosts, a v1 memory cgroup of the same
  name when a limit is asked); every process and cgroup is removed afterwards,
  whether the test passed or not.
- `memobs`: starts `build/memobs` with arguments, collects its JSON lines in
  the background, and stops it (SIGTERM) at the end.
"""
import json
import os
import signal
import subprocess
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("MEMOBS_BUILD", "build"))
MEMOBS = os.path.join(BUILD, "memobs")
WORKLOADS = os.path.join(BUILD, "workloads")


def workload(name):
    return os.path.join(WORKLOADS, name)


def _mounts():
    """(cgroup2 mount, v1 memory mount or None) from /proc/self/mountinfo."""
    cgroup2 = memcg_v1 = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, post = line.split(" - ", 1)
            fields, post_fields = pre.split(), post.split()
            fstype, super_opts = post_fields[0], post_fields[2] if len(post_fields) > 2 else ""
            if fstype == "cgroup2" and cgroup2 is None and fields[3] == "/":
                cgroup2 = fields[4]
            elif fstype == "cgroup" and memcg_v1 is None and "memory" in super_opts.split(","):
                memcg_v1 = fields[4]
    return cgroup2, memcg_v1


CGROUP2, MEMCG_V1 = _mounts()


def memcg_on_v2():
    try:
        with open(os.path.join(CGROUP2, "cgroup.controllers")) as f:
            return "memory" in f.read().split()
    except OSError:
        return False


def require_root():
    """CI runs as root: a missing privilege fails loudly rather than skipping."""
    if os.geteuid() != 0:
        pytest.fail("the end-to-end tier needs root (BPF, cgroups)")


def proc_status(pid):
    """/proc/PID/status as a dict of ints (kB fields converted to bytes)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            parts = value.split()
            if len(parts) == 2 and parts[1] == "kB":
                out[key] = int(parts[0]) * 1024
            elif len(parts) == 1 and parts[0].isdigit():
                out[key] = int(parts[0])
    return out


def proc_heap_bytes(pid):
    """Size of the [heap] mapping (brk - start_brk, page-rounded) from /proc/PID/maps."""
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            if line.rstrip().endswith("[heap]"):
                lo, hi = line.split()[0].split("-")
                return int(hi, 16) - int(lo, 16)
    return 0


def proc_faults(pid):
    """minflt + majflt of the whole process (fields 10 and 12 of /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[7]) + int(rest[9])


def bpf_objects_of(pid):
    """The BPF program and link ids a process holds open, from /proc/PID/fdinfo."""
    progs, links = set(), set()
    fdinfo = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(fdinfo):
        try:
            with open(os.path.join(fdinfo, fd)) as f:
                text = f.read()
        except OSError:
            continue
        fields = dict(l.split(":", 1) for l in text.splitlines() if ":" in l)
        if "link_id" in fields:
            links.add(int(fields["link_id"]))
        elif "prog_id" in fields:
            progs.add(int(fields["prog_id"]))
    return progs, links


def bpf_objects_alive():
    """Ids of every loaded BPF program and link on the host."""
    def ids(kind):
        out = subprocess.run(["bpftool", "-j", kind, "show"], capture_output=True, text=True,
                             check=True).stdout
        return {o["id"] for o in json.loads(out or "[]")}
    return ids("prog"), ids("link")


class Cgroup:
    def __init__(self, name, limit_bytes=None):
        self.name = name
        self.path = os.path.join(CGROUP2, name)
        self.rel = "/" + name
        self.v1_path = None
        self.procs = []
        os.makedirs(self.path)
        self.id = os.stat(self.path).st_ino
        if limit_bytes is not None:
            self.set_limit(limit_bytes)

    def set_limit(self, limit_bytes):
        if memcg_on_v2():
            parent = os.path.dirname(self.path)
            with open(os.path.join(parent, "cgroup.subtree_control"), "w") as f:
                f.write("+memory")
            with open(os.path.join(self.path, "memory.max"), "w") as f:
                f.write(str(limit_bytes))
        elif MEMCG_V1:
            self.v1_path = os.path.join(MEMCG_V1, self.name)
            os.makedirs(self.v1_path, exist_ok=True)
            with open(os.path.join(self.v1_path, "memory.limit_in_bytes"), "w") as f:
                f.write(str(limit_bytes))
            # no swap to fall back on: the limit is what the OOM killer enforces
            try:
                with open(os.path.join(self.v1_path, "memory.memsw.limit_in_bytes"), "w") as f:
                    f.write(str(limit_bytes))
            except OSError:
                pass
        else:
            pytest.fail("no memory controller found on v2 or v1")

    def _enter(self):
        pid = str(os.getpid())
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(pid)
        if self.v1_path:
            with open(os.path.join(self.v1_path, "cgroup.procs"), "w") as f:
                f.write(pid)

    def spawn(self, argv, wait_ready=True, **kwargs):
        """Starts argv inside this cgroup; waits for its 'ready' line if asked."""
        p = subprocess.Popen(argv, preexec_fn=self._enter, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, **kwargs)
        self.procs.append(p)
        if wait_ready:
            line = p.stdout.readline()
            assert line.strip() == b"ready", f"{argv[0]} did not start: {line!r}"
        return p

    def pids(self):
        with open(os.path.join(self.path, "cgroup.procs")) as f:
            return [int(x) for x in f.read().split()]

    def destroy(self):
        for _ in range(50):
            try:
                pids = self.pids()
            except OSError:
                pids = []
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for p in self.procs:
                try:
                    p.wait(timeout=0.05)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.rmdir(self.path)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)
        if self.v1_path:
            for _ in range(50):
                try:
                    os.rmdir(self.v1_path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)


@pytest.fixture
def cgroups(request):
    """cgroups.make(name_suffix, limit_bytes=None) -> Cgroup; all removed afterwards."""
    require_root()
    made = []

    class Factory:
        def make(self, suffix, limit_bytes=None):
            name = f"memobs-test-{os.getpid()}-{suffix}"
            cg = Cgroup(name, limit_bytes)
            made.append(cg)
            return cg

    yield Factory()
    for cg in reversed(made):
        cg.destroy()


class Memobs:
    """A running `memobs` whose stdout JSON lines are collected as they come."""

    def __init__(self, args, env=None):
        self.args = [MEMOBS] + list(args)
        self.lines = []
        self.bad_lines = []
        self.cond = threading.Condition()
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env)
        self.stderr_lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._err_reader = threading.Thread(target=self._read_err, daemon=True)
        self._err_reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            try:
                obj = json.loads(raw)
            except ValueError:
                with self.cond:
                    self.bad_lines.append(raw)
                continue
            with self.cond:
                self.lines.append(obj)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def _read_err(self):
        for raw in self.proc.stderr:
            with self.cond:
                self.stderr_lines.append(raw.decode(errors="replace"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    @property
    def stderr(self):
        with self.cond:
            return "".join(self.stderr_lines)

    def wait_started(self, timeout=15):
        """Waits for the startup line memobs logs once every probe is attached."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not any(" started: " in l for l in self.stderr_lines):
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError(f"memobs did not start: {''.join(self.stderr_lines)}")
                self.cond.wait(min(left, 0.2))

    def of_type(self, type_):
        with self.cond:
            return [l for l in self.lines if l.get("type") == type_]

    def wait_for(self, predicate, timeout):
        """The first line for which predicate(line) holds, or None after timeout."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self.cond:
            while True:
                for line in self.lines[seen:]:
                    if predicate(line):
                        return line
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    return None
                self.cond.wait(min(left, 0.2))

    def wait_exit(self, timeout):
        rc = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        self._err_reader.join(timeout=5)
        return rc

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.wait_exit(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


@pytest.fixture
def memobs():
    """memobs(*args) -> a running Memobs; every instance is stopped afterwards."""
    require_root()
    started = []

    def start(*args, env=None):
        m = Memobs(args, env=env)
        started.append(m)
        return m

    yield start
    for m in started:
        if m.proc.poll() is None:
            m.stop()
