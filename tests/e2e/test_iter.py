# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The two samplers of the always-on tier: the process walk (open-coded task
iterator, one record per process) and iter/task (one record per thread,
forced with MEMOBS_SAMPLER=iter/task). Both run side by side on the same
multi-threaded process and must report the same figures, and the truth of
/proc."""
import os
import subprocess
import sys
import time

from conftest import MEMOBS, memcg_on_v2, proc_faults, proc_status

MIB = 1 << 20
THREADS = 16
PAGES_PER_THREAD = 2048  # 8 MiB each

# Threads that each touch their own fresh mapping when told to; half of them
# then exit, so that their faults move to signal_struct (the dead threads' sum)
# while the others' stay on their live tasks.
WORKLOAD = r"""
import mmap, sys, threading
n, pages = int(sys.argv[1]), int(sys.argv[2])
go, stop, done, bufs = threading.Event(), threading.Event(), threading.Semaphore(0), []
def work(i):
    go.wait()
    m = mmap.mmap(-1, pages * 4096)
    for off in range(0, pages * 4096, 4096):
        m[off] = 1
    bufs.append(m)
    done.release()
    if i % 2:
        return
    stop.wait()
ts = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(n)]
for t in ts:
    t.start()
print("ready", flush=True)
sys.stdin.readline()
go.set()
for _ in range(n):
    done.acquire()
for t in ts[1::2]:
    t.join()
print("done", flush=True)
stop.wait()
"""

OLD = dict(os.environ, MEMOBS_SAMPLER="iter/task")


def samples_of(m, cg):
    return [l for l in m.of_type("sample") if l["cgroup"]["id"] == cg.id]


def wait_samples(m, cg, n, timeout=10):
    assert m.wait_for(lambda l: len(samples_of(m, cg)) >= n, timeout), \
        f"fewer than {n} samples for {cg.rel}: {m.stderr}"


def test_check_names_the_sampler():
    out = subprocess.run([MEMOBS, "check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ok       process walk" in out.stdout, out.stdout
    assert "sampler in use         process walk" in out.stdout, out.stdout
    out = subprocess.run([MEMOBS, "check"], capture_output=True, text=True, env=OLD)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "MEMOBS_SAMPLER=iter/task is set" in out.stdout, out.stdout
    assert "sampler in use         iter/task" in out.stdout, out.stdout


def test_both_samplers_agree_on_a_threaded_process(cgroups, memobs):
    cg = cgroups.make("threads")
    p = cg.spawn([sys.executable, "-c", WORKLOAD, str(THREADS), str(PAGES_PER_THREAD)],
                 stdin=subprocess.PIPE)
    args = ("run", "--snapshots", "--interval", "1", "--no-detect", "--no-escalate",
            "--no-socket")
    walk = memobs(*args)
    old = memobs(*args, env=OLD)
    walk.wait_started()
    old.wait_started()
    assert "sampler process walk" in walk.stderr, walk.stderr
    assert "sampler iter/task" in old.stderr, old.stderr
    wait_samples(walk, cg, 1)
    wait_samples(old, cg, 1)
    # what each has counted so far; the pass that holds the faults is after these
    n_walk, n_old = len(samples_of(walk, cg)), len(samples_of(old, cg))
    before = proc_faults(p.pid)
    p.stdin.write(b"go\n")
    p.stdin.flush()
    assert p.stdout.readline().strip() == b"done"
    time.sleep(1.5)
    after = proc_faults(p.pid)
    wait_samples(walk, cg, n_walk + 3)
    wait_samples(old, cg, n_old + 3)
    truth = after - before
    assert truth >= THREADS * PAGES_PER_THREAD, truth
    counted_walk = sum(s["page_faults"] for s in samples_of(walk, cg)[n_walk:])
    counted_old = sum(s["page_faults"] for s in samples_of(old, cg)[n_old:])
    # the samples cover whole intervals from before the go to after the last read of /proc:
    # a few hundred faults of Python's own either side
    assert abs(counted_walk - truth) <= 0.05 * truth, (counted_walk, counted_old, truth)
    assert abs(counted_old - truth) <= 0.05 * truth, (counted_walk, counted_old, truth)
    assert abs(counted_walk - counted_old) <= 0.02 * truth, (counted_walk, counted_old, truth)

    # the process is idle now: the same figures from both, and /proc's
    time.sleep(1.2)
    sw, so = samples_of(walk, cg)[-1], samples_of(old, cg)[-1]
    st = proc_status(p.pid)
    assert sw["nr_procs"] == so["nr_procs"] == 1, (sw, so)
    for key in ("heap_vm_bytes", "data_vm_bytes", "mmap_vm_bytes", "file_rss_bytes"):
        assert sw[key] == so[key], (key, sw, so)
    # iter/task sums every per-CPU part; the walk only below its budget (docs/output.md),
    # within 1% above it. Python's anonymous mmap is shared: the pages are shmem.
    for key, proc_key in (("anon_rss_bytes", "RssAnon"), ("shmem_rss_bytes", "RssShmem")):
        assert abs(sw[key] - so[key]) <= 0.01 * so[key] + 64 * 1024, (key, sw, so)
        assert abs(so[key] - st[proc_key]) <= 0.01 * st[proc_key] + 256 * 1024, (key, so, st)
    assert sw["shmem_rss_bytes"] >= 0.99 * THREADS * PAGES_PER_THREAD * 4096
    assert walk.stop() == 0 and old.stop() == 0
    assert not walk.bad_lines and not old.bad_lines


SLEEPER = r"""
import threading
for _ in range(7):
    threading.Thread(target=threading.Event().wait, daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"""


def test_walk_holds_one_record_per_process(cgroups, memobs):
    """20 processes of 8 threads: the walk reports each process once, as iter/task does."""
    cg = cgroups.make("many")
    for _ in range(20):
        cg.spawn([sys.executable, "-c", SLEEPER])
    args = ("run", "--snapshots", "--interval", "1", "--no-detect", "--no-escalate",
            "--no-socket")
    walk = memobs(*args)
    old = memobs(*args, env=OLD)
    wait_samples(walk, cg, 2)
    wait_samples(old, cg, 2)
    sw, so = samples_of(walk, cg)[-1], samples_of(old, cg)[-1]
    assert sw["nr_procs"] == so["nr_procs"] == 20, (sw, so)
    for key in ("anon_rss_bytes", "file_rss_bytes", "data_vm_bytes", "heap_vm_bytes"):
        assert abs(sw[key] - so[key]) <= 0.01 * so[key] + 64 * 1024, (key, sw, so)
    assert walk.stop() == 0 and old.stop() == 0


# Many sleeping threads and one that faults without moving anything the walk
# reads cheaply: it maps a page in and drops it again (MADV_DONTNEED), so the
# RSS counters' global counts, total_vm, the leader's faults and signal_struct's
# stay as they are. Only the rescan every RESCAN_PASSES passes sees its faults.
QUIET_FAULTER = r"""
import mmap, sys, threading, time
sleepers, per_s = int(sys.argv[1]), int(sys.argv[2])
for _ in range(sleepers):
    threading.Thread(target=threading.Event().wait, daemon=True).start()
m = mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
def fault():
    while True:
        m[0] = 1
        m.madvise(mmap.MADV_DONTNEED)
        time.sleep(1 / per_s)
threading.Thread(target=fault, daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"""
RESCAN_PASSES = 8  # user/collect/loader.c, docs/output.md


def other_threads():
    """Live threads besides the leaders, over the processes the walk meets
    (those with an mm): what the thread budget divides (docs/output.md)."""
    n = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/status") as f:
                status = f.read()
        except OSError:
            continue
        if "VmSize:" not in status:  # a kernel thread: no mm
            continue
        for line in status.splitlines():
            if line.startswith("Threads:"):
                n += int(line.split()[1]) - 1
    return n


def quiet_fault_samples(cgroups, memobs, period, env=None):
    """2 x period samples of a cgroup whose one process faults quietly among
    63 sleeping threads: the samples, the faults counted and the truth."""
    cg = cgroups.make("quiet")
    p = cg.spawn([sys.executable, "-c", QUIET_FAULTER, "63", "100"])
    walk = memobs("run", "--snapshots", "--interval", "1", "--no-detect", "--no-escalate",
                  "--no-socket", env=env)
    wait_samples(walk, cg, 1)
    first = len(samples_of(walk, cg))
    before = proc_faults(p.pid)
    wait_samples(walk, cg, first + 2 * period, timeout=3 * period)
    after = proc_faults(p.pid)
    got = samples_of(walk, cg)[first:first + 2 * period]
    assert walk.stop() == 0
    assert not walk.bad_lines
    assert all(s["nr_procs"] == 1 for s in got), got
    truth = after - before
    assert truth >= 2 * period * 50, truth  # the thread did fault, ~100/s
    # at most period - 1 intervals are held back at the end (and were held
    # back before the window's start); whole intervals either side
    counted = sum(s["page_faults"] for s in got)
    per_interval = truth / len(got)
    assert abs(counted - truth) <= period * per_interval + 0.05 * truth, \
        (counted, truth, [s["page_faults"] for s in got])
    return [s["page_faults"] for s in got]


def longest_quiet_run(faults):
    run = longest = 0
    for n in faults:
        run = run + 1 if n == 0 else 0
        longest = max(longest, run)
    return longest


def test_quiet_faults_among_sleeping_threads_within_the_bound(cgroups, memobs):
    """The faults of a thread whose process shows no other change reach the
    samples at most RESCAN_PASSES - 1 intervals late, and none is lost."""
    faults = quiet_fault_samples(cgroups, memobs, RESCAN_PASSES)
    assert longest_quiet_run(faults) <= RESCAN_PASSES - 1, faults


def test_quiet_faults_spread_by_the_thread_budget(cgroups, memobs):
    """With more threads than the budget covers in RESCAN_PASSES passes, a
    quiet process's threads are walked every ceil(threads / budget) passes:
    its faults come later than every RESCAN_PASSES passes, and still within
    that period, none lost."""
    want = 12
    # the quiet process's own 64 other threads are not alive yet: counted in
    others = other_threads() + 64
    budget = -(-others // want)
    # the host's threads move a little meanwhile (memobs's own, the test's)
    most = -(-(others + 24) // budget)
    env = dict(os.environ, MEMOBS_WALK_THREAD_BUDGET=str(budget))
    faults = quiet_fault_samples(cgroups, memobs, most, env)
    longest = longest_quiet_run(faults)
    assert RESCAN_PASSES <= longest <= most - 1, (longest, most, faults)


# Processes that each hold their own private anonymous memory (no fork after
# exec, no shared mapping: each page is charged once, to this cgroup, and
# counted once, in one process's RssAnon), told on stdin to grow by N MiB.
ANON_HOLDER = r"""
import mmap, sys
bufs = []
def grow(mib):
    m = mmap.mmap(-1, mib << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    for off in range(0, mib << 20, 4096):
        m[off] = 1
    bufs.append(m)
grow(int(sys.argv[1]))
print("ready", flush=True)
for line in sys.stdin:
    grow(int(line))
    print("ok", flush=True)
"""


def cgroupfs_anon_bytes(cg):
    """The cgroup's anonymous memory as its memory controller counts it:
    memory.stat's `anon` on cgroup v2, `rss` (anonymous, mapped) on v1."""
    path = cg.path if memcg_on_v2() else cg.v1_path
    key = "anon" if memcg_on_v2() else "rss"
    with open(os.path.join(path, "memory.stat")) as f:
        for line in f:
            name, value = line.split()
            if name == key:
                return int(value)
    raise AssertionError(f"no '{key}' in {path}/memory.stat")


def next_sample(m, cg, timeout=10):
    n = len(samples_of(m, cg))
    wait_samples(m, cg, n + 1, timeout)
    return samples_of(m, cg)[-1]


def test_per_process_sums_track_the_cgroups_own_figures(cgroups, memobs):
    """memobs's anon_rss_bytes of a cgroup (the sum of its processes' RssAnon)
    against the memory controller's own count of the same cgroup, as the
    cgroup grows and as a process leaves it, for both samplers. Tolerance:
    1% (the two sides are read moments apart), plus the per-CPU batching of
    each side's counters: memobs's per process, at worst 2 x batch x CPUs
    pages (docs/output.md, "Exactness of the resident figures"; 512 KiB on
    2 CPUs), and the memory controller's statistics, flushed on a read only
    past 64 pages a CPU of pending updates."""
    cg = cgroups.make("acct", limit_bytes=1 << 30)  # a memory cgroup: v2, or v1 on hybrid hosts
    assert memcg_on_v2() or cg.v1_path, "no memory controller for the cgroup"
    cpus, page = os.cpu_count(), os.sysconf("SC_PAGE_SIZE")
    per_process = 2 * max(32, 2 * cpus) * cpus * page
    memcg_lag = 64 * cpus * page
    holders = [cg.spawn([sys.executable, "-c", ANON_HOLDER, str(mib)], stdin=subprocess.PIPE)
               for mib in (16, 32, 48, 64)]
    args = ("run", "--snapshots", "--interval", "1", "--no-detect", "--no-escalate",
            "--no-socket")
    walk = memobs(*args)
    old = memobs(*args, env=OLD)
    wait_samples(walk, cg, 1)
    wait_samples(old, cg, 1)

    def compare(what, nr_procs, at_least):
        for m, name in ((walk, "process walk"), (old, "iter/task")):
            s = next_sample(m, cg)
            truth = cgroupfs_anon_bytes(cg)
            assert s["nr_procs"] == nr_procs, (what, name, s)
            assert truth >= at_least, (what, truth, at_least)
            tolerance = 0.01 * truth + nr_procs * per_process + memcg_lag
            assert abs(s["anon_rss_bytes"] - truth) <= tolerance, \
                (what, name, s["anon_rss_bytes"], truth, tolerance)

    compare("at start", 4, 160 * MIB)
    # grow one process by 96 MiB: both sides must see it
    holders[0].stdin.write(b"96\n")
    holders[0].stdin.flush()
    assert holders[0].stdout.readline().strip() == b"ok"
    wait_samples(walk, cg, len(samples_of(walk, cg)) + 1)
    compare("after growth", 4, 256 * MIB)
    # a process leaves: its memory goes from both sides
    holders[3].kill()
    holders[3].wait()
    deadline = time.monotonic() + 5
    while cgroupfs_anon_bytes(cg) > 210 * MIB and time.monotonic() < deadline:
        time.sleep(0.1)
    wait_samples(walk, cg, len(samples_of(walk, cg)) + 1)
    wait_samples(old, cg, len(samples_of(old, cg)) + 1)
    compare("after an exit", 3, 192 * MIB)
    assert walk.stop() == 0 and old.stop() == 0
    assert not walk.bad_lines and not old.bad_lines
