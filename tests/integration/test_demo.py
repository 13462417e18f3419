"""``dfims demo load``: the demo data set, loaded only into an empty catalog."""

import os
import re
import subprocess
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import groupby
from operator import itemgetter

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from app.core.clock import today, utcnow
from app.core.database import session_scope
from app.models.audit import AuditLog
from app.models.billing import CreditNote, CreditReason, InvoiceStatus
from app.models.catalog import Category, Product, Supplier, Warehouse
from app.models.inventory import (
    Lot,
    LotStatus,
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
)
from app.models.mixins import UTCDateTime
from app.models.purchasing import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseReceipt,
    PurchaseReceiptLine,
    PurchaseStatus,
)
from app.models.sales import (
    AddressKind,
    Customer,
    OrderStatus,
    ReturnDisposition,
    SalesOrder,
    SalesOrderLine,
    SalesReturn,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
    VatTreatment,
)
from app.models.user import Role
from app.schemas.catalog import ProductCreate
from app.services import catalog, payments
from app.services.audit import Actor
from tests.conftest import AuthHeaders, empty_tables, tables_emptied_after_the_module
from tests.support.servers import error_lines, run_dfims

LOADED = re.compile(
    r"^Demo data loaded: (\d+) products, (\d+) lots, (\d+) stock movements\.$", re.MULTILINE
)


@dataclass(frozen=True)
class Snapshot:
    """What the catalog and stock tables hold."""

    counts: dict[str, int]
    ledger_total: Decimal
    on_hand_total: Decimal
    lot_statuses: dict[int, str]


def snapshot() -> Snapshot:
    models = {
        "products": Product,
        "categories": Category,
        "suppliers": Supplier,
        "warehouses": Warehouse,
        "lots": Lot,
        "movements": StockMovement,
        "levels": StockLevel,
        "reservations": Reservation,
        "audit": AuditLog,
    }
    with session_scope() as db:
        return Snapshot(
            counts={
                name: int(db.scalar(select(func.count()).select_from(model)) or 0)
                for name, model in models.items()
            },
            ledger_total=Decimal(db.scalar(select(func.sum(StockMovement.quantity))) or 0),
            on_hand_total=Decimal(db.scalar(select(func.sum(StockLevel.on_hand))) or 0),
            lot_statuses={lot.id: lot.status for lot in db.scalars(select(Lot)).all()},
        )


def load(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = run_dfims(env, "demo", "load", *args)
    assert "Traceback" not in result.stdout + result.stderr
    return result


def load_ok(env: dict[str, str], *args: str) -> str:
    result = load(env, *args)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert error_lines(result) == []
    return result.stdout


def assert_one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_if_empty_leaves_an_existing_catalog_alone(test_env: dict[str, str]) -> None:
    try:
        with session_scope() as db:
            catalog.create_product(
                db,
                Actor(user_id=None, label="demo-tests"),
                ProductCreate(sku="OWN-1", name="Our own product").model_dump(),
            )
        before = snapshot()

        assert "not loaded" in load_ok(test_env, "--if-empty")
        assert snapshot() == before

        assert_one_error(load(test_env))
        assert snapshot() == before
    finally:
        empty_tables()


@dataclass(frozen=True)
class Loaded:
    """What ``dfims demo load --if-empty`` printed on an empty database, and when it was done."""

    output: str
    at: datetime


# The demo is loaded once for the tests of this module (a load takes seconds).
_clean_tables = tables_emptied_after_the_module()


@pytest.fixture(scope="module")
def demo() -> Loaded:
    """The demo data loaded, as `make bootstrap` does, into the empty test database."""
    assert snapshot().counts["products"] == 0
    output = load_ok(dict(os.environ), "--if-empty")
    return Loaded(output, utcnow())


def test_demo_load_fills_an_empty_database(
    demo: Loaded, test_env: dict[str, str], client: TestClient, auth_headers: AuthHeaders
) -> None:
    assert LOADED.search(demo.output), demo.output
    with session_scope() as db:
        products = db.scalars(select(Product)).all()
        suppliers = db.scalars(select(Supplier)).all()
        warehouses = db.scalars(select(Warehouse)).all()
        lots = db.scalars(select(Lot)).all()
        moments = db.scalars(select(StockMovement.created_at)).all()
        categories = db.scalar(select(func.count()).select_from(Category))
    assert 35 <= len(products) <= 45
    assert all(product.is_active for product in products)
    assert len({product.sku for product in products}) == len(products)
    assert categories
    assert len(suppliers) == 5
    countries = {supplier.country for supplier in suppliers}
    assert len(countries) == 5
    assert "" not in countries
    assert len(warehouses) == 2
    assert len(lots) >= len(products)
    assert {lot.product_id for lot in lots} == {product.id for product in products}
    assert len(moments) > len(lots)
    assert min(moments) <= demo.at - timedelta(days=90)
    assert max(moments) <= demo.at
    assert len({(moment.year, moment.month) for moment in moments}) >= 4

    check = run_dfims(test_env, "stock", "check")
    assert check.returncode == 0, (check.stdout, check.stderr)
    assert "match" in check.stdout
    assert error_lines(check) == []

    response = client.get("/api/v1/alerts", headers=auth_headers(Role.STAFF))
    assert response.status_code == 200, response.text
    alerts = response.json()
    assert len(alerts["low_stock"]) >= 1
    assert len(alerts["expiring"]) >= 1
    assert len(alerts["expired"]) >= 1
    assert all(0 <= item["days_left"] <= 30 for item in alerts["expiring"])
    assert all(item["days_left"] < 0 for item in alerts["expired"])
    assert all(item["status"] == LotStatus.EXPIRED.value for item in alerts["expired"])


def test_second_load_changes_nothing(demo: Loaded, test_env: dict[str, str]) -> None:
    assert LOADED.search(demo.output), demo.output
    before = snapshot()
    assert before.counts["products"] > 0

    error = assert_one_error(load(test_env))

    assert "already" in error
    assert snapshot() == before

    skipped = load_ok(test_env, "--if-empty")

    assert not LOADED.search(skipped)
    assert "not loaded" in skipped
    assert snapshot() == before


def test_load_reports_what_it_made(demo: Loaded) -> None:
    match = LOADED.search(demo.output)
    assert match, demo.output
    counts = snapshot().counts
    assert int(match.group(1)) == counts["products"]
    assert int(match.group(3)) == counts["movements"]
    assert int(match.group(2)) == counts["lots"]


def test_demo_customers_have_addresses_terms_and_deliveries(demo: Loaded) -> None:
    with session_scope() as db:
        buyers = db.scalars(select(Customer).options(selectinload(Customer.addresses))).all()
        placed = db.scalars(select(SalesOrder)).all()
        held = db.execute(
            select(Reservation.reference, Lot.best_before).join(Lot, Lot.id == Reservation.lot_id)
        ).all()
        where = {address.id: address for buyer in buyers for address in buyer.addresses}
    assert buyers
    for buyer in buyers:
        defaults = sorted(a.kind for a in buyer.addresses if a.is_default and a.is_active)
        assert defaults == [AddressKind.BILLING, AddressKind.DELIVERY], buyer.name
        assert all(len(a.country) == 2 and a.street for a in buyer.addresses), buyer.name
    deliveries = [sum(a.kind == AddressKind.DELIVERY for a in b.addresses) for b in buyers]
    assert max(deliveries) >= 2
    assert {buyer.partial_delivery for buyer in buyers} == {True, False}
    assert len({buyer.payment_terms_days for buyer in buyers}) >= 3
    charged = [b for b in buyers if b.vat_treatment == VatTreatment.REVERSE_CHARGE]
    assert len(charged) == 1
    assert charged[0].vat_number
    by_id = {buyer.id: buyer for buyer in buyers}
    numbers = {order.number: order for order in placed}
    for order in placed:
        address = where[order.delivery_address_id or 0]
        assert (address.customer_id, address.kind) == (order.customer_id, AddressKind.DELIVERY)
        assert order.requested_delivery_date >= today(order.created_at), order.number
    assert len({order.delivery_address_id for order in placed}) > len(buyers)
    for reference, best_before in held:
        order = numbers[reference.split("/")[0]]
        demand = by_id[order.customer_id].min_shelf_life_days
        confirmed_on = today(order.confirmed_at or order.created_at)
        wanted = max(order.requested_delivery_date, confirmed_on) + timedelta(days=demand)
        assert best_before >= wanted, reference


Stock = dict[tuple[int, int], Decimal]  # quantity per (lot, warehouse)
ZERO = Decimal(0)
SHIPPED = (OrderStatus.SHIPPED.value, OrderStatus.DELIVERED.value)
OPEN = (OrderStatus.CONFIRMED.value, OrderStatus.PARTIALLY_SHIPPED.value)
DATED = (
    Category, Product, Supplier, Warehouse, Customer, Lot, StockMovement, Reservation,
    SalesOrder, SalesReturn, PurchaseOrder, PurchaseReceipt,
)  # fmt: skip
# (rows, later, earlier): in these rows the later moment never comes before the earlier one.
SEQUENCE = (
    ("products JOIN categories ON categories.id = products.category_id",
     "products.created_at", "categories.created_at"),
    ("lots JOIN products ON products.id = lots.product_id",
     "lots.created_at", "products.created_at"),
    ("lots JOIN suppliers ON suppliers.id = lots.supplier_id",
     "lots.created_at", "suppliers.created_at"),
    ("stock_movements JOIN lots ON lots.id = stock_movements.lot_id",
     "stock_movements.created_at", "lots.created_at"),
    ("stock_movements JOIN warehouses ON warehouses.id = stock_movements.warehouse_id",
     "stock_movements.created_at", "warehouses.created_at"),
    ("reservations JOIN lots ON lots.id = reservations.lot_id",
     "reservations.created_at", "lots.created_at"),
    ("reservations", "reservations.closed_at", "reservations.created_at"),
    ("sales_orders JOIN customers ON customers.id = sales_orders.customer_id",
     "sales_orders.created_at", "customers.created_at"),
    ("sales_orders JOIN sales_order_lines ON sales_order_lines.order_id = sales_orders.id "
     "JOIN products ON products.id = sales_order_lines.product_id",
     "sales_orders.created_at", "products.created_at"),
    ("sales_orders", "sales_orders.confirmed_at", "sales_orders.created_at"),
    ("sales_orders", "sales_orders.shipped_at", "sales_orders.confirmed_at"),
    ("sales_orders", "sales_orders.delivered_at", "sales_orders.shipped_at"),
    ("sales_orders", "sales_orders.cancelled_at", "sales_orders.created_at"),
    ("sales_returns JOIN sales_orders ON sales_orders.id = sales_returns.order_id",
     "sales_returns.created_at", "sales_orders.shipped_at"),
    ("purchase_orders JOIN suppliers ON suppliers.id = purchase_orders.supplier_id",
     "purchase_orders.created_at", "suppliers.created_at"),
    ("purchase_orders JOIN warehouses ON warehouses.id = purchase_orders.warehouse_id",
     "purchase_orders.created_at", "warehouses.created_at"),
    ("purchase_orders JOIN purchase_order_lines ON purchase_order_lines.order_id = "
     "purchase_orders.id JOIN products ON products.id = purchase_order_lines.product_id",
     "purchase_orders.created_at", "products.created_at"),
    ("purchase_orders", "purchase_orders.ordered_at", "purchase_orders.created_at"),
    ("purchase_orders", "purchase_orders.closed_at", "purchase_orders.ordered_at"),
    ("purchase_receipts JOIN purchase_orders ON purchase_orders.id = purchase_receipts.order_id",
     "purchase_receipts.received_at", "purchase_orders.ordered_at"),
)  # fmt: skip


def test_demo_history_keeps_the_ledger_rules(demo: Loaded) -> None:
    loaded = demo.at

    with session_scope() as db:
        codes = dict(db.execute(select(Lot.id, Lot.lot_code)).all())
        broken = {
            "movements before their lot's receipt": moves_before_receipt(db, codes),
            "stock replayed in time order": replayed_stock(db, codes),
            "rows dated before what they refer to, or after the load": out_of_sequence(db, loaded),
            "sales orders against their reservations and movements": order_stock(db, codes),
            "purchase receipts against their movements": receipt_stock(db),
            "states the demo shows": missing_states(db),
        }

    failures = [
        f"{rule}: {len(found)} broken, e.g.\n  " + "\n  ".join(found[:8])
        for rule, found in broken.items()
        if found
    ]
    assert not failures, "\n".join(failures)


def stamp(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"


def moves_before_receipt(db: Session, codes: dict[int, str]) -> list[str]:
    """Every movement of a lot comes at or after its first receipt, dated its received date."""
    received = dict(db.execute(select(Lot.id, Lot.received_date)).all())
    first = dict(
        db.execute(
            select(StockMovement.lot_id, func.min(StockMovement.created_at))
            .where(StockMovement.kind == MovementKind.RECEIPT.value)
            .group_by(StockMovement.lot_id)
        ).all()
    )
    found = [
        f"lot {codes[lot_id]}: received on {day}, its first receipt is "
        + (stamp(first[lot_id]) if lot_id in first else "missing")
        for lot_id, day in received.items()
        if lot_id not in first or first[lot_id].date() != day
    ]
    rows = db.execute(
        select(
            StockMovement.id, StockMovement.lot_id, StockMovement.kind, StockMovement.created_at
        ).order_by(StockMovement.lot_id, StockMovement.created_at)
    )
    for movement_id, lot_id, kind, at in rows:
        if at.date() < received[lot_id] or (lot_id in first and at < first[lot_id]):
            found.append(
                f"lot {codes[lot_id]}: {kind} #{movement_id} at {stamp(at)}, "
                f"before its receipt on {received[lot_id]}"
            )
    return found


def replayed_stock(db: Session, codes: dict[int, str]) -> list[str]:
    """Per lot and warehouse, in time order: on hand >= reserved >= 0, ending at the level."""
    changes: dict[tuple[int, int], list[tuple[datetime, Decimal, Decimal, str]]] = defaultdict(list)
    movements = select(
        StockMovement.id,
        StockMovement.lot_id,
        StockMovement.warehouse_id,
        StockMovement.kind,
        StockMovement.quantity,
        StockMovement.created_at,
    )
    for movement_id, lot_id, warehouse_id, kind, quantity, at in db.execute(movements):
        changes[lot_id, warehouse_id].append((at, quantity, ZERO, f"{kind} #{movement_id}"))
    reservations = select(
        Reservation.id,
        Reservation.lot_id,
        Reservation.warehouse_id,
        Reservation.quantity,
        Reservation.created_at,
        Reservation.closed_at,
    )
    for held_id, lot_id, warehouse_id, quantity, start, end in db.execute(reservations):
        changes[lot_id, warehouse_id].append((start, ZERO, quantity, f"reservation #{held_id}"))
        if end is not None:
            changes[lot_id, warehouse_id].append((end, ZERO, -quantity, f"end of #{held_id}"))
    levels = {
        (lot_id, warehouse_id): (on_hand, reserved)
        for lot_id, warehouse_id, on_hand, reserved in db.execute(
            select(
                StockLevel.lot_id, StockLevel.warehouse_id, StockLevel.on_hand, StockLevel.reserved
            )
        )
    }
    found = []
    for lot_id, warehouse_id in sorted(changes.keys() | levels.keys()):
        where = f"lot {codes[lot_id]} in warehouse {warehouse_id}"
        on_hand = reserved = ZERO
        for at, group in groupby(sorted(changes[lot_id, warehouse_id]), key=itemgetter(0)):
            events = list(group)
            on_hand += sum((event[1] for event in events), ZERO)
            reserved += sum((event[2] for event in events), ZERO)
            if not ZERO <= reserved <= on_hand:
                what = ", ".join(event[3] for event in events)
                found.append(
                    f"{where}: {on_hand} on hand, {reserved} reserved after {what} at {stamp(at)}"
                )
                break
        else:
            level = levels.get((lot_id, warehouse_id), (ZERO, ZERO))
            if level != (on_hand, reserved):
                found.append(
                    f"{where}: the level holds {level[0]} on hand and {level[1]} reserved, the "
                    f"ledger replays to {on_hand} and {reserved}"
                )
    return found


def out_of_sequence(db: Session, loaded: datetime) -> list[str]:
    """No row is dated before what it refers to or its own earlier steps, nor after the load."""
    found = []
    for rows, later, earlier in SEQUENCE:
        ids = f"{later.split('.')[0]}.id, {earlier.split('.')[0]}.id"
        query = text(f"SELECT {ids}, {later}, {earlier} FROM {rows} WHERE {later} < {earlier}")
        for later_id, earlier_id, late, early in db.execute(query):
            found.append(
                f"{later} of #{later_id} ({late}) is before {earlier} of #{earlier_id} ({early})"
            )
    for model in DATED:
        for column in model.__table__.columns:
            if isinstance(column.type, UTCDateTime):
                query = select(model.id, column).where(column > loaded)
                for row_id, at in db.execute(query):
                    found.append(
                        f"{model.__tablename__} #{row_id}: {column.key} {at} is after the load"
                    )
    return found


def order_stock(db: Session, codes: dict[int, str]) -> list[str]:
    """Lines are reserved or issued as the status says, by movements in the lots they name."""
    held: dict[tuple[str, str], Stock] = defaultdict(lambda: defaultdict(Decimal))
    reservations = select(
        Reservation.reference,
        Reservation.status,
        Reservation.lot_id,
        Reservation.warehouse_id,
        Reservation.quantity,
    )
    for reference, status, lot_id, warehouse_id, quantity in db.execute(reservations):
        held[reference, status][lot_id, warehouse_id] += quantity
    moved: dict[tuple[str, str], Stock] = defaultdict(lambda: defaultdict(Decimal))
    issued_at: dict[str, list[datetime]] = defaultdict(list)
    movements = select(
        StockMovement.reference,
        StockMovement.kind,
        StockMovement.lot_id,
        StockMovement.warehouse_id,
        StockMovement.quantity,
        StockMovement.created_at,
    ).where(StockMovement.kind.in_([MovementKind.ISSUE.value, MovementKind.RETURN.value]))
    for reference, kind, lot_id, warehouse_id, quantity, at in db.execute(movements):
        moved[reference, kind][lot_id, warehouse_id] += abs(quantity)
        if kind == MovementKind.ISSUE:
            issued_at[reference].append(at)
    returned: dict[int, Stock] = defaultdict(lambda: defaultdict(Decimal))
    returns = select(
        SalesReturn.line_id, SalesReturn.lot_id, SalesReturn.warehouse_id, SalesReturn.quantity
    )
    for line_id, lot_id, warehouse_id, quantity in db.execute(returns):
        returned[line_id][lot_id, warehouse_id] += quantity

    def shown(stock: Stock) -> str:
        parts = [
            f"{quantity} of {codes[lot]} in warehouse {warehouse}"
            for (lot, warehouse), quantity in sorted(stock.items())
        ]
        return ", ".join(parts) or "nothing"

    found = []
    for order in db.scalars(select(SalesOrder).options(selectinload(SalesOrder.lines))):
        name = f"{order.number} ({order.status})"
        issued: Stock = defaultdict(Decimal)
        back: Stock = defaultdict(Decimal)
        for line in order.lines:
            reference = line.reference(order.number or "")
            active = held[reference, ReservationStatus.ACTIVE.value]
            shipped = held[reference, ReservationStatus.ISSUED.value]
            expected = (
                line.open_quantity if order.status in OPEN else ZERO,
                line.shipped_quantity,
            )
            settled = line.shipped_quantity + line.cancelled_quantity == line.quantity
            if (
                (sum(active.values(), ZERO), sum(shipped.values(), ZERO)) != expected
                or (order.status in SHIPPED and not settled)
                or (order.status not in (*SHIPPED, *OPEN) and line.shipped_quantity)
            ):
                found.append(
                    f"{name} line {line.line_no} of {line.quantity}: reserved {shown(active)}; "
                    f"issued {shown(shipped)}; shipped {line.shipped_quantity}, backordered "
                    f"{line.backordered_quantity}, cancelled {line.cancelled_quantity}"
                )
            if sum(returned[line.id].values(), ZERO) != line.returned_quantity or any(
                quantity > shipped.get(key, ZERO) for key, quantity in returned[line.id].items()
            ):
                found.append(
                    f"{name} line {line.line_no}: {line.returned_quantity} returned, "
                    f"{shown(returned[line.id])} came back, {shown(shipped)} shipped"
                )
            for stock, more in ((issued, shipped), (back, returned[line.id])):
                for key, quantity in more.items():
                    stock[key] += quantity
        for kind, lines in ((MovementKind.ISSUE, issued), (MovementKind.RETURN, back)):
            booked = moved[order.number or "", kind]
            for key in sorted(booked.keys() | lines.keys()):
                if booked.get(key, ZERO) != lines.get(key, ZERO):
                    found.append(
                        f"{name}: {kind} movements moved {booked.get(key, ZERO)} of "
                        f"{codes[key[0]]} in warehouse {key[1]}, its lines {lines.get(key, ZERO)}"
                    )
        for at in issued_at[order.number or ""]:
            if order.confirmed_at is None or not order.confirmed_at <= at <= (
                order.delivered_at or at
            ):
                found.append(
                    f"{name}: issued at {stamp(at)}, confirmed {order.confirmed_at}, "
                    f"delivered {order.delivered_at}"
                )
    return found


def shipment_stock(db: Session) -> list[str]:
    """Each line's shipments add up to what it shipped, each shipped lot to its movement."""
    found = []
    shipped: dict[int, Decimal] = defaultdict(Decimal)
    rows = db.execute(
        select(Shipment.number, ShipmentLine, StockMovement)
        .join(ShipmentLine.shipment)
        .outerjoin(StockMovement, StockMovement.id == ShipmentLine.movement_id)
    )
    for number, line, movement in rows:
        shipped[line.order_line_id] += line.quantity
        if movement is not None and (
            (movement.lot_id, movement.warehouse_id, -movement.quantity)
            != (line.lot_id, line.warehouse_id, line.quantity)
        ):
            found.append(f"{number}: line {line.id} differs from movement {movement.id}")
    for line in db.scalars(select(SalesOrderLine)):
        if shipped.get(line.id, ZERO) != line.shipped_quantity:
            found.append(
                f"order line {line.id}: shipped {line.shipped_quantity}, its shipments "
                f"{shipped.get(line.id, ZERO)}"
            )
    return found


def receipt_stock(db: Session) -> list[str]:
    """Each received line is its receipt movement; purchase lines add up their deliveries."""
    found = []
    rows = db.execute(
        select(
            PurchaseOrder.number,
            PurchaseReceiptLine.id,
            PurchaseReceiptLine.lot_id,
            PurchaseReceiptLine.quantity,
            PurchaseReceipt.received_at,
            StockMovement.kind,
            StockMovement.reference,
            StockMovement.lot_id,
            StockMovement.quantity,
            StockMovement.created_at,
        )
        .join(PurchaseReceipt, PurchaseReceipt.id == PurchaseReceiptLine.receipt_id)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseReceipt.order_id)
        .join(StockMovement, StockMovement.id == PurchaseReceiptLine.movement_id)
    )
    for number, line_id, lot_id, quantity, at, *movement in rows:
        if movement != [MovementKind.RECEIPT, number, lot_id, quantity, at]:
            kind, reference, into, moved, when = movement
            found.append(
                f"{number} receipt line #{line_id} brought {quantity} into lot #{lot_id} at "
                f"{stamp(at)}, its movement: {kind} {reference} of {moved} into lot #{into} at "
                f"{stamp(when)}"
            )
    lines = db.execute(
        select(
            PurchaseOrder.number,
            PurchaseOrder.status,
            PurchaseOrderLine.line_no,
            PurchaseOrderLine.quantity,
            PurchaseOrderLine.received_quantity,
            func.sum(PurchaseReceiptLine.quantity),
        )
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.order_id)
        .outerjoin(PurchaseReceiptLine, PurchaseReceiptLine.order_line_id == PurchaseOrderLine.id)
        .group_by(PurchaseOrderLine.id, PurchaseOrder.id)
    )
    for number, status, line_no, ordered, received, delivered in lines:
        if (
            received != (delivered or ZERO)
            or (status == PurchaseStatus.RECEIVED and received < ordered)
            or (status in (PurchaseStatus.DRAFT, PurchaseStatus.ORDERED) and received > 0)
        ):
            found.append(
                f"{number} ({status}) line {line_no}: {received} of {ordered} received, "
                f"deliveries brought {delivered}"
            )
    return found


def missing_states(db: Session) -> list[str]:
    """Each order, purchase and lot status, movement kind and return the demo has always shown."""
    shown: Sequence[tuple[InstrumentedAttribute[str], set[str]]] = (
        (SalesOrder.status, set(OrderStatus) - {OrderStatus.CANCELLED}),
        (
            PurchaseOrder.status,
            {PurchaseStatus.DRAFT, PurchaseStatus.ORDERED, PurchaseStatus.RECEIVED},
        ),
        (Lot.status, {LotStatus.AVAILABLE, LotStatus.EXPIRED}),
        (StockMovement.kind, set(MovementKind) - {MovementKind.ADJUSTMENT, MovementKind.COUNT}),
        (SalesReturn.disposition, {ReturnDisposition.WASTE}),
        (CreditNote.kind, set(CreditReason)),
        (
            Shipment.status,
            {ShipmentStatus.PICKING, ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED},
        ),
    )
    found = []
    standings = {payments.standing(balance).status for balance in payments.balances(db)}
    found.extend(f"no invoice {status}" for status in sorted(set(InvoiceStatus) - standings))
    for column, wanted in shown:
        present = set(db.scalars(select(column).distinct()))
        found.extend(
            f"no {column.class_.__tablename__} row with {column.key} {value}"
            for value in sorted(wanted - present)
        )
    return found
