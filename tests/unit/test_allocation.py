"""FEFO allocation: which lots a reservation takes, all-or-nothing, release and issue."""

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.database import session_scope
from app.core.errors import ConflictError, InvalidRequestError
from app.models.catalog import UnitOfMeasure
from app.models.inventory import (
    Lot,
    LotStatus,
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
)
from app.services import allocation, stock
from app.services.allocation import AllocationRequest
from app.services.audit import Actor
from app.services.catalog import products, warehouses
from app.services.stock import (
    CountLine,
    InsufficientStockError,
    MovementContext,
    ReceiptLine,
)
from tests.support.ledger import assert_consistent

ACTOR = Actor(user_id=None, label="tests")
CONTEXT = MovementContext(actor=ACTOR, reference="TEST", reason="test movement")

Allocated = tuple[int, int, Decimal]
"""(lot_id, warehouse_id, quantity) of one reservation."""


# -- setup through the services ----------------------------------------------------------------


def make_product(unit: UnitOfMeasure = UnitOfMeasure.KG, net_weight: str = "1") -> int:
    with session_scope() as db:
        product = products.create(
            db,
            ACTOR,
            {
                "sku": f"SKU-{uuid.uuid4().hex[:10]}",
                "name": "Medjool dates",
                "unit": unit.value,
                "net_weight_kg": Decimal(net_weight),
                "shelf_life_days": 365,
            },
        )
        return product.id


def make_warehouse() -> int:
    with session_scope() as db:
        warehouse = warehouses.create(
            db, ACTOR, {"code": f"W-{uuid.uuid4().hex[:10]}", "name": "Main warehouse"}
        )
        return warehouse.id


def receive(
    product_id: int,
    warehouse_id: int,
    lot_code: str,
    quantity: str | int,
    best_before: date,
    received_date: date | None = None,
) -> int:
    """Receive stock into a lot; the lot's id."""
    line = ReceiptLine(
        product_id=product_id,
        warehouse_id=warehouse_id,
        lot_code=lot_code,
        quantity=Decimal(quantity),
        received_date=received_date,
        best_before=best_before,
    )
    with session_scope() as db:
        return stock.receive(db, CONTEXT, line).lot_id


def set_lot(lot_id: int, **values: object) -> None:
    with session_scope() as db:
        lot = db.get(Lot, lot_id)
        assert lot is not None
        for key, value in values.items():
            setattr(lot, key, value)


def reserve(
    product_id: int,
    quantity: str | int,
    reference: str,
    *,
    today: date | None = None,
    min_shelf_life_days: int = 0,
    warehouse_id: int | None = None,
) -> list[Allocated]:
    request = AllocationRequest(
        product_id=product_id,
        quantity=Decimal(quantity),
        reference=reference,
        min_shelf_life_days=min_shelf_life_days,
        warehouse_id=warehouse_id,
    )
    with session_scope() as db:
        made = allocation.reserve(db, request, today=today)
        return [(r.lot_id, r.warehouse_id, r.quantity) for r in made]


def reserve_refused(
    product_id: int,
    quantity: str | int,
    *,
    today: date | None = None,
    min_shelf_life_days: int = 0,
    warehouse_id: int | None = None,
) -> InsufficientStockError:
    """Ask for a reservation that must be refused; the refusal."""
    with pytest.raises(InsufficientStockError) as caught:
        reserve(
            product_id,
            quantity,
            "REFUSED",
            today=today,
            min_shelf_life_days=min_shelf_life_days,
            warehouse_id=warehouse_id,
        )
    return caught.value


# -- reading the database ----------------------------------------------------------------------


def level(product_id: int, warehouse_id: int, lot_id: int) -> tuple[Decimal, Decimal]:
    """(on_hand, reserved) of a lot in a warehouse; (0, 0) when there is no level."""
    with session_scope() as db:
        row = db.scalar(
            select(StockLevel).where(
                StockLevel.product_id == product_id,
                StockLevel.warehouse_id == warehouse_id,
                StockLevel.lot_id == lot_id,
            )
        )
        return (row.on_hand, row.reserved) if row is not None else (Decimal(0), Decimal(0))


def reservations(reference: str) -> list[tuple[int, int, Decimal, str]]:
    """(lot_id, warehouse_id, quantity, status) of every reservation of ``reference``."""
    with session_scope() as db:
        rows = db.scalars(
            select(Reservation).where(Reservation.reference == reference).order_by(Reservation.id)
        ).all()
        return [(r.lot_id, r.warehouse_id, r.quantity, r.status) for r in rows]


def reservation_count() -> int:
    with session_scope() as db:
        return db.scalar(select(func.count()).select_from(Reservation)) or 0


def movements(product_id: int) -> list[tuple[str, int, int, Decimal, str]]:
    """(kind, lot_id, warehouse_id, quantity, reference) of a product's ledger, oldest first."""
    with session_scope() as db:
        rows = db.scalars(
            select(StockMovement)
            .where(StockMovement.product_id == product_id)
            .order_by(StockMovement.id)
        ).all()
        return [(m.kind, m.lot_id, m.warehouse_id, m.quantity, m.reference) for m in rows]


# -- FEFO order --------------------------------------------------------------------------------


def test_earliest_best_before_first_across_lots_and_warehouses() -> None:
    today = date.today()
    product = make_product()
    north, south = make_warehouse(), make_warehouse()
    # Received latest-expiring first, so lot ids do not follow the best-before order.
    late = receive(product, north, "LATE", 10, today + timedelta(days=90))
    mid = receive(product, north, "MID", 4, today + timedelta(days=60))
    receive(product, south, "MID", 3, today + timedelta(days=60))
    early = receive(product, south, "EARLY", 5, today + timedelta(days=30))

    made = reserve(product, 14, "SO-1")

    assert made == [
        (early, south, Decimal(5)),
        (mid, north, Decimal(4)),
        (mid, south, Decimal(3)),
        (late, north, Decimal(2)),
    ]
    assert level(product, south, early) == (5, 5)
    assert level(product, north, mid) == (4, 4)
    assert level(product, south, mid) == (3, 3)
    assert level(product, north, late) == (10, 2)

    # The next reservation continues where the first stopped.
    assert reserve(product, 3, "SO-2") == [(late, north, Decimal(3))]
    assert_consistent(product)


def test_same_best_before_takes_the_older_lot_first() -> None:
    best_before = date.today() + timedelta(days=50)
    product = make_product()
    warehouse = make_warehouse()
    first = receive(product, warehouse, "FIRST", 2, best_before)
    second = receive(product, warehouse, "SECOND", 2, best_before)

    assert reserve(product, 3, "SO-1") == [
        (first, warehouse, Decimal(2)),
        (second, warehouse, Decimal(1)),
    ]


def expire_by_date(lot_id: int, today: date) -> None:
    set_lot(lot_id, received_date=today - timedelta(days=60), best_before=today - timedelta(days=1))


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(expire_by_date, id="best-before-passed"),
        pytest.param(
            lambda lot, _: set_lot(lot, status=LotStatus.QUARANTINE.value), id="quarantined"
        ),
        pytest.param(lambda lot, _: set_lot(lot, status=LotStatus.RECALLED.value), id="recalled"),
        pytest.param(
            lambda lot, _: set_lot(lot, status=LotStatus.EXPIRED.value), id="status-expired"
        ),
    ],
)
def test_unsellable_lots_are_never_allocated(spoil: Callable[[int, date], None]) -> None:
    today = date.today()
    product = make_product()
    warehouse = make_warehouse()
    bad = receive(product, warehouse, "BAD", 50, today + timedelta(days=5))
    good = receive(product, warehouse, "GOOD", 3, today + timedelta(days=200))
    spoil(bad, today)

    assert reserve(product, 3, "SO-1") == [(good, warehouse, Decimal(3))]
    refusal = reserve_refused(product, 1)

    assert Decimal(refusal.extensions["available"]) == 0
    assert level(product, warehouse, bad) == (50, 0)
    assert reservations("SO-1") == [(good, warehouse, Decimal(3), ReservationStatus.ACTIVE.value)]
    assert_consistent(product)


def test_lot_expiring_today_is_still_allocatable() -> None:
    today = date.today()
    product = make_product()
    warehouse = make_warehouse()
    lot = receive(product, warehouse, "TODAY", 2, today, received_date=today - timedelta(days=30))

    assert reserve(product, 2, "SO-1", today=today) == [(lot, warehouse, Decimal(2))]
    reserve_refused(product, 1, today=today)


def test_min_shelf_life_excludes_lots_expiring_too_soon() -> None:
    today = date.today()
    product = make_product()
    warehouse = make_warehouse()
    soon = receive(product, warehouse, "SOON", 5, today + timedelta(days=10))
    edge = receive(product, warehouse, "EDGE", 5, today + timedelta(days=20))
    later = receive(product, warehouse, "LATER", 5, today + timedelta(days=30))

    # 21 days of shelf life: only LATER qualifies, and 6 is more than it holds.
    reserve_refused(product, 6, today=today, min_shelf_life_days=21)
    # Good until exactly today + 20 still qualifies; SOON is skipped although it expires first.
    assert reserve(product, 7, "SO-1", today=today, min_shelf_life_days=20) == [
        (edge, warehouse, Decimal(5)),
        (later, warehouse, Decimal(2)),
    ]
    assert level(product, warehouse, soon) == (5, 0)
    # Without a minimum, SOON is first.
    assert reserve(product, 1, "SO-2", today=today) == [(soon, warehouse, Decimal(1))]
    assert_consistent(product)


def test_today_parameter_moves_the_expiry_line() -> None:
    today = date.today()
    product = make_product()
    warehouse = make_warehouse()
    receive(product, warehouse, "SOON", 5, today + timedelta(days=10))
    edge = receive(product, warehouse, "EDGE", 5, today + timedelta(days=20))
    later = receive(product, warehouse, "LATER", 5, today + timedelta(days=30))

    # Eleven days from now SOON has expired.
    assert reserve(product, 1, "SO-1", today=today + timedelta(days=11)) == [
        (edge, warehouse, Decimal(1))
    ]
    # Fifteen days from now with ten days of shelf life: good until day 25, only LATER.
    assert reserve(
        product, 5, "SO-2", today=today + timedelta(days=15), min_shelf_life_days=10
    ) == [(later, warehouse, Decimal(5))]
    reserve_refused(product, 1, today=today + timedelta(days=31))


# -- all or nothing ----------------------------------------------------------------------------


def test_request_larger_than_available_reserves_nothing() -> None:
    today = date.today()
    product = make_product()
    north, south = make_warehouse(), make_warehouse()
    first = receive(product, north, "A", 4, today + timedelta(days=30))
    second = receive(product, south, "B", 3, today + timedelta(days=40))

    refusal = reserve_refused(product, 8)

    assert refusal.status_code == 409
    assert refusal.slug == "insufficient-stock"
    assert isinstance(refusal, ConflictError)
    assert Decimal(refusal.extensions["available"]) == 7
    assert Decimal(refusal.extensions["requested"]) == 8
    # The lots taken before the shortfall showed are given back with the rollback.
    assert level(product, north, first) == (4, 0)
    assert level(product, south, second) == (3, 0)
    assert reservation_count() == 0

    # Exactly what is there can be had.
    assert reserve(product, 7, "SO-1") == [
        (first, north, Decimal(4)),
        (second, south, Decimal(3)),
    ]
    reserve_refused(product, Decimal("0.001"))
    assert_consistent(product)


def test_reservation_spanning_lots_makes_one_reservation_per_lot() -> None:
    today = date.today()
    product = make_product()
    warehouse = make_warehouse()
    lots = [
        receive(product, warehouse, f"L{days}", 5, today + timedelta(days=days))
        for days in (10, 20, 30)
    ]

    reserve(product, "12.5", "SO-1")

    active = ReservationStatus.ACTIVE.value
    assert reservations("SO-1") == [
        (lots[0], warehouse, Decimal(5), active),
        (lots[1], warehouse, Decimal(5), active),
        (lots[2], warehouse, Decimal("2.5"), active),
    ]
    assert [level(product, warehouse, lot) for lot in lots] == [
        (5, 5),
        (5, 5),
        (5, Decimal("2.5")),
    ]
    assert_consistent(product)


def test_warehouse_id_restricts_the_allocation() -> None:
    today = date.today()
    product = make_product()
    north, south = make_warehouse(), make_warehouse()
    early = receive(product, north, "EARLY", 10, today + timedelta(days=10))
    late = receive(product, south, "LATE", 4, today + timedelta(days=90))

    assert reserve(product, 3, "SO-1", warehouse_id=south) == [(late, south, Decimal(3))]
    # North has plenty, but the request is for south only.
    reserve_refused(product, 2, warehouse_id=south)
    assert level(product, north, early) == (10, 0)
    assert reserve(product, 2, "SO-2", warehouse_id=north) == [(early, north, Decimal(2))]
    assert_consistent(product)


def test_pack_products_refuse_fractional_quantities() -> None:
    today = date.today()
    product = make_product(UnitOfMeasure.PACK, "0.25")
    warehouse = make_warehouse()
    lot = receive(product, warehouse, "PACKS", 10, today + timedelta(days=30))

    with pytest.raises(InvalidRequestError) as caught:
        reserve(product, "1.5", "SO-1")
    assert caught.value.status_code == 422
    assert caught.value.extensions["field"] == "quantity"
    assert level(product, warehouse, lot) == (10, 0)
    assert reservation_count() == 0

    assert reserve(product, 2, "SO-1") == [(lot, warehouse, Decimal(2))]


@pytest.mark.parametrize(
    ("quantity", "reference", "field"),
    [("0", "SO-1", "quantity"), ("-1", "SO-1", "quantity"), ("1", "   ", "reference")],
)
def test_invalid_requests_are_refused(quantity: str, reference: str, field: str) -> None:
    product = make_product()
    warehouse = make_warehouse()
    lot = receive(product, warehouse, "A", 10, date.today() + timedelta(days=30))

    with pytest.raises(InvalidRequestError) as caught:
        reserve(product, quantity, reference)
    assert caught.value.extensions["field"] == field
    assert level(product, warehouse, lot) == (10, 0)


# -- release and issue -------------------------------------------------------------------------


def test_release_returns_stock_to_available() -> None:
    today = date.today()
    product = make_product()
    warehouse = make_warehouse()
    first = receive(product, warehouse, "A", 4, today + timedelta(days=10))
    second = receive(product, warehouse, "B", 4, today + timedelta(days=20))
    reserve(product, 6, "SO-1")
    reserve(product, 1, "SO-2")
    ledger_before = movements(product)

    with session_scope() as db:
        released = allocation.release(db, "SO-1")
        assert [(r.lot_id, r.quantity, r.status) for r in released] == [
            (first, Decimal(4), ReservationStatus.RELEASED.value),
            (second, Decimal(2), ReservationStatus.RELEASED.value),
        ]
        assert all(r.closed_at is not None for r in released)

    released_status = ReservationStatus.RELEASED.value
    assert reservations("SO-1") == [
        (first, warehouse, Decimal(4), released_status),
        (second, warehouse, Decimal(2), released_status),
    ]
    assert reservations("SO-2") == [(second, warehouse, Decimal(1), ReservationStatus.ACTIVE.value)]
    assert level(product, warehouse, first) == (4, 0)
    assert level(product, warehouse, second) == (4, 1)
    assert movements(product) == ledger_before  # releasing moves no stock

    # Released stock can be reserved again; releasing twice lets go of nothing more.
    assert reserve(product, 7, "SO-3") == [
        (first, warehouse, Decimal(4)),
        (second, warehouse, Decimal(3)),
    ]
    with session_scope() as db:
        assert allocation.release(db, "SO-1") == []
    assert_consistent(product)


def test_issue_ships_the_reserved_stock() -> None:
    today = date.today()
    product = make_product()
    north, south = make_warehouse(), make_warehouse()
    first = receive(product, north, "A", 4, today + timedelta(days=10))
    second = receive(product, south, "B", 5, today + timedelta(days=20))
    reserve(product, 6, "SO-1")
    reserve(product, 1, "SO-2")

    context = MovementContext(actor=ACTOR, reason="shipped")
    with session_scope() as db:
        issued = allocation.issue(db, context, "SO-1")
        assert [(m.kind, m.lot_id, m.warehouse_id, m.quantity, m.reference) for m in issued] == [
            (MovementKind.ISSUE.value, first, north, Decimal(-4), "SO-1"),
            (MovementKind.ISSUE.value, second, south, Decimal(-2), "SO-1"),
        ]

    assert movements(product)[-2:] == [
        (MovementKind.ISSUE.value, first, north, Decimal(-4), "SO-1"),
        (MovementKind.ISSUE.value, second, south, Decimal(-2), "SO-1"),
    ]
    assert level(product, north, first) == (0, 0)
    assert level(product, south, second) == (3, 1)  # SO-2 still holds its unit
    issued_status = ReservationStatus.ISSUED.value
    assert reservations("SO-1") == [
        (first, north, Decimal(4), issued_status),
        (second, south, Decimal(2), issued_status),
    ]
    assert reservations("SO-2") == [(second, south, Decimal(1), ReservationStatus.ACTIVE.value)]

    # An issued reservation is neither issued again nor released.
    with pytest.raises(ConflictError), session_scope() as db:
        allocation.issue(db, context, "SO-1")
    with session_scope() as db:
        assert allocation.release(db, "SO-1") == []
    assert_consistent(product)


def test_issue_uses_the_context_reference_when_given() -> None:
    product = make_product()
    warehouse = make_warehouse()
    lot = receive(product, warehouse, "A", 4, date.today() + timedelta(days=10))
    reserve(product, 3, "SO-1")

    with session_scope() as db:
        allocation.issue(db, MovementContext(actor=ACTOR, reference="SHIP-9"), "SO-1")

    assert movements(product)[-1] == (MovementKind.ISSUE.value, lot, warehouse, -3, "SHIP-9")
    assert level(product, warehouse, lot) == (1, 0)
    assert_consistent(product)


def test_issue_with_nothing_reserved_is_a_conflict() -> None:
    product = make_product()
    warehouse = make_warehouse()
    receive(product, warehouse, "A", 4, date.today() + timedelta(days=10))
    reserve(product, 1, "SO-1")
    with session_scope() as db:
        allocation.release(db, "SO-1")
    ledger_before = movements(product)

    for reference in ("SO-1", "NEVER-RESERVED"):
        with pytest.raises(ConflictError) as caught, session_scope() as db:
            allocation.issue(db, CONTEXT, reference)
        assert caught.value.status_code == 409
        assert not isinstance(caught.value, InsufficientStockError)
    assert movements(product) == ledger_before


# -- reserved stock is off limits to other movements -------------------------------------------

Taker = Callable[[Session, int, int, int, int, Decimal], object]


def take_by_waste(
    db: Session, product: int, lot: int, source: int, _target: int, quantity: Decimal
) -> object:
    return stock.waste(
        db, CONTEXT, product_id=product, lot_id=lot, warehouse_id=source, quantity=quantity
    )


def take_by_transfer(
    db: Session, product: int, lot: int, source: int, target: int, quantity: Decimal
) -> object:
    return stock.transfer(
        db,
        CONTEXT,
        product_id=product,
        lot_id=lot,
        from_warehouse_id=source,
        to_warehouse_id=target,
        quantity=quantity,
    )


def take_by_adjustment(
    db: Session, product: int, lot: int, source: int, _target: int, quantity: Decimal
) -> object:
    return stock.adjust(
        db, CONTEXT, product_id=product, lot_id=lot, warehouse_id=source, quantity=-quantity
    )


@pytest.mark.parametrize(
    "take",
    [
        pytest.param(take_by_waste, id="waste"),
        pytest.param(take_by_transfer, id="transfer"),
        pytest.param(take_by_adjustment, id="adjustment"),
    ],
)
def test_reserved_stock_cannot_be_taken(take: Taker) -> None:
    product = make_product()
    north, south = make_warehouse(), make_warehouse()
    lot = receive(product, north, "A", 10, date.today() + timedelta(days=30))
    reserve(product, 7, "SO-1")
    ledger_before = movements(product)

    with pytest.raises(InsufficientStockError) as caught, session_scope() as db:
        take(db, product, lot, north, south, Decimal(4))
    assert Decimal(caught.value.extensions["available"]) == 3
    assert level(product, north, lot) == (10, 7)
    assert level(product, south, lot) == (0, 0)
    assert movements(product) == ledger_before

    # The unreserved part can go, and then not a gram more.
    with session_scope() as db:
        take(db, product, lot, north, south, Decimal(3))
    assert level(product, north, lot) == (7, 7)
    with pytest.raises(InsufficientStockError), session_scope() as db:
        take(db, product, lot, north, south, Decimal("0.001"))
    assert level(product, north, lot) == (7, 7)

    # The reservation can still be shipped in full.
    with session_scope() as db:
        allocation.issue(db, CONTEXT, "SO-1")
    assert level(product, north, lot) == (0, 0)
    assert_consistent(product)


def test_count_below_reserved_is_refused() -> None:
    product = make_product()
    warehouse = make_warehouse()
    lot = receive(product, warehouse, "A", 10, date.today() + timedelta(days=30))
    reserve(product, 6, "SO-1")

    with pytest.raises(ConflictError), session_scope() as db:
        stock.count(db, CONTEXT, warehouse_id=warehouse, lines=[CountLine(lot, Decimal(5))])
    assert level(product, warehouse, lot) == (10, 6)

    with session_scope() as db:
        stock.count(db, CONTEXT, warehouse_id=warehouse, lines=[CountLine(lot, Decimal(6))])
    assert level(product, warehouse, lot) == (6, 6)
    assert_consistent(product)
