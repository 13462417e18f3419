"""``python -m bench`` run as operators run it, with small sizes: it brings the stack up, runs
every scenario, checks the stock it raced for, writes its JSON and takes everything down.

A smoke test of the harness, not of the service's speed: no timing or throughput is asserted
beyond being above zero.
"""

import json
import os
import signal
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from bench import scenarios
from bench.client import Client
from bench.dataset import Dataset
from bench.ledger import LedgerSize
from bench.report import HEADER
from bench.stack import SPIKE_SERVERS
from tests.conftest import POSTGRES_ADMIN_URL
from tests.support.servers import PYTHON, ROOT, error_lines

# PostgreSQL (a throwaway database of its own, pgbench), Redis, gunicorn: the full stack.
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.system]

ORDERS = 300  # orders of history
SELL_OUT = 40  # units of the raced SKU
LEVELS = (1, 8)
RUN_TIMEOUT = 600.0
STOP_TIMEOUT = 60.0
PREFIXES = ("dfims_bench_", "dfims_pgbench_")

OVERSOLD = "oversold units"
UNITS_THERE = "sell-out: units there"
ACKNOWLEDGED = "sell-out: reservations acknowledged"
RESERVED = "sell-out: units reserved in the database"
BROKEN_LEVELS = "stock levels with on_hand < 0 or reserved > on_hand"
POOL_TIMEOUTS = "pool timeouts logged"
PGBENCH_TPS = "P: pgbench tps"


@dataclass(frozen=True)
class BenchRun:
    """One run of the harness and what it left."""

    result: subprocess.CompletedProcess[str]
    output: Path
    databases_before: set[str]


@pytest.fixture(autouse=True)
def _clean_tables() -> None:
    """Replaces the per-test clean slate: the harness works in a database of its own and
    these tests never write to the test database."""


def admin_conninfo() -> str:
    """The test server's postgres database as a libpq key=value string (the harness's
    --postgres)."""
    url = make_url(POSTGRES_ADMIN_URL)
    info = {
        "host": url.host or "127.0.0.1",
        "port": str(url.port or 5432),
        "user": url.username or "postgres",
        "dbname": url.database or "postgres",
    }
    if url.password:
        info["password"] = str(url.password)
    return psycopg.conninfo.make_conninfo(**info)


def bench_databases() -> set[str]:
    """The databases on the server that the harness names as its throwaway ones."""
    with psycopg.connect(admin_conninfo(), autocommit=True, connect_timeout=5) as connection:
        names = connection.execute("SELECT datname FROM pg_database").fetchall()
    return {name for (name,) in names if name.startswith(PREFIXES)}


def run_bench(*args: str, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """``python -m bench ARGS`` to completion. Past ``timeout`` it is interrupted (SIGINT, so
    that it stops gunicorn and drops its databases on the way out) and the test fails."""
    process = subprocess.Popen(
        [str(PYTHON), "-m", "bench", *args],
        env=dict(os.environ),
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        try:
            stdout, stderr = process.communicate(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        pytest.fail(f"python -m bench ran over {timeout:.0f} s:\n{stdout}\n{stderr}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> BenchRun:
    """The harness run once for the module, with small sizes."""
    output = tmp_path_factory.mktemp("bench")
    before = bench_databases()
    result = run_bench(
        "--seconds",
        "1",
        "--levels",
        ",".join(str(level) for level in LEVELS),
        "--orders",
        str(ORDERS),
        "--sell-out",
        str(SELL_OUT),
        "--pgbench-scale",
        "1",
        "--pgbench-clients",
        "4",
        "--postgres",
        admin_conninfo(),
        "--output",
        str(output),
    )
    return BenchRun(result, output, before)


@pytest.fixture(scope="module")
def report(bench_run: BenchRun) -> dict[str, Any]:
    """latest.json of the run."""
    result = bench_run.result
    assert result.returncode == 0, result.stderr
    return dict(json.loads((bench_run.output / "latest.json").read_text()))


def expected_scenarios() -> list[scenarios.Scenario]:
    """Every scenario the harness runs, in order (the flows are built, never sent)."""
    anyone = Client("http://127.0.0.1:9", "token")
    data = Dataset(
        staff=anyone,
        manager=anyone,
        customer_id=1,
        order_products=(1, 2),
        hot_product=3,
        sell_out_product=4,
        sell_out_stock=SELL_OUT,
        trace_lot=1,
        trace_events=1,
        movements=0,
        logins=[("someone@example.com", "secret")],
    )
    return [
        scenarios.baseline(),
        *scenarios.scenarios(data, date.today()),
        scenarios.sell_out(data),
        *(spike for server in SPIKE_SERVERS for spike in scenarios.spike(server, data)),
    ]


def rows_of(report: dict[str, Any], scenario: str) -> list[dict[str, Any]]:
    return [row for row in report["rows"] if row["scenario"] == scenario]


def test_the_run_succeeds_and_prints_its_table(bench_run: BenchRun) -> None:
    result = bench_run.result

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "| " + " | ".join(HEADER) + " |" in result.stdout.splitlines()
    assert f"Written to {bench_run.output / 'latest.json'}" in result.stdout


def test_latest_json_and_a_stamped_copy_are_written(
    bench_run: BenchRun, report: dict[str, Any]
) -> None:
    stamped = list(bench_run.output.glob("bench-*.json"))

    assert len(stamped) == 1
    assert json.loads(stamped[0].read_text()) == report
    assert report["settings"]["levels"] == list(LEVELS)
    assert report["settings"]["history_orders"] == ORDERS


def test_every_scenario_has_a_row_at_its_levels(report: dict[str, Any]) -> None:
    expected = expected_scenarios()
    names = [scenario.name for scenario in expected]

    assert len(names) == len(set(names)) > 0
    assert {row["scenario"] for row in report["rows"]} == set(names)
    for scenario in expected:
        clients = [row["clients"] for row in rows_of(report, scenario.name)]
        assert clients, scenario.name
        assert set(clients) <= set(scenario.levels), (scenario.name, clients)


def test_every_row_answered_without_errors(report: dict[str, Any]) -> None:
    for row in report["rows"]:
        label = (row["scenario"], row["clients"], row["statuses"])
        assert row["errors"] == 0, label
        assert row["requests"] > 0, label
        assert sum(row["statuses"].values()) == row["requests"], label
        assert not any(int(status) >= 500 for status in row["statuses"]), label


def test_order_rows_count_placed_and_confirmed_orders(report: dict[str, Any]) -> None:
    orders = rows_of(report, "order")

    assert orders
    for row in orders:
        assert row["unit"] == "orders"
        assert row["completed"] >= 1, row
        assert {"201", "200"} <= set(row["statuses"]), row["statuses"]
        # two requests an order: placed (201), then confirmed (200)
        assert row["requests"] >= 2 * row["completed"], row


def test_the_sell_out_reserves_no_more_than_there_is(report: dict[str, Any]) -> None:
    checks = report["checks"]

    assert checks[UNITS_THERE] == SELL_OUT
    assert checks[OVERSOLD] == 0
    assert checks[ACKNOWLEDGED] == checks[RESERVED], checks
    assert checks[ACKNOWLEDGED] <= SELL_OUT
    assert checks[BROKEN_LEVELS] == 0
    assert checks[POOL_TIMEOUTS] == 0


def test_each_spike_server_answers_the_stock_read_as_the_api_does(
    report: dict[str, Any],
) -> None:
    for server in SPIKE_SERVERS:
        assert report["checks"][f"spike-{server}: stock read answers as the API"] is True, server


def test_baseline_and_settings(report: dict[str, Any]) -> None:
    assert report["baselines"][PGBENCH_TPS] > 0
    assert report["settings"]["ledger_movements"] == LedgerSize(orders=ORDERS).movements
    assert report["settings"]["postgres synchronous_commit"]


def test_every_target_says_whether_it_was_met(report: dict[str, Any]) -> None:
    targets = report["targets"]

    assert targets
    for target in targets:
        assert target["name"]
        assert isinstance(target["met"], bool), target


def test_no_throwaway_database_is_left_behind(bench_run: BenchRun) -> None:
    assert bench_run.result.returncode == 0, bench_run.result.stderr
    assert bench_databases() - bench_run.databases_before == set()


def test_bad_levels_are_refused_with_one_line(tmp_path: Path) -> None:
    result = run_bench("--levels", "abc", "--output", str(tmp_path), timeout=60)

    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in error_lines(result) if "error:" in line]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("python -m bench: error: ")
    assert "--levels" in errors[0]
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_postgres_is_one_line_and_no_json(tmp_path: Path) -> None:
    output = tmp_path / "results"
    result = run_bench(
        "--postgres",
        "host=127.0.0.1 port=1 user=postgres",
        "--seconds",
        "1",
        "--output",
        str(output),
        timeout=120,
    )

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("bench: ")
    assert "PostgreSQL" in lines[0]
    assert not output.exists() or not list(output.glob("*.json"))
