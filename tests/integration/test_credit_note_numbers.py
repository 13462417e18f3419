"""Credit notes under load: many threads credit the same invoice line at once, some rolling
back after taking a number; the line is never credited beyond what it billed and the credit
notes kept carry consecutive numbers of their own sequence with no gap."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.core import clock
from app.core.database import SessionLocal
from app.core.errors import ConflictError
from app.models.billing import CreditNote, CreditNoteLine
from app.models.sales import OrderStatus, Shipment
from app.services import credit_notes, invoicing
from app.services.audit import Actor
from app.services.credit_notes import CreditLineDraft
from tests.support import factories

pytestmark = pytest.mark.postgres

ACTOR = Actor(user_id=None, label="credit-note-number-tests")
THREADS = 16
EACH = Decimal("1.00")
LINE_NET = Decimal("10.00")  # 1 kg at 10.00: room for ten credits of 1.00


def invoiced_line() -> tuple[int, int]:
    """An order of 1 kg at 10.00 shipped and invoiced; the invoice's and its line's ids."""
    product = factories.create_product(price="10.00")
    warehouse = factories.create_warehouse()
    factories.create_lot(product_id=product, warehouse_id=warehouse, quantity="1")
    order = factories.create_order(
        lines=[(product, "1")],
        customer_id=factories.create_customer(),
        status=OrderStatus.SHIPPED,
        warehouse_id=warehouse,
    )
    with SessionLocal() as db:
        shipment = db.scalars(select(Shipment.id).where(Shipment.order_id == order.id)).one()
        invoice = invoicing.invoice_shipment(db, ACTOR, shipment)
        ids = invoice.id, invoice.lines[0].id
        db.commit()
    return ids


def test_concurrent_credits_never_exceed_the_line_and_take_consecutive_numbers() -> None:
    invoice_id, line_id = invoiced_line()
    start = threading.Barrier(THREADS)

    def attempt(index: int) -> tuple[str | None, bool]:
        keep = index % 4 != 3  # every fourth thread rolls back after crediting
        with SessionLocal() as db:
            start.wait()
            try:
                note = credit_notes.issue_credit_note(
                    db, ACTOR, invoice_id, [CreditLineDraft(line_id, amount=EACH)], "Bruised"
                )
            except ConflictError:
                db.rollback()
                return None, False
            number = note.number
            if keep:
                db.commit()
            else:
                db.rollback()
            return number, keep

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(attempt, range(THREADS)))

    kept = sorted(number for number, keep in results if number and keep)
    year = clock.today().year
    assert len(kept) == int(LINE_NET / EACH)
    assert kept == [f"CN-{year}-{n:06d}" for n in range(1, len(kept) + 1)]
    with SessionLocal() as db:
        stored = db.scalars(select(CreditNote.number).order_by(CreditNote.number)).all()
        credited = db.scalar(
            select(func.sum(CreditNoteLine.net)).where(CreditNoteLine.invoice_line_id == line_id)
        )
    assert list(stored) == kept
    assert credited == LINE_NET
