# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Python frames on the call sites of CPython processes (issue 16).

Real interpreters, real probes, real cgroups: tests/workloads/python/pyleak.py
leaks through ingest.leak_here (--alpha bytes/s) and cache.leak_there
(--beta), waits for SIGUSR1 before leaking (so memobs, attached by then, sees
every leaked byte) and prints "done A B", the bytes each kept: the truth.
The assertions are on `memobs leaks --cgroup ... --json`:
- Debian's python3 (libpython linked into the executable): two sites, each
  naming its function and file:line, `caller` the Python frame, ranked by
  bytes, each estimate within 30% of the truth; the Python frames in place of
  the eval loop's native frame, the native frames inside and outside kept;
- every pyenv CPython 3.9-3.13 found (libpythonX.Y.so): the frames named;
- pyleak chrooted into a rootfs of its own with its own interpreter, in its
  own mount and pid namespaces: the frames named with the paths of its root;
- a program that looks like CPython but of a version memobs cannot know (a
  libpython3.99.so exporting _PyRuntime and _PyEval_EvalFrameDefault, built
  here with cc): the native stack only, one warning naming the version.
pyenv is found with `pyenv root`, else $PYENV_ROOT, else ~/.pyenv.
"""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import MEMOBS, ROOT
from test_unwind import assert_whole, in_order

DEBIAN_PYTHON = "/usr/bin/python3"
PYDIR = os.path.join(ROOT, "tests", "workloads", "python")
PYLEAK = os.path.join(PYDIR, "pyleak.py")
INGEST = os.path.join(PYDIR, "ingest.py")
CACHE = os.path.join(PYDIR, "cache.py")
MIB = 1 << 20
SAMPLE_BYTES = 64 << 10  # ~160 samples of a 1 MiB/s leak in 10 s: ~8% noise
EVAL = "_PyEval_EvalFrameDefault"
PYENV_VERSIONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]


def line_of(path, text):
    """The line number of the first line of path that contains text."""
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if text in line:
                return n
    raise AssertionError(f"{text!r} not in {path}")


def leak_frame(function, path, text, shown_as=None):
    """The frame memobs must print for the line of path holding text (a file the
    process knows as shown_as)."""
    return f"{function} ({shown_as or path}:{line_of(path, text)})"


def is_python_frame(frame):
    # "function (file.py:line)": native frames are "sym+0x.. (module) ..." or "module+0x.."
    return re.match(r"^[^ ]+ \(.+:\d+\)$", frame) is not None and "+0x" not in frame.split(" ")[0]


def run_traced(args, start=None, timeout=120):
    """`memobs leaks ARGS --json`; start() is called once memobs says it traces.

    Returns (sites, summary, stderr, returncode).
    """
    p = subprocess.Popen([MEMOBS, "leaks"] + [str(a) for a in args] + ["--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err_lines, tracing = [], threading.Event()

    def read_err():
        for raw in p.stderr:
            err_lines.append(raw.decode(errors="replace"))
            if "tracing for" in err_lines[-1]:
                tracing.set()
        tracing.set()

    reader = threading.Thread(target=read_err, daemon=True)
    reader.start()
    try:
        assert tracing.wait(30), "memobs did not start tracing: " + "".join(err_lines)
        if start and p.poll() is None:
            start()
        out = p.stdout.read()
        p.wait(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    reader.join(5)
    err = "".join(err_lines)
    lines = [json.loads(l) for l in out.splitlines() if l.strip()]
    summary = [l for l in lines if l["type"] == "leaks_summary"]
    assert p.returncode == 0, err
    assert len(summary) == 1, out
    return [l for l in lines if l["type"] == "leak_site"], summary[0], err, p.returncode


def read_done(p, timeout=60):
    """pyleak's "done A B" line: the bytes leak_here and leak_there kept."""
    result = {}

    def read():
        for line in p.stdout:
            if line.startswith(b"done "):
                _, a, b = line.split()
                result["done"] = (int(a), int(b))
                return

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(timeout)
    assert "done" in result, "pyleak did not report 'done'"
    return result["done"]


def trace_pyleak(cg, interpreter, alpha, beta, seconds, prefix=(), pyleak=PYLEAK, env=None,
                 pid_of=None):
    """Starts pyleak (waiting for SIGUSR1) in cg, traces the cgroup while it leaks.

    Returns (sites of the interpreter's pid, summary, stderr, (alpha_truth, beta_truth), pid).
    """
    argv = list(prefix) + [interpreter, pyleak, "--alpha", str(alpha), "--beta", str(beta),
                           "--wait-signal", "--seconds", str(seconds)]
    p = cg.spawn(argv, env=env)
    pid = pid_of() if pid_of else p.pid
    sites, summary, err, _ = run_traced(
        ["--cgroup", cg.rel, "--duration", seconds + 4, "--top", 20,
         "--malloc-sample-bytes", SAMPLE_BYTES],
        start=lambda: os.kill(pid, signal.SIGUSR1))
    truth = read_done(p)
    return [s for s in sites if s["pid"] == pid], summary, err, truth, pid


def sites_of(sites, function):
    """Sites whose caller is the Python function, largest first."""
    return sorted((s for s in sites if s.get("caller", "").startswith(function + " (")),
                  key=lambda s: -s["bytes"])


def assert_python_frames_replace_eval(stack, *python_prefixes, contiguous=True):
    """The Python frames in order where the eval loop's frames were: contiguous
    when one eval call runs them all (3.11+ inlines Python-to-Python calls),
    else each with the native frames of the call between (3.9, 3.10)."""
    assert not any(f.startswith(EVAL) for f in stack), f"an eval frame left in {stack}"
    first = next((i for i, f in enumerate(stack) if is_python_frame(f)), None)
    assert first is not None, f"no Python frame in {stack}"
    if not contiguous:
        in_order(stack[first:], *python_prefixes)
        last = max(i for i, f in enumerate(stack) if is_python_frame(f))
        return first, last + 1
    for k, prefix in enumerate(python_prefixes):
        assert first + k < len(stack) and stack[first + k].startswith(prefix), \
            (first + k, prefix, stack)
    return first, first + len(python_prefixes)


def assert_python_counted(summary, processes=1):
    py, bpf = summary["python"], summary["bpf"]
    assert py["processes"] == processes, summary
    assert py["layout_unknown"] == 0, summary
    assert py["frames"] > 0 and py["code_reads"] > 0, py
    assert py["code_read_failures"] == 0 and py["truncated"] == 0, py
    assert bpf["python_stacks"] > 0 and bpf["python_stack_ns"] > 0, bpf
    assert bpf["python_stacks_torn"] == 0 and bpf["python_stacks_truncated"] == 0, bpf
    assert bpf["ringbuf_drops"] == 0, bpf


def test_debian_python3_two_functions_two_sites_near_truth(cgroups):
    cg = cgroups.make("py-debian")
    seconds = 10
    sites, summary, err, (alpha_truth, beta_truth), pid = trace_pyleak(
        cg, DEBIAN_PYTHON, 3 * MIB, 1 * MIB, seconds)
    here = leak_frame("leak_here", INGEST, "_records.append(")
    there = leak_frame("leak_there", CACHE, "_entries[len(_entries)] =")
    alpha, beta = sites_of(sites, "leak_here"), sites_of(sites, "leak_there")
    assert alpha and beta, f"no leak_here or leak_there site in {sites}\n{err}"
    top_a, top_b = alpha[0], beta[0]
    # ranked by bytes: the 3 MiB/s leak first, then the 1 MiB/s one
    assert sites and sites[0] is top_a, [(s["bytes"], s.get("caller")) for s in sites]
    assert sites.index(top_a) < sites.index(top_b)
    # caller is the innermost Python frame, named in full
    assert top_a["caller"] == here, top_a
    assert top_b["caller"] == there, top_b
    for site, frame in ((top_a, here), (top_b, there)):
        stack = site["stack"]
        assert frame in stack, stack
        in_order(stack, frame, f"main ({PYLEAK}:", f"<module> ({PYLEAK}:")
    # the truth of the traced window: pyleak leaked only between SIGUSR1 and "done"
    for site, truth in ((top_a, alpha_truth), (top_b, beta_truth)):
        assert abs(site["bytes"] - truth) <= 0.3 * truth, \
            f"{site['caller']}: estimated {site['bytes']}, leaked {truth}"
    assert_python_counted(summary)
    assert "python frames unavailable" not in err, err


def test_debian_python3_frames_sit_where_the_eval_frames_were(cgroups):
    cg = cgroups.make("py-interleave")
    sites, summary, err, _, pid = trace_pyleak(cg, DEBIAN_PYTHON, 2 * MIB, 1 * MIB, 4)
    top = sites_of(sites, "leak_here")
    assert top, sites
    stack = top[0]["stack"]
    first, after = assert_python_frames_replace_eval(
        stack, "leak_here (", f"main ({PYLEAK}:", f"<module> ({PYLEAK}:")
    # inside: the interpreter's C frames that ran bytes(chunk) down to the allocator
    inner = stack[:first]
    assert inner and all("+0x" in f and "(python3" in f for f in inner), stack
    assert any(f.startswith("_PyObject_MakeTpCall+") for f in inner), stack
    # outside: the native frames that ran the module, to the program's entry
    in_order(stack[after:], "PyEval_EvalCode+", "Py_RunMain+", "Py_BytesMain+",
             "__libc_start_main+", "_start+")
    assert not any(is_python_frame(f) for f in stack[after:]), stack
    assert_whole(stack)
    assert_python_counted(summary)


def pyenv_root():
    exe = shutil.which("pyenv")
    if exe:
        r = subprocess.run([exe, "root"], capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip():
            return r.stdout.strip()
    return os.environ.get("PYENV_ROOT") or os.path.join(os.path.expanduser("~"), ".pyenv")


def pyenv_interpreter(minor):
    """(prefix, bin/pythonX.Y) of the newest pyenv X.Y.Z build, or None."""
    found = []
    for d in glob.glob(os.path.join(pyenv_root(), "versions", minor + ".*")):
        m = re.fullmatch(re.escape(minor) + r"\.(\d+)", os.path.basename(d))
        exe = os.path.join(d, "bin", "python" + minor)
        if m and os.access(exe, os.X_OK):
            found.append((int(m.group(1)), d, exe))
    return max(found)[1:] if found else None


@pytest.mark.parametrize("minor", PYENV_VERSIONS)
def test_pyenv_cpython_frames_named(cgroups, minor):
    interp = pyenv_interpreter(minor)
    if interp is None:
        pytest.skip(f"no pyenv CPython {minor} under {pyenv_root()}/versions")
    prefix, exe = interp
    cg = cgroups.make(f"py-pyenv-{minor}")
    sites, summary, err, (alpha_truth, _), pid = trace_pyleak(cg, exe, 2 * MIB, 1 * MIB // 2, 4)
    with open(f"/proc/{pid}/maps") as f:
        assert f"libpython{minor}.so" in f.read()  # the premise: a shared libpython
    assert sites, f"no site of pid {pid}\n{err}"
    top = sites[0]
    here = leak_frame("leak_here", INGEST, "_records.append(")
    assert top["caller"] == here, [(s["bytes"], s.get("caller")) for s in sites]
    stack = top["stack"]
    assert any(f.startswith("leak_here (") and "ingest.py:" in f for f in stack), stack
    assert_python_frames_replace_eval(stack, "leak_here (", f"main ({PYLEAK}:",
                                      f"<module> ({PYLEAK}:",
                                      contiguous=minor not in ("3.9", "3.10"))
    assert sites_of(sites, "leak_there"), [(s["bytes"], s.get("caller")) for s in sites]
    # pyenv's main tail-calls Py_BytesMain: no frame of its own
    in_order(stack, "<module> (", "PyEval_EvalCode", "Py_RunMain", "Py_BytesMain", "__libc_start_main")
    assert_python_counted(summary)
    assert "python frames unavailable" not in err, err


# --- a script in a container: its own root, its own interpreter ---------------------------

def copy_libraries(root, *binaries, skip=()):
    """Copies what ldd says each binary needs into root at the same paths."""
    for b in binaries:
        out = subprocess.run(["ldd", b], capture_output=True, text=True, check=True).stdout
        for lib in (w for line in out.splitlines() for w in line.split() if w.startswith("/")):
            if any(s in lib for s in skip):
                continue
            dest = os.path.join(root, lib.lstrip("/"))
            if not os.path.exists(dest):
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                shutil.copy2(lib, dest)


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [l.split()[4] for l in f if l.split()[4].startswith(path.rstrip("/") + "/")]


def debian_rootfs(root):
    """Debian's python3.11 (libpython inside the executable), its stdlib bound read-only."""
    exe = os.path.realpath(DEBIAN_PYTHON)
    os.makedirs(os.path.join(root, "usr/bin"))
    shutil.copy2(exe, os.path.join(root, "usr/bin", os.path.basename(exe)))
    copy_libraries(root, exe)
    stdlib = f"/usr/lib/{os.path.basename(exe)}"
    os.makedirs(os.path.join(root, stdlib.lstrip("/")))
    return "/usr/bin/" + os.path.basename(exe), stdlib, stdlib, None


def pyenv_rootfs(root):
    """A pyenv CPython prefix (libpythonX.Y.so) bound read-only at /opt/python."""
    for minor in ("3.12", "3.13", "3.10"):
        interp = pyenv_interpreter(minor)
        if interp:
            break
    else:
        pytest.skip(f"no pyenv CPython 3.10/3.12/3.13 under {pyenv_root()}/versions")
    prefix, exe = interp
    lib = os.path.join(prefix, "lib", f"libpython{minor}.so.1.0")
    copy_libraries(root, exe, lib, skip=(prefix,))
    os.makedirs(os.path.join(root, "opt/python"))
    env = dict(os.environ, LD_LIBRARY_PATH="/opt/python/lib")
    return f"/opt/python/bin/python{minor}", prefix, "/opt/python", env


@pytest.mark.parametrize("shape", [debian_rootfs, pyenv_rootfs], ids=["debian", "pyenv"])
def test_script_in_a_container_with_its_own_interpreter(cgroups, shape):
    cg = cgroups.make(f"py-container-{shape.__name__}")
    root = tempfile.mkdtemp(prefix="memobs-pyroot-")
    try:
        interpreter, bind_src, bind_dst, env = shape(root)
        app = os.path.join(root, "app")
        os.makedirs(app)
        for f in ("pyleak.py", "ingest.py", "cache.py"):
            shutil.copy2(os.path.join(PYDIR, f), app)
        # own mount and pid namespaces: the bind mount exists only in there, and
        # the paths the process runs are valid only inside its root
        script = 'mount --bind -o ro "$1" "$2" && exec chroot "$3" "$4" "$5" "${@:6}"'
        prefix = ["unshare", "--mount", "--propagation", "private", "--pid", "--fork",
                  "--kill-child", "bash", "-c", script, "bash", bind_src,
                  os.path.join(root, bind_dst.lstrip("/")), root]

        def contained_pid():
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                for pid in cg.pids():
                    try:
                        if os.readlink(f"/proc/{pid}/root") == root:
                            return pid
                    except OSError:
                        pass
                time.sleep(0.05)
            raise AssertionError(f"no process chrooted into {root}: {cg.pids()}")

        sites, summary, err, _, pid = trace_pyleak(cg, interpreter, 2 * MIB, 1 * MIB // 2, 4,
                                                   prefix=prefix, pyleak="/app/pyleak.py",
                                                   env=env, pid_of=contained_pid)
        with open(f"/proc/{pid}/status") as f:
            nspid = [l.split()[1:] for l in f if l.startswith("NSpid:")][0]
        assert nspid[-1] == "1", nspid  # pid 1 of its own pid namespace
        assert not os.path.exists("/app/ingest.py")  # the premise: a path of its root only
        assert sites, f"no site of pid {pid}\n{err}"
        top = sites[0]
        here = leak_frame("leak_here", INGEST, "_records.append(", shown_as="/app/ingest.py")
        assert top["caller"] == here, [(s["bytes"], s.get("caller")) for s in sites]
        stack = top["stack"]
        in_order(stack, here, "main (/app/pyleak.py:", "<module> (/app/pyleak.py:",
                 "PyEval_EvalCode", "Py_RunMain")
        assert sites_of(sites, "leak_there"), [(s["bytes"], s.get("caller")) for s in sites]
        assert_python_counted(summary)
    finally:
        cg.destroy()
        left = mounts_under(root)
        for m in reversed(left):
            subprocess.run(["umount", "-l", m])
        if mounts_under(root):
            pytest.fail(f"mounts left under {root}: not removed")
        shutil.rmtree(root, ignore_errors=True)
    assert not left, f"the namespace's mounts leaked to the host: {left}"


# --- a CPython of a version memobs cannot know -------------------------------------------

FAKE_LIBPYTHON = r"""
#include <stdlib.h>
#include <string.h>
#include <time.h>
/* what memobs looks for in a CPython image: the runtime state and the eval loop */
char _PyRuntime[4096] = { 1 };
PY_VERSION_DEFINITION
__attribute__((noinline)) void _PyEval_EvalFrameDefault(long size, long rate)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	for (;;) {
		for (long n = 0; n < rate / 100; n += size) {
			char *p = malloc(size);
			memset(p, 1, size);
			asm volatile("" : : "r"(p) : "memory");
		}
		nanosleep(&tick, NULL);
	}
}
"""

FAKE_MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
void _PyEval_EvalFrameDefault(long size, long rate);
int main(int argc, char **argv)
{
	printf("ready\n");
	fflush(stdout);
	_PyEval_EvalFrameDefault(atol(argv[1]), atol(argv[2]));
	return 0;
}
"""


@pytest.fixture
def fake_python():
    """builds fake_python(lib_name, py_version_hex or None) -> binary in a temp dir."""
    top = tempfile.mkdtemp(prefix="memobs-fakepy-")

    def build(lib_name, py_version):
        d = tempfile.mkdtemp(dir=top)
        version = (f"const unsigned long Py_Version = {py_version:#x};" if py_version else "")
        with open(os.path.join(d, "fake_libpython.c"), "w") as f:
            f.write(FAKE_LIBPYTHON.replace("PY_VERSION_DEFINITION", version))
        with open(os.path.join(d, "main.c"), "w") as f:
            f.write(FAKE_MAIN)
        lib = os.path.join(d, f"lib{lib_name}.so")
        subprocess.run(["cc", "-g", "-O1", "-fno-omit-frame-pointer", "-fPIC", "-shared",
                        os.path.join(d, "fake_libpython.c"), "-o", lib], check=True)
        exe = os.path.join(d, "fakepy")
        subprocess.run(["cc", "-g", "-O1", "-fno-omit-frame-pointer", os.path.join(d, "main.c"),
                        "-L", d, f"-l{lib_name}", f"-Wl,-rpath,{d}", "-o", exe], check=True)
        return exe, lib

    try:
        yield build
    finally:
        shutil.rmtree(top, ignore_errors=True)


@pytest.mark.parametrize("lib_name,py_version,version", [
    ("python3.99", None, "3.99"),           # the file's name says the version
    ("python3.14", 0x030e00f0, "3.14"),     # Py_Version says it (3.11+)
], ids=["name-3.99", "py_version-3.14"])
def test_unknown_layout_native_stack_and_one_warning(cgroups, fake_python, lib_name,
                                                     py_version, version):
    exe, lib = fake_python(lib_name, py_version)
    cg = cgroups.make(f"py-unknown-{version}")
    p = cg.spawn([exe, "4096", str(2 * MIB)])
    with open(f"/proc/{p.pid}/maps") as f:
        assert os.path.basename(lib) in f.read()
    sites, summary, err, rc = run_traced(["--cgroup", cg.rel, "--duration", 4, "--top", 5,
                                          "--malloc-sample-bytes", SAMPLE_BYTES])
    assert rc == 0
    warnings = [l for l in err.splitlines() if "python frames unavailable" in l]
    assert len(warnings) == 1, err
    assert warnings[0].startswith(f"memobs: warning: pid {p.pid}: python frames unavailable: "), \
        warnings
    assert version in warnings[0], warnings
    mine = [s for s in sites if s["pid"] == p.pid]
    assert mine, f"no site of pid {p.pid}: {sites}\n{err}"
    stack = max(mine, key=lambda s: s["bytes"])["stack"]
    # the native stack, whole, the fake eval loop kept as the native frame it is
    assert stack[0].startswith(EVAL + "+"), stack
    in_order(stack, EVAL + "+", "main+")
    assert not any(is_python_frame(f) for f in stack), stack
    py, bpf = summary["python"], summary["bpf"]
    assert py["layout_unknown"] == 1, py
    assert py["processes"] == 0 and py["frames"] == 0, py
    assert bpf["python_stacks"] == 0, bpf
    assert bpf["sampled"] > 0, bpf


def test_escalation_names_the_python_line(cgroups, memobs):
    """`memobs run`: the detector suspects the leaking interpreter's cgroup, the
    escalation traces it, and the escalated line's top site is named in Python."""
    cg = cgroups.make("py-escalate")
    cg.spawn([DEBIAN_PYTHON, PYLEAK, "--alpha", str(2 * MIB), "--beta", str(MIB // 4)])
    m = memobs("run", "--window", "20", "--escalate-for", "8",
               "--malloc-sample-bytes", str(SAMPLE_BYTES), "--no-socket")
    line = m.wait_for(lambda l: (l["type"] == "leak" and l["cgroup"]["id"] == cg.id
                                 and l["state"] == "suspected" and l["sites"]), 120)
    assert line is not None, m.stderr
    here = leak_frame("leak_here", INGEST, "_records.append(")
    top = line["sites"][0]
    assert top["caller"] == here, line["sites"]
    assert not any(f.startswith(EVAL) for f in top["stack"]), top["stack"]
    assert m.stop() == 0, m.stderr
    stats = [l for l in m.of_type("stats")]
    assert stats and stats[-1]["python_frames"] > 0, stats[-1:]
    assert stats[-1]["python_stacks_truncated"] == 0 and stats[-1]["python_layout_unknown"] == 0


THREADS_LEAKER = r"""
import sys, threading, time
idle = threading.Event()
for _ in range(int(sys.argv[1])):
    threading.Thread(target=idle.wait, daemon=True).start()
if sys.argv[2] == "subinterpreters":
    import _xxsubinterpreters as interpreters  # 3.12: each enters this thread
    subs = [interpreters.create() for _ in range(2)]
keep = []
def leak_in_main_thread():
    for _ in range(64):
        keep.append(bytes(8192))
print("ready", flush=True)
while True:
    leak_in_main_thread()
    time.sleep(0.05)
"""


@pytest.mark.parametrize("threads,extra", [(300, "-"), (2, "subinterpreters")],
                         ids=["300-threads", "subinterpreters"])
def test_main_thread_found_among_threads_and_interpreters(cgroups, threads, extra):
    """The sampled thread's state is found past the newest threads (CPython puts
    new ones first) and past sub-interpreters' states of the same thread (idle:
    no frame), on pyenv's 3.12."""
    found = pyenv_interpreter("3.12")
    if not found:
        pytest.skip("no pyenv CPython 3.12 (pyenv root: %s)" % pyenv_root())
    python = found[1]
    cg = cgroups.make("py-threads")
    with tempfile.TemporaryDirectory(prefix="memobs-py-threads-") as tmp:
        script = os.path.join(tmp, "threads.py")
        with open(script, "w") as f:
            f.write(THREADS_LEAKER)
        p = cg.spawn([python, script, str(threads), extra])
        sites, summary, err, _ = run_traced(["--cgroup", cg.rel, "--duration", 4, "--top", 5,
                                             "--malloc-sample-bytes", SAMPLE_BYTES])
        here = leak_frame("leak_in_main_thread", script, "keep.append(bytes(8192))")
    mine = [s for s in sites if s["pid"] == p.pid]
    assert mine, (sites, err)
    top = max(mine, key=lambda s: s["bytes"])
    assert top["caller"] == here, top
    assert summary["bpf"]["python_stacks_no_thread"] == 0, summary["bpf"]
