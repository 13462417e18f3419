"""Prometheus metrics, correct under several worker processes (multiprocess mode)."""

import os
import re
from collections.abc import Callable
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LIVE_FILE = re.compile(r"^gauge_live\w*?_(\d+)\.db$")

API_REQUESTS = Counter(
    "api_requests_total",
    "API requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
API_REQUEST_DURATION = Histogram(
    "api_request_duration_seconds",
    "Time to answer an API request, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0),
)
DATABASE_CONNECTIONS_ACTIVE = Gauge(
    "database_connections_active",
    "Database connections checked out of the pool right now.",
    multiprocess_mode="livesum",
)
INVENTORY_LOW_STOCK_ALERTS = Gauge(
    "inventory_low_stock_alerts",
    "Products whose available stock is at or below their reorder point.",
    multiprocess_mode="livemostrecent",
)
DATABASE_REPLICA_IN_USE = Gauge(
    "database_replica_in_use",
    "1 while the read replica is up and within REPLICA_MAX_LAG_SECONDS, else 0.",
    multiprocess_mode="livemin",
)
DATABASE_REPLICA_LAG = Gauge(
    "database_replica_lag_seconds",
    "How far the read replica's replay is behind, as last measured.",
    multiprocess_mode="livemax",
)
DATABASE_REPLICA_SKIPPED = Counter(
    "database_replica_skipped_reads_total",
    "Reads meant for the replica that went to the primary, by why (down or lagging).",
    ["reason"],
)
for _reason in ("down", "lagging"):  # exported at 0 from the start, as alerts expect
    DATABASE_REPLICA_SKIPPED.labels(reason=_reason)
DATABASE_POOL_CAPACITY = Gauge(
    "database_pool_capacity",
    "Database connections the pool may hold at most (pool size plus overflow).",
    multiprocess_mode="livesum",
)
INVENTORY_EXPIRING_LOTS = Gauge(
    "inventory_expiring_lots",
    "Lots holding stock whose best-before date falls within the expiry alert window.",
    multiprocess_mode="livemostrecent",
)
INVENTORY_EXPIRED_LOTS = Gauge(
    "inventory_expired_lots",
    "Lots still holding stock that are past their best-before date or marked expired.",
    multiprocess_mode="livemostrecent",
)
ORDERS_TOTAL = Counter(
    "orders_total",
    "Sales orders reaching a status (pending when placed), by that status.",
    ["status"],
)
STOCK_MOVEMENTS_TOTAL = Counter(
    "stock_movements_total", "Stock ledger rows written, by movement kind.", ["kind"]
)
SALES_REVENUE = Counter("sales_revenue_total", "Value of the sales orders shipped.")
SALES_RETURNS_CREDIT = Counter(
    "sales_returns_credit_total", "Value credited for goods customers returned."
)
CUSTOMER_REGISTRATIONS = Counter(
    "customer_registrations_total", "Customers added, by how they came.", ["source"]
)
PURCHASE_RECEIPTS = Counter(
    "purchase_receipts_total", "Deliveries received against purchase orders."
)

_AFTER_COMMIT = "metrics_after_commit"


def after_commit(db: Session, action: Callable[[], None]) -> None:
    """Run ``action`` (a counter increment) once the unit of work of ``db`` commits."""
    db.info.setdefault(_AFTER_COMMIT, []).append(action)


@event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    for action in session.info.pop(_AFTER_COMMIT, []):
        action()


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)


def track_pool(engine: Engine, capacity: int) -> None:
    """Count checked-out connections of ``engine``; publish the pool's ``capacity``."""
    DATABASE_POOL_CAPACITY.set(capacity)
    event.listen(engine.pool, "checkout", lambda *_: DATABASE_CONNECTIONS_ACTIVE.inc())
    event.listen(engine.pool, "checkin", lambda *_: DATABASE_CONNECTIONS_ACTIVE.dec())


def multiprocess_dir() -> Path | None:
    """The shared metrics folder when several processes serve, else None."""
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def forget_dead_processes() -> None:
    """Drop live gauges left by worker processes that no longer exist."""
    folder = multiprocess_dir()
    if folder is None or not folder.is_dir():
        return
    for path in folder.iterdir():
        match = _LIVE_FILE.match(path.name)
        if match and not _pid_alive(int(match.group(1))):
            multiprocess.mark_process_dead(int(match.group(1)), str(folder))  # type: ignore[no-untyped-call]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def render_latest() -> tuple[bytes, str]:
    """The exposition text for every process of this service, and its content type."""
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST
