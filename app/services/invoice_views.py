"""Invoices as the API and the pages show them: with what has been paid and their status."""

from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.models.billing import Invoice
from app.schemas.billing import InvoiceLineRead, InvoiceRead, InvoiceSummary, ReceivablesRead
from app.services import credit_notes, credit_views, payments
from app.services.payments import Ageing, Standing


def summaries(db: Session, invoices: Sequence[Invoice]) -> list[InvoiceSummary]:
    """Invoices of a list, their payments and credits summed in two queries."""
    standings = payments.standings(db, invoices)
    return [_summary(invoice, standings[invoice.id]) for invoice in invoices]


def read(db: Session, invoice: Invoice) -> InvoiceRead:
    """An invoice as issued, with what has been paid and credited of it."""
    summary = _summary(invoice, payments.standings(db, [invoice])[invoice.id])
    notes = credit_notes.invoice_credit_notes(db, invoice.id)
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
    bands = ageing.bands
    return ReceivablesRead(
        customer_id=ageing.customer_id,
        current=bands["current"],
        days_1_30=bands["1-30"],
        days_31_60=bands["31-60"],
        days_61_90=bands["61-90"],
        days_over_90=bands["90+"],
        total=ageing.total,
    )


def _summary(invoice: Invoice, standing: Standing) -> InvoiceSummary:
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
