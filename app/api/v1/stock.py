"""Stock movements (one endpoint per kind), stock levels and the ledger."""

from functools import partial
from typing import Annotated

from fastapi import Query, Response, status
from pydantic import AwareDatetime

from app.api.deps import DbSession, StockAdjuster, StockLevelReader, StockMover, StockReader
from app.api.idempotency import Idempotent
from app.api.pagination import LongPageQuery
from app.api.responses import responses
from app.kit.callers import Caller
from app.kit.routers import Router
from app.models.inventory import MovementKind, StockMovement
from app.schemas.common import Page
from app.schemas.stock import (
    AdjustmentCreate,
    CountCreate,
    MovementBatch,
    MovementRead,
    ReceiptCreate,
    StockLevelRead,
    TransferCreate,
    WasteCreate,
)
from app.schemas.types import RecordId
from app.services import stock, stock_queries
from app.services.stock import CountLine, MovementContext
from app.services.stock_queries import LedgerFilter, LevelFilter

router = Router(prefix="/stock", tags=["stock"])

movement_route = partial(
    router.post,
    status_code=status.HTTP_201_CREATED,
    response_model=MovementBatch,
    responses=responses(409),
)


def _context(caller: Caller, reference: str, reason: str) -> MovementContext:
    return MovementContext(actor=caller.actor, reference=reference, reason=reason)


def _batch(db: DbSession, movements: list[StockMovement]) -> MovementBatch:
    return MovementBatch(movements=stock_queries.movements_read(db, movements))


@movement_route("/receipts")
def receive(
    body: ReceiptCreate,
    caller: StockMover,
    db: DbSession,
    once: Idempotent,
) -> Response:
    """Receive goods into a warehouse and lot (the lot is created on its first receipt)."""

    def act() -> MovementBatch:
        line = stock.receipt_of(body)
        movement = stock.receive(db, _context(caller, body.reference, body.reason), line)
        return _batch(db, [movement])

    return once.respond(body, act)


@movement_route("/adjustments")
def adjust(
    body: AdjustmentCreate,
    caller: StockAdjuster,
    db: DbSession,
    once: Idempotent,
) -> Response:
    """Correct a lot's on-hand stock by a signed quantity; a reason is required."""

    def act() -> MovementBatch:
        movement = stock.adjust(
            db,
            _context(caller, body.reference, body.reason),
            product_id=body.product_id,
            lot_id=body.lot_id,
            warehouse_id=body.warehouse_id,
            quantity=body.quantity,
        )
        return _batch(db, [movement])

    return once.respond(body, act)


@movement_route("/transfers")
def transfer(
    body: TransferCreate,
    caller: StockMover,
    db: DbSession,
    once: Idempotent,
) -> Response:
    """Move unreserved stock of a lot to another warehouse (two ledger rows)."""

    def act() -> MovementBatch:
        movements = stock.transfer(
            db,
            _context(caller, body.reference, body.reason),
            product_id=body.product_id,
            lot_id=body.lot_id,
            from_warehouse_id=body.from_warehouse_id,
            to_warehouse_id=body.to_warehouse_id,
            quantity=body.quantity,
        )
        return _batch(db, list(movements))

    return once.respond(body, act)


@movement_route("/waste")
def record_waste(
    body: WasteCreate,
    caller: StockMover,
    db: DbSession,
    once: Idempotent,
) -> Response:
    """Write off spoiled or damaged stock; a reason is required."""

    def act() -> MovementBatch:
        movement = stock.waste(
            db,
            _context(caller, body.reference, body.reason),
            product_id=body.product_id,
            lot_id=body.lot_id,
            warehouse_id=body.warehouse_id,
            quantity=body.quantity,
        )
        return _batch(db, [movement])

    return once.respond(body, act)


@movement_route("/counts")
def record_count(
    body: CountCreate,
    caller: StockMover,
    db: DbSession,
    once: Idempotent,
) -> Response:
    """Book a stocktake of a warehouse: each difference becomes a count movement."""

    def act() -> MovementBatch:
        movements = stock.count(
            db,
            _context(caller, body.reference, body.reason),
            warehouse_id=body.warehouse_id,
            lines=[
                CountLine(lot_id=line.lot_id, counted=line.counted_quantity) for line in body.lines
            ],
            complete=body.complete,
        )
        return _batch(db, movements)

    return once.respond(body, act)


@router.get("/levels")
async def list_levels(
    _: StockLevelReader,
    paging: LongPageQuery,
    product_id: RecordId | None = None,
    warehouse_id: RecordId | None = None,
    lot_id: RecordId | None = None,
    include_empty: bool = False,
) -> Page[StockLevelRead]:
    """On-hand, reserved and available stock per product, warehouse and lot, in unit and kg."""
    where = LevelFilter(product_id, warehouse_id, lot_id, include_empty)
    items, total = await stock_queries.read_levels(where, offset=paging.offset, limit=paging.limit)
    return paging.page(items, total)


@router.get("/movements")
def list_movements(
    _: StockReader,
    db: DbSession,
    paging: LongPageQuery,
    product_id: RecordId | None = None,
    lot_id: RecordId | None = None,
    warehouse_id: RecordId | None = None,
    kind: MovementKind | None = None,
    reference: Annotated[str | None, Query(max_length=100)] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
) -> Page[MovementRead]:
    """The ledger, newest first, filtered by product, lot, warehouse, kind, reference, time."""
    where = LedgerFilter(product_id, lot_id, warehouse_id, kind, reference, since, until)
    items, total = stock_queries.list_movements(db, where, offset=paging.offset, limit=paging.limit)
    return paging.page(items, total)
