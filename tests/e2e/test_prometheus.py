# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The fleet's view: memobs's alert rules and Grafana dashboard (deploy/), checked
with promtool and against the metrics docs, then a real Prometheus (Debian's)
scraping `memobs run --metrics` every second while a leaker grows in a cgroup
under a memory limit: the new series are there with the cgroup's own figures,
every dashboard query returns series, and the leak and time-to-limit alerts go
active (the shipped rules) and fire (the same rules without their `for`)."""
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

from conftest import ROOT, proc_status, workload

DEPLOY = os.path.join(ROOT, "deploy")
RULES = os.path.join(DEPLOY, "prometheus", "memobs-rules.yml")
RULES_TEST = os.path.join(DEPLOY, "prometheus", "memobs-rules.test.yml")
PROMETHEUS_RULE = os.path.join(DEPLOY, "kubernetes", "monitoring", "prometheusrule.yaml")
DASHBOARD = os.path.join(DEPLOY, "grafana", "memobs-dashboard.json")
YAMLLINT_CONFIG = os.path.join(DEPLOY, "kubernetes", ".yamllint")
METRICS_DOC = os.path.join(ROOT, "docs", "kubernetes.md")

MIB = 1 << 20
WINDOW_S = 30
ESCALATE_FOR_S = 20
RATE_KIB = 1024  # 1 MiB/s
LIMIT = 256 * MIB
NODE = "e2e-node"


def require_tool(name):
    """make deps installs Debian's prometheus (promtool with it): missing is a failure."""
    if shutil.which(name) is None:
        pytest.fail(f"{name} is not installed (Debian: prometheus; scripts/deps.sh installs it)")


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def rule_groups():
    return load_yaml(RULES)["groups"]


def alerting_rules():
    return [r for g in rule_groups() for r in g["rules"] if "alert" in r]


def documented_series():
    """The metric names of the tables docs/kubernetes.md marks `<!-- metrics: ... -->`
    (tests/unit/test_metrics.c checks that they are exactly what memobs renders)."""
    names, armed = set(), False
    with open(METRICS_DOC) as f:
        for line in f:
            if line.startswith("<!--"):
                armed = line.startswith("<!-- metrics")
            elif armed and line.startswith("| `"):
                names.add(line[3:line.index("`", 3)])
            elif armed and not line.startswith("|"):
                armed = False
    assert len(names) > 10, names
    return names


PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
                "or", "unless", "offset", "inf", "nan"}


def series_in(expr):
    """The metric names a PromQL expression selects: what is left once strings, label
    matchers, ranges, grouping clauses, functions and keywords are taken out."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        before = e[m.start() - 1] if m.start() else " "
        if before.isdigit() or before in ".$":  # 1e3, $var
            continue
        if e[m.end():].lstrip().startswith("(") or m.group(0).lower() in PROMQL_WORDS:
            continue
        names.add(m.group(0))
    return names


def variable_series(query):
    """The series a Grafana variable's label_values(SELECTOR, LABEL) query reads."""
    m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", query)
    assert m, f"not a label_values() query: {query}"
    return series_in(m.group(1)), m.group(2)


def dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def dashboard_panels(d):
    for p in d["panels"]:
        yield p
        yield from p.get("panels", [])


def dashboard_exprs(d):
    return [t["expr"] for p in dashboard_panels(d) for t in p.get("targets", [])]


# ---- the files of deploy/ ---------------------------------------------------


def test_rules_file_and_prometheusrule_agree():
    """One set of rules in two wrappers: the Operator's PrometheusRule holds the groups
    of the plain rules file, exactly."""
    rule = load_yaml(PROMETHEUS_RULE)
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"]["groups"] == rule_groups()


def test_rules_yamllint():
    require_tool("yamllint")
    r = subprocess.run(["yamllint", "-s", "-c", YAMLLINT_CONFIG,
                        os.path.join(DEPLOY, "prometheus")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_promtool_check_rules():
    require_tool("promtool")
    r = subprocess.run(["promtool", "check", "rules", RULES], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"SUCCESS: {sum(len(g['rules']) for g in rule_groups())} rules found" in r.stdout


def test_promtool_test_rules():
    require_tool("promtool")
    r = subprocess.run(["promtool", "test", "rules", os.path.basename(RULES_TEST)],
                       cwd=os.path.dirname(RULES_TEST), capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    # every alert is seen firing in the unit tests, and seen not firing before that
    tests = load_yaml(RULES_TEST)["tests"]
    cases = [c for t in tests for c in t["alert_rule_test"]]
    for rule in alerting_rules():
        mine = [c for c in cases if c["alertname"] == rule["alert"]]
        assert any(c["exp_alerts"] for c in mine), f"{rule['alert']} never tested firing"
        assert any(not c["exp_alerts"] for c in mine), f"{rule['alert']} never tested quiet"


def test_rules_use_only_exported_series():
    exported = documented_series()
    for rule in rule_groups()[0]["rules"]:
        used = series_in(rule["expr"])
        assert used, rule["expr"]
        assert used <= exported, f"{rule.get('alert')}: {used - exported} not exported"


def test_dashboard_json():
    d = dashboard()
    exported = documented_series()
    assert d["uid"] == "memobs" and d["title"]
    panels = list(dashboard_panels(d))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for p in panels:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24, p["title"]
        if p["type"] == "row":
            continue
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
        assert p["targets"], p["title"]
        for t in p["targets"]:
            assert t["datasource"]["uid"] == "${datasource}", p["title"]
            used = series_in(t["expr"])
            assert used, f"{p['title']}: {t['expr']}"
            assert used <= exported, f"{p['title']}: {used - exported} not exported by memobs"
            # a variable the dashboard does not define would reach Prometheus as "$x"
            for var in re.findall(r"\$\{?(\w+)", t["expr"]):
                assert var in variables or var.startswith("__"), f"{p['title']}: ${var}"
    for v in variables.values():
        if v["type"] == "query":
            used, _ = variable_series(v["query"]["query"])
            assert used and used <= exported, v["name"]
    # what the dashboard is for: each of these is on it
    used = set().union(*(series_in(e) for e in dashboard_exprs(d)))
    for name in ("memobs_cgroup_anon_rss_bytes", "memobs_cgroup_memory_limit_bytes",
                 "memobs_cgroup_time_to_limit_seconds",
                 "memobs_cgroup_anon_rss_growth_bytes_per_second",
                 "memobs_cgroup_leak_suspected", "memobs_cgroup_malloc_outstanding_bytes",
                 "memobs_cgroup_file_rss_bytes", "memobs_cgroup_shmem_rss_bytes",
                 "memobs_cgroup_swap_bytes", "memobs_ringbuf_drops_total",
                 "memobs_attach_failures_total", "process_cpu_seconds_total"):
        assert name in used, f"the dashboard shows no {name}"


def test_series_in():
    """The extractor the two tests above trust."""
    assert series_in('sum by (node, pod) (rate(a_total{job=~"$job",x="b{c}"}[$__rate_interval]))'
                     ' / on (pod) group_left (node) b_bytes > 1e3') == {"a_total", "b_bytes"}
    assert series_in("time() - memobs_last_pass_timestamp_seconds") == {
        "memobs_last_pass_timestamp_seconds"}
    assert variable_series('label_values(memobs_build_info{job=~"$job"}, node)') == (
        {"memobs_build_info"}, "node")


# ---- a real Prometheus --------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


class Prometheus:
    """Debian's prometheus on loopback, its storage, config and log in a temporary dir."""

    def __init__(self, base, scrape_port, rule_files):
        self.base = base
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                       "evaluation_interval": "1s"},
            "rule_files": rule_files,
            # as the ServiceMonitor: memobs's labels win, the node is the target's
            "scrape_configs": [{"job_name": "memobs", "honor_labels": True,
                                "static_configs": [{"targets": [f"127.0.0.1:{scrape_port}"],
                                                    "labels": {"node": NODE}}]}],
        }
        self.config = os.path.join(base, "prometheus.yml")
        with open(self.config, "w") as f:
            yaml.safe_dump(config, f)
        self.log_path = os.path.join(base, "prometheus.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={self.config}",
             f"--storage.tsdb.path={os.path.join(base, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def log_tail(self):
        with open(self.log_path) as f:
            return "".join(f.readlines()[-20:])

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"prometheus exited: {self.log_tail()}"
            try:
                http_get(self.url + "/-/ready", timeout=1)
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        raise AssertionError(f"prometheus not ready in {timeout} s: {self.log_tail()}")

    def api(self, path, **params):
        body = json.loads(http_get(f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"))
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr, at=None):
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self.api("query", **params)
        assert data["resultType"] == "vector", data
        return data["result"]

    def value(self, expr, at=None):
        """The one series' value, or None when there is none."""
        result = self.query(expr, at)
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


@pytest.fixture
def prometheus():
    """prometheus(scrape_port, rule_files) -> a ready Prometheus; killed and removed after."""
    require_tool("prometheus")
    base = tempfile.mkdtemp(prefix="memobs-prometheus-")
    started = []

    def start(scrape_port, rule_files):
        p = Prometheus(base, scrape_port, rule_files)
        started.append(p)
        p.wait_ready()
        return p

    try:
        yield start, base
    finally:
        for p in started:
            p.stop()
        shutil.rmtree(base, ignore_errors=True)


def immediate_rules(base):
    """The shipped rules without their `for`, in a group of their own: they fire at the
    first evaluation that matches, which a test of a minute can see."""
    groups = rule_groups()
    for g in groups:
        g["name"] += ".now"
        for r in g["rules"]:
            r.pop("for", None)
    path = os.path.join(base, "memobs-rules-now.yml")
    with open(path, "w") as f:
        yaml.safe_dump({"groups": groups}, f)
    return path


def exported_families(text):
    return {l.split()[2] for l in text.splitlines() if l.startswith("# TYPE ")}


def usage_bytes(cg):
    """What the memory controller charges the cgroup now (v2 or v1)."""
    path = (os.path.join(cg.path, "memory.current") if cg.v1_path is None
            else os.path.join(cg.v1_path, "memory.usage_in_bytes"))
    with open(path) as f:
        return int(f.read())


def substitute_variables(expr, variables):
    """A query as Grafana sends it with every variable at "All" (its allValue)."""
    expr = expr.replace("$__rate_interval", "4s")  # Grafana: 4 scrape intervals at least
    for name, v in variables.items():
        if v["type"] == "query":
            expr = re.sub(r"\$\{?" + name + r"\b\}?", v["allValue"], expr)
    assert "$" not in expr, expr
    return expr


def wait_until(what, predicate, timeout, context):
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout:.0f} s: {context()}")
        time.sleep(0.5)


def rule_alerts(prom, group, alertname):
    for g in prom.api("rules", type="alert")["groups"]:
        if g["name"] == group:
            for r in g["rules"]:
                if r["name"] == alertname:
                    assert r["health"] == "ok", r
                    return r["alerts"]
    raise AssertionError(f"no rule {alertname} in group {group}")


def test_prometheus_scrapes_leaker_under_limit(cgroups, memobs, prometheus):
    start_prometheus, base = prometheus
    port = free_port()
    m = memobs("run", "--window", str(WINDOW_S), "--escalate-for", str(ESCALATE_FOR_S),
               "--no-socket", "--metrics", f"127.0.0.1:{port}")
    prom = start_prometheus(port, [RULES, immediate_rules(base)])

    quiet = cgroups.make("prom-quiet")
    quiet.spawn([workload("memhog"), "--base", "16", "steady"])
    cg = cgroups.make("prom-leak", limit_bytes=LIMIT)
    leaker = cg.spawn([workload("memhog"), "--base", "8", "anon-leak", str(RATE_KIB)])
    sel = f'{{cgroup="{cg.rel}"}}'

    def context():
        return f"memobs: {m.stderr[-2000:]}\nleak lines: {m.of_type('leak')}\n" \
               f"prometheus: {prom.log_tail()}"

    # memobs's figures reach Prometheus through the scrape (1 s), labelled as memobs says
    wait_until("the leaker's series", lambda: prom.query(f"memobs_cgroup_anon_rss_bytes{sel}"),
               20, context)
    (series,) = prom.query(f"memobs_cgroup_anon_rss_bytes{sel}")
    assert series["metric"]["job"] == "memobs" and series["metric"]["node"] == NODE, series
    # no container: memobs's empty labels, which Prometheus stores as none
    assert not {"container", "pod", "namespace"} & set(series["metric"]), series
    assert prom.value(f"memobs_cgroup_memory_limit_bytes{sel}") == LIMIT
    assert prom.value(f'memobs_cgroup_memory_limit_bytes{{cgroup="{quiet.rel}"}}') is None
    assert prom.value(f'memobs_cgroup_time_to_limit_seconds{{cgroup="{quiet.rel}"}}') is None
    # file, shmem and swap as /proc says (the leaker grows only its anonymous memory)
    truth = proc_status(leaker.pid)
    file_rss = prom.value(f"memobs_cgroup_file_rss_bytes{sel}")
    assert file_rss > 0 and abs(file_rss - truth["RssFile"]) <= 0.10 * truth["RssFile"], \
        (file_rss, truth["RssFile"])
    assert prom.value(f"memobs_cgroup_shmem_rss_bytes{sel}") == truth["RssShmem"]
    assert prom.value(f"memobs_cgroup_swap_bytes{sel}") == truth["VmSwap"]
    # not traced yet (no suspect, no --malloc): no malloc estimate at all
    assert prom.value(f"memobs_cgroup_malloc_outstanding_bytes{sel}") is None

    flagged = m.wait_for(lambda l: l.get("type") == "leak" and l["state"] == "suspected"
                         and l["cgroup"]["id"] == cg.id and l["metric"] == "anon_rss"
                         and "escalated_for_s" not in l, WINDOW_S + 15)
    assert flagged is not None, f"leaker not flagged: {context()}"
    flagged_at = datetime.datetime.fromisoformat(flagged["ts"].replace("Z", "+00:00"))

    # the prediction: the first scrape from the leak line's pass on says what the line says
    def first_ttl_after_line():
        r = prom.api("query_range", query=f"memobs_cgroup_time_to_limit_seconds{sel}",
                     start=f"{flagged_at.timestamp():.3f}", end=f"{time.time():.3f}",
                     step="1")
        return r["result"] and r["result"][0]["values"]
    ttl_samples = wait_until("memobs_cgroup_time_to_limit_seconds", first_ttl_after_line, 10,
                             context)
    ttl = float(ttl_samples[0][1])
    print(f"time to limit: leak line {flagged['time_to_limit_s']} s, Prometheus {ttl} s")
    assert flagged["limit_bytes"] == LIMIT
    assert ttl > 0
    assert abs(ttl - flagged["time_to_limit_s"]) <= 0.10 * flagged["time_to_limit_s"]
    truth = (LIMIT - usage_bytes(cg)) / (RATE_KIB * 1024)
    assert abs(ttl - truth) <= 0.25 * truth + 5, f"{ttl} s, truth {truth:.0f} s"
    assert prom.value(f"memobs_cgroup_leak_suspected{sel}") == 1
    assert prom.value(f'memobs_cgroup_leak_suspected{{cgroup="{quiet.rel}"}}') == 0

    # escalated: the suspect's allocations are traced, its malloc estimate exported
    wait_until("memobs_cgroup_malloc_outstanding_bytes",
               lambda: prom.value(f"memobs_cgroup_malloc_outstanding_bytes{sel}"), 15, context)
    traced_at = time.time()
    assert 0 < prom.value(f"memobs_cgroup_malloc_outstanding_bytes{sel}", traced_at) < LIMIT
    assert prom.value(f'memobs_cgroup_malloc_outstanding_bytes{{cgroup="{quiet.rel}"}}',
                      traced_at) is None

    # every query of the dashboard returns series (variables at "All"), and names only
    # series memobs's own /metrics has
    d = dashboard()
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert "memobs" in prom.api("label/job/values", **{"match[]": "memobs_build_info"})
    assert NODE in prom.api("label/node/values", **{"match[]": "memobs_build_info"})
    scraped = exported_families(http_get(f"http://127.0.0.1:{port}/metrics"))
    for expr in dashboard_exprs(d):
        assert series_in(expr) <= scraped, f"{expr}: {series_in(expr) - scraped} not scraped"
        q = substitute_variables(expr, variables)
        assert prom.query(q, traced_at), f"no series for the dashboard's {q}"

    # the shipped rules: leak and time-to-limit alerts active on the leaker, pending
    # their `for`; without it, firing; memobs loses nothing
    for name in ("MemobsLeakSuspected", "MemobsTimeToMemoryLimitUnder1h",
                 "MemobsTimeToMemoryLimitUnder15m"):
        active = wait_until(f"{name} active",
                            lambda: [a for a in rule_alerts(prom, "memobs.rules", name)
                                     if a["labels"].get("cgroup") == cg.rel], 10, context)
        assert active[0]["state"] in ("pending", "firing"), active
        assert active[0]["labels"]["node"] == NODE, active
        assert not [a for a in rule_alerts(prom, "memobs.rules", name)
                    if a["labels"].get("cgroup") == quiet.rel]

    def firing():
        return {a["labels"]["alertname"] for a in prom.api("alerts")["alerts"]
                if a["state"] == "firing" and a["labels"].get("cgroup") == cg.rel}
    wait_until("the leak alerts firing",
               lambda: {"MemobsLeakSuspected", "MemobsTimeToMemoryLimitUnder1h",
                        "MemobsTimeToMemoryLimitUnder15m"} <= firing(), 10, context)
    (leak_alert,) = [a for a in prom.api("alerts")["alerts"]
                     if a["labels"]["alertname"] == "MemobsLeakSuspected"
                     and a["labels"].get("cgroup") == cg.rel and a["state"] == "firing"]
    # no container: the summary names the cgroup
    assert leak_alert["annotations"]["summary"] == f"Memory leak suspected in cgroup {cg.rel}"
    assert rule_alerts(prom, "memobs.rules.now", "MemobsDroppingEvents") == []

    # the escalation ends: its line's estimate is the series' last value, then none
    done = m.wait_for(lambda l: l.get("type") == "leak" and l["cgroup"]["id"] == cg.id
                      and "escalated_for_s" in l, ESCALATE_FOR_S + 10)
    assert done is not None, f"no escalated leak line: {context()}"
    time.sleep(3)  # a scrape or two after the pass that ended it
    last = prom.api("query_range", query=f"memobs_cgroup_malloc_outstanding_bytes{sel}",
                    start=f"{traced_at:.3f}", end=f"{time.time():.3f}", step="1")["result"]
    assert last, context()
    last_value = float(last[0]["values"][-1][1])
    print(f"malloc outstanding: escalated line {done['malloc_outstanding_bytes']}, "
          f"last sample {last_value:.0f}")
    assert abs(last_value - done["malloc_outstanding_bytes"]) <= \
        0.10 * done["malloc_outstanding_bytes"] + 2 * RATE_KIB * 1024
    assert prom.value(f"memobs_cgroup_malloc_outstanding_bytes{sel}") is None
    assert leaker.poll() is None, "the leaker died before the end (OOM?)"
    assert m.bad_lines == []
