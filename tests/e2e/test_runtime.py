# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The runtime verdict on leak lines (issue 12): a Go leaker, a JVM leaker
and a C leaker, each in its own cgroup, each named by the evidence of its
executable and maps, with the hint that says where to look next."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import workload

MIB = 1 << 20
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JAVA_SRC = os.path.join(ROOT, "tests", "workloads", "RuntimeLeak.java")
# a short window: each test's first line comes ~10 s after its leaker starts. Escalation
# stays on: without an attribution tier memobs keeps no capability to read other programs'
# maps and executables (collect/caps.h), and runtime is then null
RUN_ARGS = ("run", "--interval", "0.5", "--window", "10", "--escalate-for", "4", "--no-socket")


def escalated(cg):
    return lambda l: (l["type"] == "leak" and l["cgroup"]["id"] == cg.id
                      and "escalated_for_s" in l)


def first_leak(cg):
    return lambda l: (l["type"] == "leak" and l["cgroup"]["id"] == cg.id
                      and l["state"] == "suspected" and "escalated_for_s" not in l)


def test_go_leak_is_go(cgroups, memobs):
    cg = cgroups.make("rt-go")
    p = cg.spawn([workload("runtime_go_leak"), str(2 * MIB)])
    m = memobs(*RUN_ARGS)
    first = m.wait_for(first_leak(cg), 40)
    assert first is not None, m.stderr
    assert first["top_process"]["pid"] == p.pid
    assert first["runtime"] == "go", first
    assert "go tool pprof http://HOST:PORT/debug/pprof/heap" in first["hint"], first
    assert "runtime/pprof.WriteHeapProfile" in first["hint"]
    # the escalated line: Go's heap is not malloc's, the hint stays
    second = m.wait_for(escalated(cg), 30)
    assert second is not None, m.stderr
    assert second["runtime"] == "go", second
    if second["not_from_malloc"]:
        assert "debug/pprof/heap" in second["hint"], second
    else:
        assert second["hint"] is None, second
    assert m.stop() == 0


def test_stripped_go_leak_is_go(cgroups, memobs):
    # no .symtab: the section headers alone say Go
    cg = cgroups.make("rt-gostrip")
    p = cg.spawn([workload("runtime_go_leak.stripped"), str(2 * MIB)])
    m = memobs(*RUN_ARGS)
    first = m.wait_for(first_leak(cg), 40)
    assert first is not None, m.stderr
    assert first["top_process"]["pid"] == p.pid
    assert first["runtime"] == "go", first
    assert m.stop() == 0


@pytest.fixture
def java_classes(tmp_path):
    if not shutil.which("java") or not shutil.which("javac"):
        pytest.skip("java/javac absent: `make deps` installs openjdk-17-jdk-headless")
    subprocess.run(["javac", "-d", str(tmp_path), JAVA_SRC], check=True, timeout=120)
    return str(tmp_path)


def test_jvm_leak_is_jvm(cgroups, memobs, java_classes):
    cg = cgroups.make("rt-jvm")
    # the blocks go straight to the old generation (pretenured): the heap grows steadily,
    # not in the steps of young collections that a 10 s window could take for a plateau
    p = cg.spawn(["java", "-Xms16m", "-Xmx1g", "-XX:+UseSerialGC",
                  "-XX:PretenureSizeThreshold=32768", "-XX:TieredStopAtLevel=1",
                  "-cp", java_classes, "RuntimeLeak", str(4 * MIB)])
    m = memobs(*RUN_ARGS)
    first = m.wait_for(first_leak(cg), 45)
    assert first is not None, m.stderr
    assert first["top_process"]["pid"] == p.pid
    assert first["runtime"] == "jvm", first
    hint = first["hint"]
    assert f"jcmd {p.pid} GC.class_histogram" in hint, first
    assert f"jcmd {p.pid} GC.heap_dump " in hint, first
    # the hint is a command that works: the histogram names the leaked byte[] first
    jcmd = shutil.which("jcmd")
    if jcmd:
        out = subprocess.run([jcmd, str(p.pid), "GC.class_histogram"], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        # "   1:   1808   8750024  [B (java.base@17)": rank, instances, bytes, class
        rows = [l.split() for l in out.stdout.splitlines() if re.match(r"\s*\d+:\s+\d+", l)]
        assert rows and rows[0][3] == "[B", out.stdout[:2000]
    second = m.wait_for(escalated(cg), 30)
    assert second is not None, m.stderr
    assert second["runtime"] == "jvm", second
    if second["not_from_malloc"]:
        assert f"jcmd {p.pid} GC.class_histogram" in second["hint"], second
    else:
        assert second["hint"] is None, second
    assert m.stop() == 0


def test_c_leak_is_native(cgroups, memobs):
    cg = cgroups.make("rt-c")
    p = cg.spawn([workload("leak_here"), "--size", "65536", "--rate", str(2 * MIB)])
    m = memobs(*RUN_ARGS)
    first = m.wait_for(first_leak(cg), 40)
    assert first is not None, m.stderr
    assert first["top_process"]["pid"] == p.pid
    assert first["runtime"] == "native", first
    assert first["hint"] is None, first
    # malloc's growth, traced: native still, no hint (the sites are the answer)
    second = m.wait_for(escalated(cg), 30)
    assert second is not None, m.stderr
    assert second["runtime"] == "native" and second["hint"] is None, second
    assert second["not_from_malloc"] is False, second
    assert m.stop() == 0
