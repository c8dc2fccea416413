# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Allocator discovery across overlayfs: mounts sharing one lower layer
hold ONE file for the kernel (a uprobe attaches to d_real_inode), so they
must give one key; a file copied into an upper layer is another file.

Real mounts, real processes, four ways of running on an overlay rootfs
whose lower layer holds /bin/sleep, libc.so.6 and the dynamic loader:
  m1  a host process loading libc.so.6 from the overlay (same namespaces)
  m2  `unshare -m chroot m2 /bin/sleep` (own mount namespace, chroot)
  m3  a runc container (pivot_root, own mount and pid namespaces)
  m4  like m1, but m4's upper layer holds its own copy of libc.so.6
build/tests/test_alloc_libs scans them (its MEMOBS_TEST_PIDS mode) and
prints what alloc_libs__scan_pid found and what the attached set took.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import BUILD, require_root

SCANNER = os.path.join(BUILD, "tests", "test_alloc_libs")
LIBC = "/lib/x86_64-linux-gnu/libc.so.6"
LOADER = "/lib64/ld-linux-x86-64.so.2"
SLEEP = "/bin/sleep"


def parse_scan(out):
    """{pid: {"lib": {...}, "added": bool}} for the glibc lines of the scanner."""
    found = {}
    for line in out.splitlines():
        fields = dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)
        if line.startswith("pid=") and "kind=glibc" in line:
            pid = int(line.split()[0].split("=")[1])
            found.setdefault(pid, {})["lib"] = fields
        elif line.startswith("set-add ") and fields.get("kind") == "glibc":
            found.setdefault(int(fields["pid"]), {})["added"] = fields["added"] == "1"
    return found


def key_of(path):
    st = os.stat(path)
    return f"{st.st_dev}:{st.st_ino}"


def wait_mapped(pid, needle, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/maps") as f:
            if needle in f.read():
                return
        time.sleep(0.05)
    raise AssertionError(f"pid {pid} never mapped {needle}")


def make_rootfs(lower):
    for f in (LIBC, LOADER, SLEEP):
        dst = lower + f
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(f, dst)


def runc_bundle(bundle, rootfs):
    subprocess.run(["runc", "spec"], cwd=bundle, check=True)
    path = os.path.join(bundle, "config.json")
    with open(path) as f:
        config = json.load(f)
    config["root"] = {"path": rootfs, "readonly": False}
    config["process"]["args"] = [SLEEP, "60"]
    config["process"]["terminal"] = False
    with open(path, "w") as f:
        json.dump(config, f)


@pytest.fixture
def overlays():
    """The four overlay mounts and their processes; everything is killed,
    unmounted and removed afterwards, whether the test passed or not."""
    require_root()
    for f in (LIBC, LOADER, SLEEP):
        if not os.path.exists(f):
            pytest.fail(f"{f} missing: this test expects Debian's x86-64 layout")
    if not shutil.which("runc"):
        pytest.fail("runc missing (scripts/deps.sh installs it)")
    top = tempfile.mkdtemp(prefix="memobs-ovl-")
    container = f"memobs-alloc-libs-{os.getpid()}"
    mounted, procs, runc_started = [], [], False
    try:
        lower = os.path.join(top, "lower")
        make_rootfs(lower)
        for name in ("1", "2", "3", "4"):
            for d in ("u", "w", "m"):
                os.makedirs(os.path.join(top, d + name))
        os.makedirs(os.path.dirname(f"{top}/u4{LIBC}"))
        shutil.copy2(LIBC, f"{top}/u4{LIBC}")
        for name in ("1", "2", "3", "4"):
            mnt = os.path.join(top, "m" + name)
            opts = f"lowerdir={lower},upperdir={top}/u{name},workdir={top}/w{name}"
            subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, mnt], check=True)
            mounted.append(mnt)
        libdir = os.path.dirname(LIBC)

        def host_process(mnt):
            return subprocess.Popen([mnt + LOADER, "--library-path", mnt + libdir, SLEEP, "60"])

        procs.append(host_process(mounted[0]))
        procs.append(subprocess.Popen(["unshare", "-m", "chroot", mounted[1], SLEEP, "60"]))
        bundle = os.path.join(top, "bundle")
        os.makedirs(bundle)
        runc_bundle(bundle, mounted[2])
        subprocess.run(["runc", "run", "-d", "--bundle", bundle, container], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, timeout=30)
        runc_started = True
        state = json.loads(subprocess.run(["runc", "state", container], check=True,
                                          capture_output=True, text=True).stdout)
        procs.append(host_process(mounted[3]))
        pids = [procs[0].pid, procs[1].pid, state["pid"], procs[2].pid]
        for pid in pids:
            wait_mapped(pid, "libc.so.6")
        yield top, pids
    finally:
        for p in procs:
            p.send_signal(signal.SIGKILL)
            p.wait()
        if runc_started:
            subprocess.run(["runc", "delete", "-f", container])
        for mnt in reversed(mounted):
            if subprocess.run(["umount", mnt]).returncode:
                subprocess.run(["umount", "-l", mnt])
        shutil.rmtree(top, ignore_errors=True)


def test_shared_lower_layer_is_one_file(overlays):
    top, pids = overlays
    p1, p2, p3, p4 = pids
    # the premise: through the overlay, two mounts show two identities
    assert key_of(f"{top}/m1{LIBC}") != key_of(f"{top}/m2{LIBC}")

    run = subprocess.run([SCANNER], env={**os.environ, "MEMOBS_TEST_PIDS": " ".join(map(str, pids))},
                         capture_output=True, text=True, timeout=30)
    print(run.stdout, run.stderr)
    assert run.returncode == 0
    found = parse_scan(run.stdout)
    assert set(found) == set(pids)

    lower_libc = f"{top}/lower{LIBC}"
    for pid, map_path in ((p1, f"{top}/m1{LIBC}"), (p2, f"{top}/m2{LIBC}"), (p3, LIBC)):
        lib = found[pid]["lib"]
        assert lib["map"] == map_path
        assert lib["real"] == "1"
        assert lib["key"] == key_of(lower_libc)
        assert os.path.samefile(lib["host"], lower_libc)

    # copied up: the upper layer's file is the one the kernel would probe
    lib4 = found[p4]["lib"]
    assert lib4["real"] == "1"
    assert lib4["key"] == key_of(f"{top}/u4{LIBC}")
    assert lib4["key"] != key_of(lower_libc)

    # attach once per underlying file
    assert [found[p]["added"] for p in pids] == [True, False, False, True]
