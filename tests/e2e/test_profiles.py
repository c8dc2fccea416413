# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""`memobs leaks --pprof/--folded/--svg` against a real leaker, read by real tools.

The leaker (tests/workloads/leak_here.c) leaks from leak_here(); memobs
traces it for 5 s and writes the three profiles. The pprof profile is read by
`go tool pprof` itself (golang-go, installed by `make deps`), the folded
stacks are summed and held to pprof's inuse_space total, the SVG is parsed
by xml.etree and rendered once by a headless chromium (installed by `make
deps`), whose screenshot is decoded here. The profile's mappings carry the
files' GNU build-ids (held to `readelf -n`), as do the `--json` sites; a C++
leaker (tests/workloads/names_cxx.cc) gets its functions' mangled names as
pprof's system_name.
"""
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
import zlib

import pytest

from conftest import MEMOBS, require_root, workload

LEAKER = workload("leak_here")
CXX_LEAKER = workload("names_cxx")
SAMPLE_BYTES = 512 << 10  # memobs's default --malloc-sample-bytes
SVG_NS = "{http://www.w3.org/2000/svg}"
FRAME_PX = 16.0


def spawn_leaker(path=LEAKER):
    p = subprocess.Popen([path, "--wait-signal", "--size", "256", "--rate", str(3 << 20),
                          "--seconds", "20"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert p.stdout.readline().strip() == b"ready"
    return p


def build_id(path):
    """The GNU build-id of an ELF file as `readelf -n` prints it (lowercase hex)."""
    r = subprocess.run(["readelf", "-n", path], capture_output=True, text=True, check=True)
    m = re.search(r"Build ID: ([0-9a-f]+)", r.stdout)
    assert m, f"no build-id note in {path}: {r.stdout}"
    return m.group(1)


def trace(leaker, tmp, *outputs):
    """`memobs leaks --json` of a leaker spawned with --wait-signal; its JSON lines."""
    p = subprocess.Popen([MEMOBS, "leaks", "--pid", str(leaker.pid), "--duration", "5",
                          "--top", "1", "--json"] + list(outputs),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(2)  # attached by then
    leaker.send_signal(signal.SIGUSR1)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err.decode(errors="replace")
    return [json.loads(l) for l in out.decode().splitlines() if l.strip()]


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
        lines = trace(leaker, tmp, "--pprof", paths["pprof"], "--folded", paths["folded"],
                      "--svg", paths["svg"])
        paths["lines"] = lines
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


def raw_mappings(raw):
    """{mapping id: (file, build-id or None)} of `go tool pprof -raw`'s Mappings section."""
    maps, lines = {}, raw.splitlines()
    if "Mappings" not in lines:
        return maps
    for l in lines[lines.index("Mappings") + 1:]:
        m = re.match(r"^(\d+): 0x[0-9a-f]+/0x[0-9a-f]+/0x[0-9a-f]+ (\S+)(?: ([0-9a-f]+))?", l)
        if m:
            maps[int(m.group(1))] = (m.group(2), m.group(3))
    return maps


def test_pprof_mappings_carry_build_ids(profiles):
    tmp, paths, _ = profiles
    raw = go_pprof(tmp, "-raw", paths["pprof"])
    maps = raw_mappings(raw)
    leaker = os.path.realpath(LEAKER)
    # named by the path the process maps, with the build-id the file's note holds
    assert (leaker, build_id(leaker)) in maps.values(), raw
    # the leak_here frame lies in that mapping
    m = re.search(r"^\s+\d+: 0x[0-9a-f]+ M=(\d+) leak_here leak_here\.c:\d+", raw, re.M)
    assert m and maps[int(m.group(1))] == (leaker, build_id(leaker)), raw


def test_json_sites_carry_build_ids(profiles):
    _, paths, _ = profiles
    sites = [l for l in paths["lines"] if l["type"] == "leak_site"]
    assert sites, paths["lines"]
    for site in sites:
        modules = {re.search(r" \(([^()]+)\)(?: [^ ]+:\d+)?$", f).group(1)
                   for f in site["stack"] if f.endswith(")") or re.search(r":\d+$", f)}
        # only modules of the stack, each with a lowercase-hex build-id
        assert set(site["build_ids"]) <= modules, site
        assert all(re.fullmatch(r"[0-9a-f]{2,128}", v) for v in site["build_ids"].values()), site
    assert sites[0]["build_ids"].get("leak_here") == build_id(os.path.realpath(LEAKER)), sites[0]


def test_cxx_functions_keep_their_mangled_names():
    """pprof's Function.system_name is the symbol as the file names it: mangled C++."""
    require_root()
    tmp = tempfile.mkdtemp(prefix="memobs-profiles-cxx-")
    pb = os.path.join(tmp, "cxx.pb.gz")
    try:
        leaker = spawn_leaker(CXX_LEAKER)
        try:
            lines = trace(leaker, tmp, "--pprof", pb)
        finally:
            if leaker.poll() is None:
                leaker.kill()
            leaker.wait()
        raw = go_pprof(tmp, "-raw", pb)
        # -raw prints a Location's function as "name file:line s=START(system_name)"
        # when system_name differs from name
        m = re.search(r"^\s+\d+: 0x[0-9a-f]+ M=\d+ cache::Store::insert\(.*s=\d+\((_Z\S+)\)$",
                      raw, re.M)
        assert m, raw
        assert m.group(1).startswith("_ZN5cache5Store6insert"), m.group(1)
        nm = subprocess.run(["nm", os.path.realpath(CXX_LEAKER)], capture_output=True,
                            text=True, check=True).stdout
        assert re.search(r" [Tt] " + re.escape(m.group(1)) + "$", nm, re.M), m.group(1)
        # a C function's system_name is its name: nothing printed after s=START
        assert re.search(r"^\s+\d+: 0x[0-9a-f]+ M=\d+ main names_cxx\.cc:\d+ s=\d+$", raw,
                         re.M), raw
        cxx = os.path.realpath(CXX_LEAKER)
        assert (cxx, build_id(cxx)) in raw_mappings(raw).values(), raw
        sites = [l for l in lines if l["type"] == "leak_site"]
        assert any(s["build_ids"].get("names_cxx") == build_id(cxx) for s in sites), sites
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def png_pixels(path):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB or RGBA PNG."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xff
            elif kind == 2:
                line[i] = (line[i] + b) & 0xff
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xff
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xff
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
        prev = line
    return width, height, rows


def test_svg_renders_in_headless_chromium(profiles):
    """The SVG drawn by a browser engine: a non-empty, many-coloured 1200x800 picture."""
    tmp, paths, _ = profiles
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("'chromium' not found: the SVG is not rendered (run 'make deps': chromium)")
    png = os.path.join(tmp, "leaks.png")
    # as root chromium needs --no-sandbox; its own profile directory, removed with tmp
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           f"--user-data-dir={os.path.join(tmp, 'chromium')}", f"--screenshot={png}",
           "--window-size=1200,800", "file://" + os.path.abspath(paths["svg"])]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    assert p.returncode == 0 and os.path.getsize(png) > 1000, out.decode(errors="replace")
    width, height, rows = png_pixels(png)
    assert (width, height) == (1200, 800)
    colours = {px for row in rows[:200] for px in row[::4]}
    assert len(colours) > 8, colours
    # the user-code (orange) and libc (blue) boxes are there, not only the background
    assert any(r > 180 and g < 170 and b < 100 for r, g, b in colours), colours
    assert any(b > 150 and r < 120 for r, g, b in colours), colours
