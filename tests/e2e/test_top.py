# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""`memobs top`: the live view in a real terminal (tmux), fed by `memobs run`
through its socket; `--once` tables and JSON lines parsed; the fallback to
in-process collection; and a socket that bad clients cannot stall."""
import json
import os
import socket
import stat
import subprocess
import time

import pytest

from conftest import MEMOBS, proc_status, workload

MIB = 1 << 20
WINDOW_S = 10


def wait_until(predicate, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


class Tmux:
    """One tmux server of our own, one pane running a command."""

    def __init__(self, command, width=80, height=24):
        self.server = f"memobs-top-{os.getpid()}-{time.monotonic_ns()}"
        env = dict(os.environ, LANG="C.UTF-8")
        self._tmux("new-session", "-d", "-s", "top", "-x", str(width), "-y", str(height),
                   command, env=env)

    def _tmux(self, *args, env=None):
        return subprocess.run(["tmux", "-L", self.server, "-f", "/dev/null"] + list(args),
                              capture_output=True, text=True, check=True, env=env).stdout

    def screen(self, escapes=False):
        args = ["capture-pane", "-p", "-t", "top"] + (["-e"] if escapes else [])
        return self._tmux(*args).split("\n")

    def keys(self, *keys, literal=False):
        self._tmux("send-keys", "-t", "top", *(["-l"] if literal else []), *keys)

    def resize(self, width, height):
        self._tmux("resize-window", "-t", "top", "-x", str(width), "-y", str(height))

    def pane_pid(self):
        return int(self._tmux("display", "-p", "-t", "top", "#{pane_pid}").strip())

    def alternate_on(self):
        return self._tmux("display", "-p", "-t", "top", "#{alternate_on}").strip() == "1"

    def wait_screen(self, predicate, timeout, what):
        """The screen (list of lines) once predicate holds; fails showing the last one."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.screen()
            if predicate(lines):
                return lines
            if time.monotonic() >= deadline:
                pytest.fail(f"{what}: not seen in {timeout} s; screen:\n" + "\n".join(lines))
            time.sleep(0.25)

    def kill(self):
        subprocess.run(["tmux", "-L", self.server, "kill-server"], capture_output=True)


@pytest.fixture
def tmux():
    started = []

    def start(command, width=80, height=24):
        t = Tmux(command, width, height)
        started.append(t)
        return t

    yield start
    for t in started:
        t.kill()


def rows_of(lines):
    """The table rows of the live view: the lines under the column titles."""
    for i, line in enumerate(lines):
        if "NAME" in line and "PROCS" in line:
            return [l for l in lines[i + 1:] if l.strip() and not l.startswith("q quit")]
    return []


def daemon_socket(tmp_path, memobs, *extra):
    sock = str(tmp_path / "run" / "memobs.sock")
    m = memobs("run", "--interval", "1", "--window", str(WINDOW_S), "--socket", sock, *extra)
    m.wait_started()
    assert wait_until(lambda: os.path.exists(sock), 10), f"no socket at {sock}: {m.stderr}"
    return m, sock


def test_socket_is_owner_only(tmp_path, memobs):
    m, sock = daemon_socket(tmp_path, memobs)
    st = os.stat(sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.geteuid()
    assert stat.S_IMODE(os.stat(os.path.dirname(sock)).st_mode) == 0o700
    m.stop()
    assert not os.path.exists(sock), "the daemon left its socket behind"


def test_live_view_in_tmux(tmp_path, cgroups, memobs, tmux):
    leaker = cgroups.make("leaker")
    leaker.spawn([workload("memhog"), "--base", "16", "anon-leak", "2048"])
    steady = cgroups.make("steady")
    steady_procs = [steady.spawn([workload("memhog"), "--base", "200", "steady"]) for _ in "ab"]
    _, sock = daemon_socket(tmp_path, memobs)

    t = tmux(f"{MEMOBS} top -d 1 --socket {sock}; echo TOP-EXITED rc=$?; stty -a; sleep 120")
    t.wait_screen(lambda l: "source daemon" in l[1], 15, "the header")

    # sorted by growth (the default): the leaker first, marked once the window is full
    def leaker_first_and_marked(lines):
        rows = rows_of(lines)
        return rows and "leaker" in rows[0] and rows[0].startswith("!") and "LEAK" in rows[0]

    lines = t.wait_screen(leaker_first_and_marked, WINDOW_S + 40, "the leaker first, marked")
    assert "+" in rows_of(lines)[0] and "/s" in rows_of(lines)[0]
    assert not any(r.startswith("!") for r in rows_of(lines) if "steady" in r)
    # the marker comes with colour where the terminal has it
    coloured = [l for l in t.screen(escapes=True) if "leaker" in l]
    assert coloured and ("31m" in coloured[0] or ";31" in coloured[0]), coloured

    # filter: only what matches stays
    t.keys("/")
    t.keys("steady", literal=True)
    t.keys("Enter")
    lines = t.wait_screen(lambda l: "filter: steady" in "\n".join(l), 5, "the filter")
    rows = rows_of(lines)
    assert len(rows) == 1 and "steady" in rows[0], rows

    # expand: the cgroup's processes appear under it, then go again
    t.keys("Enter")
    pids = [str(p.pid) for p in steady_procs]
    lines = t.wait_screen(lambda l: all(any(p in r for r in rows_of(l)) for p in pids), 5,
                          "the processes of the expanded cgroup")
    assert len(rows_of(lines)) == 3 and "memhog" in rows_of(lines)[1]
    t.keys("Enter")
    t.wait_screen(lambda l: len(rows_of(l)) == 1, 5, "the cgroup collapsed")

    # clear the filter; sort by anon RSS: the 400 MiB cgroup passes the leaker
    t.keys("/")
    t.keys(*["BSpace"] * len("steady"))
    t.keys("Enter")
    t.keys("/")
    t.keys(f"memobs-test-{os.getpid()}-", literal=True)
    t.keys("Enter")
    t.wait_screen(lambda l: len(rows_of(l)) == 2, 5, "both test cgroups")
    t.keys("M")
    lines = t.wait_screen(lambda l: "sort anon" in "\n".join(l) and "steady" in rows_of(l)[0],
                          5, "sorted by anon")
    assert "leaker" in rows_of(lines)[1]
    t.keys("R")
    t.wait_screen(lambda l: "reversed" in "\n".join(l) and "leaker" in rows_of(l)[0], 5,
                  "reversed")
    t.keys("G")
    t.wait_screen(lambda l: "sort growth" in "\n".join(l) and "leaker" in rows_of(l)[0], 5,
                  "sorted by growth again")

    # pause: the figures hold still while the leaker keeps growing
    t.keys("p")
    t.wait_screen(lambda l: "[PAUSED]" in l[2], 5, "the pause")
    frozen = rows_of(t.screen())[0]
    time.sleep(2.5)
    assert rows_of(t.screen())[0] == frozen
    t.keys("p")
    t.wait_screen(lambda l: "[PAUSED]" not in l[2] and rows_of(l)[0] != frozen, 5, "resumed")

    # help and back
    t.keys("?")
    t.wait_screen(lambda l: "memobs top: keys" in "\n".join(l), 5, "the help")
    t.keys("x")
    t.wait_screen(lambda l: "memobs top: keys" not in "\n".join(l), 5, "the help closed")

    # resize: the view redraws to the new size, with the columns that now fit
    t.resize(130, 30)
    lines = t.wait_screen(lambda l: len(l) >= 30 and "MMAP_VM" in "\n".join(l), 5, "wider view")
    assert max(len(l) for l in lines) > 80
    t.resize(80, 24)
    lines = t.wait_screen(lambda l: "MMAP_VM" not in "\n".join(l) and rows_of(l) and
                          "leaker" in rows_of(l)[0], 5, "80x24 view")
    assert len(lines) <= 25 and max(len(l) for l in lines) <= 80

    # quit: the terminal is as it was
    assert t.alternate_on()
    t.keys("q")
    lines = t.wait_screen(lambda l: "TOP-EXITED" in "\n".join(l) and "icanon" in "\n".join(l),
                          5, "the exit and stty's report")
    text = "\n".join(lines)
    assert "TOP-EXITED rc=0" in text
    assert not t.alternate_on()
    assert " icanon" in text and " echo " in text and "-icanon" not in text


def test_sigterm_restores_terminal(tmp_path, memobs, tmux):
    _, sock = daemon_socket(tmp_path, memobs)
    t = tmux(f"{MEMOBS} top -d 1 --socket {sock}; echo TOP-EXITED rc=$?; stty -a; sleep 60")
    t.wait_screen(lambda l: "NAME" in "\n".join(l), 15, "the view")
    assert t.alternate_on()
    # top is the only child of the pane's shell
    shell = t.pane_pid()
    top = subprocess.run(["pgrep", "-P", str(shell)], capture_output=True, text=True)
    os.kill(int(top.stdout.split()[0]), 15)
    lines = t.wait_screen(lambda l: "TOP-EXITED" in "\n".join(l) and "icanon" in "\n".join(l),
                          5, "the exit and stty's report")
    text = "\n".join(lines)
    assert "TOP-EXITED rc=0" in text
    assert not t.alternate_on()
    assert "-icanon" not in text and " icanon" in text


def parse_table(text):
    """--once output: a list of dicts keyed by column title, plus 'marker'."""
    lines = [l for l in text.split("\n") if l.strip()]
    header = lines[0]
    titles = header.split()
    assert titles[0] == "NAME", header
    spans, end = [], None
    for title in titles[1:]:
        start = header.index(title, end or 0)
        stop = start + len(title)
        if title == "TREND":
            stop = start + 8  # left-aligned in its 8 columns
        spans.append((title, start if title == "TREND" else (end or start), stop))
        end = stop
    name_end = spans[0][1] - (1 if spans[0][0] == "PROCS" else 0)
    rows = []
    for line in lines[1:]:
        row = {"marker": line[0], "NAME": line[2:name_end].strip()}
        for title, start, stop in spans:
            row[title] = line[start:stop].strip()
        rows.append(row)
    return rows


def size_bytes(text):
    units = {"B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if text == "0":
        return 0
    return float(text[:-1]) * units[text[-1]]


def test_once_table_and_json(tmp_path, cgroups, memobs):
    steady = cgroups.make("steady")
    p = steady.spawn([workload("memhog"), "--base", "64", "steady"])
    _, sock = daemon_socket(tmp_path, memobs)
    # the daemon's first pass after the cgroup exists
    time.sleep(2)

    out = subprocess.run([MEMOBS, "top", "--once", "--socket", sock], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    rows = parse_table(out.stdout)
    mine = [r for r in rows if r["NAME"] == steady.rel]
    assert len(mine) == 1, out.stdout
    truth = proc_status(p.pid)["RssAnon"]
    assert abs(size_bytes(mine[0]["ANON"]) - truth) <= 0.05 * truth + MIB, (mine, truth)
    assert mine[0]["PROCS"] == "1"
    assert mine[0]["marker"] == " "

    out = subprocess.run([MEMOBS, "top", "--once", "--json", "-s", "anon", "--socket", sock],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(l) for l in out.stdout.splitlines()]
    assert lines and all(l["type"] == "sample" for l in lines)
    anon = [l["anon_rss_bytes"] for l in lines]
    assert anon == sorted(anon, reverse=True), "not in --sort order"
    mine = [l for l in lines if l["cgroup"]["id"] == steady.id]
    assert len(mine) == 1
    assert mine[0]["cgroup"]["path"] == steady.rel
    assert mine[0]["nr_procs"] == 1
    assert abs(mine[0]["anon_rss_bytes"] - truth) <= 0.05 * truth + MIB
    assert mine[0]["leak_state"] == "none"

    # -r bounds the rows
    out = subprocess.run([MEMOBS, "top", "--once", "--json", "-r", "1", "--socket", sock],
                         capture_output=True, text=True, timeout=30)
    assert len(out.stdout.splitlines()) == 1


def test_first_frame_between_far_apart_passes(tmp_path, cgroups, memobs):
    """A daemon with no client encodes no frames; a top that connects
    between two passes 30 s apart still gets the last pass's at once (within
    the daemon's one-second wait slices), not at the next pass."""
    steady = cgroups.make("steady")
    steady.spawn([workload("memhog"), "--base", "16", "steady"])
    time.sleep(0.5)
    sock = str(tmp_path / "run" / "memobs.sock")
    m = memobs("run", "--interval", "30", "--window", "300", "--socket", sock)
    m.wait_started()
    assert wait_until(lambda: os.path.exists(sock), 10), f"no socket at {sock}: {m.stderr}"
    time.sleep(2)  # the seeding pass is done; the next is ~28 s away
    start = time.monotonic()
    out = subprocess.run([MEMOBS, "top", "--once", "--json", "--socket", sock],
                         capture_output=True, text=True, timeout=60)
    took = time.monotonic() - start
    assert out.returncode == 0, out.stderr
    assert took < 5, f"the first frame took {took:.1f} s"
    lines = [json.loads(l) for l in out.stdout.splitlines()]
    assert [l for l in lines if l["cgroup"]["id"] == steady.id], out.stdout
    assert m.stop() == 0


def test_no_daemon_falls_back_in_process(tmp_path, cgroups):
    steady = cgroups.make("steady")
    steady.spawn([workload("memhog"), "--base", "32", "steady"])
    missing = str(tmp_path / "nobody-here.sock")
    out = subprocess.run([MEMOBS, "top", "--once", "--json", "-d", "1", "--socket", missing],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "in-process" in out.stderr
    ids = [json.loads(l)["cgroup"]["id"] for l in out.stdout.splitlines()]
    assert steady.id in ids

    # a socket file nobody listens on (a daemon that died) is no daemon either
    stale = str(tmp_path / "stale.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(stale)
    s.close()
    out = subprocess.run([MEMOBS, "top", "--once", "-d", "1", "--socket", stale],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert steady.rel in out.stdout


def fake_daemon(path, behaviour):
    """A listening socket that answers like something that is not memobs."""
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(4)
    import threading

    def serve():
        conn, _ = srv.accept()
        if behaviour == "garbage":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" * 10)
        time.sleep(30)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv


def test_client_against_bad_servers(tmp_path):
    garbage = str(tmp_path / "garbage.sock")
    g = fake_daemon(garbage, "garbage")
    t0 = time.monotonic()
    out = subprocess.run([MEMOBS, "top", "--once", "--socket", garbage], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 1
    assert "garbage" in out.stderr and garbage in out.stderr, out.stderr
    assert time.monotonic() - t0 < 5
    g.close()

    silent = str(tmp_path / "silent.sock")
    s = fake_daemon(silent, "silent")
    out = subprocess.run([MEMOBS, "top", "--once", "--socket", silent], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 1
    assert "no snapshot" in out.stderr, out.stderr
    s.close()


def test_bad_clients_do_not_stall_the_daemon(tmp_path, memobs):
    m, sock = daemon_socket(tmp_path, memobs, "--snapshots")
    never_reads = socket.socket(socket.AF_UNIX)
    never_reads.connect(sock)
    talker = socket.socket(socket.AF_UNIX)
    talker.connect(sock)
    talker.sendall(b"GET /metrics HTTP/1.0\r\n\r\n" + os.urandom(4096))
    started = time.time()

    # the daemon goes on sampling and serving, to two clients at once
    time.sleep(5)
    late = m.wait_for(lambda l: l.get("type") == "sample" and
                      l["ts"] > time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(started + 4)), 10)
    assert late is not None, "the daemon stopped sampling"
    tops = [subprocess.Popen([MEMOBS, "top", "--once", "--json", "--socket", sock],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    for p in tops:
        out, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
        assert [json.loads(l) for l in out.splitlines()]
    assert m.proc.poll() is None
    never_reads.close()
    talker.close()


def test_usage_errors():
    for args, bad in ((["-d", "0"], "'0'"), (["-s", "speed"], "'speed'"),
                      (["-n", "many"], "'many'"), (["-r", "-3"], "'-3'")):
        out = subprocess.run([MEMOBS, "top"] + args, capture_output=True, text=True,
                             timeout=10)
        assert out.returncode == 2, (args, out.stderr)
        assert bad in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
