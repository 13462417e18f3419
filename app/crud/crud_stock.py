"""Guarded writes to the stock-level projection, and ledger inserts.

Every change to ``stock_levels`` is a single conditional statement whose WHERE clause states
the invariant it needs, so concurrent transactions can never push on-hand below zero or
reserved above on-hand; a changed row count tells the caller the guard refused.
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, Update, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload

from app.core.clock import utcnow
from app.models.inventory import Lot, LotStatus, StockLevel, StockMovement


def _level_key(product_id: int, warehouse_id: int, lot_id: int) -> list[ColumnElement[bool]]:
    return [
        StockLevel.product_id == product_id,
        StockLevel.warehouse_id == warehouse_id,
        StockLevel.lot_id == lot_id,
    ]


def add_on_hand(
    db: Session, *, product_id: int, warehouse_id: int, lot_id: int, quantity: Decimal
) -> Decimal:
    """Add ``quantity`` (> 0) to on-hand, creating the level row on first use; the new on-hand."""
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(StockLevel).values(
        product_id=product_id,
        warehouse_id=warehouse_id,
        lot_id=lot_id,
        on_hand=quantity,
        reserved=Decimal(0),
        updated_at=utcnow(),
    )
    statement = statement.on_conflict_do_update(
        index_elements=["product_id", "warehouse_id", "lot_id"],
        set_={"on_hand": StockLevel.on_hand + quantity, "updated_at": utcnow()},
    )
    on_hand: Decimal = db.execute(statement.returning(StockLevel.on_hand)).scalar_one()
    return on_hand


def remove_available(
    db: Session, *, product_id: int, warehouse_id: int, lot_id: int, quantity: Decimal
) -> bool:
    """Take ``quantity`` (> 0) of unreserved stock off on-hand; False when there is not enough."""
    statement = (
        update(StockLevel)
        .where(*_level_key(product_id, warehouse_id, lot_id))
        .where(StockLevel.on_hand - StockLevel.reserved >= quantity)
        .values(on_hand=StockLevel.on_hand - quantity, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _changed_one(db, statement)


def set_counted(db: Session, *, level_id: int, expected_on_hand: Decimal, counted: Decimal) -> bool:
    """Set on-hand to ``counted`` if it still is ``expected_on_hand`` and covers reservations."""
    statement = (
        update(StockLevel)
        .where(StockLevel.id == level_id)
        .where(StockLevel.on_hand == expected_on_hand, StockLevel.reserved <= counted)
        .values(on_hand=counted, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _changed_one(db, statement)


def reserve(db: Session, *, level_id: int, quantity: Decimal) -> bool:
    """Hold ``quantity`` of a level's available stock; False when it is not available."""
    statement = (
        update(StockLevel)
        .where(StockLevel.id == level_id)
        .where(StockLevel.on_hand - StockLevel.reserved >= quantity)
        .values(reserved=StockLevel.reserved + quantity, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _changed_one(db, statement)


def unreserve(db: Session, *, level_id: int, quantity: Decimal) -> bool:
    """Let go of ``quantity`` of a level's reserved stock."""
    statement = (
        update(StockLevel)
        .where(StockLevel.id == level_id, StockLevel.reserved >= quantity)
        .values(reserved=StockLevel.reserved - quantity, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _changed_one(db, statement)


def issue_reserved(db: Session, *, level_id: int, quantity: Decimal) -> bool:
    """Take ``quantity`` of reserved stock out of the warehouse (on-hand and reserved fall)."""
    statement = (
        update(StockLevel)
        .where(StockLevel.id == level_id, StockLevel.reserved >= quantity)
        .values(
            on_hand=StockLevel.on_hand - quantity,
            reserved=StockLevel.reserved - quantity,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return _changed_one(db, statement)


def get_level(db: Session, *, product_id: int, warehouse_id: int, lot_id: int) -> StockLevel | None:
    """The level of a lot in a warehouse, read fresh from the database."""
    query = select(StockLevel).where(*_level_key(product_id, warehouse_id, lot_id))
    return db.scalar(query.execution_options(populate_existing=True))


def allocatable_levels(
    db: Session,
    *,
    product_id: int,
    good_until: date,
    warehouse_id: int | None = None,
    lot_id: int | None = None,
) -> Sequence[StockLevel]:
    """Levels with available stock of sellable lots good until ``good_until`` (of one lot,
    when ``lot_id`` names it), FEFO order."""
    query = (
        select(StockLevel)
        .join(Lot, Lot.id == StockLevel.lot_id)
        .options(joinedload(StockLevel.lot))
        .where(
            StockLevel.product_id == product_id,
            StockLevel.on_hand - StockLevel.reserved > 0,
            Lot.status == LotStatus.AVAILABLE,
            Lot.best_before >= good_until,
        )
        .order_by(Lot.best_before, Lot.id, StockLevel.warehouse_id)
        .execution_options(populate_existing=True)
    )
    if warehouse_id is not None:
        query = query.where(StockLevel.warehouse_id == warehouse_id)
    if lot_id is not None:
        query = query.where(StockLevel.lot_id == lot_id)
    return db.scalars(query).all()


def add_movement(db: Session, movement: StockMovement) -> StockMovement:
    """Append ``movement`` to the ledger."""
    db.add(movement)
    db.flush()
    return movement


def ledger_balances(db: Session) -> dict[tuple[int, int, int], Decimal]:
    """Sum of the ledger per (product, warehouse, lot)."""
    query = select(
        StockMovement.product_id,
        StockMovement.warehouse_id,
        StockMovement.lot_id,
        func.sum(StockMovement.quantity),
    ).group_by(StockMovement.product_id, StockMovement.warehouse_id, StockMovement.lot_id)
    return {(p, w, lot): Decimal(total) for p, w, lot, total in db.execute(query).all()}


def _changed_one(db: Session, statement: Update) -> bool:
    result = db.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0) == 1
