"""Reading stock: levels per product, warehouse and lot, and the ledger."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, select
from sqlalchemy.orm import Session

from app.core import async_database
from app.core.async_database import Statement
from app.core.errors import InvalidRequestError
from app.models.catalog import Product, Warehouse
from app.models.inventory import Lot, LotStatus, MovementKind, StockLevel, StockMovement
from app.schemas.stock import DayQuantity, MovementRead, StockLevelRead
from app.services.reports import as_date, utc_day


@dataclass(frozen=True)
class LevelFilter:
    """Which stock levels to list."""

    product_id: int | None = None
    warehouse_id: int | None = None
    lot_id: int | None = None
    include_empty: bool = False


@dataclass(frozen=True)
class LedgerFilter:
    """Which ledger rows to list."""

    product_id: int | None = None
    lot_id: int | None = None
    warehouse_id: int | None = None
    kind: MovementKind | None = None
    reference: str | None = None
    since: datetime | None = None
    until: datetime | None = None


LEVEL_COLUMNS = (
    StockLevel.product_id,
    Product.sku,
    Product.unit,
    StockLevel.warehouse_id,
    Warehouse.code.label("warehouse_code"),
    StockLevel.lot_id,
    Lot.lot_code,
    Lot.best_before,
    Lot.status.label("lot_status"),
    StockLevel.on_hand,
    StockLevel.reserved,
    Product.net_weight_kg,
)


@cache
def _level_statements(named: tuple[str, ...], include_empty: bool) -> tuple[Statement, Statement]:
    """The page (FEFO order within a product, counted by a window) and the count of the stock
    levels that match the ids ``named``, as bound parameters of the same names."""
    query = (
        select(*LEVEL_COLUMNS)
        .join(Product, Product.id == StockLevel.product_id)
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .join(Lot, Lot.id == StockLevel.lot_id)
    )
    for name in named:
        query = query.where(getattr(StockLevel, name) == bindparam(name))
    if not include_empty:
        query = query.where(StockLevel.on_hand > 0)
    page = (
        query.add_columns(func.count().over().label("total"))
        .order_by(Product.sku, Lot.best_before, Lot.id, Warehouse.code)
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )
    return page, select(func.count().label("total")).select_from(query.subquery())


@dataclass(frozen=True)
class LevelsQuery:
    """The statements of a page of stock levels and their parameters."""

    page: Statement
    count: Statement
    params: dict[str, int]

    def needs_count(self, rows: Sequence[Mapping[Any, Any]]) -> bool:
        """Whether the page's rows do not tell the total: a page past the end."""
        return not rows and self.params["offset"] > 0

    def levels(self, rows: Sequence[Mapping[Any, Any]]) -> list[StockLevelRead]:
        """The stock levels of the page's rows."""
        return [_level_read(row) for row in rows]


def _levels_query(where: LevelFilter, offset: int, limit: int) -> LevelsQuery:
    ids = {
        "product_id": where.product_id,
        "warehouse_id": where.warehouse_id,
        "lot_id": where.lot_id,
    }
    named = {name: value for name, value in ids.items() if value is not None}
    page, count = _level_statements(tuple(named), where.include_empty)
    return LevelsQuery(page, count, named | {"offset": offset, "limit": limit})


def _level_read(row: Mapping[Any, Any]) -> StockLevelRead:
    available = row["on_hand"] - row["reserved"]
    return StockLevelRead(
        product_id=row["product_id"],
        sku=row["sku"],
        unit=row["unit"],
        warehouse_id=row["warehouse_id"],
        warehouse_code=row["warehouse_code"],
        lot_id=row["lot_id"],
        lot_code=row["lot_code"],
        best_before=row["best_before"],
        lot_status=row["lot_status"],
        on_hand=row["on_hand"],
        reserved=row["reserved"],
        available=available,
        on_hand_kg=_kg(row["on_hand"], row["net_weight_kg"]),
        available_kg=_kg(available, row["net_weight_kg"]),
    )


def list_levels(
    db: Session, where: LevelFilter, *, offset: int, limit: int
) -> tuple[list[StockLevelRead], int]:
    """A page of stock levels (FEFO order within a product) and how many matched."""
    query = _levels_query(where, offset, limit)
    rows = db.execute(query.page, query.params).mappings().all()
    if query.needs_count(rows):
        return [], db.scalar(query.count, query.params) or 0
    return query.levels(rows), rows[0]["total"] if rows else 0


async def read_levels(
    where: LevelFilter, *, offset: int, limit: int
) -> tuple[list[StockLevelRead], int]:
    """``list_levels`` on the asynchronous read path, from the read replica when it is fit."""
    query = _levels_query(where, offset, limit)
    rows = await async_database.fetch(query.page, query.params, replica=True)
    if query.needs_count(rows):
        count = await async_database.fetch(query.count, query.params, replica=True)
        return [], count[0]["total"]
    return query.levels(rows), rows[0]["total"] if rows else 0


def on_hand_history(db: Session, product_id: int, days: int, today: date) -> list[DayQuantity]:
    """On-hand stock of a product at the end of each of the last ``days`` days, from the ledger."""
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, tzinfo=UTC)
    before = db.scalar(
        select(func.sum(StockMovement.quantity)).where(
            StockMovement.product_id == product_id, StockMovement.created_at < since
        )
    )
    day = utc_day(db, StockMovement.created_at)
    changes = {
        as_date(moved): Decimal(quantity)
        for moved, quantity in db.execute(
            select(day, func.sum(StockMovement.quantity))
            .where(StockMovement.product_id == product_id, StockMovement.created_at >= since)
            .group_by(day)
        )
    }
    level = Decimal(before or 0)
    history = []
    for offset in range(days):
        current = first + timedelta(days=offset)
        level += changes.get(current, Decimal(0))
        history.append(DayQuantity(day=current, quantity=level))
    return history


def list_movements(
    db: Session, where: LedgerFilter, *, offset: int, limit: int
) -> tuple[list[MovementRead], int]:
    """A page of ledger rows, newest first, and how many matched."""
    query = select(StockMovement, Product.net_weight_kg).join(
        Product, Product.id == StockMovement.product_id
    )
    for column, value in (
        (StockMovement.product_id, where.product_id),
        (StockMovement.lot_id, where.lot_id),
        (StockMovement.warehouse_id, where.warehouse_id),
        (StockMovement.kind, where.kind),
        (StockMovement.reference, where.reference),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.since is not None:
        query = query.where(StockMovement.created_at >= where.since)
    if where.until is not None:
        query = query.where(StockMovement.created_at < where.until)
    rows, total = _page(db, query, (StockMovement.id.desc(),), offset, limit)
    return [movement_read(movement, weight) for movement, weight in rows], total


def movements_read(db: Session, movements: Sequence[StockMovement]) -> list[MovementRead]:
    """``movements`` as the API shows them, with their weight in kg."""
    ids = {movement.product_id for movement in movements}
    query = select(Product.id, Product.net_weight_kg).where(Product.id.in_(ids))
    weights = dict(db.execute(query).all())
    return [movement_read(movement, weights[movement.product_id]) for movement in movements]


def movement_read(movement: StockMovement, net_weight_kg: Decimal) -> MovementRead:
    """One ledger row as the API shows it."""
    return MovementRead(
        id=movement.id,
        created_at=movement.created_at,
        kind=MovementKind(movement.kind),
        product_id=movement.product_id,
        lot_id=movement.lot_id,
        warehouse_id=movement.warehouse_id,
        quantity=movement.quantity,
        quantity_kg=_kg(movement.quantity, net_weight_kg),
        reference=movement.reference,
        reason=movement.reason,
        group_id=movement.group_id,
        actor_id=movement.actor_id,
        actor_label=movement.actor_label,
    )


def _kg(quantity: Decimal, net_weight_kg: Decimal) -> Decimal:
    return (quantity * net_weight_kg).quantize(Decimal("0.001"))


def _page(
    db: Session,
    query: Select[*tuple[Any, ...]],
    ordering: tuple[Any, ...],
    offset: int,
    limit: int,
) -> tuple[list[tuple[Any, ...]], int]:
    """A page of ``query``'s rows and how many matched in all, counted in the same statement
    (a window over every match); only a page past the end needs a count of its own."""
    counted = query.add_columns(func.count().over()).order_by(*ordering)
    rows = db.execute(counted.offset(offset).limit(limit)).all()
    if rows:
        return [tuple(row[:-1]) for row in rows], rows[0][-1]
    if offset == 0:
        return [], 0
    return [], db.scalar(select(func.count()).select_from(query.subquery())) or 0


@dataclass(frozen=True)
class Holding:
    """What a lot holds in one warehouse."""

    warehouse_id: int
    warehouse_code: str
    on_hand: Decimal
    reserved: Decimal


@dataclass(frozen=True)
class LotChoice:
    """A lot of a product as a stock form offers it: its dates, status, unit and holdings."""

    lot_id: int
    lot_code: str
    best_before: date
    status: LotStatus
    unit: str
    holdings: tuple[Holding, ...]

    @property
    def sole_warehouse(self) -> int | None:
        """The warehouse that holds the lot when only one does."""
        return self.holdings[0].warehouse_id if len(self.holdings) == 1 else None


def lot_choices(db: Session, product_id: int, *, with_stock: bool) -> list[LotChoice]:
    """The lots of a product, first to expire first, each with the warehouses that hold stock
    of it, in one query; with ``with_stock`` only the lots that hold some."""
    held = and_(StockLevel.lot_id == Lot.id, StockLevel.on_hand > 0)
    query = (
        select(
            Lot.id,
            Lot.lot_code,
            Lot.best_before,
            Lot.status,
            Product.unit,
            StockLevel.warehouse_id,
            Warehouse.code,
            StockLevel.on_hand,
            StockLevel.reserved,
        )
        .join(Product, Product.id == Lot.product_id)
        .join(StockLevel, held, isouter=not with_stock)
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id, isouter=not with_stock)
        .where(Lot.product_id == product_id)
        .order_by(Lot.best_before, Lot.id, Warehouse.code)
    )
    lots: dict[int, LotChoice] = {}
    holdings: dict[int, list[Holding]] = {}
    for row in db.execute(query):
        lot_id = row[0]
        if lot_id not in lots:
            lots[lot_id] = LotChoice(lot_id, row[1], row[2], LotStatus(row[3]), row[4], ())
            holdings[lot_id] = []
        if row[5] is not None:
            holdings[lot_id].append(Holding(*row[5:]))
    return [replace(lot, holdings=tuple(holdings[lot_id])) for lot_id, lot in lots.items()]


def holding_warehouse(db: Session, lot_id: int, field: str) -> int:
    """The only warehouse that holds stock of the lot; refused when none or several do."""
    query = (
        select(Warehouse.id, Warehouse.code)
        .join(StockLevel, StockLevel.warehouse_id == Warehouse.id)
        .where(StockLevel.lot_id == lot_id, StockLevel.on_hand > 0)
        .order_by(Warehouse.code)
    )
    found = db.execute(query).all()
    if len(found) == 1:
        return int(found[0][0])
    if not found:
        raise InvalidRequestError(
            "No warehouse holds this lot now; choose the warehouse.", field=field
        )
    codes = ", ".join(code for _, code in found)
    raise InvalidRequestError(
        f"This lot is in {codes}; choose the warehouse to take it from.", field=field
    )


@dataclass(frozen=True)
class CountLineRow:
    """A lot with stock in a warehouse, as a stocktake lists it."""

    warehouse_id: int
    warehouse_code: str
    warehouse_name: str
    sku: str
    product_name: str
    lot_id: int
    lot_code: str
    best_before: date
    unit: str
    on_hand: Decimal


def count_lines(db: Session, warehouse_id: int | None) -> list[CountLineRow]:
    """Every lot with stock in the warehouse (in every warehouse when None), by warehouse,
    product and first to expire, in one query."""
    query = (
        select(
            Warehouse.id,
            Warehouse.code,
            Warehouse.name,
            Product.sku,
            Product.name,
            Lot.id,
            Lot.lot_code,
            Lot.best_before,
            Product.unit,
            StockLevel.on_hand,
        )
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .join(Product, Product.id == StockLevel.product_id)
        .join(Lot, Lot.id == StockLevel.lot_id)
        .where(StockLevel.on_hand > 0)
        .order_by(Warehouse.code, Product.sku, Lot.best_before, Lot.id)
    )
    if warehouse_id is not None:
        query = query.where(StockLevel.warehouse_id == warehouse_id)
    rows: list[tuple[Any, ...]] = [tuple(row) for row in db.execute(query)]
    return [CountLineRow(*row) for row in rows]
