"""Business reports through the API, against a small hand-computed history spread over four
UTC days: KPIs per day and in total, top products by revenue and by weight, stock valuation,
expiring stock and slow movers, as JSON and CSV, and who may read them."""

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.core.database import SessionLocal
from app.models.rollups import DailyKpi, DailyProductSales
from app.models.sales import Customer, OrderStatus, ReturnDisposition, SalesOrder
from app.models.user import Role
from app.schemas.reports import ExpiringRow, KpiDay, ProductSales, SlowMoverRow, ValuationRow
from app.services import allocation, customers, orders, reports, returns, stock
from app.services.audit import Actor
from app.services.order_placement import LineDraft, OrderDraft
from app.services.returns import ReturnLine
from app.services.stock import MovementContext, ReceiptLine
from tests.conftest import MakeUser
from tests.support.callers import SignedIn, sign_in
from tests.support.problems import assert_problem
from tests.support.stock import API, World, make_product, make_world

REPORTS = f"{API}/reports"
ACTOR = Actor(user_id=None, label="report-tests")
PRICE = Decimal("5.00")
TODAY = datetime.now(UTC).date()
D0, D1, D2, D3 = (TODAY - timedelta(days=back) for back in (3, 2, 1, 0))
RANGE = {"since": D0.isoformat(), "until": D3.isoformat()}

Json = dict[str, Any]


def at(day: date, hour: int) -> datetime:
    """An instant on a UTC day."""
    return datetime.combine(day, time(hour), UTC)


def in_days(days: int) -> date:
    """The date ``days`` from today."""
    return TODAY + timedelta(days=days)


# --------------------------------------------------------------------------- the history


@dataclass(frozen=True)
class Book:
    """The history the reports read.

    D0: six lots received (DATE L1 100 kg at 2.0000; APRICOT L2 40 packs of 0.5 kg at 3.5000;
    DATE L3 4 kg in MAIN and 6 kg in SPARE at 3.5000; FIG F-OLD 10 kg at 1.0000, past its
    best-before; FIG F-SOON 4 kg in SPARE at 1.5000) and FIG F-EMPTY received and wasted
    (2 kg each); customer Alpha joins and places O1 (10 kg DATE, 4 packs, at 5.00).
    D1: nothing. D2: Beta joins and places O2 (8 packs); O1 and O2 ship.
    D3 (today): 2 kg of O1 come back to stock, 1 kg of L1 is wasted, Alpha places O3.
    """

    world: World
    fig: int
    l1: int
    l2: int
    l3: int
    f_old: int
    f_soon: int
    o1: int
    o3: int
    o1_shipped_at: datetime


def receive_on(
    db: Session,
    day: date,
    product: int,
    warehouse: int,
    lot_code: str,
    quantity: str,
    unit_cost: str,
    best_before: date,
) -> int:
    """Receive goods back-dated to ``day``; the lot's id."""
    context = MovementContext(actor=ACTOR, reference="OPENING", occurred_at=at(day, 9))
    line = ReceiptLine(
        product_id=product,
        warehouse_id=warehouse,
        lot_code=lot_code,
        quantity=Decimal(quantity),
        received_date=min(day, best_before),
        best_before=best_before,
        unit_cost=Decimal(unit_cost),
    )
    return stock.receive(db, context, line).lot_id


def join_on(db: Session, name: str, day: date) -> int:
    """A customer created on ``day``; its id."""
    customer = customers.create_customer(db, ACTOR, {"name": name})
    db.execute(update(Customer).where(Customer.id == customer.id).values(created_at=at(day, 8)))
    return customer.id


def place_on(db: Session, customer: int, lines: list[tuple[int, str]], day: date) -> int:
    """An order placed on ``day`` at PRICE per unit; its id."""
    drafts = [LineDraft(product, Decimal(quantity), PRICE) for product, quantity in lines]
    order = orders.create_order(db, ACTOR, OrderDraft(customer, drafts))
    db.execute(update(SalesOrder).where(SalesOrder.id == order.id).values(created_at=at(day, 10)))
    return order.id


def ship_at(db: Session, order_id: int, when: datetime) -> None:
    """Confirm an order (FEFO) and ship it, its issues and shipped_at back-dated to ``when``."""
    order = orders.confirm(db, ACTOR, orders.get_order(db, order_id))
    assert order.number is not None
    context = MovementContext(actor=ACTOR, reference=order.number, occurred_at=when)
    for line in order.lines:
        allocation.issue(db, context, line.reference(order.number))
    db.execute(
        update(SalesOrder)
        .where(SalesOrder.id == order_id)
        .values(status=OrderStatus.SHIPPED.value, shipped_at=when)
    )
    db.expire_all()


@pytest.fixture
def book() -> Book:
    """Write the history through the services, committed."""
    world = make_world()
    fig = make_product("FIG-SMYRNA")
    kg, pack, main, spare = world.kg_product, world.pack_product, world.main, world.spare
    with SessionLocal() as db:
        l1 = receive_on(db, D0, kg, main, "L1", "100", "2.0000", in_days(100))
        l2 = receive_on(db, D0, pack, main, "L2", "40", "3.5000", in_days(150))
        l3 = receive_on(db, D0, kg, main, "L3", "4", "3.5000", in_days(200))
        receive_on(db, D0, kg, spare, "L3", "6", "3.5000", in_days(200))
        f_old = receive_on(db, D0, fig, main, "F-OLD", "10", "1.0000", in_days(-5))
        f_soon = receive_on(db, D0, fig, spare, "F-SOON", "4", "1.5000", in_days(10))
        f_empty = receive_on(db, D0, fig, main, "F-EMPTY", "2", "1.0000", in_days(-1))
        stock.waste(
            db,
            MovementContext(actor=ACTOR, reason="Spoiled", occurred_at=at(D0, 9)),
            product_id=fig,
            lot_id=f_empty,
            warehouse_id=main,
            quantity=Decimal(2),
        )
        alpha = join_on(db, "Alpha", D0)
        o1 = place_on(db, alpha, [(kg, "10"), (pack, "4")], D0)
        beta = join_on(db, "Beta", D2)
        o2 = place_on(db, beta, [(pack, "8")], D2)
        shipped_at = at(D2, 11)
        ship_at(db, o1, shipped_at)
        ship_at(db, o2, at(D2, 12))
        order = orders.get_order(db, o1)
        back = ReturnLine(order.lines[0].id, Decimal(2), ReturnDisposition.RESTOCK)
        returns.record_return(db, ACTOR, order, [back], "Damaged")
        stock.waste(
            db,
            MovementContext(actor=ACTOR, reason="Mould"),
            product_id=kg,
            lot_id=l1,
            warehouse_id=main,
            quantity=Decimal(1),
        )
        o3 = place_on(db, alpha, [(kg, "1")], D3)
        db.commit()
    return Book(world, fig, l1, l2, l3, f_old, f_soon, o1, o3, shipped_at)


def report(client: TestClient, caller: SignedIn, path: str, **params: Any) -> Any:
    """A report as JSON."""
    response = client.get(f"{REPORTS}/{path}", params=params, headers=caller.headers)
    assert response.status_code == 200, response.text
    return response.json()


def csv_rows(response: Response, model: type[Any]) -> list[dict[str, str]]:
    """The rows of a CSV answer, after checking its type and header."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    reader = csv.DictReader(io.StringIO(response.text))
    assert reader.fieldnames == list(model.model_fields)
    return list(reader)


def as_values(row: Json) -> Json:
    """A report row with every numeric string as a Decimal (so 0 and 0.00 compare equal)."""
    result: Json = {}
    for key, value in row.items():
        try:
            result[key] = Decimal(value) if isinstance(value, str) else value
        except ArithmeticError:
            result[key] = value
    return result


# --------------------------------------------------------------------------- KPIs


def kpi_day(day: date, **values: Any) -> Json:
    """A KPI day: zeros except ``values``."""
    row: Json = {
        "day": day.isoformat(),
        "orders_placed": 0,
        "orders_shipped": 0,
        "revenue": "0.00",
        "returns_credit": "0.00",
        "cost_of_goods": "0.00",
        "gross_margin": "0.00",
        "transactions": 0,
        "new_customers": 0,
    }
    return {**row, **values}


EXPECTED_DAYS = [
    kpi_day(D0, orders_placed=1, transactions=8, new_customers=1),
    kpi_day(D1),
    kpi_day(
        D2,
        orders_placed=1,
        orders_shipped=2,
        revenue="110.00",  # O1 70.00 + O2 40.00
        cost_of_goods="62.00",  # 10 x 2.0000 + 4 x 3.5000 + 8 x 3.5000
        gross_margin="48.00",
        transactions=3,
        new_customers=1,
    ),
    kpi_day(
        D3,
        orders_placed=1,
        returns_credit="10.00",  # 2 kg at 5.00
        cost_of_goods="-4.00",  # 2 kg back into L1 at 2.0000
        gross_margin="-6.00",
        transactions=2,
    ),
]
APRICOT_SALES = {
    "sku": "APRICOT-500G",
    "name": "Product APRICOT-500G",
    "unit": "pack",
    "quantity": "12.000",
    "weight_kg": "6.000",
    "revenue": "60.00",
}
DATE_SALES = {
    "sku": "DATE-MEDJOOL",
    "name": "Product DATE-MEDJOOL",
    "unit": "kg",
    "quantity": "10.000",
    "weight_kg": "10.000",
    "revenue": "50.00",
}


def test_kpis_per_day(client: TestClient, manager: SignedIn, book: Book) -> None:
    kpis = report(client, manager, "kpis", **RANGE)
    assert (kpis["since"], kpis["until"]) == (D0.isoformat(), D3.isoformat())
    assert [as_values(day) for day in kpis["days"]] == [as_values(day) for day in EXPECTED_DAYS]
    # O1 shipped on D2 (placed on D0); O3 is placed today and still pending
    o1 = client.get(f"{API}/orders/{book.o1}", headers=manager.headers).json()
    o3 = client.get(f"{API}/orders/{book.o3}", headers=manager.headers).json()
    assert datetime.fromisoformat(o1["shipped_at"]) == book.o1_shipped_at
    assert (o3["status"], o3["shipped_at"]) == ("pending", None)
    busy = {day["day"]: day for day in kpis["days"]}
    for expected in EXPECTED_DAYS:
        actual = busy[expected["day"]]
        for key in ("revenue", "returns_credit", "cost_of_goods", "gross_margin"):
            if Decimal(expected[key]):
                assert actual[key] == expected[key], (expected["day"], key)


def test_kpi_totals(client: TestClient, manager: SignedIn, book: Book) -> None:
    totals = report(client, manager, "kpis", **RANGE)["totals"]
    assert totals == {
        "orders_placed": 3,
        "orders_shipped": 2,
        "revenue": "110.00",
        "returns_credit": "10.00",
        "net_revenue": "100.00",
        "cost_of_goods": "58.00",
        "gross_margin": "42.00",
        "gross_margin_pct": "42.00",
        "transactions": 13,
        "new_customers": 2,
    }


def test_kpis_top_products(client: TestClient, manager: SignedIn, book: Book) -> None:
    kpis = report(client, manager, "kpis", **RANGE)
    apricot = {"product_id": book.world.pack_product, **APRICOT_SALES}
    dates = {"product_id": book.world.kg_product, **DATE_SALES}
    assert kpis["top_products_by_revenue"] == [apricot, dates]
    assert kpis["top_products_by_weight"] == [dates, apricot]  # 4 + 8 packs of 0.5 kg = 6 kg


def test_kpis_of_quiet_days_are_zero_rows(
    client: TestClient, manager: SignedIn, book: Book
) -> None:
    kpis = report(client, manager, "kpis", since=D1.isoformat(), until=D1.isoformat())
    assert [as_values(day) for day in kpis["days"]] == [as_values(kpi_day(D1))]
    assert as_values(kpis["totals"]) == as_values(
        {
            "orders_placed": 0,
            "orders_shipped": 0,
            "revenue": "0",
            "returns_credit": "0",
            "net_revenue": "0",
            "cost_of_goods": "0",
            "gross_margin": "0",
            "gross_margin_pct": None,  # no revenue: no percentage
            "transactions": 0,
            "new_customers": 0,
        }
    )
    assert kpis["top_products_by_revenue"] == kpis["top_products_by_weight"] == []
    earlier = report(
        client, manager, "kpis", since=(D0 - timedelta(days=9)).isoformat(), until=D1.isoformat()
    )
    assert len(earlier["days"]) == 11
    assert [day["transactions"] for day in earlier["days"]] == [0] * 9 + [8, 0]


def test_kpis_of_one_busy_day(client: TestClient, manager: SignedIn, book: Book) -> None:
    kpis = report(client, manager, "kpis", since=D2.isoformat(), until=D2.isoformat())
    (day,) = kpis["days"]
    assert as_values(day) == as_values(EXPECTED_DAYS[2])
    assert (day["revenue"], day["cost_of_goods"], day["gross_margin"]) == (
        "110.00",
        "62.00",
        "48.00",
    )
    assert kpis["totals"]["gross_margin_pct"] == "43.64"  # 48.00 / 110.00, half up
    assert kpis["totals"]["net_revenue"] == "110.00"


def test_kpis_default_to_the_last_thirty_days(
    client: TestClient, manager: SignedIn, book: Book
) -> None:
    kpis = report(client, manager, "kpis", until=TODAY.isoformat())
    assert kpis["since"] == (TODAY - timedelta(days=29)).isoformat()
    assert len(kpis["days"]) == 30
    assert kpis["totals"]["revenue"] == "110.00"
    assert kpis["totals"]["transactions"] == 13


def test_kpis_csv_has_one_row_per_day(client: TestClient, manager: SignedIn, book: Book) -> None:
    response = client.get(
        f"{REPORTS}/kpis", params={**RANGE, "format": "csv"}, headers=manager.headers
    )
    assert f'filename="kpis-{D0}-{D3}.csv"' in response.headers["content-disposition"]
    rows = csv_rows(response, KpiDay)
    assert len(rows) == 4
    for row, expected in zip(rows, EXPECTED_DAYS, strict=True):
        assert row["day"] == expected["day"]
        for key in ("orders_placed", "orders_shipped", "transactions", "new_customers"):
            assert int(row[key]) == expected[key]
        for key in ("revenue", "returns_credit", "cost_of_goods", "gross_margin"):
            assert Decimal(row[key]) == Decimal(expected[key])
    assert rows[2]["revenue"] == "110.00"
    assert rows[3]["gross_margin"] == "-6.00"  # a number, not neutralised as a formula


@pytest.mark.parametrize(
    ("since", "until", "field"),
    [
        (D3, D2, "until"),
        (D3 - timedelta(days=366), D3, "since"),
        (D3 - timedelta(days=1000), D3, "since"),
    ],
)
def test_kpi_ranges_are_checked(
    client: TestClient, manager: SignedIn, since: date, until: date, field: str
) -> None:
    for path in ("kpis", "top-products"):
        response = client.get(
            f"{REPORTS}/{path}",
            params={"since": since.isoformat(), "until": until.isoformat()},
            headers=manager.headers,
        )
        assert_problem(response, 422, field=field)


def test_closed_days_are_summed_once_and_read_back(
    client: TestClient, manager: SignedIn, book: Book
) -> None:
    first = report(client, manager, "kpis", **RANGE)
    closed = reports.last_closed_day()
    with SessionLocal() as db:
        assert db.scalars(select(DailyKpi.day).order_by(DailyKpi.day)).all() == [
            day for day in (D0, D1, D2) if day <= closed
        ]
        # a closed day changed behind the roll-up's back keeps its summed figures ...
        o1_total = db.scalars(select(SalesOrder.total).where(SalesOrder.id == book.o1)).one()
        db.execute(update(SalesOrder).where(SalesOrder.id == book.o1).values(total=PRICE))
        # ... while today is summed live
        stock.waste(
            db,
            MovementContext(actor=ACTOR, reference="late", reason="torn bag"),
            product_id=book.world.kg_product,
            lot_id=book.l1,
            warehouse_id=book.world.main,
            quantity=Decimal(1),
        )
        db.commit()
    again = report(client, manager, "kpis", **RANGE)
    assert again["days"][:3] == first["days"][:3]
    assert again["days"][3]["transactions"] == first["days"][3]["transactions"] + 1
    assert again["top_products_by_revenue"] == first["top_products_by_revenue"]
    with SessionLocal() as db:
        reports.forget_rolled_up_days(db)
        db.commit()
    summed = report(client, manager, "kpis", **RANGE)
    o1_day = next(day for day in summed["days"] if day["day"] == D2.isoformat())
    assert Decimal(o1_day["revenue"]) == Decimal(first["days"][2]["revenue"]) - o1_total + PRICE


def test_a_refused_kpi_range_rolls_up_nothing(
    client: TestClient, manager: SignedIn, book: Book
) -> None:
    response = client.get(
        f"{REPORTS}/kpis",
        params={"since": D2.isoformat(), "until": D0.isoformat()},
        headers=manager.headers,
    )
    assert_problem(response, 422, field="until")
    with SessionLocal() as db:
        assert db.scalar(select(func.count()).select_from(DailyKpi)) == 0
        assert db.scalar(select(func.count()).select_from(DailyProductSales)) == 0


def test_kpis_cover_at_most_366_days(client: TestClient, manager: SignedIn, book: Book) -> None:
    kpis = report(
        client, manager, "kpis", since=(D3 - timedelta(days=365)).isoformat(), until=D3.isoformat()
    )
    assert len(kpis["days"]) == 366
    assert kpis["totals"]["transactions"] == 13
    response = client.get(
        f"{REPORTS}/kpis", params={"since": "not-a-date"}, headers=manager.headers
    )
    assert_problem(response, 422)


def test_zero_amounts_keep_the_scale_of_their_column(
    client: TestClient, manager: SignedIn, book: Book
) -> None:
    kpis = report(client, manager, "kpis", since=D1.isoformat(), until=D1.isoformat())
    assert kpis["days"] == [kpi_day(D1)]
    assert kpis["totals"]["revenue"] == "0.00"
    slow = report(client, manager, "slow-movers", days=1)
    assert {row["shipped"] for row in slow["rows"]} == {"0.000"}


# --------------------------------------------------------------------------- top products


def test_top_products_by_weight_and_revenue(
    client: TestClient, manager: SignedIn, book: Book
) -> None:
    by_weight = report(client, manager, "top-products", by="weight", limit=1, **RANGE)
    assert by_weight == [{"product_id": book.world.kg_product, **DATE_SALES}]
    by_revenue = report(client, manager, "top-products", by="revenue", limit=1, **RANGE)
    assert by_revenue == [{"product_id": book.world.pack_product, **APRICOT_SALES}]
    both = report(client, manager, "top-products", **RANGE)  # by revenue, by default
    assert [row["sku"] for row in both] == ["APRICOT-500G", "DATE-MEDJOOL"]
    # shipped on D2 only: a range without D2 sells nothing
    assert report(client, manager, "top-products", since=D3.isoformat(), until=D3.isoformat()) == []

    params = {**RANGE, "by": "weight", "format": "csv"}
    response = client.get(f"{REPORTS}/top-products", params=params, headers=manager.headers)
    assert 'filename="top-products-by-weight.csv"' in response.headers["content-disposition"]
    rows = csv_rows(response, ProductSales)
    assert [(r["sku"], r["weight_kg"], r["revenue"]) for r in rows] == [
        ("DATE-MEDJOOL", "10.000", "50.00"),
        ("APRICOT-500G", "6.000", "60.00"),
    ]


@pytest.mark.parametrize("params", [{"by": "volume"}, {"limit": 0}, {"limit": 501}])
def test_top_products_checks_its_parameters(
    client: TestClient, manager: SignedIn, params: Json
) -> None:
    response = client.get(f"{REPORTS}/top-products", params=params, headers=manager.headers)
    assert_problem(response, 422)


# --------------------------------------------------------------------------- stock valuation


def valuation_row(
    product: int, sku: str, warehouse: int, code: str, on_hand: str, lots: int, value: str
) -> Json:
    """A row of the stock valuation."""
    return {
        "product_id": product,
        "sku": sku,
        "name": f"Product {sku}",
        "warehouse_id": warehouse,
        "warehouse_code": code,
        "on_hand": on_hand,
        "lots": lots,
        "value": value,
    }


def test_stock_valuation(client: TestClient, manager: SignedIn, book: Book) -> None:
    w = book.world
    expected = [
        valuation_row(w.pack_product, "APRICOT-500G", w.main, "MAIN", "28.000", 1, "98.00"),
        # L1: 100 - 10 shipped + 2 back - 1 wasted = 91 at 2.0000; L3: 4 at 3.5000
        valuation_row(w.kg_product, "DATE-MEDJOOL", w.main, "MAIN", "95.000", 2, "196.00"),
        valuation_row(w.kg_product, "DATE-MEDJOOL", w.spare, "SPARE", "6.000", 1, "21.00"),
        valuation_row(book.fig, "FIG-SMYRNA", w.main, "MAIN", "10.000", 1, "10.00"),
        valuation_row(book.fig, "FIG-SMYRNA", w.spare, "SPARE", "4.000", 1, "6.00"),
    ]
    valuation = report(client, manager, "stock-valuation")
    assert valuation == {"total_value": "331.00", "rows": expected}

    spare = report(client, manager, "stock-valuation", warehouse_id=w.spare)
    assert spare == {"total_value": "27.00", "rows": [expected[2], expected[4]]}
    main = report(client, manager, "stock-valuation", warehouse_id=w.main)
    assert main["total_value"] == "304.00"
    assert main["rows"] == [expected[0], expected[1], expected[3]]
    nowhere = report(client, manager, "stock-valuation", warehouse_id=987654)
    assert nowhere["rows"] == []
    assert Decimal(nowhere["total_value"]) == 0

    response = client.get(
        f"{REPORTS}/stock-valuation", params={"format": "csv"}, headers=manager.headers
    )
    assert 'filename="stock-valuation.csv"' in response.headers["content-disposition"]
    rows = csv_rows(response, ValuationRow)
    assert [(r["sku"], r["warehouse_code"], r["on_hand"], r["lots"], r["value"]) for r in rows] == [
        (row["sku"], row["warehouse_code"], row["on_hand"], str(row["lots"]), row["value"])
        for row in expected
    ]


# --------------------------------------------------------------------------- expiring stock


def expiring_row(
    lot: int, code: str, product: int, sku: str, place: tuple[int, str], days: int, held: str
) -> Json:
    """A row of the expiring-stock report; unit cost and value filled in by the caller."""
    return {
        "lot_id": lot,
        "lot_code": code,
        "product_id": product,
        "sku": sku,
        "warehouse_id": place[0],
        "warehouse_code": place[1],
        "best_before": in_days(days).isoformat(),
        "days_left": days,
        "status": "available",
        "on_hand": held,
    }


def test_expiring_stock(client: TestClient, manager: SignedIn, book: Book) -> None:
    w = book.world
    main, spare = (w.main, "MAIN"), (w.spare, "SPARE")
    old = {
        **expiring_row(book.f_old, "F-OLD", book.fig, "FIG-SMYRNA", main, -5, "10.000"),
        "unit_cost": "1.0000",
        "value": "10.00",
    }
    soon = {
        **expiring_row(book.f_soon, "F-SOON", book.fig, "FIG-SMYRNA", spare, 10, "4.000"),
        "unit_cost": "1.5000",
        "value": "6.00",
    }
    # past best-before stock is included; the emptied F-EMPTY is not
    assert report(client, manager, "expiring-stock", within_days=10) == {
        "within_days": 10,
        "total_value": "16.00",
        "rows": [old, soon],
    }
    for within in (0, 9):
        assert report(client, manager, "expiring-stock", within_days=within) == {
            "within_days": within,
            "total_value": "10.00",
            "rows": [old],
        }
    year = report(client, manager, "expiring-stock", within_days=365)
    assert [
        (r["lot_id"], r["warehouse_code"], r["days_left"], r["on_hand"], r["value"])
        for r in year["rows"]
    ] == [
        (book.f_old, "MAIN", -5, "10.000", "10.00"),
        (book.f_soon, "SPARE", 10, "4.000", "6.00"),
        (book.l1, "MAIN", 100, "91.000", "182.00"),
        (book.l2, "MAIN", 150, "28.000", "98.00"),
        (book.l3, "MAIN", 200, "4.000", "14.00"),
        (book.l3, "SPARE", 200, "6.000", "21.00"),
    ]
    assert year["total_value"] == "331.00"  # all stock: the valuation's total

    response = client.get(
        f"{REPORTS}/expiring-stock",
        params={"within_days": 10, "format": "csv"},
        headers=manager.headers,
    )
    rows = csv_rows(response, ExpiringRow)
    assert [(r["lot_code"], r["days_left"], r["value"]) for r in rows] == [
        ("F-OLD", "-5", "10.00"),
        ("F-SOON", "10", "6.00"),
    ]
    for bad in (-1, 3651):
        response = client.get(
            f"{REPORTS}/expiring-stock", params={"within_days": bad}, headers=manager.headers
        )
        assert_problem(response, 422)


# --------------------------------------------------------------------------- slow movers


def test_slow_movers_put_the_least_shipped_first(
    client: TestClient, manager: SignedIn, book: Book
) -> None:
    today_only = report(client, manager, "slow-movers", days=1)
    assert today_only["days"] == 1
    # nothing shipped today: the most valuable stock first
    assert [
        (r["sku"], r["on_hand"], r["value"], Decimal(r["shipped"]), r["last_shipped_at"])
        for r in today_only["rows"]
    ] == [
        ("DATE-MEDJOOL", "101.000", "217.00", 0, None),
        ("APRICOT-500G", "28.000", "98.00", 0, None),
        ("FIG-SMYRNA", "14.000", "16.00", 0, None),
    ]

    two_days = report(client, manager, "slow-movers", days=2)
    assert [(r["sku"], Decimal(r["shipped"])) for r in two_days["rows"]] == [
        ("FIG-SMYRNA", 0),
        ("DATE-MEDJOOL", 10),
        ("APRICOT-500G", 12),
    ]
    fig, dates, apricot = two_days["rows"]
    assert fig["last_shipped_at"] is None
    assert datetime.fromisoformat(dates["last_shipped_at"]) == book.o1_shipped_at
    assert datetime.fromisoformat(apricot["last_shipped_at"]) == at(D2, 12)
    assert (dates["shipped"], apricot["shipped"]) == ("10.000", "12.000")
    assert dates["product_id"] == book.world.kg_product
    assert dates["name"] == "Product DATE-MEDJOOL"

    first = report(client, manager, "slow-movers", days=2, limit=1)
    assert first["rows"] == [fig]

    response = client.get(
        f"{REPORTS}/slow-movers", params={"days": 2, "format": "csv"}, headers=manager.headers
    )
    rows = csv_rows(response, SlowMoverRow)
    assert [(r["sku"], r["last_shipped_at"] == "") for r in rows] == [
        ("FIG-SMYRNA", True),
        ("DATE-MEDJOOL", False),
        ("APRICOT-500G", False),
    ]
    for params in ({"days": 0}, {"limit": 0}, {"days": 3651}):
        response = client.get(f"{REPORTS}/slow-movers", params=params, headers=manager.headers)
        assert_problem(response, 422)


# --------------------------------------------------------------------------- roles


PATHS = [
    f"kpis?since={D0}&until={D3}",
    "kpis?format=csv",
    "top-products",
    "stock-valuation",
    "expiring-stock",
    "slow-movers?format=csv",
]


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.ADMIN, 200), (Role.MANAGER, 200), (Role.STAFF, 403), (Role.CUSTOMER, 403)],
)
def test_reports_are_for_managers_and_admins(
    client: TestClient, make_user: MakeUser, book: Book, role: Role, status: int
) -> None:
    caller = sign_in(client, make_user, role)
    for path in PATHS:
        response = client.get(f"{REPORTS}/{path}", headers=caller.headers)
        if status == 200:
            assert response.status_code == 200, (path, response.text)
        else:
            assert_problem(response, status)
    if status == 200:
        assert report(client, caller, "stock-valuation")["total_value"] == "331.00"


def test_reports_need_a_signed_in_caller(client: TestClient) -> None:
    for path in PATHS:
        assert_problem(client.get(f"{REPORTS}/{path}"), 401)
