"""Traceability and reports on a large ledger (PostgreSQL only): 200,000+ stock movements over
50 products, 500 lots, 2 warehouses and 20,000 orders of 2,000 customers across 90 days.

Each report runs a small fixed number of SQL statements whatever the size of the ledger, its
answers agree with plain SQL counts, and the lot events query reads stock_movements through an
index. No timings are asserted.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from app.core.database import Base, SessionLocal, engine
from app.services import reports, trace
from bench.ledger import LedgerSize, build_history
from tests.support.loops import run_alone
from tests.support.stock import make_product, make_supplier, make_warehouse

# A ledger of this size is built with PostgreSQL's generate_series: the SQLite pass leaves
# this module out (see conftest), the PostgreSQL pass must run it.
pytestmark = pytest.mark.postgres

PRODUCTS = 50
SIZE = LedgerSize(customers=2_000, lots=500, orders=20_000, per_order=10, days=90, stocked=10)

# Statement bounds: what each report needs, with no room for one query per row.
TRACE_LOT_STATEMENTS = 6
KPI_STATEMENTS = 9
KPI_ROLL_UP_STATEMENTS = 17
VALUATION_STATEMENTS = 1
SLOW_MOVER_STATEMENTS = 2


@dataclass(frozen=True)
class Ledger:
    """What the bulk build made."""

    supplier: int
    warehouses: tuple[int, int]
    lot: int  # many issues, some returns, stock in the first warehouse, three reservations
    quiet_lot: int  # a lot that only has its receipt
    customer: int  # the first customer: ten orders, some with returns


@pytest.fixture(autouse=True)
def _clean_tables() -> None:
    """Replaces the per-test clean slate: the ledger is built once for this module and the
    tests only read it; ``ledger`` empties the tables when the module is done."""


def _truncate_everything() -> None:
    names = ", ".join(f'"{table.name}"' for table in reversed(Base.metadata.sorted_tables))
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="module")
def ledger() -> Iterator[Ledger]:
    """The large ledger, built once with set-based INSERTs; every table emptied afterwards."""
    try:
        yield _build()
    finally:
        _truncate_everything()


def _build() -> Ledger:
    supplier = make_supplier("BULK")
    warehouses = (make_warehouse("W1"), make_warehouse("W2"))
    for index in range(PRODUCTS):
        make_product(f"SKU-{index:03d}")
    with engine.begin() as connection:
        build_history(connection, SIZE, supplier)
        # a stocked lot that has had returns, and a lot that only ever had its receipt
        lot = connection.execute(
            text(
                "SELECT lot_id FROM stock_movements WHERE kind = 'return' "
                "AND lot_id IN (SELECT lot_id FROM stock_levels) "
                "GROUP BY lot_id ORDER BY count(*) DESC, lot_id LIMIT 1"
            )
        ).scalar_one()
        quiet_lot = connection.execute(
            text(
                "INSERT INTO lots (product_id, lot_code, supplier_id, received_date, "
                "best_before, unit_cost, grade, status, notes, created_at) "
                "SELECT min(id), 'QUIET', :supplier, current_date, current_date + 100, 2, '', "
                "'available', '', now() FROM products RETURNING id"
            ),
            {"supplier": supplier},
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO stock_movements (created_at, kind, product_id, lot_id, "
                "warehouse_id, quantity, reference, reason, group_id, actor_label) "
                "SELECT now(), 'receipt', product_id, id, :warehouse, 5, 'PO-QUIET', '', "
                "md5('quiet'), 'scale' FROM lots WHERE id = :lot"
            ),
            {"warehouse": warehouses[0], "lot": quiet_lot},
        )
        customer = connection.execute(text("SELECT min(id) FROM customers")).scalar_one()
        # three confirmed orders of the first customer hold 2 of the traced lot each
        connection.execute(
            text(
                "INSERT INTO sales_orders (number, customer_id, status, total, notes, "
                "created_at, updated_at, confirmed_at, requested_delivery_date) "
                "SELECT 'SO-' || lpad(g::text, 6, '0'), :customer, 'confirmed', 10.00, '', "
                "now(), now(), now(), current_date FROM generate_series(:first, :first + 2) AS g"
            ),
            {"customer": customer, "first": SIZE.orders + 1},
        )
        connection.execute(
            text(
                "INSERT INTO reservations (reference, product_id, lot_id, warehouse_id, "
                "quantity, status, created_at) "
                "SELECT o.number || '/1', l.product_id, l.id, :warehouse, 2, 'active', now() "
                "FROM sales_orders o CROSS JOIN lots l "
                "WHERE o.status = 'confirmed' AND l.id = :lot"
            ),
            {"warehouse": warehouses[0], "lot": lot},
        )
        connection.execute(
            text("UPDATE stock_levels SET reserved = 6 WHERE lot_id = :lot"), {"lot": lot}
        )
    return Ledger(supplier, warehouses, lot, quiet_lot, customer)


def scalar(sql: str, **params: Any) -> Any:
    """One value read with plain SQL."""
    with engine.connect() as connection:
        return connection.execute(text(sql), params).scalar_one()


@contextmanager
def statements_run() -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement (and its parameters) sent while the block runs."""
    seen: list[tuple[str, Any]] = []

    def record(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool
    ) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@contextmanager
def session() -> Iterator[Session]:
    """A session whose connection is already checked out, so only report queries count."""
    with SessionLocal() as db:
        db.execute(text("SELECT 1"))
        yield db


def test_the_ledger_is_large(ledger: Ledger) -> None:
    movements = scalar("SELECT count(*) FROM stock_movements")
    assert movements >= 200_000
    assert scalar("SELECT count(DISTINCT lot_id) FROM stock_movements") == SIZE.lots + 1
    assert scalar("SELECT count(DISTINCT customer_id) FROM sales_orders") == SIZE.customers
    assert scalar("SELECT count(DISTINCT created_at::date) FROM sales_orders") >= SIZE.days


def test_trace_lot_runs_a_fixed_number_of_statements(ledger: Ledger) -> None:
    counts = []
    for lot_id in (ledger.lot, ledger.quiet_lot):
        with session() as db, statements_run() as seen:
            report = trace.trace_lot(db, lot_id)
        counts.append(len(seen))
        assert len(seen) <= TRACE_LOT_STATEMENTS, [sql for sql, _ in seen]
        assert len(report.events) == scalar(
            "SELECT count(*) FROM stock_movements WHERE lot_id = :lot", lot=lot_id
        )
    # 400-odd events or one: the same statements
    assert counts[0] == counts[1]


def test_the_async_trace_answers_as_the_sync_one(ledger: Ledger) -> None:
    for lot_id in (ledger.lot, ledger.quiet_lot):
        for sort in ("occurred_at", "-quantity,customer"):
            with session() as db:
                expected = trace.trace_lot(db, lot_id, sort)
            answered = run_alone(trace.read_lot_trace(lot_id, sort))
            assert answered.model_dump_json() == expected.model_dump_json()
    assert len(answered.events) == 1
    assert len(expected.reservations) == 0
    with session() as db:
        busy = trace.trace_lot(db, ledger.lot)
    assert len(busy.reservations) == 3
    assert len(busy.customers) > 1


def test_trace_lot_agrees_with_the_ledger(ledger: Ledger) -> None:
    with session() as db:
        report = trace.trace_lot(db, ledger.lot)
    lot = {"lot": ledger.lot}
    issued = scalar(
        "SELECT -sum(quantity) FROM stock_movements WHERE lot_id = :lot AND kind = 'issue'", **lot
    )
    returned = scalar(
        "SELECT sum(quantity) FROM stock_movements WHERE lot_id = :lot AND kind = 'return'",
        **lot,
    )
    buyers = scalar(
        "SELECT count(DISTINCT o.customer_id) FROM stock_movements m "
        "JOIN sales_orders o ON o.number = m.reference WHERE m.lot_id = :lot",
        **lot,
    )
    assert len(report.events) > 300
    assert returned > 0
    assert report.totals.received == Decimal(10_000)
    assert report.totals.shipped == Decimal(issued)
    assert report.totals.returned == Decimal(returned)
    assert len(report.customers) == buyers
    assert sum((share.shipped for share in report.customers), Decimal(0)) == Decimal(issued)
    assert sum((share.net for share in report.customers), Decimal(0)) == Decimal(issued - returned)
    for event_row in report.events:
        if event_row["kind"] in ("issue", "return"):
            assert event_row["order_number"] == event_row["reference"]
            assert event_row["customer_id"] is not None
    times = [(e["occurred_at"], e["movement_id"]) for e in report.events]
    assert times == sorted(times)
    assert [(h.on_hand, h.reserved) for h in report.holdings] == [(Decimal(100), Decimal(6))]
    assert [(r.order_number, r.customer_id, r.quantity) for r in report.reservations] == [
        (f"SO-{SIZE.orders + n:06d}", ledger.customer, Decimal(2)) for n in (1, 2, 3)
    ]
    assert report.lot.supplier is not None
    assert report.lot.supplier.id == ledger.supplier


def test_trace_customer_answers_every_row_of_the_customers_orders(ledger: Ledger) -> None:
    report = run_alone(trace.read_customer_trace(ledger.customer))
    expected = {
        row[0]
        for row in _rows(
            "SELECT m.id FROM stock_movements m JOIN sales_orders o ON o.number = m.reference "
            "WHERE o.customer_id = :customer",
            customer=ledger.customer,
        )
    }
    assert {row.movement_id for row in report.rows} == expected
    kinds = {row.kind for row in report.rows}
    assert kinds == {"issue", "return"}
    assert len(report.rows) == (SIZE.orders // SIZE.customers) * SIZE.per_order + sum(
        row.kind == "return" for row in report.rows
    )
    assert all(row.supplier_id == ledger.supplier for row in report.rows)


def test_reports_run_a_fixed_number_of_statements(ledger: Ledger) -> None:
    today = datetime.now(UTC).date()
    since = today - timedelta(days=29)
    with session() as db, statements_run() as seen:
        kpis = reports.kpis(db, since, today)
        db.commit()
    assert len(seen) <= KPI_ROLL_UP_STATEMENTS, [sql for sql, _ in seen]
    # the closed days were summed and stored: the same answer again reads them back
    with session() as db, statements_run() as seen:
        assert reports.kpis(db, since, today) == kpis
    assert len(seen) <= KPI_STATEMENTS, [sql for sql, _ in seen]
    start = datetime.combine(since, time.min, UTC)
    window = {"start": start, "end": datetime.combine(today, time.min, UTC) + timedelta(days=1)}
    assert kpis.totals.transactions == scalar(
        "SELECT count(*) FROM stock_movements WHERE created_at >= :start AND created_at < :end",
        **window,
    )
    shipped = scalar(
        "SELECT count(*) FROM sales_orders WHERE shipped_at >= :start AND shipped_at < :end",
        **window,
    )
    assert kpis.totals.orders_shipped == shipped
    assert kpis.totals.revenue == Decimal("50.00") * shipped
    assert len(kpis.days) == 30

    with session() as db, statements_run() as seen:
        valuation = reports.stock_valuation(db)
    assert len(seen) <= VALUATION_STATEMENTS
    assert len(valuation.rows) == SIZE.stocked  # one lot per product, all in W1
    assert sum((row.on_hand for row in valuation.rows), Decimal(0)) == 100 * SIZE.stocked

    with session() as db, statements_run() as seen:
        slow = reports.slow_movers(db, 30)
    assert len(seen) <= SLOW_MOVER_STATEMENTS
    assert len(slow.rows) == SIZE.stocked
    assert all(row.shipped > 0 for row in slow.rows)
    assert [row.shipped for row in slow.rows] == sorted(row.shipped for row in slow.rows)


def test_lot_events_are_read_through_an_index(ledger: Ledger) -> None:
    with session() as db, statements_run() as seen:
        trace.trace_lot(db, ledger.lot)
    (events_sql, params), *_ = [
        (sql, params)
        for sql, params in seen
        if "FROM stock_movements JOIN warehouses" in sql and "lot_id" in sql
    ]
    with engine.connect() as connection:
        plan = "\n".join(
            row[0] for row in connection.exec_driver_sql("EXPLAIN " + events_sql, params)
        )
    assert "Seq Scan on stock_movements" not in plan, plan
    assert "ix_stock_movements_lot_id_created_at" in plan, plan


def test_customer_rows_are_read_through_an_index(ledger: Ledger) -> None:
    compiled = trace.customer_rows("occurred_at").compile(dialect=engine.dialect)
    params = compiled.construct_params({"customer_id": ledger.customer})
    with engine.connect() as connection:
        plan = "\n".join(
            row[0] for row in connection.exec_driver_sql("EXPLAIN " + str(compiled), params)
        )
    assert "Seq Scan on stock_movements" not in plan, plan
    assert "ix_stock_movements_reference" in plan, plan


def _rows(sql: str, **params: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text(sql), params).all())
