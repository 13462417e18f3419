"""``python -m bench``: bring the stack up, seed it, run every scenario, write the figures."""

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy import Engine, create_engine, text

from bench import dataset, scenarios
from bench.client import Client
from bench.ledger import LedgerSize
from bench.loadgen import run_flows
from bench.report import Report, Row, Target, machine, table
from bench.scenarios import Scenario
from bench.stack import (
    BIN,
    HOST,
    SPIKE_SERVERS,
    Api,
    CpuMeter,
    StackError,
    database_url,
    peak_rss_mb,
    postgres_pids,
    run_cli,
    running_api,
    running_spike,
    sqlalchemy_url,
    throwaway_database,
)

RESULTS = Path(__file__).resolve().parent / "results"
# How long a scenario waits for autovacuum to be done with the bench database, at most.
SETTLE_SECONDS = 60.0
VACUUMING = """
SELECT count(*) FROM pg_stat_activity
WHERE backend_type = 'autovacuum worker' AND datname = current_database()
"""


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run")
    parser.add_argument(
        "--levels",
        default=",".join(map(str, scenarios.LEVELS)),
        help="client counts, comma-separated (default %(default)s)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument(
        "--orders", type=int, default=100_000, help="orders of history, ten ledger rows each"
    )
    parser.add_argument("--sell-out", type=int, default=1_000, help="units of the raced SKU")
    parser.add_argument("--pgbench-scale", type=int, default=10)
    parser.add_argument("--pgbench-clients", type=int, default=32)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES", "host=127.0.0.1 port=5432 user=postgres"),
        help="libpq connection string of the server (its postgres database)",
    )
    parser.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14")
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="folder of the JSON")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting of the API for this run, e.g. --set WORKER_REQUESTS=16 (repeatable)",
    )
    parser.add_argument(
        "--only",
        default="",
        help="run only these scenarios, comma-separated, or those their name starts with "
        "(spike: every spike); the baselines always run",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="record every worker with py-spy during each run (collapsed stacks in --output)",
    )
    args = parser.parse_args(argv)
    try:
        args.levels = tuple(int(level) for level in args.levels.split(","))
    except ValueError:
        parser.error("--levels takes whole numbers separated by commas, like 1,8,32")
    if any(level < 1 for level in args.levels) or args.seconds <= 0 or args.workers < 1:
        parser.error("client counts, --seconds and --workers must be positive")
    if any("=" not in item for item in args.set):
        parser.error("--set takes NAME=VALUE")
    args.set = dict(item.split("=", 1) for item in args.set)
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (met targets or not), 1 when it could not run."""
    args = parse(argv)
    try:
        report = run(args)
    except StackError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    print(table(report))
    args.output.mkdir(parents=True, exist_ok=True)
    stamp = report.started_at.replace(":", "").replace("-", "")
    for name in (f"bench-{stamp}.json", "latest.json"):
        (args.output / name).write_text(report.to_json())
    print(f"Written to {args.output / 'latest.json'}")
    return 0


def run(args: argparse.Namespace) -> Report:
    """Bring everything up, measure, take everything down."""
    admin_url = _admin_url(args.postgres)
    today = datetime.now(UTC).date()
    report = Report(
        started_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        machine=machine(),
        settings={
            "seconds": args.seconds,
            "levels": list(args.levels),
            "workers": args.workers,
            "history_orders": args.orders,
            "api settings": args.set,
        },
    )
    email, secret = "admin@bench.example.com", dataset.password()
    with (
        tempfile.TemporaryDirectory(prefix="dfims-bench-") as scratch,
        throwaway_database(admin_url, "dfims_bench") as name,
    ):
        folder = Path(scratch)
        env = _environment(folder, sqlalchemy_url(database_url(admin_url, name)), args.redis)
        env |= {"DFIMS_ADMIN_EMAIL": email, "DFIMS_ADMIN_PASSWORD": secret} | args.set
        _flush_redis(args.redis)
        run_cli(env, "db", "upgrade")
        run_cli(env, "bootstrap")
        engine = create_engine(sqlalchemy_url(database_url(admin_url, name)))
        with running_api(env, args.workers, folder / "gunicorn.log") as api:
            size = LedgerSize(orders=args.orders)
            print(f"Seeding {size.movements:,} ledger rows of history ...", flush=True)
            data = dataset.build(
                Client(api.base_url).as_user(email, secret),
                engine,
                size,
                args.sell_out,
                today,
            )
            report.settings["ledger_movements"] = data.movements
            report.baselines["P: pgbench tps"] = _pgbench(args, admin_url, engine)
            report.settings |= _server_settings(engine)
            _measure(report, api, scenarios.baseline(), args)
            for scenario in [*scenarios.scenarios(data, today), scenarios.sell_out(data)]:
                if _chosen(args, scenario.name):
                    _settle(engine)
                    _measure(report, api, scenario, args)
            report.checks |= _stock_checks(engine, data, report)
            report.checks["pool timeouts logged"] = _pool_timeouts(folder)
            report.checks["argon2 verify ms"] = _argon2_ms(env)
            # the spikes' orders write the stock of the products they buy: compare the answers
            # on a product no spike scenario writes
            levels_path = f"/stock/levels?product_id={data.sell_out_product}"
            levels = data.staff.get(levels_path)
        for server in SPIKE_SERVERS:
            spikes = [s for s in scenarios.spike(server, data) if _chosen(args, s.name)]
            if spikes:
                log = folder / f"spike-{server}.log"
                target = database_url(admin_url, name)
                with running_spike(server, target, args.workers, log) as variant:
                    same = _get_json(f"{variant.base_url}{levels_path}") == levels
                    report.checks[f"spike-{server}: stock read answers as the API"] = same
                    for scenario in spikes:
                        _measure(report, variant, scenario, args)
        engine.dispose()
        _flush_redis(args.redis)
    report.targets = _targets(report)
    return report


def _chosen(args: argparse.Namespace, name: str) -> bool:
    """Whether ``--only`` leaves the scenario ``name`` in: named, or a prefix of it named
    (``spike`` for every spike, ``spike-granian`` for one server's)."""
    only = [item for item in args.only.split(",") if item]
    return not only or any(name == item or name.startswith(f"{item}-") for item in only)


def _get_json(url: str) -> object:
    """The JSON answer of GET ``url``."""
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.load(response)


def _admin_url(given: str) -> str:
    """The server's ``postgres`` database unless ``given`` names one (key=value or URI)."""
    try:
        info = conninfo_to_dict(given)
    except psycopg.ProgrammingError as exc:
        raise StackError(f"--postgres is not a libpq connection string: {exc}") from exc
    return make_conninfo(**{"dbname": "postgres", **{k: str(v) for k, v in info.items()}})


def _environment(folder: Path, url: str, redis_url: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env |= {
        "ENV_FILE": str(folder / "none.env"),
        "ENVIRONMENT": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "METRICS_TOKEN": secrets.token_urlsafe(48),
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "DATA_DIR": str(folder / "data"),
        "LOG_DIR": str(folder / "logs"),
        "UPLOAD_DIR": str(folder / "uploads"),
        "BACKUP_DIR": str(folder / "backups"),
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
        "ACCESS_TOKEN_EXPIRE_MINUTES": "600",
    }
    Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir()
    return env


def _flush_redis(url: str) -> None:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        Redis.from_url(url, socket_timeout=3).flushdb()
    except RedisError as exc:
        raise StackError(f"Redis is needed at {url}: {exc}") from exc


def _settle(engine: Engine) -> None:
    """Start a scenario on a database done with the last one's writes: vacuumed and analysed
    (so that autovacuum does not do it during the scenario) and written out (a checkpoint);
    an autovacuum worker already at it is waited for, up to SETTLE_SECONDS."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        deadline = time.monotonic() + SETTLE_SECONDS
        while connection.scalar(text(VACUUMING)) and time.monotonic() < deadline:
            time.sleep(0.5)
        connection.execute(text("VACUUM (ANALYZE)"))
        connection.execute(text("CHECKPOINT"))


def _measure(report: Report, api: Api, scenario: Scenario, args: argparse.Namespace) -> None:
    levels = tuple(level for level in args.levels if level in scenario.levels)
    levels = levels or scenario.levels[-1:]
    print(f"{scenario.name}: {scenario.title}", flush=True)
    if scenario.warm_up:  # connections opened, statements prepared, caches filled
        asyncio.run(run_flows(HOST, api.port, scenario.flow, concurrency=2, seconds=1.0))
    for clients in levels:
        meter = CpuMeter()
        meter.start(_groups(api))
        with _profiling(api, args, f"{scenario.name}-{clients}"):
            tally = asyncio.run(
                run_flows(HOST, api.port, scenario.flow, concurrency=clients, seconds=args.seconds)
            )
        cpu = meter.stop(_groups(api))
        rss = max((peak_rss_mb(pid) for pid in api.workers()), default=0.0)
        row = Row.of(scenario.name, scenario.title, scenario.unit, tally, cpu, rss)
        report.rows.append(row)
        print(
            f"  {clients:>3} clients: {row.completed_per_s:,.0f} {row.unit}/s, "
            f"p95 {row.p95_ms} ms, {row.errors} errors",
            flush=True,
        )
        time.sleep(0.5)


@contextmanager
def _profiling(api: Api, args: argparse.Namespace, name: str) -> Iterator[None]:
    """py-spy sampling each worker while the block runs, when asked for."""
    if not args.profile:
        yield
        return
    args.output.mkdir(parents=True, exist_ok=True)
    spies = [
        subprocess.Popen(
            [
                str(BIN / "py-spy"),
                "record",
                "--pid",
                str(pid),
                "--rate",
                "250",
                "--gil",
                "--format",
                "raw",
                "--output",
                str(args.output / f"profile-{name}-{n}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for n, pid in enumerate(api.workers())
    ]
    try:
        yield
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)
        for spy in spies:
            spy.wait(timeout=30)


def _groups(api: Api) -> dict[str, list[int]]:
    return {"api": api.pids(), "postgres": postgres_pids()}


def _pgbench(args: argparse.Namespace, admin_url: str, engine: Engine) -> float:
    """TPC-B-like transactions a second on the same server, as the API commits."""
    program = shutil.which("pgbench") or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None
    )
    if program is None:
        raise StackError("pgbench is needed (Debian package postgresql-client or postgresql)")
    with engine.connect() as connection:
        commit = connection.execute(text("SHOW synchronous_commit")).scalar_one()
    print(f"P: pgbench scale {args.pgbench_scale}, {args.pgbench_clients} clients ...", flush=True)
    with throwaway_database(admin_url, "dfims_pgbench") as name:
        target = database_url(admin_url, name)
        _pgbench_run(program, "-i", "-q", "-s", str(args.pgbench_scale), target)
        env = {**os.environ, "PGOPTIONS": f"-c synchronous_commit={commit}"}
        threads = min(args.pgbench_clients, os.cpu_count() or 1)
        out = _pgbench_run(
            program,
            "-c",
            str(args.pgbench_clients),
            "-j",
            str(threads),
            "-T",
            str(max(1, round(args.seconds))),
            target,
            env=env,
        )
    found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if found is None:
        raise StackError(f"pgbench gave no tps: {out.strip().splitlines()[-1:]}")
    return round(float(found.group(1)), 1)


def _pgbench_run(program: str, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([program, *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise StackError(f"pgbench failed: {last[-1]}")
    return done.stdout


def _server_settings(engine: Engine) -> dict[str, str]:
    names = ("server_version", "synchronous_commit", "shared_buffers", "max_connections")
    with engine.connect() as connection:
        return {
            f"postgres {name}": str(connection.execute(text(f"SHOW {name}")).scalar_one())
            for name in names
        }


def _stock_checks(engine: Engine, data: dataset.Dataset, report: Report) -> dict[str, object]:
    """No stock reserved beyond what is there, and every reservation acknowledged."""
    with engine.connect() as connection:
        broken = connection.execute(
            text(
                "SELECT count(*) FROM stock_levels "
                "WHERE on_hand < 0 OR reserved < 0 OR reserved > on_hand"
            )
        ).scalar_one()
        reserved = connection.execute(
            text("SELECT coalesce(sum(reserved), 0) FROM stock_levels WHERE product_id = :p"),
            {"p": data.sell_out_product},
        ).scalar_one()
    acknowledged = sum(row.completed for row in report.rows if row.scenario == "sell-out")
    return {
        "stock levels with on_hand < 0 or reserved > on_hand": broken,
        "sell-out: units there": data.sell_out_stock,
        "sell-out: reservations acknowledged": acknowledged,
        "sell-out: units reserved in the database": int(reserved),
        "oversold units": max(0, int(reserved) - data.sell_out_stock),
    }


def _pool_timeouts(folder: Path) -> int:
    return sum(
        path.read_text(errors="replace").count("QueuePool limit")
        for path in folder.rglob("*.log*")
        if path.is_file()
    )


def _argon2_ms(env: dict[str, str]) -> float:
    """Median time of one password verification at the configured Argon2 cost."""
    code = (
        "import statistics, time\n"
        "from app.core.security import get_password_hash, verify_password\n"
        "h = get_password_hash('Bench-password-for-timing')\n"
        "t = []\n"
        "for _ in range(15):\n"
        "    s = time.perf_counter(); verify_password('Bench-password-for-timing', h)\n"
        "    t.append(time.perf_counter() - s)\n"
        "print(round(statistics.median(t) * 1000, 1))\n"
    )
    python = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "python"
    done = subprocess.run(
        [str(python), "-c", code], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise StackError(f"timing Argon2 failed: {done.stderr.strip().splitlines()[-1:]}")
    return float(done.stdout.strip())


def _targets(report: Report) -> list[Target]:
    """The issue's goals against this run's figures."""
    targets: list[Target] = []
    tps = report.baselines.get("P: pgbench tps", 0.0)
    bare = report.row("select1", 32)
    if bare:
        share = bare.requests_per_s / tps if tps else 0.0
        targets.append(
            Target(
                "F, SELECT 1 through the stack, 32 clients",
                ">= 100% of P",
                f"{bare.requests_per_s:,.0f}/s = {share:.0%} of P ({tps:,.0f})",
                share >= 1.0,
            )
        )
    stock = report.row("stock-read", 32)
    if stock and bare:
        share = stock.requests_per_s / bare.requests_per_s if bare.requests_per_s else 0.0
        targets.append(
            Target(
                "stock read, 32 clients",
                ">= 60% of F, p95 < 25 ms",
                f"{stock.requests_per_s:,.0f}/s = {share:.0%} of F ({bare.requests_per_s:,.0f}/s),"
                f" p95 {stock.p95_ms} ms",
                share >= 0.6 and stock.p95_ms < 25,
            )
        )
    order = report.row("order", 32)
    if order:
        share = order.completed_per_s / tps if tps else 0.0
        targets.append(
            Target(
                "order placed and confirmed, 32 clients",
                ">= 10% of P, p95 < 150 ms, 0 errors",
                f"{order.completed_per_s:,.0f} orders/s = {share:.0%} of P ({tps:,.0f}), "
                f"p95 {order.p95_ms} ms, {order.errors} errors",
                share >= 0.1 and order.p95_ms < 150 and order.errors == 0,
            )
        )
    hot = report.row("hot-sku", 64)
    if hot:
        oversold = report.checks.get("oversold units", 0)
        targets.append(
            Target(
                "hot SKU, 64 clients",
                ">= 300 reservations/s, 0 oversold, 0 errors",
                f"{hot.completed_per_s:,.0f}/s, {oversold} oversold, {hot.errors} errors",
                hot.completed_per_s >= 300 and oversold == 0 and hot.errors == 0,
            )
        )
    for scenario, goal_ms, label in (("lot-trace", 40, "lot trace"), ("kpi-90d", 150, "KPI")):
        row = report.row(scenario, 1)
        if row:
            targets.append(
                Target(
                    f"{label}, 1 client",
                    f"p95 < {goal_ms} ms",
                    f"p50 {row.p50_ms} ms, p95 {row.p95_ms} ms",
                    row.p95_ms < goal_ms,
                )
            )
    api = [row for row in report.rows if not row.scenario.startswith("spike")]
    rss = max((row.peak_rss_mb for row in api), default=0.0)
    targets.append(Target("peak RSS per worker", "< 120 MB", f"{rss} MB", rss < 120))
    timeouts = report.checks.get("pool timeouts logged", 0)
    errors = sum(row.errors for row in report.rows)
    targets.append(
        Target(
            "no pool timeouts, no errors",
            "0 at every level",
            f"{timeouts} pool timeouts, {errors} errors",
            timeouts == 0 and errors == 0,
        )
    )
    return targets


if __name__ == "__main__":
    sys.exit(main())
