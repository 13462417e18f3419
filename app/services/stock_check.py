"""Checking the stock-level projection against the ledger, and repairing it from the ledger."""

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.crud import crud_stock
from app.models.inventory import Reservation, ReservationStatus, StockLevel
from app.services import audit
from app.services.audit import Actor

Key = tuple[int, int, int]


@dataclass(frozen=True)
class Difference:
    """Where the projection and the ledger (or the reservations) disagree."""

    product_id: int
    warehouse_id: int
    lot_id: int
    on_hand: Decimal
    ledger: Decimal
    reserved: Decimal
    reservations: Decimal

    @property
    def repairable(self) -> bool:
        """Whether the ledger's figures satisfy 0 <= reserved <= on_hand."""
        return Decimal(0) <= self.reservations <= self.ledger


def differences(db: Session) -> list[Difference]:
    """Every (product, warehouse, lot) whose on-hand differs from its ledger sum, or whose
    reserved differs from its active reservations."""
    ledger = crud_stock.ledger_balances(db)
    reservations = _active_reservations(db)
    levels = {
        (level.product_id, level.warehouse_id, level.lot_id): level
        for level in db.scalars(select(StockLevel)).all()
    }
    found = []
    for key in sorted(set(ledger) | set(levels) | set(reservations)):
        level = levels.get(key)
        on_hand = level.on_hand if level is not None else Decimal(0)
        reserved = level.reserved if level is not None else Decimal(0)
        expected_on_hand = ledger.get(key, Decimal(0))
        expected_reserved = reservations.get(key, Decimal(0))
        if on_hand != expected_on_hand or reserved != expected_reserved:
            found.append(Difference(*key, on_hand, expected_on_hand, reserved, expected_reserved))
    return found


def repair(db: Session, actor: Actor, found: list[Difference]) -> list[Difference]:
    """Rewrite the projection from the ledger; the differences that could not be repaired."""
    refused = []
    for difference in found:
        if not difference.repairable:
            refused.append(difference)
            continue
        key = (difference.product_id, difference.warehouse_id, difference.lot_id)
        level = crud_stock.get_level(db, product_id=key[0], warehouse_id=key[1], lot_id=key[2])
        if level is None:
            db.add(
                StockLevel(
                    product_id=key[0],
                    warehouse_id=key[1],
                    lot_id=key[2],
                    on_hand=difference.ledger,
                    reserved=difference.reservations,
                )
            )
        else:
            db.execute(
                update(StockLevel)
                .where(StockLevel.id == level.id)
                .values(on_hand=difference.ledger, reserved=difference.reservations)
                .execution_options(synchronize_session=False)
            )
        audit.record(
            db,
            actor,
            "stock.projection_repaired",
            "stock_level",
            f"{key[0]}/{key[1]}/{key[2]}",
            on_hand=str(difference.on_hand),
            ledger=str(difference.ledger),
            reserved=str(difference.reserved),
            reservations=str(difference.reservations),
        )
    db.flush()
    return refused


def _active_reservations(db: Session) -> dict[Key, Decimal]:
    query = (
        select(
            Reservation.product_id,
            Reservation.warehouse_id,
            Reservation.lot_id,
            func.sum(Reservation.quantity),
        )
        .where(Reservation.status == ReservationStatus.ACTIVE)
        .group_by(Reservation.product_id, Reservation.warehouse_id, Reservation.lot_id)
    )
    return {(p, w, lot): Decimal(total) for p, w, lot, total in db.execute(query).all()}
