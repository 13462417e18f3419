"""Invoice numbers under load: shipments invoiced at once from many threads, some of them
rolled back after taking a number and some racing for a shipment another thread is invoicing,
end up under consecutive numbers with no gap, each shipment billed once."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.core.database import SessionLocal
from app.core.errors import ConflictError
from app.models.billing import Invoice
from app.models.sales import OrderStatus, Shipment
from app.services import invoicing
from app.services.audit import Actor
from tests.support import factories
from tests.support.invoices import invoice_counter, invoice_number

pytestmark = pytest.mark.postgres

SHIPMENTS = 50
RACERS = 10  # threads that try to invoice a shipment another thread is invoicing
ACTOR = Actor(user_id=None, label="invoice-number-tests")


def shipped_shipments(count: int) -> list[int]:
    """``count`` orders of 1 kg at 10.00 shipped through the services; their shipments' ids."""
    product = factories.create_product(price="10.00")
    warehouse = factories.create_warehouse()
    factories.create_lot(product_id=product, warehouse_id=warehouse, quantity=str(count))
    customer = factories.create_customer()
    order_ids = [
        factories.create_order(
            lines=[(product, "1")],
            customer_id=customer,
            status=OrderStatus.SHIPPED,
            warehouse_id=warehouse,
        ).id
        for _ in range(count)
    ]
    with SessionLocal() as db:
        rows = db.execute(select(Shipment.order_id, Shipment.id)).all()
    by_order = dict(rows)
    return [by_order[order_id] for order_id in order_ids]


Attempt = tuple[int, bool]  # shipment id, whether to commit (or roll back after invoicing)


def invoice_all_at_once(attempts: list[Attempt]) -> list[tuple[int, str | None, bool]]:
    """Each attempt in a thread of its own, all released together; (shipment, number taken or
    None when refused, committed) of each."""
    start = threading.Barrier(len(attempts))

    def attempt(job: Attempt) -> tuple[int, str | None, bool]:
        shipment_id, keep = job
        with SessionLocal() as db:
            start.wait()
            try:
                number = invoicing.invoice_shipment(db, ACTOR, shipment_id).number
            except ConflictError:
                db.rollback()
                return shipment_id, None, False
            if keep:
                db.commit()
            else:
                db.rollback()
            return shipment_id, number, keep

    with ThreadPoolExecutor(len(attempts)) as pool:
        return list(pool.map(attempt, attempts))


def stored() -> list[tuple[str, int, Decimal]]:
    """(number, shipment, gross total) of every invoice, by number."""
    with SessionLocal() as db:
        rows = db.execute(
            select(Invoice.number, Invoice.shipment_id, Invoice.gross_total).order_by(
                Invoice.number
            )
        )
        return [(number, shipment, gross) for number, shipment, gross in rows]


def numbers(count: int) -> list[str]:
    """The first ``count`` invoice numbers of the year."""
    return [invoice_number(n) for n in range(1, count + 1)]


def test_concurrent_invoices_take_consecutive_numbers_even_when_some_roll_back() -> None:
    shipments = shipped_shipments(SHIPMENTS)
    # every fifth thread rolls back after invoicing; racers chase the first shipments
    first_round = [(shipment, i % 5 != 4) for i, shipment in enumerate(shipments)]
    first_round += [(shipment, True) for shipment in shipments[:RACERS]]

    results = invoice_all_at_once(first_round)

    kept = [(shipment, number) for shipment, number, keep in results if keep]
    rolled_back = [shipment for shipment, number, keep in results if number and not keep]
    # a thread to roll back whose racer came first was refused instead
    assert SHIPMENTS // 5 - RACERS // 5 <= len(rolled_back) <= SHIPMENTS // 5
    assert sorted(number for _, number in kept if number) == numbers(len(kept))
    assert len({shipment for shipment, _ in kept}) == len(kept)  # no shipment billed twice
    assert invoice_counter() == len(kept)

    billed = {shipment for shipment, _ in kept}
    second_round = [(shipment, True) for shipment in shipments if shipment not in billed]
    # only the rolled-back shipments a racer did not take over are left
    assert len(second_round) >= len(rolled_back) - RACERS // 5
    again = invoice_all_at_once(second_round)

    assert all(number is not None for _, number, _ in again)
    rows = stored()
    assert [number for number, _, _ in rows] == numbers(SHIPMENTS)
    assert sorted(shipment for _, shipment, _ in rows) == sorted(shipments)
    assert {gross for _, _, gross in rows} == {Decimal("12.00")}
    assert invoice_counter() == SHIPMENTS
