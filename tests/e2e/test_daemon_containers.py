# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The daemon names the code of processes in other roots and namespaces (issue 12).

`memobs run` drops its capabilities after attaching (no CAP_SYS_ADMIN is left, so
/proc/PID/map_files is closed to it), yet its escalation must symbolize what
`memobs leaks` does: here a leaker that is pid 1 of its own pid and mount
namespaces, chrooted into a rootfs with its own copy of libc, the shape of a
container without an image. /proc/PID/maps shows its files by their host paths
(the reader's root), which its own root does not hold.
"""
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import MEMOBS, workload

MIB = 1 << 20


def libraries_of(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    return [w for line in out.splitlines() for w in line.split() if w.startswith("/")]


@pytest.fixture
def rootfs():
    top = tempfile.mkdtemp(prefix="memobs-chroot-")
    try:
        leaker = os.path.join(top, "leak")
        shutil.copy(workload("leak_here"), leaker)
        for lib in libraries_of(leaker):
            dest = os.path.join(top, lib.lstrip("/"))
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy(lib, dest)
        yield top
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_escalation_symbolizes_a_chrooted_pid_namespace(cgroups, memobs, rootfs):
    cg = cgroups.make("chroot-leak")
    p = cg.spawn(["unshare", "--mount", "--pid", "--fork", "--kill-child", "chroot", rootfs,
                  "/leak", "--size", "65536", "--rate", str(2 * MIB)])
    leaker = [pid for pid in cg.pids() if pid != p.pid]
    assert leaker, cg.pids()
    with open(f"/proc/{leaker[0]}/maps") as f:
        # the premise: maps names the host path, which the process's root does not hold
        assert f" {rootfs}/leak\n" in f.read()
    m = memobs("run", "--interval", "0.5", "--window", "5", "--escalate-for", "6",
               "--malloc-sample-bytes", "65536", "--no-socket")
    second = m.wait_for(lambda l: l["type"] == "leak" and l["cgroup"]["id"] == cg.id
                        and l["sites"], 60)
    assert second is not None, m.stderr
    stack = second["sites"][0]["stack"]
    assert stack[0].startswith("leak_here+") and "leak_here.c:" in stack[0], stack
    assert any(f.startswith("main+") for f in stack), stack
    # the chroot's own libc, read for its CFI and symbols: the walk reaches _start
    assert any(f.startswith("__libc_start_main+") for f in stack), stack
    assert not any(f.startswith("[truncated") for f in stack), stack


def tracefs_mounts():
    with open("/proc/self/mountinfo") as f:
        return [l for l in f if " - tracefs " in l]


def test_trace_mm_mounts_tracefs_only_while_attaching(cgroups):
    """A fresh host has no tracefs; the syscall tracepoints need it to attach, not after."""
    before = tracefs_mounts()
    if before:
        pytest.skip("tracefs is mounted on this host: nothing to mount")
    cg = cgroups.make("tracefs")
    p = cg.spawn([workload("memhog"), "mmap-grow", "64"])
    run = subprocess.run([MEMOBS, "-v", "leaks", "--pid", str(p.pid), "--trace-mm",
                          "--duration", "3", "--json"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert "mounted tracefs" in run.stderr and "unmounted tracefs" in run.stderr, run.stderr
    # the mmap sites came from the syscall tracepoints attached through it
    assert '"mm_site"' in run.stdout and '"mmap_anon"' in run.stdout, run.stdout
    assert tracefs_mounts() == []
