# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""`memobs leaks` and the attribution tier against real leakers, real probes.

The leaker (tests/workloads/leak_here.c) leaks from a noinline leak_here()
and churns malloc/free pairs elsewhere; it reports the bytes it leaked, the
truth memobs's estimate is held to.

MEMOBS_LEAKS_BIN, when set, names a binary that runs `leaks` itself (used
before main.c dispatches the subcommand).
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import MEMOBS, Cgroup, bpf_objects_alive, bpf_objects_of, require_root, workload

LEAKER = workload("leak_here")
JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"


def leaks_cmd(*args, verbose=False):
    override = os.environ.get("MEMOBS_LEAKS_BIN")
    v = ["-v"] if verbose else []
    return ([override] + v if override else [MEMOBS] + v + ["leaks"]) + [str(a) for a in args]


def run_leaks(*args, timeout=120, on_start=None, start_delay=2.0):
    """Runs `memobs leaks ARGS --json` to its end; returns (sites, summary, mm_sites, stderr)."""
    p = subprocess.Popen(leaks_cmd(*args, "--json"), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    if on_start:
        time.sleep(start_delay)  # attached by then: the tier attaches before its first poll
        on_start()
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, err.decode(errors="replace")
    lines = [json.loads(l) for l in out.splitlines() if l.strip()]
    sites = [l for l in lines if l["type"] == "leak_site"]
    mm = [l for l in lines if l["type"] == "mm_site"]
    summary = [l for l in lines if l["type"] == "leaks_summary"]
    assert len(summary) == 1, out
    return sites, summary[0], mm, err.decode(errors="replace")


def spawn_leaker(args, cg=None, env=None, prefix=()):
    argv = list(prefix) + [LEAKER] + [str(a) for a in args]
    if cg is not None:
        return cg.spawn(argv, env=env)
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert p.stdout.readline().strip() == b"ready"
    return p


def read_done(p, timeout=60):
    """The leaker's 'done <bytes>' line: the truth."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        if line.startswith(b"done "):
            return int(line.split()[1])
    pytest.fail("the leaker did not report 'done'")


def first_frame_is_leak_here(site):
    return bool(site["stack"]) and site["stack"][0].startswith("leak_here+")


def stop(p):
    if p.poll() is None:
        p.kill()
    p.wait()


ATTR_PROGS = ("memobs_alloc_", "memobs_attr_", "memobs_mm_")


def links_and_uprobes():
    """BPF links of the attribution tier's programs, and uprobe_events, on the system now.

    By program name: other tests (or engineers) may hold links of their own.
    bpftool 7.1 does not name the uprobe_multi link type, so types are no filter.
    """
    progs = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, check=True)
    ours = {p["id"] for p in json.loads(progs.stdout or b"[]")
            if p.get("name", "").startswith(ATTR_PROGS)}
    out = subprocess.run(["bpftool", "-j", "link", "list"], capture_output=True, check=True)
    links = [l for l in json.loads(out.stdout or b"[]") if l.get("prog_id") in ours]
    events = ""
    if os.path.exists("/sys/kernel/tracing/uprobe_events"):
        with open("/sys/kernel/tracing/uprobe_events") as f:
            events = f.read()
    return links, events


def test_pid_puts_leak_here_first_with_estimate_near_truth():
    require_root()
    leaker = spawn_leaker(["--wait-signal", "--size", 256, "--rate", 3 << 20, "--seconds", 20])
    try:
        sites, summary, _, _ = run_leaks("--pid", leaker.pid, "--duration", 30, "--top", 5,
                                         on_start=lambda: leaker.send_signal(signal.SIGUSR1))
        truth = read_done(leaker)
    finally:
        stop(leaker)
    assert sites, summary
    assert first_frame_is_leak_here(sites[0]), sites[0]
    assert any("main+" in f for f in sites[0]["stack"]), sites[0]["stack"]
    # the churned malloc/free pairs were freed: churn() holds nothing
    assert not any(s["stack"] and s["stack"][0].startswith("churn+") for s in sites), sites
    est = sites[0]["bytes"]
    assert abs(est - truth) <= 0.3 * truth, f"estimated {est}, leaked {truth}"
    assert summary["bpf"]["ringbuf_drops"] == 0
    assert summary["attach_failures"] == 0
    assert summary["pids_traced"] == 1


@pytest.mark.parametrize("session", [True, False], ids=["session", "uretprobe"])
def test_cgroup_attributes_each_allocation_function(cgroups, session):
    cg = cgroups.make("leaks-modes")
    modes = ["calloc", "realloc", "posix_memalign", "aligned_alloc"]
    leakers = {m: spawn_leaker(["--mode", m, "--size", 512, "--rate", 1 << 20], cg=cg)
               for m in modes}
    args = ["--cgroup", cg.rel, "--duration", 6, "--top", 20, "--malloc-sample-bytes", 64 << 10]
    if not session:
        args.append("--no-session")
    sites, summary, _, _ = run_leaks(*args)
    assert summary["session"] == session
    for mode, p in leakers.items():
        mine = [s for s in sites if s["pid"] == p.pid and first_frame_is_leak_here(s)]
        assert mine, f"{mode}: no site in leak_here among {sites}"
        # 6 s at 1 MiB/s: the estimate is in the megabytes, not a stray sample
        assert sum(s["bytes"] for s in mine) > 2 << 20, (mode, mine)
    assert summary["pids_traced"] == len(modes)


@pytest.mark.parametrize("lib", [JEMALLOC, TCMALLOC], ids=["jemalloc", "tcmalloc"])
def test_other_allocators_attributed(lib):
    require_root()
    assert os.path.exists(lib), f"{lib} missing: install it (scripts/deps.sh)"
    env = dict(os.environ, LD_PRELOAD=lib)
    leaker = spawn_leaker(["--size", 1024, "--rate", 2 << 20], env=env)
    try:
        with open(f"/proc/{leaker.pid}/maps") as f:
            assert os.path.basename(lib) in f.read()
        sites, summary, _, _ = run_leaks("--pid", leaker.pid, "--duration", 6,
                                         "--malloc-sample-bytes", 64 << 10)
    finally:
        stop(leaker)
    assert sites and first_frame_is_leak_here(sites[0]), sites
    assert sites[0]["bytes"] > 4 << 20, sites[0]


def test_freeing_everything_ends_near_zero():
    require_root()
    rate = 4 << 20
    leaker = spawn_leaker(["--mode", "free_all", "--size", 256, "--rate", rate])
    try:
        sites, summary, _, _ = run_leaks("--pid", leaker.pid, "--duration", 8,
                                         "--malloc-sample-bytes", 16 << 10)
    finally:
        stop(leaker)
    # 32 MiB went through leak_here; at most the last second's is still held
    assert summary["bpf"]["sampled"] > 500, summary
    assert summary["bpf"]["frees"] > 0.7 * summary["bpf"]["sampled"], summary
    assert summary["malloc_outstanding_bytes"] < 2 * rate, summary


def _rootfs_with_own_libc(root):
    """A rootfs holding a copy of the leaker, libc and the loader (other inodes)."""
    libdir = os.path.join(root, "lib/x86_64-linux-gnu")
    os.makedirs(libdir)
    os.makedirs(os.path.join(root, "lib64"))
    shutil.copy2("/lib/x86_64-linux-gnu/libc.so.6", libdir)
    shutil.copy2("/lib64/ld-linux-x86-64.so.2", os.path.join(root, "lib64"))
    shutil.copy2(LEAKER, os.path.join(root, "leak_here"))


def test_mount_namespace_with_its_own_libc(cgroups):
    cg = cgroups.make("leaks-mntns")
    root = tempfile.mkdtemp(prefix="memobs-rootfs-")
    try:
        _rootfs_with_own_libc(root)
        p = cg.spawn(["unshare", "--mount", "--fork", "chroot", root, "/leak_here",
                      "--size", "512", "--rate", str(2 << 20)])
        leaker_pid = [pid for pid in cg.pids() if os.readlink(f"/proc/{pid}/exe").endswith("leak_here")]
        assert leaker_pid, cg.pids()
        host_libc = os.stat("/lib/x86_64-linux-gnu/libc.so.6")
        own_libc = os.stat(os.path.join(root, "lib/x86_64-linux-gnu/libc.so.6"))
        assert own_libc.st_ino != host_libc.st_ino
        with open(f"/proc/{leaker_pid[0]}/maps") as f:
            assert f" {own_libc.st_ino} " in f.read(), "the leaker does not map its own libc"
        sites, summary, _, _ = run_leaks("--cgroup", cg.rel, "--duration", 6,
                                         "--malloc-sample-bytes", 64 << 10)
        assert sites and first_frame_is_leak_here(sites[0]), sites
        assert "(leak_here)" in sites[0]["stack"][0]
        assert summary["attach_failures"] == 0
    finally:
        cg.destroy()
        shutil.rmtree(root, ignore_errors=True)


def test_overlay_layer_shared_by_two_containers_is_hooked_once(cgroups):
    cg = cgroups.make("leaks-overlay")
    base = tempfile.mkdtemp(prefix="memobs-ovl-")
    lower = os.path.join(base, "lower")
    mounts = []
    try:
        _rootfs_with_own_libc(lower)
        pids = []
        for i in range(2):
            upper, work, merged = (os.path.join(base, f"{n}{i}") for n in ("upper", "work", "merged"))
            for d in (upper, work, merged):
                os.makedirs(d)
            subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                            f"lowerdir={lower},upperdir={upper},workdir={work}", merged], check=True)
            mounts.append(merged)
            cg.spawn(["chroot", merged, "/leak_here", "--size", "512", "--rate", str(1 << 20)])
        pids = cg.pids()
        assert len(pids) == 2
        lower_libc = os.stat(os.path.join(lower, "lib/x86_64-linux-gnu/libc.so.6"))
        key = f"file {lower_libc.st_dev}:{lower_libc.st_ino}"
        p = subprocess.Popen(leaks_cmd("--all", "--duration", 5, "--json",
                                       "--malloc-sample-bytes", 256 << 10, verbose=True),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        hooked = [l for l in err.decode().splitlines() if "hooking" in l and "libc.so.6" in l]
        lower_hooks = [l for l in hooked if key in l]
        assert len(lower_hooks) == 1, (key, hooked)
        sites = [json.loads(l) for l in out.splitlines() if b'"leak_site"' in l]
        # both processes run the same code: their leak_here sites merge, each leak counted once
        mine = [s for s in sites if s["pid"] in pids and first_frame_is_leak_here(s)]
        assert mine, sites
        top = max(mine, key=lambda s: s["bytes"])
        expected = 2 * (1 << 20) * 5
        assert 0.4 * expected < top["bytes"] < 1.5 * expected, (mine, expected)
    finally:
        cg.destroy()
        for m in mounts:
            subprocess.run(["umount", "-l", m])
        shutil.rmtree(base, ignore_errors=True)


def held_while_running(p, timeout=20):
    """The BPF links and programs a running memobs holds (its fdinfo), once it holds links."""
    deadline = time.time() + timeout
    while time.time() < deadline and p.poll() is None:
        progs, links = bpf_objects_of(p.pid)
        if links:
            return progs, links
        time.sleep(0.2)
    raise AssertionError("memobs held no BPF link while tracing: the check sees nothing")


def assert_released(progs, links, before_events):
    """Every program and link that memobs held is gone; uprobe_events is as before.

    By the ids memobs itself held, not by counting the host's links: other
    tracers (or another memobs) may come and go meanwhile. The kernel frees
    programs after an RCU grace period: allow it a few seconds.
    """
    deadline = time.time() + 5
    while True:
        alive_progs, alive_links = bpf_objects_alive()
        left = (links & alive_links, progs & alive_progs)
        if not any(left) or time.time() > deadline:
            break
        time.sleep(0.2)
    assert not any(left), left
    _, events = links_and_uprobes()
    assert events == before_events


def test_nothing_left_attached_after_exit_or_sigterm():
    require_root()
    _, before_events = links_and_uprobes()
    leaker = spawn_leaker(["--rate", 1 << 20])
    try:
        # to its end
        p = subprocess.Popen(leaks_cmd("--pid", leaker.pid, "--duration", 3, "--no-session"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        progs, links = held_while_running(p)
        p.communicate(timeout=30)
        assert p.returncode == 0
        assert_released(progs, links, before_events)
        # SIGTERM in the middle of a trace: the same
        p = subprocess.Popen(leaks_cmd("--pid", leaker.pid, "--duration", 60, "--json"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        progs, links = held_while_running(p)
        time.sleep(1)
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=20)
        assert p.returncode == 0
        assert b'"leaks_summary"' in out
        assert_released(progs, links, before_events)
    finally:
        stop(leaker)


def test_a_cgroup_of_many_processes_is_traced_within_the_bound():
    """A suspect with 300 processes gets probes for at most 256 of them, said once."""
    require_root()
    cg = Cgroup(f"memobs-test-{os.getpid()}-many")
    try:
        for _ in range(300):
            cg.spawn(["sleep", "120"], wait_ready=False)
        deadline = time.time() + 20
        while len(cg.pids()) < 300 and time.time() < deadline:
            time.sleep(0.1)
        assert len(cg.pids()) == 300
        _, summary, _, err = run_leaks("--cgroup", cg.rel, "--duration", 2, timeout=180)
        assert 200 <= summary["pids_traced"] <= 256, summary
        bound_lines = [l for l in err.splitlines() if "at most 256 per cgroup" in l]
        assert len(bound_lines) == 1, err
        assert "not 44 more" in bound_lines[0], bound_lines
    finally:
        cg.destroy()


def test_bad_input_is_one_line_naming_the_value():
    for args, bad in ((["--pid", "abc"], "abc"), (["--pid", "1", "--duration", "-3"], "-3"),
                      (["--cgroup", "/no/such/cgroup-xyz"], "/no/such/cgroup-xyz"),
                      (["--pid", "1", "--malloc-sample-bytes", "0"], "0"), ([], None)):
        r = subprocess.run(leaks_cmd(*args), capture_output=True)
        assert r.returncode == 2, (args, r)
        lines = r.stderr.decode().strip().splitlines()
        assert len(lines) == 1, lines
        if bad:
            assert f"'{bad}'" in lines[0]
