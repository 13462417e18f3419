"""Invoices as the API and the pages show them: with what has been paid and their status."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from app.models.billing import Invoice
from app.schemas.billing import (
    AgeingBands,
    InvoiceLineRead,
    InvoiceRead,
    InvoiceSummary,
    ReceivablesRead,
    ReceivablesReport,
)
from app.services import credit_notes, credit_views, payments
from app.services.payments import Ageing, Balance, Receivables

# The API's name of each ageing band.
BAND_FIELDS = {
    "current": "current",
    "1-30": "days_1_30",
    "31-60": "days_31_60",
    "61-90": "days_61_90",
    "90+": "days_over_90",
}


@dataclass(frozen=True)
class UnpaidInvoice:
    """An invoice still owing, and how many days past its due date it is."""

    invoice: InvoiceSummary
    days_late: int


def summaries(db: Session, invoices: Sequence[Invoice]) -> list[InvoiceSummary]:
    """Invoices of a list, their payments and credits summed in one query."""
    found = payments.balances(db, invoice_ids=[invoice.id for invoice in invoices])
    owed = {balance.invoice.id: balance for balance in found}
    return [_summary(owed[invoice.id]) for invoice in invoices]


def read(db: Session, invoice: Invoice) -> InvoiceRead:
    """An invoice as issued, with what has been paid and credited of it."""
    [balance] = payments.balances(db, invoice_ids=[invoice.id])
    summary = _summary(balance)
    notes = credit_notes.by_invoice(db, [invoice.id])[invoice.id]
    return InvoiceRead(
        **summary.model_dump(),
        billing_address=invoice.billing_address,
        customer_vat_number=invoice.customer_vat_number,
        vat_treatment=invoice.vat_treatment,
        vat_note=invoice.vat_note,
        company_name=invoice.company_name,
        company_address=invoice.company_address,
        company_vat_number=invoice.company_vat_number,
        created_at=invoice.created_at,
        lines=[InvoiceLineRead.model_validate(line) for line in invoice.lines],
        credit_notes=[credit_views.summary(note, invoice) for note in notes],
    )


def receivables(ageing: Ageing) -> ReceivablesRead:
    """A customer's ageing as the API shows it."""
    return ReceivablesRead(
        customer_id=ageing.customer_id,
        customer_name=ageing.customer_name,
        **_bands(ageing.bands, ageing.total),
    )


def receivables_report(report: Receivables) -> ReceivablesReport:
    """What every customer owes, by days past due, as the API shows it."""
    return ReceivablesReport(
        on=report.on,
        customers=[receivables(ageing) for ageing in report.customers],
        totals=AgeingBands(**_bands(report.bands, report.total)),
    )


def unpaid(ageing: Ageing) -> list[UnpaidInvoice]:
    """A customer's invoices still owing on the day of ``ageing``, most overdue first."""
    return [
        UnpaidInvoice(
            _summary(balance, ageing.on), payments.days_late(balance.invoice.due_date, ageing.on)
        )
        for balance in ageing.invoices
    ]


def _bands(bands: dict[str, Decimal], total: Decimal) -> dict[str, Decimal]:
    return {BAND_FIELDS[name]: amount for name, amount in bands.items()} | {"total": total}


def _summary(balance: Balance, today: date | None = None) -> InvoiceSummary:
    invoice = balance.invoice
    standing = payments.standing(balance, today)
    return InvoiceSummary(
        id=invoice.id,
        number=invoice.number,
        shipment_id=invoice.shipment_id,
        order_id=invoice.order_id,
        customer_id=invoice.customer_id,
        customer_name=invoice.customer_name,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        currency=invoice.currency,
        net_total=invoice.net_total,
        vat_total=invoice.vat_total,
        gross_total=invoice.gross_total,
        paid=standing.paid,
        credited=standing.credited,
        outstanding=standing.outstanding,
        status=standing.status,
    )
