# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Symbolization of a process in another mount (and pid) namespace: a runc
container runs a program whose file exists only in the container's rootfs
(its path inside, /app/target_prog, names nothing on the host). The symbolizer
(build/tests/test_symbolize, MEMOBS_TEST_SYMBOLIZE mode) must still name the
function and its source line, and keep resolving after the file is deleted
from the rootfs (reached through /proc/PID/map_files then)."""
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import BUILD, require_root

RESOLVER = os.path.join(BUILD, "tests", "test_symbolize")

PROG = r"""
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) int target_function(int x)
{
	int line = __LINE__;
	asm volatile("" ::: "memory");
	return x + line;
}

int main(void)
{
	printf("%p %d\n", (void *)&target_function, target_function(0) + 1);
	fflush(stdout);
	pause();
	return 0;
}
"""


def resolve(pid, addr):
    run = subprocess.run([RESOLVER], env={**os.environ, "MEMOBS_TEST_SYMBOLIZE": f"{pid} {addr}"},
                         capture_output=True, text=True, timeout=30)
    print(run.stdout, run.stderr)
    assert run.returncode == 0
    return run.stdout.strip()


@pytest.fixture
def container():
    require_root()
    if not shutil.which("runc") or not shutil.which("cc"):
        pytest.fail("runc and cc are needed (scripts/deps.sh installs them)")
    top = tempfile.mkdtemp(prefix="memobs-sym-")
    name = f"memobs-sym-{os.getpid()}"
    started = False
    try:
        rootfs = os.path.join(top, "rootfs")
        os.makedirs(os.path.join(rootfs, "app"))
        src = os.path.join(top, "target_prog.c")
        with open(src, "w") as f:
            f.write(PROG)
        # static: the rootfs needs nothing else; -g: file:line must come out
        subprocess.run(["cc", "-g", "-O1", "-static", "-o",
                        os.path.join(rootfs, "app", "target_prog"), src], check=True)
        bundle = os.path.join(top, "bundle")
        os.makedirs(bundle)
        subprocess.run(["runc", "spec"], cwd=bundle, check=True)
        with open(os.path.join(bundle, "config.json")) as f:
            config = json.load(f)
        config["root"] = {"path": rootfs, "readonly": False}
        config["process"]["args"] = ["/app/target_prog"]
        config["process"]["terminal"] = False
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(config, f)
        out_path = os.path.join(top, "stdout")
        with open(out_path, "w") as out:
            subprocess.run(["runc", "run", "-d", "--bundle", bundle, name], check=True,
                           stdin=subprocess.DEVNULL, stdout=out, timeout=30)
        started = True
        state = json.loads(subprocess.run(["runc", "state", name], check=True,
                                          capture_output=True, text=True).stdout)
        deadline = time.monotonic() + 10
        printed = ""
        while not printed.endswith("\n") and time.monotonic() < deadline:
            with open(out_path) as f:
                printed = f.read()
            time.sleep(0.05)
        addr, line_plus_one = printed.split()
        yield state["pid"], addr, int(line_plus_one) - 1, rootfs
    finally:
        if started:
            subprocess.run(["runc", "delete", "-f", name])
        shutil.rmtree(top, ignore_errors=True)


def test_resolves_inside_container(container):
    pid, addr, line, rootfs = container
    # the premise: the path the process maps does not exist on the host
    assert not os.path.exists("/app/target_prog")
    with open(f"/proc/{pid}/maps") as f:
        assert " /app/target_prog\n" in f.read()

    expect = f"target_function+0x0 (target_prog) target_prog.c:"
    got = resolve(pid, addr)
    assert got.startswith(expect)
    # a line of target_function: from its signature (line - 2) to its closing brace
    assert line - 2 <= int(got.rsplit(":", 1)[1]) <= line + 3

    # deleted from the rootfs while running: still resolved, through map_files
    os.unlink(os.path.join(rootfs, "app", "target_prog"))
    got = resolve(pid, addr)
    assert got.startswith(expect)
