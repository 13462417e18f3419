"""FEFO allocation: reserve the earliest-expiring sellable stock, release it, issue it."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.core import clock
from app.core.clock import utcnow
from app.core.errors import ConflictError, InvalidRequestError
from app.crud import crud_stock
from app.models.inventory import (
    LotStatus,
    MovementKind,
    Reservation,
    ReservationStatus,
    StockMovement,
)
from app.services import stock
from app.services.catalog import products
from app.services.stock import QUANTUM, InsufficientStockError, MovementContext, check_quantity

MAX_ATTEMPTS = 20


@dataclass(frozen=True)
class AllocationRequest:
    """Reserve ``quantity`` of a product for ``reference``."""

    product_id: int
    quantity: Decimal
    reference: str
    min_shelf_life_days: int = 0
    warehouse_id: int | None = None
    lot_id: int | None = None


def reserve(
    db: Session, request: AllocationRequest, today: date | None = None, *, partial: bool = False
) -> list[Reservation]:
    """Reserve FEFO across lots: all of the quantity, or nothing (InsufficientStockError);
    ``partial``: as much of it as there is, perhaps nothing.

    Expired, quarantined and recalled lots never qualify, nor lots good for fewer than
    ``min_shelf_life_days`` days after ``today`` (the delivery day, for an order). Each lot's
    share is taken with a guarded UPDATE, so concurrent reservations can never over-commit a
    lot; when another request changes a lot between reading and reserving, the allocation
    reads the levels again from the earliest.
    """
    if request.quantity <= 0:
        raise InvalidRequestError("A reservation needs a positive quantity.", field="quantity")
    if not request.reference.strip():
        raise InvalidRequestError("A reservation needs a reference.", field="reference")
    product = products.get_active(db, request.product_id, "product_id")
    check_quantity(product, request.quantity)
    good_until = (today or clock.today()) + timedelta(days=request.min_shelf_life_days)
    reservations: list[Reservation] = []
    remaining = request.quantity
    for _ in range(MAX_ATTEMPTS):
        levels = crud_stock.allocatable_levels(
            db,
            product_id=product.id,
            good_until=good_until,
            warehouse_id=request.warehouse_id,
            lot_id=request.lot_id,
        )
        raced = False
        for level in levels:
            take = min(remaining, level.on_hand - level.reserved)
            if take <= 0:
                continue
            if not crud_stock.reserve(db, level_id=level.id, quantity=take):
                raced = True  # another request took from this lot: read the levels again,
                break  # so an earlier-expiring lot is never skipped for a later one
            reservation = Reservation(
                reference=request.reference,
                product_id=product.id,
                lot_id=level.lot_id,
                warehouse_id=level.warehouse_id,
                quantity=take,
                status=ReservationStatus.ACTIVE,
            )
            db.add(reservation)
            reservations.append(reservation)
            remaining -= take
            if remaining == 0:
                db.flush()
                return reservations
        if not raced:
            break
    if partial:
        db.flush()
        return reservations
    reserved = request.quantity - remaining
    _undo(db, reservations)
    lots = "the pinned lot" if request.lot_id is not None else "lots"
    raise InsufficientStockError(
        f"Only {reserved} of {request.quantity} {product.unit} of {product.sku} can be "
        f"reserved from {lots} good until at least {good_until}.",
        available=str(reserved),
        requested=str(request.quantity),
    )


def _undo(db: Session, reservations: list[Reservation]) -> None:
    """Give back what a refused allocation had already taken, so it changes nothing."""
    for reservation in reservations:
        level = crud_stock.get_level(
            db,
            product_id=reservation.product_id,
            warehouse_id=reservation.warehouse_id,
            lot_id=reservation.lot_id,
        )
        assert level is not None
        crud_stock.unreserve(db, level_id=level.id, quantity=reservation.quantity)
        db.expunge(reservation)


def active_reservations(db: Session, reference: str) -> Sequence[Reservation]:
    """The active reservations held for ``reference``, lots loaded."""
    query = (
        select(Reservation)
        .options(joinedload(Reservation.lot))
        .where(
            Reservation.reference == reference,
            Reservation.status == ReservationStatus.ACTIVE,
        )
        .order_by(Reservation.id)
        .with_for_update(of=Reservation)
    )
    return db.scalars(query).all()


def renew_unsellable(
    db: Session, request: AllocationRequest, today: date | None = None
) -> list[Reservation]:
    """Swap the reservations of ``request.reference`` held in lots that can no longer be sold
    (quarantined, recalled, expired or past best-before) for fresh FEFO ones, all or nothing;
    the ones let go. ``request.quantity`` is not used: the swapped quantity is."""
    today = today or clock.today()
    stale = [
        reservation
        for reservation in active_reservations(db, request.reference)
        if reservation.lot.status != LotStatus.AVAILABLE or reservation.lot.best_before < today
    ]
    if not stale:
        return []
    for reservation in stale:
        _settle(db, reservation, ReservationStatus.RELEASED)
    quantity = sum((reservation.quantity for reservation in stale), Decimal(0))
    reserve(db, replace(request, quantity=quantity), today)
    return stale


def release(db: Session, reference: str) -> list[Reservation]:
    """Let go of every active reservation of ``reference``."""
    released = list(active_reservations(db, reference))
    for reservation in released:
        _settle(db, reservation, ReservationStatus.RELEASED)
    db.flush()
    return released


LotKey = tuple[int, int]  # (lot_id, warehouse_id)


def shares(
    db: Session,
    reference: str,
    quantity: Decimal,
    spoken_for: Mapping[LotKey, Decimal] | None = None,
) -> list[tuple[LotKey, Decimal]]:
    """Where ``quantity`` of what is reserved for ``reference`` lies, earliest best-before
    first, leaving out what ``spoken_for`` already takes of each lot; a ConflictError when
    less than ``quantity`` is left."""
    left = dict(spoken_for or {})
    found: list[tuple[LotKey, Decimal]] = []
    remaining = quantity
    for reservation in _fefo(active_reservations(db, reference)):
        key = (reservation.lot_id, reservation.warehouse_id)
        free = reservation.quantity - left.get(key, Decimal(0))
        left[key] = max(left.get(key, Decimal(0)) - reservation.quantity, Decimal(0))
        take = min(free, remaining)
        if take <= 0:
            continue
        found.append((key, take.quantize(QUANTUM)))
        remaining -= take
        if remaining == 0:
            return found
    raise ConflictError(f"Only {quantity - remaining} is reserved for {reference}.")


def issue(
    db: Session,
    context: MovementContext,
    reference: str,
    quantity: Decimal | None = None,
    *,
    lot: LotKey | None = None,
) -> list[StockMovement]:
    """Ship ``quantity`` (all, by default) of what is reserved for ``reference`` (in the one
    lot and warehouse ``lot`` names, when it does), earliest best-before first: issue
    movements out of their lots, one per lot and warehouse. A reservation shipped in part keeps
    the rest held."""
    reservations = [
        reservation
        for reservation in _fefo(active_reservations(db, reference))
        if lot is None or (reservation.lot_id, reservation.warehouse_id) == lot
    ]
    held = sum((reservation.quantity for reservation in reservations), Decimal(0))
    if held == 0:
        raise ConflictError(f"Nothing is reserved for {reference}.")
    remaining = held if quantity is None else quantity
    if remaining > held:
        raise ConflictError(f"Only {held} is reserved for {reference}; {remaining} cannot ship.")
    issued: dict[LotKey, Decimal] = {}
    product_id = reservations[0].product_id
    for reservation in reservations:
        if remaining <= 0:
            break
        if reservation.quantity > remaining:
            reservation = _split(db, reservation, remaining)
        remaining -= reservation.quantity
        _settle(db, reservation, ReservationStatus.ISSUED)
        key = (reservation.lot_id, reservation.warehouse_id)
        issued[key] = issued.get(key, Decimal(0)) + reservation.quantity
    return [
        stock.append(
            db,
            context.row(
                MovementKind.ISSUE,
                product_id=product_id,
                lot_id=lot_id,
                warehouse_id=warehouse_id,
                quantity=-quantity,
                reference=context.reference or reference,
            ),
        )
        for (lot_id, warehouse_id), quantity in issued.items()
    ]


def _fefo(reservations: Sequence[Reservation]) -> list[Reservation]:
    return sorted(
        reservations, key=lambda reservation: (reservation.lot.best_before, reservation.id)
    )


def _split(db: Session, reservation: Reservation, quantity: Decimal) -> Reservation:
    """Part ``quantity`` off an active reservation as a reservation of its own."""
    reservation.quantity -= quantity
    part = Reservation(
        reference=reservation.reference,
        product_id=reservation.product_id,
        lot_id=reservation.lot_id,
        warehouse_id=reservation.warehouse_id,
        quantity=quantity,
        status=ReservationStatus.ACTIVE,
        created_at=reservation.created_at,
    )
    part.lot = reservation.lot
    db.add(part)
    db.flush()
    return part


def _settle(db: Session, reservation: Reservation, status: ReservationStatus) -> None:
    level = crud_stock.get_level(
        db,
        product_id=reservation.product_id,
        warehouse_id=reservation.warehouse_id,
        lot_id=reservation.lot_id,
    )
    assert level is not None, "a reservation always has its level"
    settle = (
        crud_stock.issue_reserved if status is ReservationStatus.ISSUED else crud_stock.unreserve
    )
    if not settle(db, level_id=level.id, quantity=reservation.quantity):
        raise ConflictError(
            f"Reservation {reservation.id} no longer matches the stock of lot "
            f"{reservation.lot.lot_code}; run 'dfims stock check'."
        )
    reservation.status = status
    reservation.closed_at = utcnow()
