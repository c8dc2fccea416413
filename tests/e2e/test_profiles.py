# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""`memobs leaks --pprof/--folded/--svg` against a real leaker, read by real tools.

The leaker (tests/workloads/leak_here.c) leaks from leak_here(); memobs
traces it for 5 s and writes the three profiles. The pprof profile is read by
`go tool pprof` itself (golang-go, installed by `make deps`), the folded
stacks are summed and held to pprof's inuse_space total, the SVG is parsed
by xml.etree.
"""
import gzip
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import MEMOBS, require_root, workload

LEAKER = workload("leak_here")
SAMPLE_BYTES = 512 << 10  # memobs's default --malloc-sample-bytes
SVG_NS = "{http://www.w3.org/2000/svg}"
FRAME_PX = 16.0


def spawn_leaker():
    p = subprocess.Popen([LEAKER, "--wait-signal", "--size", "256", "--rate", str(3 << 20),
                          "--seconds", "20"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert p.stdout.readline().strip() == b"ready"
    return p


def go_pprof(tmp, *args):
    go = shutil.which("go")
    if go is None:
        pytest.fail("'go' not found: `go tool pprof` reads the profile (run 'make deps': golang-go)")
    env = dict(os.environ, HOME=tmp, GOCACHE=os.path.join(tmp, "gocache"),
               PPROF_TMPDIR=tmp, GOFLAGS="")
    r = subprocess.run([go, "tool", "pprof"] + list(args), capture_output=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r.stdout.decode()


@pytest.fixture(scope="module")
def profiles():
    """Runs the leaker and `memobs leaks --pprof f --folded g --svg h` once."""
    require_root()
    tmp = tempfile.mkdtemp(prefix="memobs-profiles-")
    paths = {k: os.path.join(tmp, n) for k, n in
             (("pprof", "leaks.pb.gz"), ("folded", "leaks.folded"), ("svg", "leaks.svg"))}
    leaker = spawn_leaker()
    try:
        p = subprocess.Popen([MEMOBS, "leaks", "--pid", str(leaker.pid), "--duration", "5",
                              "--top", "1", "--pprof", paths["pprof"],
                              "--folded", paths["folded"], "--svg", paths["svg"]],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(2)  # attached by then
        leaker.send_signal(signal.SIGUSR1)
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode(errors="replace")
        yield tmp, paths, leaker.pid
    finally:
        if leaker.poll() is None:
            leaker.kill()
        leaker.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def raw_samples(raw):
    """(sample type header, [(values, location ids)]) of `go tool pprof -raw`."""
    header, samples = None, []
    lines = raw.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Samples:"):
            header = lines[i + 1].split()
            for l in lines[i + 2:]:
                m = re.match(r"^\s+(\d+(?:\s+\d+)*): ([\d ]+)$", l)
                if m:
                    samples.append(([int(v) for v in m.group(1).split()], m.group(2).split()))
                elif not l.startswith(" "):
                    break
    return header, samples


def test_pprof_reads_with_go_tool_pprof(profiles):
    tmp, paths, pid = profiles
    with open(paths["pprof"], "rb") as f:
        assert f.read(2) == b"\x1f\x8b", "not gzipped"
    raw = go_pprof(tmp, "-raw", paths["pprof"])
    assert "PeriodType: space bytes" in raw, raw
    assert f"Period: {SAMPLE_BYTES}" in raw, raw
    header, samples = raw_samples(raw)
    assert header == ["alloc_objects/count", "alloc_space/bytes", "inuse_objects/count",
                      "inuse_space/bytes[dflt]"], raw
    assert samples, raw
    assert f"pid:[{pid}]" in raw and "comm:[leak_here]" in raw, raw
    assert re.search(r"^\s+\d+: 0x[0-9a-f]+ M=\d+ leak_here leak_here\.c:\d+", raw, re.M), raw

    top = go_pprof(tmp, "-top", "-sample_index=inuse_space", paths["pprof"])
    assert "Type: inuse_space" in top, top
    rows = top.split("flat%")[1].splitlines()[1:]
    assert rows and rows[0].split()[-1] == "leak_here", top


def test_folded_sums_to_pprof_inuse_space(profiles):
    tmp, paths, _ = profiles
    _, samples = raw_samples(go_pprof(tmp, "-raw", paths["pprof"]))
    inuse_space = sum(v[3] for v, _ in samples)
    with open(paths["folded"]) as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    assert lines
    stacks = []
    for l in lines:
        stack, n = l.rsplit(" ", 1)
        stacks.append((stack.split(";"), int(n)))
    total = sum(n for _, n in stacks)
    assert abs(total - inuse_space) <= len(lines), (total, inuse_space)
    # root first: the biggest stack ends (leaf) in leak_here, main below it
    frames, _ = max(stacks, key=lambda s: s[1])
    assert frames[-1] == "leak_here", frames
    assert "main" in frames[:-1], frames
    # more than --top 1 sites may be written: every site counts
    assert total >= max(n for _, n in stacks)


def svg_frames(path):
    """[(title, bytes, x, y, width)] of the flame graph's frames."""
    root = ET.parse(path).getroot()
    assert root.tag == SVG_NS + "svg"
    frames = []
    for g in root.iter(SVG_NS + "g"):
        title, rect = g.find(SVG_NS + "title"), g.find(SVG_NS + "rect")
        assert title is not None and rect is not None
        m = re.match(r"^(.*) (\d+) bytes \(([\d.]+)%\)$", title.text)
        assert m, title.text
        frames.append((m.group(1), int(m.group(2)), float(rect.get("x")),
                       float(rect.get("y")), float(rect.get("width"))))
    return frames


def test_svg_parses_and_leak_here_is_widest_leaf(profiles):
    _, paths, _ = profiles
    frames = svg_frames(paths["svg"])
    roots = [f for f in frames if f[0] == "all"]
    assert len(roots) == 1
    root = roots[0]
    with open(paths["folded"]) as f:
        folded_total = sum(int(l.rsplit(" ", 1)[1]) for l in f if l.strip())
    assert root[1] == folded_total
    # the root at the bottom: every other frame above it
    assert all(f[3] < root[3] for f in frames if f is not root)

    def is_leaf(f):
        return not any(abs(o[3] - (f[3] - FRAME_PX)) < 0.5 and o[2] >= f[2] - 0.05
                       and o[2] + o[4] <= f[2] + f[4] + 0.05 for o in frames)

    # the widest frame with nothing above it (where the bytes were allocated)
    leaf = max((f for f in frames if f is not root and is_leaf(f)), key=lambda f: f[4])
    assert "leak_here" in leaf[0], leaf
    assert leaf[1] >= 0.5 * root[1], (leaf, root)
    assert abs(leaf[4] / root[4] - leaf[1] / root[1]) < 0.01, "widths proportional to bytes"
