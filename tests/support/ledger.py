"""Checks that the stock ledger, the levels and the reservations agree."""

from decimal import Decimal

from sqlalchemy import func, select

from app.core.database import session_scope
from app.models.inventory import (
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
)


def assert_consistent(product_id: int) -> None:
    """Ledger sums equal on-hand; 0 <= reserved <= on-hand; reserved equals active reservations."""
    with session_scope() as db:
        levels = db.scalars(select(StockLevel).where(StockLevel.product_id == product_id)).all()
        ledger = {
            (w, lot): total
            for w, lot, total in db.execute(
                select(
                    StockMovement.warehouse_id,
                    StockMovement.lot_id,
                    func.sum(StockMovement.quantity),
                )
                .where(StockMovement.product_id == product_id)
                .group_by(StockMovement.warehouse_id, StockMovement.lot_id)
            ).all()
        }
        active = {
            (w, lot): total
            for w, lot, total in db.execute(
                select(Reservation.warehouse_id, Reservation.lot_id, func.sum(Reservation.quantity))
                .where(
                    Reservation.product_id == product_id,
                    Reservation.status == ReservationStatus.ACTIVE.value,
                )
                .group_by(Reservation.warehouse_id, Reservation.lot_id)
            ).all()
        }
    assert {(row.warehouse_id, row.lot_id) for row in levels} == set(ledger)
    for row in levels:
        key = (row.warehouse_id, row.lot_id)
        assert row.on_hand == ledger[key], (key, row.on_hand, ledger[key])
        assert 0 <= row.reserved <= row.on_hand, (key, row.on_hand, row.reserved)
        assert row.reserved == active.get(key, Decimal(0)), (key, row.reserved, active.get(key))
