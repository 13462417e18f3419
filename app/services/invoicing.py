"""Invoices: a shipment billed once under a gapless number, VAT per line to the cent."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.core import clock
from app.core.config import get_settings
from app.core.errors import ConflictError, NotFoundError
from app.crud.crud_billing import invoice_crud
from app.models.billing import Invoice, InvoiceLine
from app.models.catalog import Category, Product
from app.models.sales import (
    AddressKind,
    SalesOrder,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
    VatTreatment,
)
from app.schemas.billing import InvoiceCsvRow
from app.services import addresses, audit, documents, numbering, orders, shipments
from app.services.audit import Actor
from app.services.money import line_total, round_cents

INVOICE_PREFIX = "INV"
# What an invoice without VAT must say, by the customer's treatment.
VAT_NOTES = {
    VatTreatment.STANDARD: "",
    VatTreatment.ZERO_RATED: "Zero-rated supply: no VAT charged (exempt intra-Community "
    "supply, Article 138 of Council Directive 2006/112/EC).",
    VatTreatment.REVERSE_CHARGE: "Reverse charge: VAT to be accounted for by the recipient "
    "(Article 196 of Council Directive 2006/112/EC).",
}
HUNDRED = Decimal(100)
RATE_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class InvoiceFilter:
    """Which invoices a listing shows."""

    customer_id: int | None = None
    since: date | None = None
    until: date | None = None
    search: str | None = None


def vat_amount(net: Decimal, rate: Decimal) -> Decimal:
    """The VAT on a line's net at ``rate`` percent, half up to the cent."""
    return round_cents(net * rate / HUNDRED)


def invoice_shipment(
    db: Session, actor: Actor, shipment_id: int, at: datetime | None = None
) -> Invoice:
    """Invoice a shipment that has left, once: its lines at the order's prices, VAT at each
    product's category rate (or DEFAULT_VAT_RATE; none for a zero-rated or reverse-charge
    customer, with the note the law asks for), due after the customer's payment terms."""
    _lock(db, shipment_id)
    shipment = shipments.get_shipment(db, shipment_id)
    if shipment.status not in (ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED):
        raise ConflictError(
            f"Shipment {shipment.number} is {shipment.status}; it is invoiced once it has left."
        )
    issued = db.scalar(select(Invoice.number).where(Invoice.shipment_id == shipment.id))
    if issued is not None:
        raise ConflictError(f"Shipment {shipment.number} is invoiced already: {issued}.")
    order = orders.get_order(db, shipment.order_id)
    customer = order.customer
    treatment = VatTreatment(customer.vat_treatment)
    rates = _rates(db, [line.order_line.product_id for line in shipment.lines])
    lines = _lines(shipment, rates, treatment)
    issue_date = clock.today(at)
    company = documents.company()
    billing = addresses.default_address(db, customer.id, AddressKind.BILLING)
    invoice = Invoice(
        shipment_id=shipment.id,
        order_id=order.id,
        customer_id=customer.id,
        issue_date=issue_date,
        due_date=issue_date + timedelta(days=customer.payment_terms_days),
        currency=get_settings().CURRENCY,
        customer_name=customer.name,
        billing_address=addresses.printed(billing) if billing is not None else "",
        customer_vat_number=customer.vat_number,
        vat_treatment=treatment,
        vat_note=VAT_NOTES[treatment],
        company_name=company.name,
        company_address="\n".join(company.address_lines),
        company_vat_number=company.vat_number,
        net_total=sum((line.net for line in lines), Decimal(0)),
        vat_total=sum((line.vat for line in lines), Decimal(0)),
        gross_total=sum((line.gross for line in lines), Decimal(0)),
        created_by=actor.user_id,
        lines=lines,
    )
    if at is not None:
        invoice.created_at = at
    invoice.number = numbering.document_number(db, INVOICE_PREFIX, issue_date.year)
    db.add(invoice)
    db.flush()
    audit.record(
        db,
        actor,
        "invoice.issued",
        "invoice",
        invoice.id,
        number=invoice.number,
        shipment=shipment.number,
        order=order.number,
        gross_total=str(invoice.gross_total),
    )
    return get_invoice(db, invoice.id)


def get_invoice(db: Session, invoice_id: int, customer_id: int | None = None) -> Invoice:
    """An invoice with its lines; a customer only sees its own (others are a 404)."""
    query = select(Invoice).options(selectinload(Invoice.lines)).where(Invoice.id == invoice_id)
    invoice = db.scalar(query)
    if invoice is None or customer_id not in (None, invoice.customer_id):
        raise NotFoundError(f"Invoice {invoice_id} does not exist.")
    return invoice


def list_invoices(
    db: Session, where: InvoiceFilter, *, offset: int, limit: int
) -> tuple[Sequence[Invoice], int]:
    """A page of invoices, newest first."""
    conditions = []
    if where.customer_id is not None:
        conditions.append(Invoice.customer_id == where.customer_id)
    if where.since is not None:
        conditions.append(Invoice.issue_date >= where.since)
    if where.until is not None:
        conditions.append(Invoice.issue_date < where.until)
    return invoice_crud.page(
        db,
        offset=offset,
        limit=limit,
        search=where.search,
        where=conditions,
        order_by=[Invoice.issue_date.desc(), Invoice.id.desc()],
    )


def export_rows(db: Session, where: InvoiceFilter) -> list[InvoiceCsvRow]:
    """One row per line of the invoices ``where`` names, oldest invoice first: the
    accountant's export."""
    return [
        InvoiceCsvRow(
            invoice=invoice.number,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            customer=invoice.customer_name,
            customer_vat_number=invoice.customer_vat_number,
            vat_treatment=invoice.vat_treatment,
            currency=invoice.currency,
            line_no=line.line_no,
            sku=line.sku,
            description=line.description,
            quantity=line.quantity,
            unit=line.unit,
            unit_price=line.unit_price,
            net=line.net,
            vat_rate=line.vat_rate,
            vat=line.vat,
            gross=line.gross,
        )
        for invoice, line in _invoice_lines(db, where)
    ]


def _invoice_lines(db: Session, where: InvoiceFilter) -> Sequence[tuple[Invoice, InvoiceLine]]:
    """Every line of the invoices ``where`` names, oldest invoice first."""
    query = (
        select(Invoice, InvoiceLine)
        .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .order_by(Invoice.issue_date, Invoice.id, InvoiceLine.line_no)
    )
    if where.customer_id is not None:
        query = query.where(Invoice.customer_id == where.customer_id)
    if where.since is not None:
        query = query.where(Invoice.issue_date >= where.since)
    if where.until is not None:
        query = query.where(Invoice.issue_date < where.until)
    return [(invoice, line) for invoice, line in db.execute(query)]


def references(db: Session, invoice: Invoice) -> tuple[str, str]:
    """The numbers of the order and the shipment an invoice bills."""
    query = (
        select(SalesOrder.number, Shipment.number)
        .join(Shipment, Shipment.order_id == SalesOrder.id)
        .where(Shipment.id == invoice.shipment_id)
    )
    order_number, shipment_number = db.execute(query).one()
    return order_number or "", shipment_number


def shipment_invoices(db: Session, shipment_ids: Sequence[int]) -> dict[int, Invoice]:
    """The invoices of the shipments named, by shipment."""
    if not shipment_ids:
        return {}
    query = select(Invoice).where(Invoice.shipment_id.in_(shipment_ids))
    return {invoice.shipment_id: invoice for invoice in db.scalars(query)}


def _lock(db: Session, shipment_id: int) -> None:
    """Hold the shipment's row, so that two requests never both invoice it."""
    found = db.scalar(select(Shipment.id).where(Shipment.id == shipment_id).with_for_update())
    if found is None:
        raise NotFoundError(f"Shipment {shipment_id} does not exist.")


def _rates(db: Session, product_ids: Sequence[int]) -> dict[int, Decimal]:
    """Each product's VAT rate: its category's, or DEFAULT_VAT_RATE."""
    default = get_settings().DEFAULT_VAT_RATE
    query = (
        select(Product.id, Category.vat_rate)
        .outerjoin(Category, Category.id == Product.category_id)
        .where(Product.id.in_(set(product_ids)))
    )
    return {
        product_id: rate if rate is not None else default for product_id, rate in db.execute(query)
    }


def _lines(
    shipment: Shipment, rates: dict[int, Decimal], treatment: VatTreatment
) -> list[InvoiceLine]:
    """One line per order line the shipment took, rounded per line."""
    taken: dict[int, list[ShipmentLine]] = {}
    for item in shipment.lines:
        taken.setdefault(item.order_line_id, []).append(item)
    lines = []
    for number, items in enumerate(
        sorted(taken.values(), key=lambda items: items[0].order_line.line_no), start=1
    ):
        order_line = items[0].order_line
        product = order_line.product
        quantity = sum((item.quantity for item in items), Decimal(0))
        net = line_total(quantity, order_line.unit_price)
        rate = rates[product.id] if treatment == VatTreatment.STANDARD else Decimal(0)
        rate = rate.quantize(RATE_PLACES)
        vat = vat_amount(net, rate)
        lines.append(
            InvoiceLine(
                line_no=number,
                order_line_id=order_line.id,
                sku=product.sku,
                description=product.name,
                lots=", ".join(sorted({item.lot.lot_code for item in items})),
                quantity=quantity,
                unit=product.unit,
                unit_price=order_line.unit_price,
                net=net,
                vat_rate=rate,
                vat=vat,
                gross=net + vat,
            )
        )
    return lines
