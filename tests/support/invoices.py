"""Shared setup for the invoice tests: categories with a VAT rate, customers with payment
terms and a VAT treatment, orders shipped at chosen prices, invoices issued through the API,
the sums worked out here on their own, and reads of what invoicing wrote."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from app.core import clock
from app.core.config import get_settings
from app.core.database import SessionLocal, session_scope
from app.models.billing import Invoice, InvoiceLine
from app.models.sales import OrderStatus, Shipment
from app.models.sequences import NumberSequence
from app.services import catalog, credit_notes, invoicing, payments
from app.services.audit import Actor
from app.services.credit_notes import CreditLineDraft
from app.services.payments import PaymentDraft
from tests.support import factories
from tests.support.sales import (
    CUSTOMERS,
    IDEMPOTENCY_KEY,
    Json,
    advance,
    create_customer,
    dec,
    order_line,
    place_order,
)
from tests.support.stock import API

INVOICES = f"{API}/invoices"
INVOICES_CSV = f"{API}/invoices.csv"
SHIPMENTS = f"{API}/shipments"
INVOICE_ACTOR = Actor(user_id=None, label="invoice-tests")
CENT = Decimal("0.01")
HUNDRED = Decimal(100)


# --------------------------------------------------------------------------- catalog


def make_vat_category(name: str, vat_rate: Decimal | str | None) -> int:
    """A committed category invoiced at ``vat_rate`` percent (None: the default rate); its id.
    The categories API takes no VAT rate, so the rate is set through the service."""
    rate = None if vat_rate is None else Decimal(vat_rate)
    with session_scope() as db:
        return catalog.categories.create(
            db, INVOICE_ACTOR, {"name": name, "description": "", "vat_rate": rate}
        ).id


def make_stocked_product(
    sku: str, warehouse_id: int, *, category_id: int | None = None, quantity: str = "100"
) -> int:
    """A product (in ``category_id`` when given) with ``quantity`` in lot L-``sku``; its id."""
    product_id = factories.create_product(sku=sku, category_id=category_id)
    factories.create_lot(
        product_id=product_id,
        warehouse_id=warehouse_id,
        quantity=quantity,
        lot_code=f"L-{sku}",
        best_before=date.today() + timedelta(days=120),
    )
    return product_id


# --------------------------------------------------------------------------- customers


def make_billed_customer(
    client: TestClient,
    headers: dict[str, str],
    name: str = "Souk Traders",
    **fields: Any,
) -> int:
    """A customer made through POST /customers with ``fields`` (payment_terms_days,
    vat_number, vat_treatment ...); its id."""
    return int(create_customer(client, headers, name=name, **fields)["id"])


def add_billing_address(
    client: TestClient, headers: dict[str, str], customer_id: int, **fields: Any
) -> Json:
    """A billing address added through POST /customers/{id}/addresses; the address."""
    body = {"kind": "billing", "street": "1 Dock Road", "country": "GB", **fields}
    response = client.post(f"{CUSTOMERS}/{customer_id}/addresses", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


# --------------------------------------------------------------------------- orders


def ship_order(
    client: TestClient,
    headers: dict[str, str],
    customer_id: int,
    lines: Sequence[tuple[int, str, str]],
) -> Json:
    """An order of ``lines`` (product, quantity, unit price) placed, confirmed and shipped
    whole through the API; the order afterwards."""
    order = place_order(
        client, headers, customer_id, [order_line(p, q, price) for p, q, price in lines]
    )
    return advance(client, headers, order["id"], "confirm", "ship")


def shipment_of(order: Json) -> int:
    """The id of an order's only shipment."""
    [shipment] = order["shipments"]
    return int(shipment["id"])


# --------------------------------------------------------------------------- invoices


def issue(
    client: TestClient, headers: dict[str, str], shipment_id: int, key: str | None = None
) -> Response:
    """POST /shipments/{id}/invoice."""
    extra = {IDEMPOTENCY_KEY: key} if key is not None else {}
    return client.post(f"{SHIPMENTS}/{shipment_id}/invoice", headers={**headers, **extra})


def issued(client: TestClient, headers: dict[str, str], shipment_id: int) -> Json:
    """POST /shipments/{id}/invoice, answered 201; the invoice."""
    response = issue(client, headers, shipment_id)
    assert response.status_code == 201, response.text
    return dict(response.json())


def invoice_number(sequence: int, year: int | None = None) -> str:
    """The number of the ``sequence``-th invoice of ``year`` (the company's current year)."""
    return f"INV-{year or clock.today().year}-{sequence:06d}"


def list_invoices(client: TestClient, headers: dict[str, str], **params: Any) -> Json:
    """GET /invoices with ``params``, answered 200; the page."""
    response = client.get(INVOICES, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


@dataclass(frozen=True)
class Billed:
    """An invoice made for a test: its id, number and gross total."""

    id: int
    number: str
    gross: Decimal


def invoiced_on(customer_id: int, product_id: int, quantity: str, issued_on: date) -> Billed:
    """An order of ``quantity`` of ``product_id`` shipped to the customer and invoiced as on
    ``issued_on`` (due after the customer's payment terms), through the services."""
    order = factories.create_order(
        lines=[(product_id, quantity)], customer_id=customer_id, status=OrderStatus.SHIPPED
    )
    at = datetime.combine(issued_on, time(12), tzinfo=get_settings().company_zone)
    with session_scope() as db:
        shipment = db.scalars(select(Shipment.id).where(Shipment.order_id == order.id)).one()
        invoice = invoicing.invoice_shipment(db, INVOICE_ACTOR, shipment, at=at)
        return Billed(invoice.id, invoice.number, invoice.gross_total)


def pay(invoice_id: int, amount: Decimal | str, paid_on: date | None = None) -> None:
    """Record ``amount`` received against the invoice (today unless ``paid_on``)."""
    draft = PaymentDraft(paid_on or clock.today(), Decimal(amount), "BANK-TEST")
    with session_scope() as db:
        payments.record_payment(db, INVOICE_ACTOR, invoice_id, draft)


def credit(
    invoice_id: int, net: Decimal | str | None = None, quantity: Decimal | str | None = None
) -> Decimal:
    """A credit note of ``net`` (or ``quantity``) on the invoice's first line, issued by hand;
    its gross."""
    with session_scope() as db:
        line = db.scalars(
            select(InvoiceLine.id).where(InvoiceLine.invoice_id == invoice_id).limit(1)
        ).one()
        draft = CreditLineDraft(
            line,
            quantity=None if quantity is None else Decimal(quantity),
            amount=None if net is None else Decimal(net),
        )
        note = credit_notes.issue_credit_note(db, INVOICE_ACTOR, invoice_id, [draft], "Bruised")
        return note.gross_total


# --------------------------------------------------------------------------- sums


@dataclass(frozen=True)
class Expected:
    """A line's sums worked out here: net, VAT and gross, each to the cent."""

    net: Decimal
    vat: Decimal
    gross: Decimal


def to_cent(value: Decimal) -> Decimal:
    """``value`` to the cent, half up, as an invoice rounds."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def expected_line(
    quantity: Decimal | str, unit_price: Decimal | str, rate: Decimal | str
) -> Expected:
    """A line's net (quantity times price), VAT at ``rate`` percent of the net and gross."""
    net = to_cent(Decimal(quantity) * Decimal(unit_price))
    vat = to_cent(net * Decimal(rate) / HUNDRED)
    return Expected(net, vat, net + vat)


def line_sums(invoice: Json) -> list[tuple[Decimal, Decimal, Decimal, Decimal]]:
    """(net, vat_rate, vat, gross) of each line of an invoice as the API shows it."""
    return [
        (dec(line["net"]), dec(line["vat_rate"]), dec(line["vat"]), dec(line["gross"]))
        for line in invoice["lines"]
    ]


def totals(invoice: Json) -> tuple[Decimal, Decimal, Decimal]:
    """(net, VAT, gross) totals of an invoice as the API shows it."""
    return dec(invoice["net_total"]), dec(invoice["vat_total"]), dec(invoice["gross_total"])


# --------------------------------------------------------------------------- reading back


def stored_invoices() -> list[tuple[str, int, Decimal]]:
    """(number, shipment id, gross total) of every stored invoice, by id."""
    with SessionLocal() as db:
        rows = db.scalars(select(Invoice).order_by(Invoice.id)).all()
        return [(row.number, row.shipment_id, row.gross_total) for row in rows]


def stored_invoice_lines() -> int:
    """How many invoice lines are stored."""
    with SessionLocal() as db:
        return len(db.scalars(select(InvoiceLine.id)).all())


def invoice_counter(year: int | None = None) -> int | None:
    """The last invoice number taken in ``year`` (the company's current year), if any."""
    with SessionLocal() as db:
        return db.scalar(
            select(NumberSequence.last_number).where(
                NumberSequence.kind == "INV", NumberSequence.year == (year or clock.today().year)
            )
        )


def as_issued(invoice: Json) -> Json:
    """An invoice as the API shows it, each line's VAT rate read as a number (20 and 20.00
    are the same rate)."""
    lines = [{**line, "vat_rate": dec(line["vat_rate"])} for line in invoice["lines"]]
    return {**invoice, "lines": lines}
