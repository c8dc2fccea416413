# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The attribution tier inside `memobs run`: escalation on a suspect, and
host-wide allocation tracing with --malloc."""
import os
import time

from conftest import bpf_objects_alive, bpf_objects_of, workload

MIB = 1 << 20


def is_leak(cg, state="suspected"):
    return lambda l: (l["type"] == "leak" and l["cgroup"]["id"] == cg.id and l["state"] == state)


def uprobe_events():
    for path in ("/sys/kernel/tracing/uprobe_events", "/sys/kernel/debug/tracing/uprobe_events"):
        try:
            with open(path) as f:
                return f.read()
        except OSError:
            continue
    return ""


def test_escalation_reports_call_sites(cgroups, memobs):
    cg = cgroups.make("escalate")
    p = cg.spawn([workload("leak_here"), "--size", "65536", "--rate", str(MIB)])
    # 64 KiB sampling: ~80 of the ~128 blocks leaked while escalated are sampled (~7%
    # spread), so the malloc-vs-anon comparison below cannot fail by chance; at the
    # default 512 KiB only ~15 would be, and 0.5x is ~2 sigma
    m = memobs("run", "--window", "20", "--escalate-for", "8", "--malloc-sample-bytes", "65536",
               "--no-socket")
    first = m.wait_for(is_leak(cg), 60)
    assert first is not None, m.stderr
    assert first["sites"] == []
    assert first["top_process"]["pid"] == p.pid
    # memobs attached to the suspect's processes: probes with its pid filter
    second = m.wait_for(lambda l: is_leak(cg)(l) and l["sites"], 40)
    assert second is not None, m.stderr
    assert second["escalated_for_s"] == 8
    top = second["sites"][0]
    assert any("leak_here" in frame for frame in top["stack"]), second["sites"]
    assert top["bytes"] > 1 * MIB and top["allocs"] > 10
    assert second["not_from_malloc"] is False
    assert second["malloc_outstanding_bytes"] > 0.5 * second["anon_growth_bytes"]
    # one alert per metric's episode (anon_rss and heap both grow here), one escalation
    time.sleep(3)
    lines = [l for l in m.of_type("leak") if is_leak(cg)(l)]
    plain = [l["metric"] for l in lines if not l["sites"]]
    assert len(plain) == len(set(plain)) and "anon_rss" in plain, plain
    assert len([l for l in lines if l["sites"]]) == 1
    progs, links = bpf_objects_of(m.proc.pid)
    assert m.stop() == 0
    for _ in range(50):
        alive_progs, alive_links = bpf_objects_alive()
        if not progs & alive_progs and not links & alive_links:
            break
        time.sleep(0.1)
    assert not progs & alive_progs and not links & alive_links
    assert "memobs" not in uprobe_events()


def test_raw_mmap_leak_is_not_from_malloc(cgroups, memobs):
    # anonymous growth through mmap(2) directly: malloc's outstanding bytes stay flat
    cg = cgroups.make("rawmmap")
    cg.spawn([workload("memhog"), "mmap-grow", "1024"])
    m = memobs("run", "--window", "20", "--escalate-for", "6", "--no-socket")
    second = m.wait_for(lambda l: is_leak(cg)(l) and "not_from_malloc" in l, 70)
    assert second is not None, m.stderr
    assert second["not_from_malloc"] is True
    assert second["anon_growth_bytes"] > 2 * MIB


def test_malloc_host_wide_traces_new_processes(cgroups, memobs):
    # 64 KiB sampling: ~75 of the leaker's 192 blocks are sampled, so the estimate's
    # spread (~9%) leaves the 40% bound at ~4 sigma; at the default 512 KiB only ~12 would
    # be, and one run in twenty would land outside it by chance
    m = memobs("run", "--malloc", "--malloc-sample-bytes", "65536", "--snapshots",
               "--no-detect", "--no-socket")
    m.wait_started()
    time.sleep(1)
    # started after memobs: picked up within a second of its exec
    cg = cgroups.make("malloc")
    cg.spawn([workload("leak_here"), "--size", "32768", "--rate", str(MIB), "--seconds", "6"])
    time.sleep(9)
    samples = [l for l in m.of_type("sample") if l["cgroup"]["id"] == cg.id]
    assert samples and "malloc_outstanding_bytes" in samples[-1]
    leaked = 6 * MIB
    assert 0.6 * leaked < samples[-1]["malloc_outstanding_bytes"] < 1.4 * leaked, samples[-1]
    stats = None
    assert m.stop() == 0
    stats = m.of_type("stats")[-1]
    assert stats["ringbuf_drops"] == 0 and stats["attach_failures"] == 0, stats


def test_malloc_host_wide_first_line_carries_sites(cgroups, memobs):
    """With every process traced, the samples that name the site exist when the
    detector first suspects the cgroup: its first line says where (issue 12)."""
    m = memobs("run", "--malloc", "--malloc-sample-bytes", "65536", "--interval", "0.5",
               "--window", "5", "--no-socket")
    m.wait_started()
    cg = cgroups.make("malloc-first")
    p = cg.spawn([workload("leak_here"), "--size", "65536", "--rate", str(2 * MIB)])
    first = m.wait_for(is_leak(cg), 60)
    assert first is not None, m.stderr
    assert first["sites"], first
    top = first["sites"][0]
    assert top["stack"][0].startswith("leak_here+"), first["sites"]
    assert top["caller"].startswith("leak_here+"), top
    assert "escalated_for_s" not in first
    assert first["top_process"]["pid"] == p.pid

