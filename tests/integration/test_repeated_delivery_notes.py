"""The same delivery booked by many units of work at once, on the run's database: a direct
receipt, and a delivery against a purchase order. The lock each takes before it looks for the
delivery note (the lot's level row; the purchase order) makes every copy wait for the first and
see it, so the note is received once and every other copy is refused."""

from collections import Counter
from decimal import Decimal

from sqlalchemy import func, select

from app.core.database import session_scope
from app.models.inventory import MovementKind, StockMovement
from app.models.purchasing import PurchaseReceipt, PurchaseStatus
from app.services import purchasing, receiving, stock
from app.services.receiving import Delivery, DeliveryLine
from app.services.stock import MovementContext, ReceiptLine
from tests.integration.races import (
    ACTOR,
    OK,
    WORKERS,
    make_product,
    make_warehouse,
    receive,
    run_concurrently,
)
from tests.support.factories import create_purchase_order

REFUSED = "RepeatedDeliveryNoteError"


def outcomes(results: list[str]) -> Counter[str]:
    """How many copies were booked and how many refused as repeated (other failures as is)."""
    return Counter(result.split(":")[0] for result in results)


def test_copies_of_a_direct_receipt_sent_at_once_book_it_once() -> None:
    product = make_product()
    warehouse = make_warehouse()
    lot = receive(product, warehouse, "LOT-NOTE", 10, days=90)
    line = ReceiptLine(
        product_id=product,
        warehouse_id=warehouse,
        lot_code="LOT-NOTE",
        quantity=Decimal(5),
        delivery_note="DN-RACE",
    )
    context = MovementContext(actor=ACTOR, reference="DN-RACE")

    def book() -> None:
        with session_scope() as db:
            stock.receive(db, context, line)

    assert outcomes(run_concurrently([book] * WORKERS)) == {OK: 1, REFUSED: WORKERS - 1}
    with session_scope() as db:
        rows = db.scalar(
            select(func.count()).where(
                StockMovement.lot_id == lot,
                StockMovement.kind == MovementKind.RECEIPT.value,
                StockMovement.reference == "DN-RACE",
            )
        )
    assert rows == 1


def test_copies_of_a_delivery_sent_at_once_book_it_once() -> None:
    product = make_product()
    warehouse = make_warehouse()
    purchase = create_purchase_order(
        lines=[(product, "1000")], warehouse_id=warehouse, status=PurchaseStatus.ORDERED
    )
    order_id, line_id = purchase.id, purchase.line_ids[0]
    delivery = Delivery(lines=[DeliveryLine(line_id, Decimal(5), "LOT-PO")], delivery_note="DN-PO")

    def book() -> None:
        with session_scope() as db:
            receiving.receive(db, ACTOR, purchasing.get_purchase(db, order_id), delivery)

    assert outcomes(run_concurrently([book] * WORKERS)) == {OK: 1, REFUSED: WORKERS - 1}
    with session_scope() as db:
        receipts = db.scalar(select(func.count()).where(PurchaseReceipt.order_id == order_id))
    assert receipts == 1
