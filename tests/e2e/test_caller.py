# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The caller of a call site (docs/output.md, "The caller of a call site") on a real program.

The workload (tests/workloads/nofp_xmalloc.c) leaks through its own xmalloc()
from parse_request_headers(), three calls below main, at a steady rate. It is
built twice: nofp_xmalloc without frame pointers, as most software is (only an
unwinder that reads CFI gets past xmalloc there), and xmalloc_fp with them
(a frame-pointer walk reaches main). The caller rule must name
parse_request_headers in both; with a frame-pointer walk alone, the nofp
variant fails: its stacks end at xmalloc.
"""
import json
import subprocess

import pytest

from conftest import MEMOBS, workload

MIB = 1 << 20
VARIANTS = ["xmalloc_fp", "nofp_xmalloc"]
LEAK_RATE = 2 * MIB


def func_of(frame):
    """The function of a frame string: the part before "+0x"."""
    return frame.split("+0x", 1)[0] if frame else None


def spawn_leaker(cgroups, variant):
    cg = cgroups.make(f"caller-{variant}")
    return cg, cg.spawn([workload(variant), "--rate", str(LEAK_RATE), "--size", "4096"])


def leaks(pid, *extra, duration=6, json_lines=True):
    """`memobs leaks --pid PID [--json]` to its end: (returncode, stdout, stderr)."""
    argv = [MEMOBS, "leaks", "--pid", str(pid), "--duration", str(duration),
            "--malloc-sample-bytes", "65536"] + (["--json"] if json_lines else []) + list(extra)
    p = subprocess.run(argv, capture_output=True, timeout=duration + 60)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def leak_sites(pid, *extra):
    rc, out, err = leaks(pid, *extra)
    assert rc == 0, err
    lines = [json.loads(l) for l in out.splitlines() if l.strip()]
    assert lines and lines[-1]["type"] == "leaks_summary", out
    return [l for l in lines if l["type"] == "leak_site"], lines[-1]


def assert_caller_field(site):
    assert "caller" in site, site
    assert site["caller"] is None or site["caller"] in site["stack"], site


@pytest.mark.parametrize("variant", VARIANTS)
def test_caller_is_the_function_that_called_the_wrapper(cgroups, variant):
    _, p = spawn_leaker(cgroups, variant)
    sites, summary = leak_sites(p.pid)
    assert sites, summary
    for s in sites:
        assert_caller_field(s)
    top = sites[0]
    # the leak is the top site by bytes; its stack is whole, the wrapper in it
    assert top["bytes"] > MIB, top
    assert any(func_of(f) == "xmalloc" for f in top["stack"]), top["stack"]
    assert func_of(top["caller"]) == "parse_request_headers", \
        f"{variant}: caller {top['caller']!r} of stack {top['stack']}"


def test_wrappers_replaced_make_xmalloc_the_caller(cgroups):
    _, p = spawn_leaker(cgroups, "xmalloc_fp")
    sites, summary = leak_sites(p.pid, "--wrappers", "=malloc")
    assert sites, summary
    top = sites[0]
    assert func_of(top["caller"]) == "xmalloc", top
    # the stack and the ranking do not depend on the rule
    assert any(func_of(f) == "parse_request_headers" for f in top["stack"]), top["stack"]


def test_wrappers_appended_skip_the_named_function(cgroups):
    _, p = spawn_leaker(cgroups, "xmalloc_fp")
    sites, _ = leak_sites(p.pid, "--wrappers", "parse_request_*")
    assert func_of(sites[0]["caller"]) == "handle_connection", sites[0]


def test_table_shows_the_caller_first_then_the_stack(cgroups):
    _, p = spawn_leaker(cgroups, "xmalloc_fp")
    rc, out, err = leaks(p.pid, json_lines=False)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines and "CALLER" in lines[0], out
    first = lines[1]
    assert "parse_request_headers+0x" in first, out
    # then the site's frames, indented under the caller, innermost first
    stack = []
    for line in lines[2:]:
        if not line.startswith(" " * 20):
            break
        stack.append(line.strip())
    assert stack and func_of(stack[0]) == "xmalloc", out
    assert any(func_of(f) == "parse_request_headers" for f in stack), out
    assert any(func_of(f) == "main" for f in stack), out


def test_mm_sites_carry_the_caller(cgroups):
    _, p = spawn_leaker(cgroups, "xmalloc_fp")
    rc, out, err = leaks(p.pid, "--trace-mm", duration=4)
    assert rc == 0, err
    mm = [json.loads(l) for l in out.splitlines() if '"mm_site"' in l]
    assert mm, out
    for s in mm:
        assert_caller_field(s)
    # never libc's (brk, page faults in memset) nor the wrapper's: null where nothing else
    # is on the stack (a frame-pointer walk often ends in libc)
    for s in mm:
        assert s["caller"] is None or (func_of(s["caller"]) != "xmalloc"
                                       and "(libc.so" not in s["caller"]), s


@pytest.mark.parametrize("value, why", [
    ("", "pattern 1 is empty"),
    ("a,,b", "pattern 2 is empty"),
    ("=", "pattern 1 is empty"),
    (",".join(["p*"] * 65), "65 patterns, at most 64"),
    ("f" * 257, "pattern 1 is longer than 256 bytes"),
], ids=["empty", "empty-second", "equals-only", "65-patterns", "257-bytes"])
@pytest.mark.parametrize("cmd", ["leaks", "run"])
def test_bad_wrappers_are_usage_errors(cmd, value, why):
    args = [MEMOBS, cmd] + (["--pid", "1"] if cmd == "leaks" else ["--duration", "1"])
    p = subprocess.run(args + ["--wrappers", value], capture_output=True, timeout=30)
    err = p.stderr.decode()
    assert p.returncode == 2, err
    assert err.count("\n") == 1 and err.startswith(f"memobs {cmd}: invalid value '"), err
    assert "for --wrappers: " + why in err, err
    assert p.stdout == b""


def is_escalated(cg):
    return lambda l: (l["type"] == "leak" and l["cgroup"]["id"] == cg.id
                      and l["state"] == "suspected" and l["sites"])


@pytest.mark.parametrize("wrappers, caller", [(None, "parse_request_headers"),
                                              ("=malloc", "xmalloc")])
def test_escalated_leak_line_sites_carry_the_caller(cgroups, memobs, wrappers, caller):
    cg, _ = spawn_leaker(cgroups, "xmalloc_fp")
    extra = ["--wrappers", wrappers] if wrappers else []
    m = memobs("run", "--window", "20", "--escalate-for", "6", "--malloc-sample-bytes", "65536",
               "--no-socket", *extra)
    line = m.wait_for(is_escalated(cg), 90)
    assert line is not None, m.stderr
    for s in line["sites"]:
        assert_caller_field(s)
    top = line["sites"][0]
    assert func_of(top["caller"]) == caller, top
