# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""`memobs run`: per-cgroup figures against the truth from /proc, OOM kills,
stats, clean exit, and the command line's answers to bad input."""
import os
import subprocess
import time

from conftest import (MEMOBS, bpf_objects_alive, bpf_objects_of, proc_faults, proc_heap_bytes,
                      proc_status, workload)

MIB = 1 << 20


def within(actual, truth, rel=0.10, abs_slack=0):
    return abs(actual - truth) <= rel * truth + abs_slack


def latest_sample(m, cg):
    samples = [l for l in m.of_type("sample") if l["cgroup"]["id"] == cg.id]
    return samples[-1] if samples else None


def truth_of(cg):
    """Sums over the cgroup's processes of what /proc says."""
    t = dict(anon=0, file=0, shmem=0, heap=0, data_vm=0, nr=0)
    for pid in cg.pids():
        st = proc_status(pid)
        t["anon"] += st["RssAnon"]
        t["file"] += st["RssFile"]
        t["shmem"] += st["RssShmem"]
        t["data_vm"] += st["VmData"]
        t["heap"] += proc_heap_bytes(pid)
        t["nr"] += 1
    return t


def test_figures_track_proc(cgroups, memobs):
    # a process that exists before memobs starts must be right from the first interval
    early = cgroups.make("early")
    early.spawn([workload("memhog"), "--base", "48", "steady"])

    leaker = cgroups.make("leaker")
    leaker.spawn([workload("memhog"), "--base", "32", "anon-leak", "1024"])
    steady = cgroups.make("steady")
    steady.spawn([workload("memhog"), "--base", "64", "steady"])
    steady.spawn([workload("memhog"), "--base", "16", "steady"])
    mmap_grower = cgroups.make("mmap")
    mmap_grower.spawn([workload("memhog"), "--base", "16", "mmap-grow", "1024"])
    brk_grower = cgroups.make("brk")
    brk_grower.spawn([workload("memhog"), "--base", "16", "brk-grow", "1024"])
    all_cgs = [early, leaker, steady, mmap_grower, brk_grower]

    m = memobs("run", "--snapshots", "--interval", "1", "--no-detect")
    first = m.wait_for(lambda l: l["type"] == "sample" and l["cgroup"]["id"] == early.id, 5)
    assert first is not None, "no sample for a cgroup that existed before memobs started"
    assert first["cgroup"]["path"] == early.rel
    assert within(first["anon_rss_bytes"], truth_of(early)["anon"])

    time.sleep(3)
    # compare each cgroup's newest sample with /proc read right after it
    n = len(m.of_type("sample"))
    m.wait_for(lambda l: l["type"] == "sample" and len(m.of_type("sample")) > n + len(all_cgs), 5)
    for cg in all_cgs:
        s = latest_sample(m, cg)
        t = truth_of(cg)
        assert s is not None, f"no sample for {cg.rel}"
        assert s["cgroup"]["path"] == cg.rel
        assert s["nr_procs"] == t["nr"], (cg.rel, s, t)
        # growers move ~1 MiB/s: allow the interval's worth on top of 10%
        slack = 2 * MIB if cg in (leaker, mmap_grower, brk_grower) else 0
        assert within(s["anon_rss_bytes"], t["anon"], abs_slack=slack), (cg.rel, s, t)
        assert within(s["file_rss_bytes"], t["file"], abs_slack=256 * 1024), (cg.rel, s, t)
        assert within(s["data_vm_bytes"], t["data_vm"], abs_slack=slack), (cg.rel, s, t)
        assert within(s["heap_vm_bytes"], t["heap"], abs_slack=slack + 64 * 1024), (cg.rel, s, t)
        assert s["shmem_rss_bytes"] <= t["shmem"] + 256 * 1024
    # the growers grow where they should
    assert latest_sample(m, brk_grower)["heap_vm_bytes"] > 2 * MIB
    assert latest_sample(m, mmap_grower)["mmap_vm_bytes"] > 16 * MIB + 2 * MIB
    assert m.stop() == 0


def test_page_faults_per_interval(cgroups, memobs):
    cg = cgroups.make("faults")
    p = cg.spawn([workload("memhog"), "faults", "4096"])  # ~1,000 faults/s, no growth
    m = memobs("run", "--snapshots", "--interval", "1", "--no-detect")
    assert m.wait_for(lambda l: l["type"] == "sample" and l["cgroup"]["id"] == cg.id, 5)
    before = proc_faults(p.pid)
    n_before = len([l for l in m.of_type("sample") if l["cgroup"]["id"] == cg.id])
    time.sleep(4)
    samples = [l for l in m.of_type("sample") if l["cgroup"]["id"] == cg.id][n_before:]
    after = proc_faults(p.pid)
    counted = sum(s["page_faults"] for s in samples)
    truth = after - before
    assert truth > 2000
    # the samples cover whole intervals, /proc reads sit between: allow one interval
    assert within(counted, truth, rel=0.10, abs_slack=truth / len(samples)), (counted, truth)


def test_oom_kill_names_pid_cgroup_and_hostile_comm(cgroups, memobs):
    cg = cgroups.make("oom", limit_bytes=64 * MIB)
    m = memobs("run", "--interval", "1", "--no-detect")
    m.wait_started()
    # quotes, a backslash, a control character and invalid UTF-8 in the task name
    hostile = b'a"b\\c\x01\xff\xfez'
    p = cg.spawn([workload("memhog"), "--comm", hostile.hex(), "oom"])
    line = m.wait_for(lambda l: l["type"] == "oom_kill", 20)
    assert line is not None, "no oom_kill line"
    assert line["pid"] == p.pid
    assert line["cgroup"]["id"] == cg.id and line["cgroup"]["path"] == cg.rel
    assert line["comm"] == 'a"b\\c\x01\ufffd\ufffdz'
    assert 32 * MIB < line["anon_rss_bytes"] <= 80 * MIB
    assert not m.bad_lines


def test_stats_and_clean_exit(cgroups, memobs):
    cg = cgroups.make("exec")
    m = memobs("run", "--interval", "0.5", "--duration", "3", "--no-detect")
    m.wait_started()
    progs, links = bpf_objects_of(m.proc.pid)
    # the task iterator and the OOM-kill hook (exec and exit are not hooked: the sampler
    # sees processes come and go)
    assert len(progs) >= 2 and len(links) >= 2, (progs, links)
    for _ in range(20):  # processes come and go: no record crosses the ring buffer for them
        cg.spawn(["/bin/true"], wait_ready=False).wait()
    assert m.wait_exit(10) == 0
    stats = m.of_type("stats")
    assert stats, "no stats line at exit"
    last = stats[-1]
    # only OOM kills cross the ring buffer (test_oom_kill_names_pid_cgroup_and_hostile_comm)
    assert last["events"] == 0, last
    assert last["ringbuf_drops"] == 0 and last["map_full"] == 0
    assert last["attach_failures"] == 0
    assert last["cgroup"] is None
    # nothing memobs loaded or attached outlives it (the kernel frees them after an RCU
    # grace period, so allow it a moment)
    for _ in range(50):
        alive_progs, alive_links = bpf_objects_alive()
        if not progs & alive_progs and not links & alive_links:
            break
        time.sleep(0.1)
    assert not progs & alive_progs and not links & alive_links, (progs, links)


def test_sigterm_detaches_quickly(memobs):
    m = memobs("run", "--interval", "5", "--no-detect")
    m.wait_started()
    time.sleep(0.5)
    t0 = time.monotonic()
    assert m.stop() == 0
    assert time.monotonic() - t0 < 2.0


def test_cgroup_created_while_running(cgroups, memobs):
    m = memobs("run", "--snapshots", "--interval", "0.5", "--no-detect")
    m.wait_started()
    time.sleep(0.6)
    cg = cgroups.make("late")
    cg.spawn([workload("memhog"), "--base", "8", "steady"])
    line = m.wait_for(lambda l: l["type"] == "sample" and l["cgroup"]["id"] == cg.id, 5)
    assert line is not None and line["cgroup"]["path"] == cg.rel


def run_cli(*args):
    return subprocess.run([MEMOBS] + list(args), capture_output=True, text=True, timeout=30)


def test_cli_bad_input_and_help():
    for args, needle in [
        (["run", "--interval", "0"], "'0'"),
        (["run", "--interval", "abc"], "'abc'"),
        (["run", "--duration", "-1"], "'-1'"),
        (["run", "--bogus"], "--bogus"),
        (["run", "--window", "2", "--interval", "1"], "window '2'"),
        (["frobnicate"], "frobnicate"),
    ]:
        r = run_cli(*args)
        assert r.returncode == 2, (args, r)
        assert needle in r.stderr and r.stderr.count("\n") == 1, (args, r.stderr)
        assert r.stdout == ""
    assert run_cli("--version").stdout.startswith("memobs ")
    assert run_cli("--help").returncode == 0
    assert "--interval" in run_cli("run", "--help").stdout


def test_cli_one_convention_for_every_command():
    """One form of bad input for every command, -v before or after its name, bounded values."""
    for cmd in ("run", "top", "leaks", "check"):
        r = run_cli(cmd, "--bogus")
        assert r.returncode == 2, (cmd, r)
        assert r.stderr == (f"memobs {cmd}: unknown option '--bogus' "
                            f"(see 'memobs {cmd} --help')\n"), (cmd, r.stderr)
        assert r.stdout == ""
        for args in ([cmd, "-v", "--help"], ["-v", cmd, "--help"], ["-vv", cmd, "-v", "-h"],
                     [cmd, "--verbose", "--help"]):
            r = run_cli(*args)
            assert r.returncode == 0 and r.stdout.startswith(f"usage: memobs {cmd}"), (args, r)
    r = run_cli("frobnicate")
    assert r.stderr == "memobs: unknown command 'frobnicate' (see 'memobs --help')\n", r.stderr
    for args, bad in ((["run", "--interval", "1e-10"], "1e-10"),
                      (["run", "--interval", "3601"], "3601"),
                      (["run", "--duration", "0.001"], "0.001"),
                      (["run", "--stats-interval", "1e-10"], "1e-10"),
                      (["run", "--escalate-for", "1e-10"], "1e-10"),
                      (["run", "--min-growth", "2048G"], "2048G"),
                      (["top", "-d", "1e-10"], "1e-10"),
                      (["top", "-r", "1000001"], "1000001"),
                      (["leaks", "--all", "--duration", "1e-10"], "1e-10"),
                      (["leaks", "--all", "--top", "100001"], "100001")):
        r = run_cli(*args)
        assert r.returncode == 2, (args, r)
        line = r.stderr
        assert line.count("\n") == 1 and f"'{bad}'" in line, (args, line)
        assert line.startswith(f"memobs {args[0]}: invalid value '{bad}' for "), (args, line)
        assert line.endswith(f" (see 'memobs {args[0]} --help')\n"), (args, line)


def test_check_reports_features():
    r = run_cli("check")
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ("btf", "iter/task", "ringbuf", "cgroup2", "load+attach"):
        assert any(l.startswith("ok") and name in l for l in r.stdout.splitlines()), name


def test_missing_capability_is_named():
    # root without CAP_BPF and CAP_SYS_ADMIN (dropped from the bounding set, so exec loses them)
    r = subprocess.run(["setpriv", "--inh-caps=-all", "--bounding-set=-bpf,-sys_admin", MEMOBS,
                        "run", "--duration", "1"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, r
    assert "CAP_BPF" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert r.stdout == ""


def test_small_process_rss_is_exact(cgroups, memobs):
    # a small process's pages sit in the per-CPU parts of the rss counters: they must be summed
    cg = cgroups.make("small")
    p = cg.spawn([workload("memhog"), "--base", "0.25", "steady"])
    m = memobs("run", "--snapshots", "--interval", "0.5", "--no-detect")
    line = m.wait_for(lambda l: l["type"] == "sample" and l["cgroup"]["id"] == cg.id, 5)
    assert line is not None
    st = proc_status(p.pid)
    assert line["anon_rss_bytes"] == st["RssAnon"], (line, st["RssAnon"])
    assert line["file_rss_bytes"] == st["RssFile"], (line, st["RssFile"])
