# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Escalation covers growth outside malloc: anonymous mmap, sbrk and page
faults of the suspect get call sites with their `source`, a Go heap is named
through its faults, a neighbour's mm calls and faults run no hook, and an
episode cleared while its escalation runs ends it."""
import time

from conftest import workload

MIB = 1 << 20


def is_leak(cg, state="suspected"):
    return lambda l: (l["type"] == "leak" and l["cgroup"]["id"] == cg.id and l["state"] == state)


def escalated(cg):
    return lambda l: is_leak(cg)(l) and "escalated_for_s" in l


def sites_of(line, source):
    return [s for s in line["sites"] if s["source"] == source]


def last_stats(m):
    stats = m.of_type("stats")
    assert stats, m.stderr
    return stats[-1]


def test_mmap_leak_site_and_quiet_neighbour(cgroups, memobs):
    cg = cgroups.make("src-mmap")
    cg.spawn([workload("leak_mm"), "mmap", "2048"])
    # the neighbour maps, touches and unmaps 4 MiB/s all along: its calls and faults
    # must run none of the suspect's hooks
    neighbour = cgroups.make("src-neighbour")
    neighbour.spawn([workload("leak_mm"), "churn", "4096"])
    m = memobs("run", "--window", "20", "--escalate-for", "8", "--stats-interval", "3",
               "--no-socket")
    line = m.wait_for(escalated(cg), 80)
    assert line is not None, m.stderr
    assert line["not_from_malloc"] is True
    assert line["growth_held_by"] == "mapped", line
    assert line["mapped_bytes"] > 0.5 * line["anon_growth_bytes"], line
    mmap = sites_of(line, "mmap")
    assert mmap, line["sites"]
    assert "map_more_pages" in mmap[0]["caller"], mmap[0]
    # 8 s at 2 MiB/s, all of it still mapped: the estimate is near the growth
    assert 4 * MIB < mmap[0]["bytes"] < 40 * MIB, mmap[0]
    assert sites_of(line, "fault"), line["sites"]
    assert all(s["source"] in ("malloc", "mmap", "brk", "fault") for s in line["sites"])
    stats = m.wait_for(lambda l: l["type"] == "stats" and l["mm_hook_hits"] > 0, 10)
    assert stats is not None, m.of_type("stats")
    assert m.stop() == 0
    assert last_stats(m)["mm_hook_hits_out_of_scope"] == 0, m.of_type("stats")


def test_sbrk_leak_site(cgroups, memobs):
    cg = cgroups.make("src-brk")
    cg.spawn([workload("leak_mm"), "brk", "2048"])
    m = memobs("run", "--window", "20", "--escalate-for", "8", "--no-socket")
    line = m.wait_for(escalated(cg), 80)
    assert line is not None, m.stderr
    brk = sites_of(line, "brk")
    assert brk and "grow_the_break" in brk[0]["caller"], line["sites"]
    # the fault site is the first touch, in the same function
    fault = sites_of(line, "fault")
    assert fault and "grow_the_break" in fault[0]["caller"], line["sites"]
    # the program's own sbrk, not malloc's: malloc's outstanding bytes stay out of it
    assert line["malloc_outstanding_bytes"] < 0.2 * line["anon_growth_bytes"]
    assert line["growth_held_by"] == "mapped", line


def test_go_heap_named_through_faults(cgroups, memobs):
    # Go's heap is not malloc: its pages' first touches carry the stack, which Go's
    # frame pointers take from the runtime up to the function that appends
    cg = cgroups.make("src-go")
    cg.spawn([workload("runtime_go_leak"), str(2 * MIB)])
    m = memobs("run", "--window", "20", "--escalate-for", "8", "--no-socket")
    line = m.wait_for(escalated(cg), 80)
    assert line is not None, m.stderr
    assert line["runtime"] == "go"
    assert line["growth_held_by"] == "runtime", line
    faults = sites_of(line, "fault")
    assert faults, line["sites"]
    assert any(f.startswith("main.appendBlocks") for s in faults for f in s["stack"]), faults
    assert sum(s["bytes"] for s in faults) > 4 * MIB, faults


def test_cleared_episode_ends_its_escalation(cgroups, memobs):
    # grows ~14 s, then stays flat: the detector clears the episode a quiet window
    # later, while the 60 s escalation still runs; the escalation ends with it
    cg = cgroups.make("src-cleared")
    cg.spawn([workload("memhog"), "--stop-after", "14", "anon-leak", "2048"])
    m = memobs("run", "--window", "10", "--escalate-for", "60", "--no-socket")
    assert m.wait_for(is_leak(cg), 40) is not None, m.stderr
    cleared = m.wait_for(is_leak(cg, "cleared"), 60)
    assert cleared is not None, m.stderr
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "its episode was cleared" not in m.stderr:
        time.sleep(0.2)
    assert "its episode was cleared" in m.stderr, m.stderr
    time.sleep(2)
    assert not [l for l in m.of_type("leak") if escalated(cg)(l)], m.of_type("leak")


def test_leaks_all_sources(cgroups):
    # `memobs leaks --all-sources` samples what an escalation does, for one process
    from test_leaks import run_leaks

    cg = cgroups.make("src-leaks")
    p = cg.spawn([workload("leak_mm"), "mmap", "4096"])
    sites, summary, _, err = run_leaks("--pid", p.pid, "--all-sources", "--duration", "4")
    mmap = [s for s in sites if s["source"] == "mmap"]
    assert mmap and "map_more_pages" in mmap[0]["caller"], sites
    assert any(s["source"] == "fault" for s in sites), sites
    # without it, the same process has no site: it never calls malloc in its loop
    sites, _, _, _ = run_leaks("--pid", p.pid, "--duration", "2")
    assert all(s["source"] == "malloc" for s in sites), sites
    assert not [s for s in sites if "map_more_pages" in (s["caller"] or "")], sites
