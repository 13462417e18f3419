"""A delivery note received a second time into the same lot: refused unless confirmed.

A real second delivery under one note is rare; the same delivery booked twice (a form sent
again, a retried script without an Idempotency-Key) is not. Both receiving paths ask here:
receipts against a purchase order (the note is the receipt's) and direct receipts (the note is
the movement's reference). Notes are compared trimmed and in any case; an empty note never
counts as repeated.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core import problem_types
from app.core.errors import ConflictError
from app.models.catalog import Product
from app.models.inventory import Lot, MovementKind, StockMovement
from app.models.purchasing import PurchaseOrder, PurchaseReceipt, PurchaseReceiptLine

CONFIRM_FIELD = "allow_repeated_delivery_note"


class RepeatedDeliveryNoteError(ConflictError):
    """The delivery note already brought this product into this lot."""

    problem = problem_types.REPEATED_DELIVERY_NOTE


@dataclass(frozen=True)
class EarlierReceipt:
    """A receipt into a lot under a delivery note, as a refusal names it."""

    movement_id: int
    received_at: datetime
    lot_id: int
    product_id: int
    lot_code: str
    sku: str
    note: str
    receipt_id: int | None
    order_number: str | None


def same_note(note: str) -> str:
    """``note`` as notes are compared: trimmed, in any case."""
    return note.strip().casefold()


def refuse_repeated(db: Session, delivery_note: str, lots: Iterable[tuple[int, str]]) -> None:
    """Refuse a receipt under ``delivery_note`` into any of ``lots`` (product id, lot code)
    that an earlier receipt under the same note went into; one query for all of them."""
    wanted = same_note(delivery_note)
    keys = set(lots)
    if not wanted or not keys:
        return
    # A receipt's note: its purchase receipt's delivery note, or a direct receipt's reference.
    note = func.coalesce(PurchaseReceipt.delivery_note, StockMovement.reference).label("note")
    query = (
        select(
            StockMovement.id.label("movement_id"),
            StockMovement.created_at.label("received_at"),
            Lot.id.label("lot_id"),
            Lot.product_id,
            Lot.lot_code,
            Product.sku,
            note,
            PurchaseReceipt.id.label("receipt_id"),
            PurchaseOrder.number.label("order_number"),
        )
        .select_from(Lot)
        .join(Product, Product.id == Lot.product_id)
        .join(
            StockMovement,
            (StockMovement.lot_id == Lot.id) & (StockMovement.kind == MovementKind.RECEIPT),
        )
        .outerjoin(
            PurchaseReceiptLine,
            (PurchaseReceiptLine.lot_id == Lot.id)
            & (PurchaseReceiptLine.movement_id == StockMovement.id),
        )
        .outerjoin(PurchaseReceipt, PurchaseReceipt.id == PurchaseReceiptLine.receipt_id)
        .outerjoin(PurchaseOrder, PurchaseOrder.id == PurchaseReceipt.order_id)
        .where(
            Lot.product_id.in_(sorted({product_id for product_id, _ in keys})),
            Lot.lot_code.in_(sorted({lot_code for _, lot_code in keys})),
            note != "",
        )
        .order_by(StockMovement.id.desc())
    )
    for row in db.execute(query):
        earlier = EarlierReceipt(**row._mapping)
        if (earlier.product_id, earlier.lot_code) in keys and same_note(earlier.note) == wanted:
            raise _repeated(earlier)


def _repeated(earlier: EarlierReceipt) -> RepeatedDeliveryNoteError:
    received = earlier.received_at.astimezone(UTC)
    named: dict[str, Any] = {
        "delivery_note": earlier.note,
        "sku": earlier.sku,
        "lot_code": earlier.lot_code,
        "lot_id": earlier.lot_id,
        "received_at": received.isoformat(),
        "movement_id": earlier.movement_id,
    }
    which = f"movement #{earlier.movement_id}"
    if earlier.receipt_id is not None:
        which = f"receipt #{earlier.receipt_id} of {earlier.order_number}"
        named["receipt_id"] = earlier.receipt_id
    return RepeatedDeliveryNoteError(
        f"Delivery note {earlier.note} was already received for {earlier.sku} lot "
        f"{earlier.lot_code} on {received:%Y-%m-%d %H:%M} UTC ({which}). Confirm that this is "
        "another delivery under the same note to receive it again.",
        field=CONFIRM_FIELD,
        **named,
    )
