# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A program run from a FUSE filesystem whose daemon stops answering (issue 14).

Any open, read or stat of a file on FUSE waits for the daemon, whatever the
flags. memobs must not: it refuses such files before touching them (found from
the process's mountinfo), keeps the stack it can walk, and finishes on time.
The FUSE daemon here is squashfuse, stopped with SIGSTOP once the leaker runs.
"""
import os
import shutil
import signal
import subprocess
import tempfile

import pytest

from conftest import MEMOBS, workload

MIB = 1 << 20


@pytest.fixture
def fuse_mount():
    for tool in ("squashfuse", "mksquashfs", "fusermount3"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is needed (scripts/deps.sh installs it)")
    top = tempfile.mkdtemp(prefix="memobs-fuse-")
    src, mnt, img = (os.path.join(top, n) for n in ("src", "mnt", "img.sqfs"))
    os.makedirs(src)
    os.makedirs(mnt)
    shutil.copy(workload("leak_here"), src)
    subprocess.run(["mksquashfs", src, img, "-noappend", "-quiet"], check=True,
                   stdout=subprocess.DEVNULL)
    daemon = subprocess.Popen(["squashfuse", "-f", img, mnt])
    try:
        for _ in range(100):
            if os.path.exists(os.path.join(mnt, "leak_here")):
                break
            daemon.poll()
            assert daemon.returncode is None, "squashfuse exited"
            subprocess.run(["sleep", "0.05"])
        yield mnt, daemon
    finally:
        daemon.send_signal(signal.SIGCONT)
        subprocess.run(["fusermount3", "-u", "-z", mnt])
        daemon.kill()
        daemon.wait()
        shutil.rmtree(top, ignore_errors=True)


def test_stalled_fuse_daemon_does_not_stall_memobs(cgroups, fuse_mount):
    mnt, daemon = fuse_mount
    cg = cgroups.make("fuse")
    p = cg.spawn([os.path.join(mnt, "leak_here"), "--size", "4096", "--rate", str(MIB)])
    daemon.send_signal(signal.SIGSTOP)  # from now on every FUSE request waits
    run = subprocess.run([MEMOBS, "leaks", "--pid", str(p.pid), "--duration", "3", "--json"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    sites = [l for l in run.stdout.splitlines() if '"leak_site"' in l]
    assert sites, run.stdout + run.stderr
    # the leaker's own file is not read (it is on FUSE), libc's is: its frames are named
    assert "__libc_start_main" in run.stdout, run.stdout
    assert '"leak_here+0x' in run.stdout, run.stdout
