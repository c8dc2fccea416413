# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Names people read, on real programs (docs/symbols.md):

- C++ (tests/workloads/names_cxx.cc, no frame pointers): `memobs leaks --pid`
  shows demangled names, libstdc++'s `operator new(unsigned long)` and the
  program's own `cache::Pool<cache::Blob>::grow(unsigned long)`;
- Go (tests/workloads/names_go.go): Go allocates without malloc, so the
  symbolizer (build/tests/test_symbolize, MEMOBS_TEST_SYMBOLIZE mode, the
  helper process as memobs uses it) resolves function entries the program
  prints: from .symtab on the plain binary, from .gopclntab on the stripped
  one, their lines from .gopclntab in both, held to binutils' addr2line;
- Node with --perf-basic-prof (tests/workloads/names_node.js): the
  JavaScript function that keeps Buffers is named on the top site, from
  /tmp/perf-PID.map (node keeps frame pointers: the walk reaches JIT frames).
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import BUILD, MEMOBS, ROOT, require_root, workload

RESOLVER = os.path.join(BUILD, "tests", "test_symbolize")
NODE_JS = os.path.join(ROOT, "tests", "workloads", "names_node.js")


def run_leaks(pid, duration, *extra):
    """`memobs leaks --pid PID --duration S --json`: (sites, summary)."""
    r = subprocess.run([MEMOBS, "leaks", "--pid", str(pid), "--duration", str(duration),
                        "--top", "10", "--json"] + list(extra),
                       capture_output=True, text=True, timeout=duration + 90)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    sites = [l for l in lines if l["type"] == "leak_site"]
    summary = [l for l in lines if l["type"] == "leaks_summary"]
    assert len(summary) == 1, r.stdout
    for s in sites:
        print(s["bytes"], s.get("caller"))
        for f in s["stack"]:
            print("   ", f)
    return sites, summary[0]


def stop(p):
    if p.poll() is None:
        p.kill()
    p.wait()


def spawn(argv, cwd=None):
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=cwd)


def wait_ready(p):
    """The lines before "ready" (the Go program prints its functions there)."""
    before = []
    for _ in range(16):
        line = p.stdout.readline().decode(errors="replace").strip()
        if line == "ready":
            return before
        before.append(line)
    pytest.fail(f"workload did not start: {before!r}")


# ---- C++ ----

@pytest.fixture(scope="module")
def cxx_sites():
    """names_cxx leaking for 8 s under `memobs leaks`, once for the C++ tests."""
    require_root()
    p = spawn([workload("names_cxx"), "--wait-signal", "--seconds", "20", "--rate", str(3 << 20)])
    try:
        wait_ready(p)
        leaks = subprocess.Popen([MEMOBS, "leaks", "--pid", str(p.pid), "--duration", "8",
                                  "--top", "10", "--json"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2)  # attached by then
        p.send_signal(10)  # SIGUSR1: start leaking
        out, err = leaks.communicate(timeout=120)
        assert leaks.returncode == 0, err
    finally:
        stop(p)
    sites = [json.loads(l) for l in out.splitlines() if l.strip()]
    sites = [s for s in sites if s["type"] == "leak_site"]
    for s in sites:
        print(s["bytes"], s.get("caller"))
        for f in s["stack"]:
            print("   ", f)
    assert sites, err
    return sites


def test_cxx_library_symbol_is_demangled(cxx_sites):
    """libstdc++'s _Znwm (its .dynsym), the frame that calls malloc: demangled."""
    firsts = [s["stack"][0] for s in cxx_sites if s["stack"]]
    assert any(f.startswith("operator new(unsigned long)+0x") and "(libstdc++.so" in f
               for f in firsts), firsts
    assert not any("_Znwm" in f for s in cxx_sites for f in s["stack"]), cxx_sites


def test_cxx_direct_caller_of_malloc_is_demangled(cxx_sites):
    """cache::Pool<cache::Blob>::grow calls malloc itself: the first frame, no unwinder
    needed (the entry probe reads the return address at [rsp])."""
    firsts = [s["stack"][0] for s in cxx_sites if s["stack"]]
    grow = [f for f in firsts if f.startswith("cache::Pool<cache::Blob>::grow(unsigned long)")]
    assert grow, firsts
    assert "(names_cxx)" in grow[0] and "names_cxx.cc:" in grow[0], grow
    assert not any(f.startswith("_ZN") for s in cxx_sites for f in s["stack"]), cxx_sites


def test_cxx_no_frame_is_left_unknown(cxx_sites):
    """Unnamed frames are placed in their module ("module+0xoff (module)"), never [unknown]."""
    for s in cxx_sites:
        for f in s["stack"]:
            assert f != "[unknown]" and not re.match(r"^0x[0-9a-f]+ \(", f), f


# NEEDS DEEPER FRAMES: names_cxx has no frame pointers, so the frame that
# called operator new (one above it) is reached only by the CFI unwinder
# (issue 11, built in parallel). Until it is in, this may fail: not strict.
def test_cxx_operator_new_caller_is_the_namespaced_method(cxx_sites):
    top = cxx_sites[0]
    stack = top["stack"]
    assert stack[0].startswith("operator new(unsigned long)+0x"), stack
    assert stack[1].startswith("cache::Store::insert(std::__cxx11::basic_string<char"), stack
    assert top["caller"].startswith("cache::Store::insert("), top


# ---- Go ----

def resolve(pid, addrs):
    run = subprocess.run([RESOLVER],
                         env={**os.environ, "MEMOBS_TEST_SYMBOLIZE": " ".join([str(pid)] + addrs)},
                         capture_output=True, text=True, timeout=60)
    print(run.stdout, run.stderr)
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()


@pytest.mark.parametrize("binary", ["names_go", "names_go.stripped"])
def test_go_functions_are_named(binary):
    """The plain binary through libdwfl (.symtab), the stripped one from .gopclntab."""
    require_root()
    path = workload(binary)
    sections = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True,
                              check=True).stdout
    assert ".gopclntab" in sections
    assert (".symtab" in sections) == (binary == "names_go"), sections
    p = spawn([path])
    try:
        funcs = {}
        for line in wait_ready(p):
            _, name, addr = line.split()
            funcs[name] = int(addr, 16)
        assert set(funcs) == {"main.leakyHandler", "main.(*cache).put"}, funcs
        names = list(funcs)
        addrs = [hex(funcs[n]) for n in names] + [hex(funcs["main.leakyHandler"] + 5)]
        frames = resolve(p.pid, addrs)
    finally:
        stop(p)
    assert len(frames) == 3, frames
    for name, frame in zip(names, frames):
        assert frame.startswith(f"{name}+0x0 ({binary})"), frames
    assert frames[2].startswith(f"main.leakyHandler+0x5 ({binary})"), frames
    # and the lines binutils' addr2line reads from the unstripped binary's DWARF
    # (for both: .gopclntab gives them, where libdwfl finds none in Go's DWARF)
    truth = subprocess.run(["addr2line", "-e", workload("names_go")] + addrs,
                           capture_output=True, text=True, check=True).stdout.split()
    for frame, where in zip(frames, truth):
        assert where.startswith("/") and where.endswith(tuple("0123456789")), truth
        assert frame.endswith(" " + os.path.basename(where)), (frames, truth)


# ---- Node (JIT, perf map) ----

@pytest.fixture(scope="module")
def node_sites():
    """node --perf-basic-prof leaking Buffers for 8 s under `memobs leaks --pid`."""
    require_root()
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.fail("node not found (scripts/deps.sh installs nodejs)")
    # --no-turbo-inlining: optimized, leakyBufferMaker keeps a frame of its own
    # (TurboFan would inline it into tick(), whose frame would then stand for it).
    # In a directory of its own: V8 writes isolate-*-v8.log logs where it runs.
    work = tempfile.mkdtemp(prefix="memobs-names-node-")
    p = spawn([node, "--perf-basic-prof", "--interpreted-frames-native-stack",
               "--no-turbo-inlining", NODE_JS, str(4 << 20)], cwd=work)
    perf_map = f"/tmp/perf-{p.pid}.map"
    try:
        wait_ready(p)
        time.sleep(1)  # hot by then: compiled, and its code in the map
        sites, summary = run_leaks(p.pid, 8)
    finally:
        stop(p)
        shutil.rmtree(work, ignore_errors=True)
        try:
            os.unlink(perf_map)
        except FileNotFoundError:
            pass
    assert sites, summary
    return p.pid, sites


def test_node_javascript_function_named_from_perf_map(node_sites):
    pid, sites = node_sites
    top = sites[0]["stack"]
    js = [f for f in top if "leakyBufferMaker" in f]
    assert js, top
    # as perf shows JIT frames: the map's name, the offset in that code, the map
    assert re.match(rf"^\S*leakyBufferMaker .*names_node\.js:\d+.*\+0x[0-9a-f]+ "
                    rf"\(perf-{pid}\.map\)$", js[0]), js


# FLAKY UNTIL FIXED ELSEWHERE: node's 99 MB binary is read within the load
# deadline, but when the CFI unwinder reaches it first, symbolizer__cfi_row()
# asks for its rule with the address's deadline already spent by the load: the
# helper is killed and the file not tried again, so its frames stay node+0x...
# (resolve_in() renews the deadline after a load; the CFI path does not yet).
def test_node_native_frames_are_demangled(node_sites):
    """node's own C++ (nodesource's node: a 99 MB binary with .symtab, read within the
    symbolizer's load deadline; Debian's: libnode.so's exported symbols)."""
    _, sites = node_sites
    top = sites[0]["stack"]
    assert any(f.startswith("node::NodeArrayBufferAllocator::") for f in top), top
    assert not any(f.startswith("_ZN") for f in top), top
