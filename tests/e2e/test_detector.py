# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The leak detector in `memobs run`, with real processes in their own cgroups
and a short window (30 s): a leaker is flagged within window + 5 s with the
right cgroup and process, and its time to the memory limit is right; warm-up,
a flat-trough sawtooth and malloc/free churn are never flagged in 3 windows;
a leaker that stops is cleared; a Node leaker, V8's steps and drops and all,
is one episode under a 15 s window (issue 12)."""
import os
import shutil
import time

import pytest

from conftest import memcg_on_v2, workload

MIB = 1 << 20
WINDOW_S = 30
RATE_KIB = 1024  # 1 MiB/s


def wait_until_sampling(m, timeout=30):
    """memobs has loaded and made a first pass (its first 'sample' line)."""
    line = m.wait_for(lambda l: l.get("type") == "sample", timeout)
    assert line is not None, f"memobs produced no sample: {m.stderr.decode(errors='replace')}"


def leak_lines(m, cg, state=None):
    return [l for l in m.of_type("leak")
            if l["cgroup"]["id"] == cg.id and (state is None or l["state"] == state)]


def usage_bytes(cg):
    """What the memory controller charges the cgroup now (v2 or v1)."""
    if memcg_on_v2():
        path = os.path.join(cg.path, "memory.current")
    else:
        path = os.path.join(cg.v1_path, "memory.usage_in_bytes")
    with open(path) as f:
        return int(f.read())


def check_leak_fields(line):
    for key in ("state", "metric", "bytes", "growth_bytes_per_s", "window_s", "confidence",
                "limit_bytes", "time_to_limit_s", "top_process", "sites"):
        assert key in line, f"leak line without {key}: {line}"
    assert line["metric"] in ("anon_rss", "heap", "mmap", "malloc")
    assert 0 <= line["confidence"] <= 1
    assert line["window_s"] == WINDOW_S
    assert line["sites"] == []


def test_leaker_flagged_in_time_with_limit(cgroups, memobs):
    m = memobs("run", "--window", str(WINDOW_S), "--snapshots")
    wait_until_sampling(m)

    leak = cgroups.make("leak")
    limit = 256 * MIB
    limited = cgroups.make("limited", limit_bytes=limit)
    quiet = cgroups.make("quiet")
    quiet.spawn([workload("memhog"), "--base", "32", "steady"])
    leaker = leak.spawn([workload("memhog"), "--base", "8", "anon-leak", str(RATE_KIB)])
    started = time.monotonic()
    limited_leaker = limited.spawn([workload("memhog"), "--base", "8", "anon-leak",
                                    str(RATE_KIB)])

    flagged = m.wait_for(lambda l: l.get("type") == "leak" and l["state"] == "suspected"
                         and l["cgroup"]["id"] == leak.id and l["metric"] == "anon_rss",
                         WINDOW_S + 5 - (time.monotonic() - started))
    took = time.monotonic() - started
    assert flagged is not None, (
        f"1 MiB/s leaker not flagged within {WINDOW_S + 5} s; leak lines: {m.of_type('leak')}")
    print(f"leaker flagged after {took:.1f} s: {flagged}")
    check_leak_fields(flagged)
    assert flagged["cgroup"]["path"] == leak.rel
    assert flagged["top_process"]["pid"] == leaker.pid
    assert abs(flagged["growth_bytes_per_s"] - RATE_KIB * 1024) <= 0.25 * RATE_KIB * 1024
    assert flagged["limit_bytes"] is None and flagged["time_to_limit_s"] is None

    # the limited one started a moment later: give it the same budget from its start
    limited_flag = m.wait_for(lambda l: l.get("type") == "leak" and l["state"] == "suspected"
                              and l["cgroup"]["id"] == limited.id
                              and l["metric"] == "anon_rss", 10)
    assert limited_flag is not None, f"limited leaker not flagged: {m.of_type('leak')}"
    usage = usage_bytes(limited)
    check_leak_fields(limited_flag)
    assert limited_flag["top_process"]["pid"] == limited_leaker.pid
    assert limited_flag["limit_bytes"] == limit
    truth = (limit - usage) / (RATE_KIB * 1024)
    print(f"time_to_limit_s {limited_flag['time_to_limit_s']} truth {truth:.1f}")
    assert abs(limited_flag["time_to_limit_s"] - truth) <= 0.25 * truth

    # one suspected per episode, and nothing about the quiet one
    time.sleep(5)
    assert len([l for l in leak_lines(m, leak, "suspected") if l["metric"] == "anon_rss"]) == 1
    assert leak_lines(m, quiet) == []
    assert m.bad_lines == []


def test_non_leaks_never_flagged(cgroups, memobs):
    m = memobs("run", "--window", str(WINDOW_S), "--snapshots")
    wait_until_sampling(m)

    warm = cgroups.make("warmup")
    saw = cgroups.make("sawtooth")
    churn = cgroups.make("churn")
    warm.spawn([workload("warmup"), "--rate", "10240", "--seconds", "10"])
    saw.spawn([workload("sawtooth"), "flat", "--base", "16", "--amplitude", "48",
               "--period", "6"])
    churn.spawn([workload("churn"), "--live", "32"])

    run_s = 3 * WINDOW_S
    time.sleep(run_s)
    # the run really observed them all along: samples for each, most of the way
    for cg in (warm, saw, churn):
        samples = [l for l in m.of_type("sample") if l["cgroup"]["id"] == cg.id]
        assert len(samples) >= run_s - 10, f"{cg.rel}: only {len(samples)} samples"
    saw_rss = [l["anon_rss_bytes"] for l in m.of_type("sample") if l["cgroup"]["id"] == saw.id]
    assert max(saw_rss) - min(saw_rss) >= 32 * MIB, "the sawtooth did not saw"
    for cg in (warm, saw, churn):
        assert leak_lines(m, cg) == [], f"{cg.rel} flagged: {leak_lines(m, cg)}"
    assert m.bad_lines == []


def test_leaker_that_stops_is_cleared(cgroups, memobs):
    m = memobs("run", "--window", str(WINDOW_S))
    time.sleep(3)  # no samples without --snapshots: let it load

    stop_after = 40
    cg = cgroups.make("stops")
    cg.spawn([workload("memhog"), "--base", "8", "--stop-after", str(stop_after), "anon-leak",
              str(RATE_KIB)])
    started = time.monotonic()
    suspected = m.wait_for(lambda l: l.get("type") == "leak" and l["state"] == "suspected"
                           and l["cgroup"]["id"] == cg.id, WINDOW_S + 10)
    assert suspected is not None, f"leaker not flagged: {m.of_type('leak')}"
    # once flat, the recent part goes flat and then a whole window passes without growth
    deadline = stop_after + 2 * WINDOW_S + 15 - (time.monotonic() - started)
    cleared = m.wait_for(lambda l: l.get("type") == "leak" and l["state"] == "cleared"
                         and l["cgroup"]["id"] == cg.id
                         and l["metric"] == suspected["metric"], deadline)
    took = time.monotonic() - started
    assert cleared is not None, f"not cleared {deadline:.0f} s on: {leak_lines(m, cg)}"
    print(f"cleared {took - stop_after:.1f} s after the leak stopped")
    assert took >= stop_after + WINDOW_S, "cleared before a window without growth had passed"
    check_leak_fields(cleared)
    assert cleared["cgroup"]["path"] == cg.rel


# ~0.9 MiB/s of anon RSS: a 512 KiB Buffer (outside V8's heap) and 1024 small
# objects (in it: V8 grows its heap in steps and drops when it compacts) a second.
NODE_LEAK_JS = ("const kept = [];"
                "setInterval(() => {"
                " kept.push(Buffer.alloc(1 << 19, 1));"
                " for (let i = 0; i < 1024; i++) kept.push({i, s: 'x'.repeat(400) + Math.random()});"
                "}, 1000);"
                "console.log('ready');")
NODE_WINDOW_S = 15


def test_node_leaker_is_one_episode(cgroups, memobs):
    """Issue 12: at a short window the test holds only now and then on a Node
    leaker; it was cleared while it still leaked, then suspected again."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.fail("node not found (scripts/deps.sh installs nodejs)")
    m = memobs("run", "--window", str(NODE_WINDOW_S), "--snapshots")
    wait_until_sampling(m)

    cg = cgroups.make("node-leak")
    cg.spawn([node, "-e", NODE_LEAK_JS])
    started = time.monotonic()
    suspected = m.wait_for(lambda l: l.get("type") == "leak" and l["state"] == "suspected"
                           and l["cgroup"]["id"] == cg.id and l["metric"] == "anon_rss", 45)
    assert suspected is not None, (
        f"node leaker not flagged in 45 s; leak lines: {leak_lines(m, cg)}")
    print(f"node leaker suspected after {time.monotonic() - started:.1f} s")
    watch_s = 3 * NODE_WINDOW_S
    time.sleep(watch_s)
    # it leaked all along: every window of the watch rose
    rss = [(l["ts"], l["anon_rss_bytes"]) for l in m.of_type("sample")
           if l["cgroup"]["id"] == cg.id]
    last = [b for _, b in rss[-watch_s:]]
    assert len(last) >= watch_s - 5, f"only {len(last)} samples while watched"
    assert min(last[-NODE_WINDOW_S:]) > max(last[:NODE_WINDOW_S]), "node stopped leaking"
    cleared = leak_lines(m, cg, "cleared")
    assert cleared == [], f"cleared while it leaked: {cleared}"
    # one suspected line per episode (the escalation's follow-up is not a new one)
    firsts = [l for l in leak_lines(m, cg, "suspected")
              if l["metric"] == "anon_rss" and "escalated_for_s" not in l]
    assert len(firsts) == 1, f"more than one episode: {firsts}"
    assert m.bad_lines == []
