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

from conftest import MEMOBS, proc_faults, proc_status

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


def test_quiet_faults_among_sleeping_threads_within_the_bound(cgroups, memobs):
    """The faults of a thread whose process shows no other change reach the
    samples at most RESCAN_PASSES - 1 intervals late, and none is lost."""
    cg = cgroups.make("quiet")
    p = cg.spawn([sys.executable, "-c", QUIET_FAULTER, "63", "100"])
    walk = memobs("run", "--snapshots", "--interval", "1", "--no-detect", "--no-escalate",
                  "--no-socket")
    wait_samples(walk, cg, 1)
    first = len(samples_of(walk, cg))
    before = proc_faults(p.pid)
    wait_samples(walk, cg, first + 2 * RESCAN_PASSES, timeout=3 * RESCAN_PASSES)
    after = proc_faults(p.pid)
    got = samples_of(walk, cg)[first:first + 2 * RESCAN_PASSES]
    assert all(s["nr_procs"] == 1 for s in got), got
    counted = sum(s["page_faults"] for s in got)
    truth = after - before
    assert truth >= 2 * RESCAN_PASSES * 50, truth  # the thread did fault, ~100/s
    # at most RESCAN_PASSES - 1 intervals are held back at the end (and were
    # held back before the window's start); whole intervals either side
    per_interval = truth / len(got)
    assert abs(counted - truth) <= RESCAN_PASSES * per_interval + 0.05 * truth, \
        (counted, truth, [s["page_faults"] for s in got])
    # never more than RESCAN_PASSES - 1 passes in a row without its faults
    run = longest = 0
    for s in got:
        run = run + 1 if s["page_faults"] == 0 else 0
        longest = max(longest, run)
    assert longest <= RESCAN_PASSES - 1, [s["page_faults"] for s in got]
    assert walk.stop() == 0
    assert not walk.bad_lines
