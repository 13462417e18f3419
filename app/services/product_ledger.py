"""A product's ledger as a person reads it: newest first, each row with its lot code."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models.catalog import Warehouse
from app.models.inventory import Lot, StockMovement


@dataclass(frozen=True)
class LedgerEntry:
    """One stock movement of a product, with its lot's code and its warehouse's code."""

    movement_id: int
    created_at: datetime
    kind: str
    lot_id: int
    lot_code: str
    warehouse_code: str
    quantity: Decimal
    reference: str
    actor_label: str


def latest(db: Session, product_id: int, limit: int) -> tuple[list[LedgerEntry], int]:
    """The product's latest ``limit`` movements, newest first (the later recorded first when
    two share a time), and how many it has in all."""
    query = (
        select(StockMovement, Lot.lot_code, Warehouse.code)
        .join(Lot, Lot.id == StockMovement.lot_id)
        .join(Warehouse, Warehouse.id == StockMovement.warehouse_id)
        .where(StockMovement.product_id == product_id)
        .order_by(StockMovement.created_at.desc(), StockMovement.id.desc())
        .limit(limit)
    )
    entries = [
        LedgerEntry(
            movement_id=movement.id,
            created_at=movement.created_at,
            kind=movement.kind,
            lot_id=movement.lot_id,
            lot_code=lot_code,
            warehouse_code=warehouse_code,
            quantity=movement.quantity,
            reference=movement.reference,
            actor_label=movement.actor_label,
        )
        for movement, lot_code, warehouse_code in db.execute(query)
    ]
    total = db.scalar(
        select(func.count())
        .select_from(StockMovement)
        .where(StockMovement.product_id == product_id)
    )
    return entries, total or 0
