"""The monitoring stack of monitoring/: the Prometheus config and alert rules checked and
unit-tested by promtool, the Grafana dashboards and provisioning read back, and every dashboard
and alert expression evaluated by a real Prometheus scraping a real API and the exporters."""

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import yaml
from sqlalchemy.engine import make_url

from tests.conftest import (
    PASSWORD,
    POSTGRES_ADMIN_URL,
    REDIS_TEST_URL,
    ROOT,
    bearer,
    create_postgres_database,
    drop_postgres_database,
)
from tests.support.servers import (
    COMMAND_TIMEOUT,
    HOST,
    HttpResponse,
    Server,
    error_lines,
    free_port,
    http_request,
    run_dfims,
    running_server,
    stop_process,
)

pytestmark = [pytest.mark.system, pytest.mark.redis]

MONITORING = ROOT / "monitoring"
PROMETHEUS_CONFIG = MONITORING / "prometheus" / "prometheus.yml"
ALERT_RULES = MONITORING / "prometheus" / "alerts.yml"
ALERT_TESTS = MONITORING / "prometheus" / "tests" / "alerts_test.yml"
GRAFANA = MONITORING / "grafana"
DASHBOARDS = GRAFANA / "dashboards"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "dashboards.yml"

DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
DASHBOARD_TITLES = {
    "system-overview.json": "System Overview",
    "application-performance.json": "Application Performance",
    "database-performance.json": "Database Performance",
    "business-kpis.json": "Business KPIs",
}
JOBS = {"api", "node", "postgres", "redis", "prometheus"}
# METRICS_TOKEN of the API in the live test, written where the shipped config reads it.
METRICS_TOKEN = "a-metrics-token-for-prometheus-0123456789"
GUIDE_ALERTS = {
    "HighCPUUsage": (
        '(100 - (avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m])) * 100)) > 80',
        "5m",
        "warning",
        "High CPU usage detected",
    ),
    "HighMemoryUsage": (
        "(node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes)"
        " / node_memory_MemTotal_bytes * 100 > 85",
        "5m",
        "warning",
        "High memory usage detected",
    ),
    "DatabaseConnectionFailed": (
        'up{job="postgres"} == 0',
        "2m",
        "critical",
        "Database connection failed",
    ),
    "HighResponseTime": (
        "histogram_quantile(0.95, rate(api_request_duration_seconds_bucket[5m])) > 2",
        "5m",
        "warning",
        "API response time is high",
    ),
}
ALERT_NAMES = {
    *GUIDE_ALERTS,
    "HighDiskUsage",
    "HighErrorRate",
    "APIInstanceDown",
    "PostgreSQLUnreachable",
    "DatabasePoolNearExhaustion",
    "ReadReplicaSkipped",
    "LowStockProducts",
    "LotsExpiringSoon",
    "ExpiredStockOnHand",
    "BackupTooOld",
    "BackupMetricMissing",
}
ALERT_METRICS = {
    "HighErrorRate": "api_requests_total",
    "APIInstanceDown": 'up{job="api"}',
    "PostgreSQLUnreachable": "pg_up",
    "HighDiskUsage": "node_filesystem_avail_bytes",
    "LowStockProducts": "inventory_low_stock_alerts",
    "LotsExpiringSoon": "inventory_expiring_lots",
    "ExpiredStockOnHand": "inventory_expired_lots",
    "BackupTooOld": "dfims_backup_last_success_timestamp_seconds",
    "BackupMetricMissing": "absent(dfims_backup_last_success_timestamp_seconds)",
    "DatabasePoolNearExhaustion": "database_connections_active / database_pool_capacity",
    "ReadReplicaSkipped": "database_replica_skipped_reads_total",
}
BINARIES = {
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "prometheus-node-exporter": "prometheus-node-exporter",
    "prometheus-postgres-exporter": "prometheus-postgres-exporter",
    "prometheus-redis-exporter": "prometheus-redis-exporter",
}
TRAILING_COMPARISON = re.compile(r"\s*(?:==|!=|>=|<=|>|<)\s*(?:bool\s+)?[\d.\s*/+()-]+$")
ABSENT = re.compile(r"^absent\((?P<inner>.+)\)$", re.DOTALL)
LIVE_FACTS = [
    ("demo data: low stock", "max(inventory_low_stock_alerts) > 0"),
    ("demo data: lots expiring", "max(inventory_expiring_lots) > 0"),
    ("demo data: expired lots", "max(inventory_expired_lots) > 0"),
    ("traffic: a 404", 'sum(api_requests_total{status="404"}) > 0'),
    ("traffic: an order shipped", 'sum(orders_total{status="shipped"}) > 0'),
    ("traffic: a return", "sum(sales_returns_credit_total) > 0"),
    ("traffic: a delivery", "sum(purchase_receipts_total) > 0"),
    ("traffic: a self-registration", 'sum(customer_registrations_total{source="self"}) > 0'),
    ("backup", "dfims_backup_last_size_bytes > 0"),
]
RATE_INTERVAL = "1m"
SCRAPES_BEFORE_QUERYING = 3
READY_TIMEOUT = 90.0
DATA_TIMEOUT = 60.0
ADMIN_EMAIL = "monitoring-admin@example.com"


# -- files -------------------------------------------------------------------------------------


def binary(name: str) -> str:
    """The path of ``name``; fails the test with the package to install when it is missing."""
    path = shutil.which(name)
    assert path is not None, (
        f"{name} is not on PATH: install the Debian package {BINARIES[name]} (make test-all)"
    )
    return path


def exporter_dsn() -> str:
    """The test server's admin database as postgres-exporter wants it."""
    url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql", query={"sslmode": "disable"})
    return url.render_as_string(hide_password=False)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``promtool ARGS`` in the project folder."""
    return subprocess.run(
        [binary("promtool"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def alert_rules() -> dict[str, dict[str, Any]]:
    """Every alert rule of alerts.yml by name (each name once)."""
    rules = [
        rule
        for group in load_yaml(ALERT_RULES)["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]
    by_name = {rule["alert"]: rule for rule in rules}
    assert len(by_name) == len(rules), "an alert name is used twice"
    return by_name


def dashboards() -> dict[str, dict[str, Any]]:
    """The dashboards by file name."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(DASHBOARDS.glob("*.json"))
    }


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel of a dashboard, those inside rows too."""
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, PromQL) of every dashboard target, Grafana's $__rate_interval filled in."""
    return [
        (
            f"{name} / {panel['title']} / {target['refId']}",
            target["expr"].replace("$__rate_interval", RATE_INTERVAL),
        )
        for name, dashboard in dashboards().items()
        for panel in panels(dashboard)
        for target in panel["targets"]
    ]


def data_query(expr: str) -> str:
    """What must return data for an alert to be able to fire: its expression without the final
    threshold comparison, or the x of ``absent(x)``."""
    expr = expr.strip()
    absent = ABSENT.match(expr)
    if absent:
        return absent.group("inner")
    return TRAILING_COMPARISON.sub("", expr)


# -- config and rules --------------------------------------------------------------------------


def test_promtool_accepts_config_and_rules() -> None:
    for args in (
        ("check", "config", str(PROMETHEUS_CONFIG)),
        ("check", "rules", str(ALERT_RULES)),
    ):
        result = promtool(*args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)


def test_alert_unit_tests_pass() -> None:
    result = promtool("test", "rules", str(ALERT_TESTS))
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "SUCCESS" in result.stdout


def test_config_scrapes_every_service_and_loads_the_rules() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    assert config["global"]["scrape_interval"] == "15s"
    assert config["global"]["evaluation_interval"] == "15s"
    assert config["rule_files"] == ["alerts.yml"]
    assert (PROMETHEUS_CONFIG.parent / config["rule_files"][0]).resolve() == ALERT_RULES
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == JOBS
    assert len(config["scrape_configs"]) == len(JOBS)

    api = jobs["api"]
    assert api["metrics_path"] == "/metrics"
    assert api["dns_sd_configs"] == [
        {"names": ["api"], "type": "A", "port": 8000, "refresh_interval": "30s"}
    ]
    assert "static_configs" not in api
    # The API's METRICS_TOKEN, from a file beside the config (committed empty: no token).
    assert api["authorization"] == {"type": "Bearer", "credentials_file": "metrics_token"}
    assert (PROMETHEUS_CONFIG.parent / "metrics_token").read_text(encoding="utf-8") == ""
    targets = {
        name: [target for static in job["static_configs"] for target in static["targets"]]
        for name, job in jobs.items()
        if name != "api"
    }
    assert targets == {
        "prometheus": ["localhost:9090"],
        "node": ["node-exporter:9100"],
        "postgres": ["postgres-exporter:9187"],
        "redis": ["redis-exporter:9121"],
    }


def test_guide_alerts_are_kept_verbatim() -> None:
    rules = alert_rules()
    for name, (expr, duration, severity, summary) in GUIDE_ALERTS.items():
        rule = rules[name]
        assert rule["expr"] == expr, name
        assert rule["for"] == duration, name
        assert rule["labels"]["severity"] == severity, name
        assert rule["annotations"]["summary"] == summary, name


def test_every_alert_exists_with_severity_summary_and_description() -> None:
    rules = alert_rules()
    assert set(rules) == ALERT_NAMES
    groups = {group["name"] for group in load_yaml(ALERT_RULES)["groups"]}
    assert groups == {"system", "application", "database", "business", "backups"}
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}, name
        assert rule["annotations"]["summary"].strip(), name
        assert rule["annotations"]["description"].strip(), name
        assert rule.get("for"), name
    for name, metric in ALERT_METRICS.items():
        assert metric in " ".join(rules[name]["expr"].split()), name
    error_rate = rules["HighErrorRate"]["expr"]
    assert 'status=~"5.."' in error_rate
    assert "or vector(0)" in error_rate
    assert data_query(rules["BackupTooOld"]["expr"]) == (
        "time() - dfims_backup_last_success_timestamp_seconds"
    )


def test_every_alert_is_unit_tested_quiet_pending_and_firing() -> None:
    suite = load_yaml(ALERT_TESTS)
    assert [(ALERT_TESTS.parent / name).resolve() for name in suite["rule_files"]] == [ALERT_RULES]
    cases = [case for test in suite["tests"] for case in test.get("alert_rule_test", [])]
    firing = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    pending = {
        match.group(1)
        for test in suite["tests"]
        for case in test.get("promql_expr_test", [])
        for sample in case.get("exp_samples", [])
        if (match := re.search(r'alertname="(\w+)",alertstate="pending"', sample["labels"]))
    }
    assert firing == ALERT_NAMES
    assert quiet == ALERT_NAMES
    assert pending == ALERT_NAMES


# -- dashboards --------------------------------------------------------------------------------


def test_dashboards_have_titles_panels_and_queries_on_the_datasource() -> None:
    boards = dashboards()
    assert {name: board["title"] for name, board in boards.items()} == DASHBOARD_TITLES
    uids = [board["uid"] for board in boards.values()]
    assert len(set(uids)) == len(uids)
    for name, board in boards.items():
        assert board["schemaVersion"] >= 39, name
        assert board.get("templating", {}).get("list", []) == [], name
        found = panels(board)
        assert found, name
        ids = [panel["id"] for panel in found]
        assert len(set(ids)) == len(ids), name
        for panel in found:
            where = f"{name} / {panel.get('title')}"
            assert panel["type"] in {"timeseries", "stat"}, where
            assert panel["title"].strip(), where
            assert panel["datasource"] == DATASOURCE, where
            assert panel["targets"], where
            ref_ids = [target["refId"] for target in panel["targets"]]
            assert len(set(ref_ids)) == len(ref_ids), where
            for target in panel["targets"]:
                assert target["datasource"] == DATASOURCE, where
                assert target["expr"].strip(), where
                variables = set(re.findall(r"\$\{?\w+", target["expr"]))
                assert variables <= {"$__rate_interval"}, (where, variables)


def test_dashboards_cover_the_metrics_they_are_for() -> None:
    exprs = {
        name: " ".join(target["expr"] for panel in panels(board) for target in panel["targets"])
        for name, board in dashboards().items()
    }
    wanted = {
        "system-overview.json": [
            "node_cpu_seconds_total",
            "node_memory_MemAvailable_bytes",
            "node_filesystem_avail_bytes",
            "node_network_receive_bytes_total",
            "node_network_transmit_bytes_total",
        ],
        "application-performance.json": [
            "api_requests_total",
            "api_request_duration_seconds_bucket",
            "histogram_quantile(0.95",
            "histogram_quantile(0.99",
            'status=~"5.."',
            "by (route)",
            "by (status)",
            "by (instance)",
        ],
        "database-performance.json": [
            "database_connections_active",
            "database_pool_capacity",
            "pg_up",
            "pg_stat_database_numbackends",
            "pg_stat_database_xact_commit",
            "pg_stat_database_deadlocks",
            "pg_stat_activity_count",
            "redis_up",
            "redis_connected_clients",
        ],
        "business-kpis.json": [
            "orders_total",
            "increase(sales_revenue_total[1d])",
            "sales_returns_credit_total",
            "stock_movements_total",
            "by (kind)",
            "customer_registrations_total",
            "by (source)",
            "purchase_receipts_total",
            "max(inventory_low_stock_alerts)",
            "max(inventory_expiring_lots)",
            "max(inventory_expired_lots)",
        ],
    }
    for name, needles in wanted.items():
        missing = [needle for needle in needles if needle not in exprs[name]]
        assert missing == [], (name, missing)


def test_grafana_provisioning_points_at_prometheus_and_the_dashboards() -> None:
    (datasource,) = load_yaml(DATASOURCES)["datasources"]
    assert datasource["name"] == "Prometheus"
    assert datasource["type"] == DATASOURCE["type"]
    assert datasource["uid"] == DATASOURCE["uid"]
    assert datasource["url"] == "http://prometheus:9090"
    assert datasource["isDefault"] is True

    (provider,) = load_yaml(DASHBOARD_PROVIDERS)["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


# -- a live stack ------------------------------------------------------------------------------


@dataclass
class Process:
    """A background process with its output in a file."""

    name: str
    process: subprocess.Popen[bytes]
    output_path: Path

    def output(self) -> str:
        return self.output_path.read_text(encoding="utf-8", errors="replace")


@contextlib.contextmanager
def running(name: str, args: list[str], env: Mapping[str, str] | None = None) -> Iterator[Process]:
    """Start ``args`` in its own session; stop it on the way out."""
    fd, path = tempfile.mkstemp(prefix=f"dfims-{name}-", suffix=".out")
    with os.fdopen(fd, "wb") as output:
        process = subprocess.Popen(
            args,
            env=dict(env) if env is not None else None,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield Process(name, process, Path(path))
    finally:
        stop_process(process)
        Path(path).unlink(missing_ok=True)


def loopback_config(ports: Mapping[str, int], folder: Path) -> Path:
    """prometheus.yml with each job on its loopback port, scraped and evaluated every second,
    and the API's METRICS_TOKEN beside it, where the shipped config reads it."""
    config = load_yaml(PROMETHEUS_CONFIG)
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    config["rule_files"] = [
        str((PROMETHEUS_CONFIG.parent / name).resolve()) for name in config["rule_files"]
    ]
    for job in config["scrape_configs"]:
        for key in [key for key in job if key.endswith("_sd_configs")]:
            del job[key]
        job["static_configs"] = [{"targets": [f"{HOST}:{ports[job['job_name']]}"]}]
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    (folder / "metrics_token").write_text(METRICS_TOKEN + "\n", encoding="utf-8")
    return path


class Prometheus:
    """The HTTP API of a Prometheus on the loopback address."""

    def __init__(self, port: int) -> None:
        self.port = port

    def ready(self) -> bool:
        """Whether it answers and has finished starting."""
        try:
            return http_request(self.port, "GET", "/-/ready", timeout=5.0).status == 200
        except OSError:
            return False

    def get(self, path: str, **params: str) -> tuple[int, dict[str, Any]]:
        response = http_request(self.port, "GET", f"{path}?{urlencode(params)}")
        return response.status, json.loads(response.body)

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The result of an instant query; fails on any error (a parse error above all)."""
        status, body = self.get("/api/v1/query", query=expr)
        assert status == 200, (expr, body)
        assert body["status"] == "success", (expr, body)
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def targets(self) -> list[dict[str, Any]]:
        status, body = self.get("/api/v1/targets", state="active")
        assert status == 200, body
        targets: list[dict[str, Any]] = body["data"]["activeTargets"]
        return targets

    def alerting_rules(self) -> list[dict[str, Any]]:
        status, body = self.get("/api/v1/rules", type="alert")
        assert status == 200, body
        return [rule for group in body["data"]["groups"] for rule in group["rules"]]


def wait_until_ready(prometheus: Prometheus, processes: list[Process]) -> None:
    """Every job up, scraped a few times, and every alert rule evaluated at least once."""
    deadline = time.monotonic() + READY_TIMEOUT
    state = "nothing asked yet"
    while True:
        for process in processes:
            code = process.process.poll()
            assert code is None, f"{process.name} exited with {code}:\n{process.output()}"
        if prometheus.ready():
            targets = prometheus.targets()
            health = {target["labels"]["job"]: target["health"] for target in targets}
            scrapes = prometheus.query(f"min(count_over_time(up[5m])) >= {SCRAPES_BEFORE_QUERYING}")
            unevaluated = [
                rule["name"] for rule in prometheus.alerting_rules() if rule["health"] == "unknown"
            ]
            state = f"targets {health}, scraped enough: {bool(scrapes)}, unevaluated {unevaluated}"
            if (
                set(health) == JOBS
                and len(targets) == len(JOBS)
                and set(health.values()) == {"up"}
                and scrapes
                and not unevaluated
            ):
                return
        if time.monotonic() > deadline:
            outputs = "\n".join(f"--- {p.name}:\n{p.output()[-3000:]}" for p in processes)
            raise AssertionError(f"Prometheus not ready: {state}\n{outputs}")
        time.sleep(0.5)


def queries_without_data(prometheus: Prometheus, queries: list[tuple[str, str]]) -> list[str]:
    """Evaluate every query until each returned data once; the ones that never did."""
    waiting = dict(queries)
    deadline = time.monotonic() + DATA_TIMEOUT
    while waiting and time.monotonic() < deadline:
        for where, expr in list(waiting.items()):
            if prometheus.query(expr):
                del waiting[where]
        if waiting:
            time.sleep(1.0)
    return [f"{where}: {expr}" for where, expr in waiting.items()]


@dataclass(frozen=True)
class Stack:
    """The environment of a migrated PostgreSQL database holding the demo data."""

    env: dict[str, str]
    backups: Path


@pytest.fixture
def stack(tmp_path: Path, test_env: dict[str, str]) -> Iterator[Stack]:
    """A fresh PostgreSQL database with the demo data, an admin and one backup of it."""
    url = create_postgres_database()
    backups = tmp_path / "backups"
    env = {
        **test_env,
        "DATABASE_URL": url,
        "DATA_DIR": str(tmp_path / "data"),
        "LOG_DIR": str(tmp_path / "logs"),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "BACKUP_DIR": str(backups),
        "DFIMS_ADMIN_EMAIL": ADMIN_EMAIL,
        "DFIMS_ADMIN_PASSWORD": PASSWORD,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    try:
        for command in (("db", "upgrade"), ("bootstrap",), ("demo", "load"), ("backup", "create")):
            result = run_dfims(env, *command)
            assert result.returncode == 0, (command, result.stdout, result.stderr)
            assert error_lines(result) == [], (command, result.stderr)
        yield Stack(env, backups)
    finally:
        drop_postgres_database(url)


class Client:
    """An admin talking JSON to a running API."""

    def __init__(self, server: Server) -> None:
        self.server = server
        answer = server.post_form(
            "/api/v1/auth/login", {"username": ADMIN_EMAIL, "password": PASSWORD}
        )
        assert answer.status == 200, answer.text
        self.headers = bearer(answer.json()["access_token"])

    def call(self, method: str, path: str, body: Any = None) -> HttpResponse:
        return self.server.request(
            method,
            f"/api/v1{path}",
            body=None if body is None else json.dumps(body).encode(),
            headers={**self.headers, "Content-Type": "application/json"},
        )

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        """The JSON of an answer that must be 200 or 201."""
        response = self.call(method, path, body)
        assert response.status in {200, 201}, (method, path, response.status, response.text)
        return response.json()


def drive_traffic(server: Server) -> None:
    """Successful calls, a 404, and one of each business event so every counter exists."""
    admin = Client(server)
    supplier = admin.ok("GET", "/suppliers?limit=1")["items"][0]["id"]
    warehouse = admin.ok("GET", "/warehouses?limit=1")["items"][0]["id"]
    product = admin.ok("GET", "/products?limit=1")["items"][0]["id"]

    purchase = admin.ok(
        "POST",
        "/purchase-orders",
        {
            "supplier_id": supplier,
            "warehouse_id": warehouse,
            "lines": [{"product_id": product, "quantity": "20", "unit_cost": "3.00"}],
        },
    )
    admin.ok("POST", f"/purchase-orders/{purchase['id']}/send", {})
    best_before = (date.today() + timedelta(days=300)).isoformat()
    admin.ok(
        "POST",
        f"/purchase-orders/{purchase['id']}/receipts",
        {
            "lines": [
                {
                    "line_id": purchase["lines"][0]["id"],
                    "quantity": "20",
                    "lot_code": f"MON-{uuid.uuid4().hex[:6]}",
                    "best_before": best_before,
                }
            ]
        },
    )

    customer = admin.ok("POST", "/customers", {"name": "Monitoring Deli"})
    order = admin.ok(
        "POST",
        "/orders",
        {
            "customer_id": customer["id"],
            "lines": [{"product_id": product, "quantity": "2", "unit_price": "7.50"}],
        },
    )
    admin.ok("POST", f"/orders/{order['id']}/confirm", {})
    shipped = admin.ok("POST", f"/orders/{order['id']}/ship", {})
    admin.ok(
        "POST",
        f"/orders/{order['id']}/returns",
        {
            "reason": "damaged in transit",
            "lines": [{"line_id": shipped["lines"][0]["id"], "quantity": "1"}],
        },
    )

    registered = server.request(
        "POST",
        "/api/v1/auth/register",
        body=json.dumps(
            {
                "email": f"shop-{uuid.uuid4().hex[:8]}@example.com",
                "password": PASSWORD,
                "full_name": "Corner Shop",
            }
        ).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert registered.status == 202, registered.text

    assert server.get("/api/v1/no/such/route").status == 404
    for _ in range(5):
        assert server.get("/health").status == 200
        assert admin.call("GET", "/health/database").status == 200


@pytest.fixture
def binaries() -> dict[str, str]:
    """The Prometheus tools by name; fails at once when one is not installed."""
    return {name: binary(name) for name in BINARIES}


def test_prometheus_evaluates_every_dashboard_and_alert_query(
    binaries: dict[str, str], stack: Stack, tmp_path: Path
) -> None:
    backup_metrics = stack.backups / "metrics"
    assert (backup_metrics / "dfims_backup.prom").is_file()
    ports = {job: free_port() for job in JOBS - {"api"}}
    redis = urlsplit(REDIS_TEST_URL)
    exporter_env = {"PATH": os.environ.get("PATH", "")}

    with contextlib.ExitStack() as started:
        server = started.enter_context(
            running_server({**stack.env, "METRICS_TOKEN": METRICS_TOKEN})
        )
        drive_traffic(server)
        ports["api"] = server.port
        processes = [
            started.enter_context(
                running(
                    "node-exporter",
                    [
                        binaries["prometheus-node-exporter"],
                        f"--web.listen-address={HOST}:{ports['node']}",
                        f"--collector.textfile.directory={backup_metrics}",
                        "--no-collector.systemd",
                    ],
                    exporter_env,
                )
            ),
            started.enter_context(
                running(
                    "postgres-exporter",
                    [
                        binaries["prometheus-postgres-exporter"],
                        f"--web.listen-address={HOST}:{ports['postgres']}",
                    ],
                    {**exporter_env, "DATA_SOURCE_NAME": exporter_dsn()},
                )
            ),
            started.enter_context(
                running(
                    "redis-exporter",
                    [
                        binaries["prometheus-redis-exporter"],
                        "-redis.addr",
                        f"redis://{redis.hostname}:{redis.port}",
                        "-web.listen-address",
                        f"{HOST}:{ports['redis']}",
                    ],
                    exporter_env,
                )
            ),
        ]
        config = loopback_config(ports, tmp_path)
        check = promtool("check", "config", str(config))
        assert check.returncode == 0, (check.stdout, check.stderr)
        processes.append(
            started.enter_context(
                running(
                    "prometheus",
                    [
                        binaries["prometheus"],
                        f"--config.file={config}",
                        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                        f"--web.listen-address={HOST}:{ports['prometheus']}",
                    ],
                )
            )
        )
        prometheus = Prometheus(ports["prometheus"])
        wait_until_ready(prometheus, processes)

        alerts = alert_rules()
        alert_queries = [
            (f"alert {name}", data_query(rule["expr"])) for name, rule in alerts.items()
        ]
        queries = dashboard_queries() + alert_queries + LIVE_FACTS
        assert queries_without_data(prometheus, queries) == []

        rules = {rule["name"]: rule for rule in prometheus.alerting_rules()}
        assert set(rules) == ALERT_NAMES
        unhealthy = {
            name: rule.get("lastError") for name, rule in rules.items() if rule["health"] != "ok"
        }
        assert unhealthy == {}
        assert server.process.poll() is None, server.output()
