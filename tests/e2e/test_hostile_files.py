# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Issue 14: an observed process attacks memobs through its own files.

The workload (tests/workloads/hostile_lib.c) dlopen()s libraries this test
builds with cc, allocates from them, and then:
  (a) replaces its mapped library with a FIFO (`rm lib; mkfifo lib`): a
      symbolizer that opens the name blocks forever in open();
  (b) truncates its mapped library to the end of its loaded segments (the
      code keeps running; the symbols and DWARF are gone): a symbolizer
      that keeps the file mapped dies of SIGBUS on its next lookup;
  (c) turns the name of a mapped allocator into a symlink to another file
      the moment memobs first opens it: an attacher that re-resolves the
      path puts its probes into the other file.
memobs must finish within its duration, exit 0, report the sites, never map
an observed file, and hook only the file the process maps.
"""
import json
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import MEMOBS, require_root, workload

HOSTILE = workload("hostile_lib")

LEAK_LIB = r"""
#include <stdlib.h>
#include <string.h>

/* the memset keeps malloc from being a tail call: this frame stays on the stack */
__attribute__((noinline)) void *hostile_leak(size_t n)
{
	void *p = malloc(n);

	if (p)
		memset(p, 0x5a, n);
	return p;
}
"""

# An allocator of its own (a bump arena): memobs classifies libmimalloc* as an
# allocator and hooks its malloc and free. The filler functions make the
# symbol tables large, as a real allocator's are.
FAKE_ALLOC = r"""
#include <stddef.h>

static char arena[32 << 20];
static size_t used;

void *malloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (used + n > sizeof(arena))
		used = 0;
	p = arena + used;
	used += n;
	return p;
}

void free(void *p)
{
	(void)p;
}
"""


def cc_shared(tmp, name, source, extra=()):
    src = os.path.join(tmp, name + ".c")
    with open(src, "w") as f:
        f.write(source)
    out = os.path.join(tmp, name)
    subprocess.run(["cc", "-shared", "-fPIC", "-g", "-O1", "-fno-omit-frame-pointer",
                    "-fno-optimize-sibling-calls", "-o", out, src, *extra], check=True)
    return out


def loaded_end(path):
    """End of the file's PT_LOAD segments, page-rounded: what the process executes from."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b"\x7fELF" and data[4] == 2  # ELF64
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    end = 0
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data,
                                                                 phoff + i * phentsize)
        if p_type == 1:
            end = max(end, p_offset + p_filesz)
    return (end + 4095) & ~4095


@pytest.fixture
def tmp():
    require_root()
    if not shutil.which("cc"):
        pytest.fail("cc is needed (scripts/deps.sh installs it)")
    d = tempfile.mkdtemp(prefix="memobs-hostile-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Workload:
    def __init__(self, args):
        self.proc = subprocess.Popen([HOSTILE] + args, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        line = self.proc.stdout.readline()
        assert line.strip() == b"ready", self.proc.stderr.read()
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.decode().strip())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def spawn():
    started = []

    def start(args):
        w = Workload(args)
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


def run_leaks(pid, duration, watch_dir, during=None, timeout=None):
    """`memobs leaks --pid PID --json` to its end, never longer than its duration allows.

    Returns (sites, stderr, memobs_maps_hits): the maps lines of memobs that
    named a file under watch_dir, read every 0.2 s while it ran.
    """
    timeout = timeout or duration + 40
    p = subprocess.Popen([MEMOBS, "leaks", "--pid", str(pid), "--duration", str(duration),
                          "--malloc-sample-bytes", "4096", "--top", "50", "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = [], []
    t_out = threading.Thread(target=lambda: out.append(p.stdout.read()), daemon=True)
    t_err = threading.Thread(target=lambda: err.append(p.stderr.read()), daemon=True)
    t_out.start()
    t_err.start()
    hits = set()
    start = time.monotonic()
    try:
        while p.poll() is None:
            elapsed = time.monotonic() - start
            if elapsed > timeout:
                pytest.fail(f"memobs leaks did not end within {timeout} s of a "
                            f"{duration} s run: blocked by the workload")
            if during:
                during(elapsed)
            try:
                with open(f"/proc/{p.pid}/maps") as f:
                    hits.update(l.strip() for l in f if watch_dir in l)
            except OSError:
                pass
            time.sleep(0.2)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    t_out.join(5)
    t_err.join(5)
    stderr = err[0].decode(errors="replace") if err else ""
    assert p.returncode == 0, f"memobs exited {p.returncode}: {stderr}"
    lines = [json.loads(l) for l in (out[0] if out else b"").splitlines() if l.strip()]
    assert any(l["type"] == "leaks_summary" for l in lines), stderr
    return [l for l in lines if l["type"] == "leak_site"], stderr, hits


def frames(sites):
    return [f for s in sites for f in s["stack"]]


def test_fifo_in_place_of_the_mapped_library(tmp, spawn):
    lib = cc_shared(tmp, "libhostile.so", LEAK_LIB)
    w = spawn(["--lib", lib])
    # the attack: the name of the mapped file is now a FIFO nobody writes
    os.unlink(lib)
    os.mkfifo(lib)
    with open(f"/proc/{w.proc.pid}/maps") as f:
        assert f"{lib} (deleted)" in f.read()
    sites, stderr, hits = run_leaks(w.proc.pid, 6, tmp, timeout=30)
    print(stderr)
    assert not hits, f"memobs mapped an observed file: {hits}"
    ours = [f for f in frames(sites) if "(libhostile.so)" in f]
    # reached through map_files: the deleted file itself, its symbols included
    assert ours, sites
    assert any(f.startswith("hostile_leak+") for f in ours), ours


def test_truncated_library_does_not_crash(tmp, spawn):
    # -g3 and many macros: .debug_macro and .debug_str push .symtab and
    # .strtab pages past the loaded segments, where the truncation cuts
    pad = "".join(f"#define HOSTILE_PAD_{i} {i}\n" for i in range(3000))
    lib = cc_shared(tmp, "libtrunc.so", pad + LEAK_LIB, extra=("-g3",))
    end = loaded_end(lib)
    # the premise: symbols and DWARF lie whole pages past the code
    assert os.path.getsize(lib) > end + 16 * 4096
    w = spawn(["--lib", lib])
    done = []

    def truncate_then_new_stacks(elapsed):
        # once memobs resolved the first stacks (it read the file), cut the
        # file's tail; new call paths then need lookups in it again
        if elapsed > 4 and not done:
            os.truncate(lib, end)
            w.proc.send_signal(signal.SIGUSR1)
            done.append(True)

    sites, stderr, hits = run_leaks(w.proc.pid, 9, tmp, during=truncate_then_new_stacks)
    print(stderr)
    assert done
    assert w.proc.poll() is None, "the workload itself died: truncated too far"
    assert not hits, f"memobs mapped an observed file: {hits}"
    fr = frames(sites)
    assert any("(libtrunc.so)" in f for f in fr), sites
    # stacks first seen after the truncation were resolved too
    assert any(s["stack"] and any(f.startswith("caller_b+") for f in s["stack"])
               for s in sites), sites


def test_symlink_swapped_before_attach_hooks_only_the_mapped_file(tmp, spawn):
    filler = "".join(f"int filler_{i}(int x) {{ return x + {i}; }}\n" for i in range(3000))
    os.makedirs(os.path.join(tmp, "lib"))
    fake = cc_shared(tmp, "lib/libmimalloc.so.2", FAKE_ALLOC + filler)
    decoy = os.path.join(tmp, "libdecoy.so")
    shutil.copyfile(fake, decoy)  # the same code at the same offsets, another file
    w = spawn(["--fake", fake, "--decoy", decoy, "--swap-on-open"])
    sites, stderr, hits = run_leaks(w.proc.pid, 6, tmp)
    print(stderr)
    time.sleep(0.2)
    assert "swapped" in w.lines, "memobs never opened the allocator: no attack happened"
    assert os.path.islink(fake)
    assert not hits, f"memobs mapped an observed file: {hits}"
    tops = [s["stack"][0] for s in sites if s["stack"]]
    # the file the name was swapped to is not hooked...
    assert not any(f.startswith("call_decoy+") for f in tops), tops
    # ...the mapped file is (the attach went through the open file)
    assert any(f.startswith("call_fake+") for f in tops), tops


STATIC_LEAKER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline, noipa)) void *leak_static(size_t n)
{
	void *p = malloc(n);

	if (p)
		memset(p, 1, n);
	return p;
}

int main(void)
{
	int i;

	printf("ready\n");
	fflush(stdout);
	for (;;) {
		for (i = 0; i < 160; i++)
			leak_static(256);
		usleep(10000);
	}
}
"""


def test_static_executable_allocator_is_found(tmp):
    """The executable's own malloc, found from its symbol tables alone (read at their
    offsets, not the whole file) and hooked through the scan's fd."""
    src = os.path.join(tmp, "static_leaker.c")
    exe = os.path.join(tmp, "static_leaker")
    with open(src, "w") as f:
        f.write(STATIC_LEAKER)
    subprocess.run(["cc", "-static", "-g", "-O1", "-fno-omit-frame-pointer", "-o", exe, src],
                   check=True)
    p = subprocess.Popen([exe], stdout=subprocess.PIPE)
    try:
        assert p.stdout.readline().strip() == b"ready"
        sites, stderr, hits = run_leaks(p.pid, 5, tmp)
        print(stderr)
    finally:
        p.kill()
        p.wait()
    assert not hits, f"memobs mapped an observed file: {hits}"
    assert any(s["stack"] and s["stack"][0].startswith("leak_static+") for s in sites), sites
