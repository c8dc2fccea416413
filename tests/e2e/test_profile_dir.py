# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""`memobs run --profile-dir` (issue 13): a pprof per escalation, named on the leak
line, read by Go's own reader; the directory bounded by --profile-keep; a
directory that is not memobs's refused with one warning; an OOM kill during an
escalation names the profile of what filled the cgroup."""
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import workload

MIB = 1 << 20
GO = shutil.which("go")


def is_leak(cg):
    return lambda l: l["type"] == "leak" and l["cgroup"]["id"] == cg.id


def pprof_top(path):
    env = {**os.environ, "HOME": tempfile.gettempdir(), "GOCACHE": tempfile.mkdtemp()}
    return subprocess.run([GO, "tool", "pprof", "-top", "-sample_index=inuse_space", path],
                          capture_output=True, text=True, env=env, timeout=120, check=True).stdout


@pytest.fixture
def profile_dir():
    d = tempfile.mkdtemp(prefix="memobs-profiles-")
    os.chmod(d, 0o700)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_escalation_writes_a_profile_and_keep_holds(cgroups, memobs, profile_dir):
    # three older profiles of memobs's naming and a file of someone else's
    old = [f"2020-01-0{i}T00:00:00.000Z-old-{i}.pb.gz" for i in (1, 2, 3)]
    for name in old + ["notes.txt"]:
        with open(os.path.join(profile_dir, name), "w") as f:
            f.write("x")
    cg = cgroups.make("profile")
    cg.spawn([workload("leak_here"), "--size", "65536", "--rate", str(2 * MIB)])
    m = memobs("run", "--interval", "0.5", "--window", "5", "--escalate-for", "4",
               "--malloc-sample-bytes", "65536", "--profile-dir", profile_dir,
               "--profile-keep", "2", "--no-socket")
    second = m.wait_for(lambda l: is_leak(cg)(l) and l.get("escalated_for_s"), 60)
    assert second is not None, m.stderr
    path = second["profile"]
    assert path and os.path.dirname(path) == profile_dir, second
    name = os.path.basename(path)
    assert name.endswith(".pb.gz") and cg.name in name, name
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    left = sorted(os.listdir(profile_dir))
    # keep 2: the newest old one and the new one; the foreign file untouched
    assert left == sorted([old[2], name, "notes.txt"]), left
    top = pprof_top(path)
    first_entry = [l for l in top.splitlines() if l.strip() and l.split()[0][0].isdigit()][0]
    assert "leak_here" in first_entry, top


def test_a_directory_others_may_write_is_refused(cgroups, memobs, profile_dir):
    os.chmod(profile_dir, 0o777)
    cg = cgroups.make("profile-bad")
    cg.spawn([workload("leak_here"), "--size", "65536", "--rate", str(2 * MIB)])
    m = memobs("run", "--interval", "0.5", "--window", "5", "--escalate-for", "3",
               "--profile-dir", profile_dir, "--no-socket")
    second = m.wait_for(lambda l: is_leak(cg)(l) and l.get("escalated_for_s"), 60)
    assert second is not None, m.stderr
    assert second["profile"] is None
    warnings = [l for l in m.stderr_lines if "no profiles will be written" in l]
    assert len(warnings) == 1 and "writable by others" in warnings[0], m.stderr
    assert os.listdir(profile_dir) == []


def test_oom_kill_names_the_profile_of_what_filled_it(cgroups, memobs, profile_dir):
    cg = cgroups.make("profile-oom", limit_bytes=64 * MIB)
    m = memobs("run", "--interval", "0.5", "--window", "5", "--escalate-for", "120",
               "--malloc-sample-bytes", "65536", "--profile-dir", profile_dir, "--no-socket")
    m.wait_started()
    cg.spawn([workload("leak_here"), "--size", "65536", "--rate", str(4 * MIB)])
    oom = m.wait_for(lambda l: l["type"] == "oom_kill" and l["cgroup"]["id"] == cg.id, 90)
    assert oom is not None, m.stderr
    assert oom["profile"] and os.path.exists(oom["profile"]), oom
    assert "leak_here" in pprof_top(oom["profile"])
